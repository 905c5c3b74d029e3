//! `lint --format sarif`: SARIF 2.1.0 for code-scanning services.
//!
//! One run; `tool.driver.rules` lists the rules its results refer to, each
//! with its summary, its documentation (the same text as `scapi rule CODE`)
//! and its default level;
//! each result has its rule, level, message, a region with 1-based lines and
//! code-point columns plus the byte range, related locations for secondary
//! labels, `fixes` where a fix is machine-applicable, and — for findings an
//! inline `scapi: allow(…)` comment hid — a suppression with its reason.

use super::FileDiagnostics;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::Code;
use crate::source::{SourceFile, Span};
use serde::Serialize;

/// The SARIF log.
#[derive(Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    results: Vec<Result>,
    column_kind: &'static str,
    invocations: Vec<Invocation>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<InvocationProperties>,
}

/// What the run was configured by: the `scapi.toml` read, if any.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InvocationProperties {
    configuration_file: String,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Text,
    full_description: Text,
    help: Help,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    tags: Vec<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Result {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<Fix>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<Suppression>,
    partial_fingerprints: PartialFingerprints,
}

/// What code scanning matches a result by across runs: the finding's rule,
/// file, option and text, not its line (`crate::baseline`).
#[derive(Serialize)]
struct PartialFingerprints {
    #[serde(rename = "scapiFinding/v1")]
    finding: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize, Clone)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    byte_offset: usize,
    byte_length: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Fix {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
    properties: FixProperties,
}

