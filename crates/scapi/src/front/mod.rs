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
    pub fn from_json(text: Option<&str>) -> Result<LintOptions, OptionsError> {
        let v: serde_json::Value = match text {
            None | Some("") => serde_json::Value::Null,
            Some(text) => {
                serde_json::from_str(text).map_err(|e| OptionsError::NotJson(e.to_string()))?
            }
        };
        let map = match v {
            serde_json::Value::Null => serde_json::Map::new(),
            serde_json::Value::Object(m) => m,
            _ => return Err(OptionsError::NotObject),
        };
        if let Some(k) = map.keys().find(|k| !OPTION_KEYS.contains(&k.as_str())) {
            return Err(OptionsError::UnknownKey { key: k.clone() });
        }
        let given = |key: &str| map.get(key).filter(|v| !v.is_null());
        let text = |key: &'static str| -> Result<Option<&str>, OptionsError> {
            match given(key) {
                None => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(OptionsError::WrongType {
                    key,
                    must: "a string",
                    given: other.to_string(),
                }),
            }
        };
        let number = |key: &'static str| -> Result<Option<u64>, OptionsError> {
            match given(key) {
                None => Ok(None),
                Some(n) => n.as_u64().map(Some).ok_or_else(|| OptionsError::WrongType {
                    key,
                    must: "a whole number from 0 to 2^53",
                    given: n.to_string(),
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

/// A name the user wrote that is not one of those accepted (an export
/// format, an object level): what every front end says of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not {what}; write {}", written(accepted))]
pub struct UnknownName {
    /// What was written.
    pub given: String,
    /// What it should have been (`an object level`).
    pub what: &'static str,
    /// The names accepted.
    pub accepted: &'static [&'static str],
}

/// `` `a`, `b` or `c` ``.
fn written(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// A rule name that cannot be used where it was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// No rule has this code or name.
    #[error("unknown rule `{0}`; `scapi rule` lists every rule")]
    Unknown(String),
    /// A rule no flag or configuration may silence or re-grade.
    #[error("`{0}` cannot be allowed or re-graded: it reports an unreadable file or a suppression")]
    NotOverridable(Code),
}

impl RuleError {
    /// The first half of the message, for a finding drawn at its place
    /// (`scapi.toml`), whose help is [`help`](RuleError::help).
    pub fn headline(&self) -> String {
        match self {
            RuleError::Unknown(name) => format!("unknown rule `{name}`"),
            RuleError::NotOverridable(code) => format!("`{code}` cannot be allowed or re-graded"),
        }
    }

    /// The second half: the way out, or the reason.
    pub fn help(&self) -> &'static str {
        match self {
            RuleError::Unknown(_) => "`scapi rule` lists every rule",
            RuleError::NotOverridable(_) => "it reports an unreadable file or a suppression",
        }
    }
}

/// A rule by code (`SC0103`) or name (`origin-has-path`).
pub fn rule(name: &str) -> Result<Code, RuleError> {
    Code::parse(name).ok_or_else(|| RuleError::Unknown(name.to_string()))
}

/// A rule whose severity a flag or `scapi.toml` may change (`--allow`,
/// `--warn`, `--deny`).
pub fn overridable(name: &str) -> Result<Code, RuleError> {
    let code = rule(name)?;
    if crate::suppress::can_be_silenced(code) {
        Ok(code)
    } else {
        Err(RuleError::NotOverridable(code))
    }
}

/// Options that cannot be read; the message says what to write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Not JSON at all.
    #[error("the options are not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("the options must be a JSON object")]
    NotObject,
    /// A key that is not an option.
    #[error("unknown option `{key}`; the options are {}", OPTION_KEYS.join(", "))]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A value of the wrong type.
    #[error("option `{key}` must be {must}, not `{given}`")]
    WrongType {
        /// The option.
        key: &'static str,
        /// Its type.
        must: &'static str,
        /// What was given, as JSON.
        given: String,
    },
    /// A name that is not one of those accepted.
    #[error(transparent)]
    Name(#[from] UnknownName),
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
            ("[]", "the options must be a JSON object"),
        ] {
            assert_eq!(
                LintOptions::from_json(Some(json)).unwrap_err().to_string(),
                message
            );
        }
        assert_eq!(
            rule("SC9999").unwrap_err().to_string(),
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
