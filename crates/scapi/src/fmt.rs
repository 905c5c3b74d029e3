//! The canonical formatter (`scapi fmt`).
//!
//! Rewrites the `service-client-api.*` values of a cfg/ini export in
//! canonical form — canonical origins, `, ` between entries, one space
//! before `(`, `, ` between filters, numbers without padding, key lists
//! trimmed and separated by `, ` — and leaves every other byte of the file
//! as it was. It refuses a file with errors (their meaning is not settled)
//! and checks its own output: the output must compile without errors to the
//! same policy, or nothing is returned.

use crate::input::{self, InputFormat, MAIN_SECTION, OptionEntry, ReadOptions};
use crate::lower::{self, ORIGINS, PREFIX, QUARANTINE, RATE_LIMIT, RATE_LIMIT_PREFIX};
use crate::lower::{BLOCK_MARKDONE_TIMEOUT, READ_ALLOWED, WRITE_ALLOWED};
use crate::source::Span;
use crate::syntax::{integer, list, origin_list};
use crate::{Compilation, Options};

/// Why a file was not formatted.
#[derive(Debug, thiserror::Error)]
pub enum FmtError {
    /// Occurs when the file is JSON or YAML: only cfg/ini exports are rewritten.
    #[error("`fmt` rewrites cfg/ini exports only; this file is {0}")]
    NotCfg(InputFormat),
    /// Occurs when the file cannot be read, or has errors; the compilation
    /// says why.
    #[error("the file has errors")]
    Diagnostics(Box<Compilation>),
    /// Occurs when the formatted text would compile to another policy — a
    /// bug in the formatter, caught before anything is written.
    #[error("formatting would change the policy; nothing was changed")]
    WouldChangePolicy,
}

/// A formatted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Formatted {
    /// The whole new text (BOM and line ends preserved).
    pub text: String,
    /// The 1-based lines whose value changed, with their old and new text.
    pub changes: Vec<(usize, String, String)>,
}

impl Formatted {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// The canonical text of one option value, or `None` to leave it alone.
fn canonical_value(o: &OptionEntry) -> Option<String> {
    let key = o.key.as_str();
    if key == ORIGINS {
        // Streamed, written straight into the value: a list of a million
        // entries (or of a million empty ones) is never held.
        let mut out = String::with_capacity(o.value.len());
        origin_list::each_entry(&o.value, |parsed| {
            let origin_list::Parsed::Entry(e) = parsed else {
                return;
            };
            if !out.is_empty() {
                out.push_str(", ");
            }
            // An entry with an error (kept only because a suppression hides
            // it) stays as written: it grants nothing, and must go on
            // granting nothing.
            match lower::canonical_target(e.target) {
                None => out.push_str(o.value.get(e.span.range()).unwrap_or(e.target).trim()),
                Some(target) => {
                    out.push_str(&target);
                    if let Some(f) = &e.filters {
                        out.push_str(" (");
                        for (i, item) in f.items.iter().enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            out.push_str(item.name);
                        }
                        out.push(')');
                    }
                }
            }
        });
        return Some(out);
    }
    if key == RATE_LIMIT
        || key == QUARANTINE
        || key == BLOCK_MARKDONE_TIMEOUT
        || key.starts_with(RATE_LIMIT_PREFIX)
    {
        return integer::integer(&o.value).ok().map(|i| i.value.to_string());
    }
    if key == READ_ALLOWED || key == WRITE_ALLOWED {
        let items: Vec<&str> = list::key_list(&o.value)
            .into_iter()
            .map(|i| i.text)
            .filter(|t| !t.is_empty())
            .collect();
        return Some(items.join(", "));
    }
    None
}

