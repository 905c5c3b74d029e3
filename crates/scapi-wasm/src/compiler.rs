//! The full build's exports: lint, compile, explain, evaluate, rule docs.

use super::{Policy, error};
use scapi::input::InputFormat;
use scapi::render::{FileDiagnostics, json as report};
use scapi::rules::Code;
use serde_json::json;
use wasm_bindgen::prelude::*;

/// The options of `lint` and `compile`, as JSON: `{"fileName", "format"
/// (cfg, json, yaml), "object" (application, person, agent-group),
/// "maxInputBytes", "maxPerRule"}`, every one optional. The name is what
/// reports call the file (`<input>` by default); with no format, it is
/// detected from the name and the text, as the CLI does.
struct LintOptions {
    file_name: String,
    options: scapi::Options,
}

fn lint_options(json: Option<String>) -> Result<LintOptions, JsValue> {
    let v: serde_json::Value = match json.as_deref() {
        None | Some("") => serde_json::Value::Null,
        Some(text) => serde_json::from_str(text)
            .map_err(|e| error("usage", format_args!("the options are not JSON: {e}")))?,
    };
    let usage = |m: String| error("usage", m);
    let map = match &v {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(m) => m.clone(),
        _ => return Err(usage("the options are an object".to_string())),
    };
    const KEYS: [&str; 5] = [
        "fileName",
        "format",
        "object",
        "maxInputBytes",
        "maxPerRule",
    ];
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(usage(format!(
            "unknown option `{k}`; the options are {}",
            KEYS.join(", ")
        )));
    }
    // A key given as `undefined` is not sent (JSON has no `undefined`);
    // `null` means absent too. Anything else must have the option's type.
    let given = |key: &str| map.get(key).filter(|v| !v.is_null());
    let text = |key: &str| -> Result<Option<&str>, JsValue> {
        match given(key) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(usage(format!(
                "option `{key}` must be a string, not `{other}`"
            ))),
        }
    };
    let number = |key: &str| -> Result<Option<u64>, JsValue> {
        match given(key) {
            None => Ok(None),
            Some(n) => n.as_u64().map(Some).ok_or_else(|| {
                usage(format!(
                    "option `{key}` must be a whole number from 0 to 2^53, not `{n}`"
                ))
            }),
        }
    };
    let format = match text("format")? {
        None => None,
        Some("cfg") => Some(InputFormat::Cfg),
        Some("json") => Some(InputFormat::Json),
        Some("yaml") => Some(InputFormat::Yaml),
        Some(other) => {
            return Err(error(
                "usage",
                format_args!("`{other}` is not an export format; write `cfg`, `json` or `yaml`"),
            ));
        }
    };
    let object = match text("object")? {
        None => None,
        Some("application") => Some(scapi::ObjectLevel::Application),
        Some("person") => Some(scapi::ObjectLevel::Person),
        Some("agent-group") => Some(scapi::ObjectLevel::AgentGroup),
        Some(other) => {
            return Err(error(
                "usage",
                format_args!(
                    "`{other}` is not an object level; write `application`, `person` or `agent-group`"
                ),
            ));
        }
    };
    Ok(LintOptions {
        file_name: text("fileName")?.unwrap_or("<input>").to_string(),
        options: scapi::Options {
            format,
            object,
            max_input_bytes: number("maxInputBytes")?,
            max_per_rule: number("maxPerRule")?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            ..scapi::Options::default()
        },
    })
}

fn compilation(bytes: Vec<u8>, options: Option<String>) -> Result<scapi::Compilation, JsValue> {
    let o = lint_options(options)?;
    Ok(scapi::compile_vec(&o.file_name, bytes, &o.options))
}

/// The `lint --format json` document of one file.
fn lint_report(c: scapi::Compilation) -> String {
    let files = [FileDiagnostics {
        source: c.source,
        diagnostics: c.diagnostics,
        suppressed: c.suppressed,
    }];
    report::report(&files).to_json()
}

/// Lints an export (its bytes; the JavaScript side encodes a string as
/// UTF-8) with its options (JSON, see `LintOptions`): the `lint --format json`
/// document, byte for byte as the CLI writes it for a file of that name.
#[wasm_bindgen]
pub fn lint(bytes: Vec<u8>, options: Option<String>) -> Result<String, JsValue> {
    Ok(lint_report(compilation(bytes, options)?))
}

