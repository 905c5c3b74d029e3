//! The full build's exports: lint, compile, explain, evaluate, rule docs.

use super::{Policy, error};
use scapi::front::{self, LintOptions, RuleJson};
use scapi::rules::Code;
use serde_json::json;
use wasm_bindgen::prelude::*;

fn compilation(bytes: Vec<u8>, options: Option<String>) -> Result<scapi::Compilation, JsValue> {
    let o = LintOptions::from_json(options.as_deref()).map_err(|e| error("usage", e))?;
    Ok(scapi::compile_vec(&o.file_name, bytes, &o.options))
}

/// Lints an export (its bytes; the JavaScript side encodes a string as
/// UTF-8) with its options (JSON, see [`LintOptions::from_json`]): the
/// `lint --format json` document, byte for byte as the CLI writes it for a
/// file of that name.
#[wasm_bindgen]
pub fn lint(bytes: Vec<u8>, options: Option<String>) -> Result<String, JsValue> {
    Ok(front::lint_document(compilation(bytes, options)?))
}

/// Compiles an export: `{"policy": <the compiled policy, or null when
/// an error refuses it>, "diagnostics": <the lint document>}`.
#[wasm_bindgen]
pub fn compile(bytes: Vec<u8>, options: Option<String>) -> Result<String, JsValue> {
    Ok(front::compile_document(compilation(bytes, options)?))
}

/// Every rule: `[{"code", "name", "severity", "summary"}]`.
#[wasm_bindgen]
pub fn rules() -> String {
    let all: Vec<RuleJson> = Code::ALL.iter().map(|&c| RuleJson::of(c, false)).collect();
    serde_json::to_string(&all).unwrap_or_default()
}

/// One rule with its documentation page (Markdown), as `scapi rule CODE
/// --format json` prints it; throws code `usage` for an unknown rule.
#[wasm_bindgen]
pub fn rule(code: &str) -> Result<String, JsValue> {
    let c = front::rule(code).map_err(|e| error("usage", e))?;
    Ok(serde_json::to_string(&RuleJson::of(c, true)).unwrap_or_default())
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
/// {"index", "at", "expect", "event" (JSON text)} | {"index", "at",
/// "policy"}]`. Throws code
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
                ItemKind::Policy(path) => json!({
                    "index": item.index, "at": item.at, "policy": path,
                }),
            }
        })
        .collect();
    Ok(serde_json::Value::from(items).to_string())
}