/// Formats a cfg/ini export.
pub fn format(name: &str, bytes: &[u8], options: &Options) -> Result<Formatted, FmtError> {
    let read_options = ReadOptions {
        format: options.format,
        max_input_bytes: options
            .max_input_bytes
            .unwrap_or(input::DEFAULT_MAX_INPUT_BYTES),
        ..ReadOptions::default()
    };
    let before = crate::compile(name, bytes, options);
    if before.is_unreadable() || before.has_errors() {
        return Err(FmtError::Diagnostics(Box::new(before)));
    }
    // Only the policy is needed from here: the rest of a large file's
    // compilation is let go before the file is read again.
    let before = Compilation {
        policy: before.policy,
        diagnostics: Vec::new(),
        suppressed: Vec::new(),
        source: crate::source::SourceFile::new(name, String::new()),
    };
    let read = input::read(name, bytes, read_options).map_err(|_| FmtError::WouldChangePolicy)?;
    if read.format != InputFormat::Cfg {
        return Err(FmtError::NotCfg(read.format));
    }
    let text = read.source.text();
    let mut edits: Vec<(Span, String)> = Vec::new();
    if let Some(section) = read.export.section(MAIN_SECTION) {
        for o in section.options.iter().filter(|o| o.key.starts_with(PREFIX)) {
            if let Some(v) = canonical_value(o).filter(|v| o.value != v.as_str()) {
                edits.push((o.value_span, v));
            }
        }
    }
    edits.sort_by_key(|(s, _)| s.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut changes = Vec::new();
    for (span, new) in &edits {
        out.push_str(text.get(at..span.start).unwrap_or(""));
        out.push_str(new);
        at = span.end;
        let line = read.source.line_of(span.start);
        changes.push((
            line,
            read.source.slice(read.source.line_span(line)).to_string(),
            String::new(),
        ));
    }
    out.push_str(text.get(at..).unwrap_or(""));
    let bom = if read.source.base() > 0 {
        "\u{feff}"
    } else {
        ""
    };
    let new_text = format!("{bom}{out}");
    // The output must mean exactly what the input meant.
    let after = crate::compile(
        name,
        new_text.as_bytes(),
        &Options {
            format: Some(InputFormat::Cfg),
            ..options.clone()
        },
    );
    if after.has_errors()
        || !matches!((&after.policy, &before.policy), (Some(a), Some(b)) if a.same_rules(b))
    {
        return Err(FmtError::WouldChangePolicy);
    }
    for change in &mut changes {
        change.2 = after
            .source
            .slice(after.source.line_span(change.0))
            .to_string();
    }
    Ok(Formatted {
        text: new_text,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        format("f.cfg", text.as_bytes(), &Options::default())
            .unwrap()
            .text
    }

    #[test]
    fn canonical_values_and_untouched_bytes() {
        let text = "; keep me  \r\n[interaction-workspace]\r\nother.option =  spaced  \r\nservice-client-api.accepted-web-content-origins=HTTPS://A.example:443(agent.*,voice.dial) ,https://b.example (*),,*(agent.get)\r\nservice-client-api.rate-limit= 007\r\nservice-client-api.user-data.read-allowed=Key1 ,Key2,\r\n";
        let want = "; keep me  \r\n[interaction-workspace]\r\nother.option =  spaced  \r\nservice-client-api.accepted-web-content-origins=https://a.example (agent.*, voice.dial), https://b.example (*), * (agent.get)\r\nservice-client-api.rate-limit= 7\r\nservice-client-api.user-data.read-allowed=Key1, Key2\r\n";
        assert_eq!(fmt(text), want);
        assert_eq!(fmt(want), want, "idempotent");
    }

    #[test]
    fn refuses_errors_and_other_formats() {
        let e = format(
            "f.cfg",
            b"service-client-api.rate-limit=ten\n",
            &Options::default(),
        )
        .unwrap_err();
        assert!(matches!(e, FmtError::Diagnostics(_)));
        let e = format(
            "f.json",
            b"{\"interaction-workspace\": {}}",
            &Options::default(),
        )
        .unwrap_err();
        assert!(matches!(e, FmtError::NotCfg(InputFormat::Json)));
    }

    #[test]
    fn keeps_a_bom() {
        let t = fmt("\u{feff}service-client-api.rate-limit=04\n");
        assert_eq!(t, "\u{feff}service-client-api.rate-limit=4\n");
    }
}
