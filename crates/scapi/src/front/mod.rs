//! The one front end of the command line, the npm package (through the
//! WebAssembly build) and the language server — as cedar-policy's `ffi`
//! module serves its CLI and its WebAssembly build: plain data in
//! ([`LintOptions`], format and object names through `FromStr`), documents
//! out ([`lint_document`], [`compile_document`], [`RuleJson`]), with the
//! same names and the same messages whichever front end is used.

#[cfg(feature = "config")]
pub mod config;

use crate::input::InputFormat;
use crate::render::{FileDiagnostics, json};
use crate::rules::Code;
use crate::{Compilation, ObjectLevel, Options};
use serde::Serialize;

/// What `lint` and `compile` are asked, as plain data: the name reports
/// give the file, and the compile options.
#[derive(Clone, Debug)]
pub struct LintOptions {
    /// What reports call the file; its extension helps detect the format.
    pub file_name: String,
    /// The format, the object, the limits.
    pub options: Options,
}

impl Default for LintOptions {
    fn default() -> LintOptions {
        LintOptions {
            file_name: "<input>".into(),
            options: Options::default(),
        }
    }
}

/// The keys of [`LintOptions::from_json`].
const OPTION_KEYS: [&str; 5] = [
    "fileName",
    "format",
    "object",
    "maxInputBytes",
    "maxPerRule",
];

impl LintOptions {
    /// The options written as JSON (the npm package's): `{"fileName",
    /// "format" (cfg, json, yaml), "object" (application, person,
    /// agent-group), "maxInputBytes", "maxPerRule"}`, every one optional
    /// (`null` is absent). No text, or an empty one, is the defaults. An
    /// unknown key or a value of the wrong type is a usage error saying
    /// what to write.
    pub fn from_json(text: Option<&str>) -> Result<LintOptions, String> {
        let v: serde_json::Value = match text {
            None | Some("") => serde_json::Value::Null,
            Some(text) => {
                serde_json::from_str(text).map_err(|e| format!("the options are not JSON: {e}"))?
            }
        };
        let map = match v {
            serde_json::Value::Null => serde_json::Map::new(),
            serde_json::Value::Object(m) => m,
            _ => return Err("the options are an object".to_string()),
        };
        if let Some(k) = map.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown option `{k}`; the options are {}",
                OPTION_KEYS.join(", ")
            ));
        }
        let given = |key: &str| map.get(key).filter(|v| !v.is_null());
        let text = |key: &str| -> Result<Option<&str>, String> {
            match given(key) {
                None => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(format!("option `{key}` must be a string, not `{other}`")),
            }
        };
        let number = |key: &str| -> Result<Option<u64>, String> {
            match given(key) {
                None => Ok(None),
                Some(n) => n.as_u64().map(Some).ok_or_else(|| {
                    format!("option `{key}` must be a whole number from 0 to 2^53, not `{n}`")
                }),
            }
        };
        Ok(LintOptions {
            file_name: text("fileName")?.unwrap_or("<input>").to_string(),
            options: Options {
                format: text("format")?.map(str::parse::<InputFormat>).transpose()?,
                object: text("object")?.map(str::parse::<ObjectLevel>).transpose()?,
                max_input_bytes: number("maxInputBytes")?,
                max_per_rule: number("maxPerRule")?
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                ..Options::default()
            },
        })
    }
}

/// What every front end says of a name that is no rule.
pub fn unknown_rule(name: &str) -> String {
    format!("unknown rule `{name}`; `scapi rule` lists every rule")
}

/// A rule by code (`SC0103`) or name (`origin-has-path`), or the
/// [`unknown_rule`] message.
pub fn rule(name: &str) -> Result<Code, String> {
    Code::parse(name).ok_or_else(|| unknown_rule(name))
}

/// A rule as `scapi rule --format json` and the npm package give it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleJson {
    /// `SC0103`.
    pub code: &'static str,
    /// `origin-has-path`.
    pub name: &'static str,
    /// The default severity.
    pub severity: &'static str,
    /// One short lowercase phrase.
    pub summary: &'static str,
    /// The documentation page (Markdown), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<&'static str>,
}

impl RuleJson {
    /// The rule's document, with its documentation page or without.
    pub fn of(code: Code, documentation: bool) -> RuleJson {
        RuleJson {
            code: code.as_str(),
            name: code.name(),
            severity: code.default_severity().as_str(),
            summary: code.summary(),
            documentation: documentation.then(|| code.doc()),
        }
    }
}

/// The `lint --format json` document of one file.
pub fn lint_document(c: Compilation) -> String {
    json::report(&[FileDiagnostics::of(c)]).to_json()
}

/// What `compile` gives a front end that shows both: `{"policy": <the
/// compiled policy, or null when an error refuses it>, "diagnostics": <the
/// lint document>}`.
pub fn compile_document(c: Compilation) -> String {
    let policy = match &c.policy {
        Some(p) if !c.has_errors() => scapi_policy::CompiledPolicy::from(p).to_json(),
        _ => "null".to_string(),
    };
    format!(
        "{{\"policy\": {}, \"diagnostics\": {}}}",
        policy.trim_end(),
        lint_document(c).trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_front_end_reads_options_alike() {
        let o = LintOptions::from_json(Some(
            r#"{"fileName": "a.yaml", "format": "yaml", "object": "agent-group", "maxPerRule": 3}"#,
        ))
        .unwrap();
        assert_eq!(o.file_name, "a.yaml");
        assert_eq!(o.options.format, Some(InputFormat::Yaml));
        assert_eq!(o.options.object, Some(ObjectLevel::AgentGroup));
        assert_eq!(o.options.max_per_rule, Some(3));
        for (json, message) in [
            (
                r#"{"x": 1}"#,
                "unknown option `x`; the options are fileName, format, object, maxInputBytes, maxPerRule",
            ),
            (
                r#"{"format": "toml"}"#,
                "`toml` is not an export format; write `cfg`, `json` or `yaml`",
            ),
            (
                r#"{"object": "tenant"}"#,
                "`tenant` is not an object level; write `application`, `person` or `agent-group`",
            ),
            (
                r#"{"maxPerRule": -1}"#,
                "option `maxPerRule` must be a whole number from 0 to 2^53, not `-1`",
            ),
            ("[]", "the options are an object"),
        ] {
            assert_eq!(LintOptions::from_json(Some(json)).unwrap_err(), message);
        }
        assert_eq!(
            rule("SC9999").unwrap_err(),
            "unknown rule `SC9999`; `scapi rule` lists every rule"
        );
        for f in InputFormat::ALL {
            assert_eq!(f.as_str().parse::<InputFormat>(), Ok(f));
        }
        for o in ObjectLevel::ALL {
            assert_eq!(o.as_str().parse::<ObjectLevel>(), Ok(o));
        }
    }
}