/// scapi's property of a fix: whether `lint --fix` applies it.
#[derive(Serialize)]
struct FixProperties {
    applicability: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

#[derive(Serialize)]
struct Suppression {
    kind: &'static str,
    justification: String,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The family of a rule, as a SARIF tag.
fn family(code: Code) -> &'static str {
    match code.as_str().get(2..4) {
        Some("00") => "input",
        Some("01") => "origins",
        Some("02") => "filters",
        Some("03") => "rate-limits",
        Some("04") => "user-data",
        Some("05") => "web-extensions",
        _ => "other",
    }
}

/// The first paragraph under "What it checks" of a rule's page.
fn what_it_checks(code: Code) -> String {
    let doc = code.doc();
    let body = doc.split_once("## What it checks").map_or(doc, |(_, b)| b);
    let para = body.trim_start().split("\n\n").next().unwrap_or("");
    para.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn rule(code: Code) -> Rule {
    let title = format!("# {} `{}`\n\n", code.as_str(), code.name());
    Rule {
        id: code.as_str(),
        name: code.name(),
        short_description: Text {
            text: code.summary().to_string(),
        },
        full_description: Text {
            text: what_it_checks(code),
        },
        help: Help {
            text: format!("{title}{}", code.doc()),
            markdown: format!("{title}{}", code.doc()),
        },
        default_configuration: Configuration {
            level: level(code.default_severity()),
        },
        properties: RuleProperties {
            tags: vec!["security", family(code)],
        },
    }
}

/// A file name as a URI reference: percent-encoding of everything but
/// unreserved characters and `/`. A backslash is part of a file name on
/// Linux, not a separator, so it is encoded (`%5C`), never turned into `/`
/// (which would name another file).
fn uri(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn region(source: &SourceFile, span: Span) -> Region {
    let start = source.line_col(span.start);
    let end = source.line_col(span.end);
    Region {
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: end.column,
        byte_offset: span.start + source.base(),
        byte_length: span.len(),
    }
}

fn result(
    rules: &[Code],
    source: &SourceFile,
    artifact: &ArtifactLocation,
    d: &Diagnostic,
    suppression: Option<&str>,
    fingerprint: String,
) -> Result {
    let rule_index = rules.iter().position(|c| *c == d.code).unwrap_or(0);
    let located = |span: Span| {
        if d.located {
            Some(region(source, span))
        } else {
            None
        }
    };
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    Result {
        rule_id: d.code.as_str(),
        rule_index,
        level: level(d.severity),
        message: Text { text: message },
        locations: vec![Location {
            id: None,
            physical_location: PhysicalLocation {
                artifact_location: artifact.clone(),
                region: located(d.span),
            },
            message: d.label.as_ref().map(|l| Text { text: l.clone() }),
        }],
        related_locations: d
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| Location {
                id: Some(i),
                physical_location: PhysicalLocation {
                    artifact_location: artifact.clone(),
                    region: located(l.span),
                },
                message: Some(Text {
                    text: l.message.clone(),
                }),
            })
            .collect(),
        fixes: d
            .fix
            .iter()
            .map(|f| Fix {
                description: Text {
                    text: d.help.clone().unwrap_or_else(|| "apply the fix".into()),
                },
                artifact_changes: vec![ArtifactChange {
                    artifact_location: artifact.clone(),
                    replacements: f
                        .parts()
                        .into_iter()
                        .map(|e| Replacement {
                            deleted_region: region(source, e.span),
                            inserted_content: Text {
                                text: e.replacement,
                            },
                        })
                        .collect(),
                }],
                properties: FixProperties {
                    applicability: f.applicability.as_str(),
                },
            })
            .collect(),
        suppressions: suppression
            .map(|reason| {
                vec![Suppression {
                    kind: "inSource",
                    justification: reason.to_string(),
                }]
            })
            .unwrap_or_default(),
        partial_fingerprints: PartialFingerprints {
            finding: fingerprint,
        },
    }
}

/// The rules the results refer to, in code order.
fn used_rules(files: &[FileDiagnostics]) -> Vec<Code> {
    // The rules the results refer to, in code order: a clean run carries no
    // rule table, and a results' `ruleIndex` points into this list.
    let mut used: Vec<Code> = files
        .iter()
        .flat_map(|f| {
            f.diagnostics
                .iter()
                .chain(f.suppressed.iter().map(|s| &s.diagnostic))
        })
        .map(|d| d.code)
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// Every result, file by file, in position order.
fn results<'a>(
    files: &'a [FileDiagnostics],
    used: &'a [Code],
) -> impl Iterator<Item = Result> + 'a {
    files.iter().flat_map(move |f| {
        let artifact = ArtifactLocation {
            uri: uri(f.source.name()),
        };
        let mut all: Vec<(&Diagnostic, Option<&str>)> =
            f.diagnostics.iter().map(|d| (d, None)).collect();
        all.extend(
            f.suppressed
                .iter()
                .map(|s| (&s.diagnostic, Some(s.reason.as_str()))),
        );
        all.sort_by_key(|(d, _)| (d.span.start, d.code));
        let mut seen = std::collections::BTreeMap::new();
        all.into_iter().map(move |(d, s)| {
            let key = crate::baseline::key_of(&f.source, d);
            let n = seen.entry(key.clone()).or_insert(0usize);
            let fingerprint = crate::baseline::fingerprint(&key, *n);
            *n += 1;
            result(used, &f.source, &artifact, d, s, fingerprint)
        })
    })
}

/// The SARIF log of a lint run.
pub fn log(files: &[FileDiagnostics], successful: bool) -> Log {
    let used = used_rules(files);
    let mut log = shell(&used, successful);
    if let Some(run) = log.runs.first_mut() {
        run.results = results(files, &used).collect();
    }
    log
}

/// Writes [`log`]`(files, successful).to_json()` without holding the log:
/// each result is built and printed in turn.
pub fn write_log(
    files: &[FileDiagnostics],
    successful: bool,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    write_log_configured(files, successful, None, out)
}

/// [`write_log`] for a run configured by a file (`scapi.toml`): its path is
/// the invocation's `properties.configurationFile`.
pub fn write_log_configured(
    files: &[FileDiagnostics],
    successful: bool,
    configuration: Option<&str>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let used = used_rules(files);
    let mut shell = shell(&used, successful);
    if let (Some(file), Some(run)) = (configuration, shell.runs.first_mut()) {
        for i in &mut run.invocations {
            i.properties = Some(InvocationProperties {
                configuration_file: file.to_string(),
            });
        }
    }
    scapi_policy::jsonfmt::write_streamed(out, &shell, "/runs/0/results", results(files, &used))
}

/// The log without its results.
fn shell(used: &[Code], successful: bool) -> Log {
    Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "scapi",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules: used.iter().map(|&c| rule(c)).collect(),
                },
            },
            results: Vec::new(),
            column_kind: "unicodeCodePoints",
            invocations: vec![Invocation {
                execution_successful: successful,
                properties: None,
            }],
        }],
    }
}

impl Log {
    /// The log as JSON.
    pub fn to_json(&self) -> String {
        scapi_policy::jsonfmt::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(uri("examples/broken.cfg"), "examples/broken.cfg");
        assert_eq!(uri("<stdin>"), "%3Cstdin%3E");
        assert_eq!(uri("a b\\c.cfg"), "a%20b%5Cc.cfg");
    }

    #[test]
    fn every_rule_has_a_description() {
        for &c in Code::ALL {
            assert!(!what_it_checks(c).is_empty(), "{c}");
        }
    }
}