/// Compiles an export: `{"policy": <the compiled policy, or null when
/// an error refuses it>, "diagnostics": <the lint document>}`.
#[wasm_bindgen]
pub fn compile(bytes: Vec<u8>, options: Option<String>) -> Result<String, JsValue> {
    let c = compilation(bytes, options)?;
    let policy = match &c.policy {
        Some(p) if !c.has_errors() => scapi_policy::CompiledPolicy::from(p).to_json(),
        _ => "null".to_string(),
    };
    Ok(format!(
        "{{\"policy\": {}, \"diagnostics\": {}}}",
        policy.trim_end(),
        lint_report(c).trim_end()
    ))
}

/// Every rule: `[{"code", "name", "severity", "summary"}]`.
#[wasm_bindgen]
pub fn rules() -> String {
    serde_json::Value::from(
        Code::ALL
            .iter()
            .map(|c| {
                json!({
                    "code": c.as_str(),
                    "name": c.name(),
                    "severity": c.default_severity().as_str(),
                    "summary": c.summary(),
                })
            })
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// One rule with its documentation page (Markdown), as `scapi rule CODE
/// --format json` prints it; throws code `usage` for an unknown rule.
#[wasm_bindgen]
pub fn rule(code: &str) -> Result<String, JsValue> {
    let c = Code::parse(code).ok_or_else(|| {
        error(
            "usage",
            format_args!("unknown rule `{code}`; `scapi rule` lists every rule"),
        )
    })?;
    Ok(json!({
        "code": c.as_str(),
        "name": c.name(),
        "severity": c.default_severity().as_str(),
        "summary": c.summary(),
        "documentation": c.doc(),
    })
    .to_string())
}

#[wasm_bindgen]
impl Policy {
    /// What the policy grants an origin: the `explain --format json`
    /// document.
    pub fn explain(&self, origin: &str) -> String {
        scapi_policy::jsonfmt::to_string(
            &scapi_tools::explain::explain(&self.inner, origin).to_json(),
        )
    }

    /// Replays requests (JSON Lines, a JSON array or a YAML list) through
    /// the policy and a fresh in-memory limiter, each item at its `at`: the
    /// `eval --format json` document. Throws code `requests` for a
    /// malformed item, with the CLI's message.
    pub fn evaluate(&self, requests: &str, file_name: Option<String>) -> Result<String, JsValue> {
        let name = file_name.unwrap_or_default();
        let format = scapi_tools::eval::RequestsFormat::detect(&name, requests.as_bytes());
        let mut out = Vec::new();
        match scapi_tools::eval::run_text(
            &self.inner,
            requests,
            format,
            scapi_tools::eval::ReportFormat::Json,
            &mut out,
        ) {
            Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
            Err(scapi_tools::eval::RunError::Items(e)) => Err(error("requests", e)),
            Err(scapi_tools::eval::RunError::Io(e)) => Err(error("requests", e)),
        }
    }
}

/// A compiled policy written as YAML (`scapi compile --output-format
/// yaml`), as compiled JSON; throws like [`Policy::load`].
#[wasm_bindgen(js_name = compiledYamlToJson)]
pub fn compiled_yaml_to_json(yaml: &str) -> Result<String, JsValue> {
    scapi::compiled_from_yaml(yaml)
        .and_then(|c| c.to_policy())
        .map(|p| scapi_policy::CompiledPolicy::from(&p).to_json())
        .map_err(|e| error(super::load_error_code(e.kind()), e))
}

/// The items of a requests file (JSON Lines, a JSON array or a YAML list),
/// read as `scapi eval` reads them: `[{"index", "at" (ms), "expect",
/// "origin", "request", "client", "userData" (its keys), "keys", "frame"} or
/// {"index", "at", "expect", "event" (JSON text)}]`. Throws code
/// `requests` for a malformed item.
#[wasm_bindgen(js_name = parseRequests)]
pub fn parse_requests(text: &str, file_name: Option<String>) -> Result<String, JsValue> {
    use scapi_tools::eval::ItemKind;
    let name = file_name.unwrap_or_default();
    let format = scapi_tools::eval::RequestsFormat::detect(&name, text.as_bytes());
    let items = scapi_tools::eval::parse_items(text, format).map_err(|e| error("requests", e))?;
    let items: Vec<serde_json::Value> = items
        .into_iter()
        .map(|item| {
            let expect = item.expect.map(|o| o.to_string());
            match item.kind {
                ItemKind::Request(r) => json!({
                    "index": item.index, "at": item.at, "expect": expect,
                    "origin": r.origin, "request": r.request, "client": r.client,
                    "userData": r.user_data, "keys": r.keys, "frame": r.frame.as_str(),
                }),
                ItemKind::Event(e) => json!({
                    "index": item.index, "at": item.at, "expect": expect, "event": &*e,
                }),
            }
        })
        .collect();
    Ok(serde_json::Value::from(items).to_string())
}
