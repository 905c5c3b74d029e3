//! Invariants the fuzz targets assert, shared with the corpus replay test.
//!
//! Each function takes arbitrary input, runs one boundary of scapi on it and
//! returns what is violated, if anything. The fuzz targets (`fuzz/`, nightly)
//! turn a violation into a crash; `tests/fuzz_corpus.rs` replays the
//! committed corpus through the same functions on stable, so CI checks them
//! without nightly. A panic anywhere below is itself a finding.

use crate::diagnostic::Diagnostic;
use crate::input::InputFormat;
use crate::render::{FileDiagnostics, github, human, json, sarif};
use crate::source::Span;
use crate::{Compilation, Options, fmt};
use scapi_policy::compiled::CompiledPolicy;
use scapi_tools::eval::{self, RequestsFormat};

/// What an invariant found.
pub type Violation = String;

fn span_ok(text: &str, s: Span) -> bool {
    s.start <= s.end
        && s.end <= text.len()
        && text.is_char_boundary(s.start)
        && text.is_char_boundary(s.end)
}

/// Every span of every diagnostic is inside the text and on character
/// boundaries.
pub(crate) fn spans_in_bounds(text: &str, diags: &[Diagnostic]) -> Result<(), Violation> {
    for d in diags {
        let spans = std::iter::once(d.span)
            .chain(d.secondary.iter().map(|l| l.span))
            .chain(d.fix.iter().map(|f| f.span))
            .chain(d.fix.iter().flat_map(|f| f.edits.iter().map(|e| e.span)));
        for s in spans {
            if !span_ok(text, s) {
                return Err(format!(
                    "{} `{}` has span {s:?} outside the text or inside a character",
                    d.code, d.message
                ));
            }
        }
        if !d.located && !d.span.is_empty() {
            return Err(format!("{}: a file-level diagnostic has a span", d.code));
        }
    }
    Ok(())
}

fn compile_as(bytes: &[u8], format: Option<InputFormat>) -> Compilation {
    crate::compile(
        "fuzz.input",
        bytes,
        &Options {
            format,
            ..Options::default()
        },
    )
}

/// An export in a given format: lint never panics, spans are sound, every
/// renderer copes, and a clean policy survives the compiled-JSON round trip.
pub fn lint(bytes: &[u8], format: InputFormat) -> Result<(), Violation> {
    let c = compile_as(bytes, Some(format));
    spans_in_bounds(c.source.text(), &c.diagnostics)?;
    for s in &c.suppressed {
        spans_in_bounds(c.source.text(), std::slice::from_ref(&s.diagnostic))?;
    }
    if c.policy.is_none() && !c.diagnostics.iter().any(|d| d.code.as_str() < "SC0010") {
        return Err("no policy, but no diagnostic says why".into());
    }
    let clean = c.policy.is_some() && !c.has_errors();
    let files = [FileDiagnostics::of(c.clone())];
    let _ = human::render_run(&files, human::Style::plain());
    let _ = json::report(&files).to_json();
    let _ = sarif::log(&files, true).to_json();
    let _ = github::annotations(&files);
    if clean {
        compiled_round_trip_of(&c)?;
    }
    Ok(())
}

/// The origin-list parser alone: never panics; entries and spans are inside
/// the value; entries come in order and do not overlap.
pub fn origin_list(value: &str) -> Result<(), Violation> {
    let l = crate::syntax::origin_list::origin_list(value);
    spans_in_bounds(value, &l.diagnostics)?;
    let mut end = 0;
    for e in &l.entries {
        if e.span.start < end {
            return Err(format!(
                "entry `{}` at {:?} overlaps or precedes the one before",
                e.target, e.span
            ));
        }
        end = e.span.end;
        for s in [e.span, e.removal.span(), e.target_span(value)] {
            if !span_ok(value, s) {
                return Err(format!(
                    "entry `{}` has span {s:?} outside the value",
                    e.target
                ));
            }
        }
        if let Some(f) = &e.filters {
            for i in &f.items {
                if !span_ok(value, i.span) || !span_ok(value, i.removal.span()) {
                    return Err(format!("filter `{}` has a span outside the value", i.name));
                }
            }
        }
    }
    Ok(())
}

fn compiled_round_trip_of(c: &Compilation) -> Result<(), Violation> {
    let Some(p) = &c.policy else { return Ok(()) };
    let first = CompiledPolicy::from(p).to_json();
    let loaded = CompiledPolicy::from_json(&first)
        .and_then(|doc| doc.to_policy())
        .map_err(|e| format!("the compiled policy does not load back: {e}\n{first}"))?;
    let second = CompiledPolicy::from(&loaded).to_json();
    if first != second {
        return Err(format!(
            "compile → JSON → load → JSON differs:\n{first}\n---\n{second}"
        ));
    }
    Ok(())
}

/// Compile → compiled JSON → load → compiled JSON is byte-identical, for
/// any export that compiles without errors (format detected).
pub fn compiled_round_trip(bytes: &[u8]) -> Result<(), Violation> {
    let c = compile_as(bytes, None);
    if c.has_errors() {
        return Ok(());
    }
    compiled_round_trip_of(&c)
}

/// `fmt` output is a fixed point, compiles to the same policy (checked by
/// `fmt` itself), and keeps every line it did not rewrite.
pub fn fmt_fixed_point(bytes: &[u8]) -> Result<(), Violation> {
    let once = match fmt::format(
        "fuzz.cfg",
        bytes,
        &Options {
            format: Some(InputFormat::Cfg),
            ..Options::default()
        },
    ) {
        Ok(f) => f,
        // Its own check failed: the formatter would have changed the policy.
        Err(fmt::FmtError::WouldChangePolicy) => {
            return Err("fmt output would compile to another policy".into());
        }
        Err(_) => return Ok(()),
    };
    let twice = fmt::format("fuzz.cfg", once.text.as_bytes(), &Options::default())
        .map_err(|e| format!("formatted output does not format again: {e}"))?;
    if twice.changed() {
        return Err(format!("fmt is not idempotent: {:?}", twice.changes));
    }
    let input = String::from_utf8_lossy(bytes);
    let changed: Vec<usize> = once.changes.iter().map(|c| c.0).collect();
    for (i, (a, b)) in input
        .split('\n')
        .zip(once.text.trim_start_matches('\u{feff}').split('\n'))
        .enumerate()
    {
        let a = if i == 0 {
            a.trim_start_matches('\u{feff}')
        } else {
            a
        };
        if !changed.contains(&(i + 1)) && a != b {
            return Err(format!(
                "fmt changed line {} which holds no rewritten value",
                i + 1
            ));
        }
    }
    Ok(())
}

/// Marker between the export and the requests in an eval fuzz input.
pub const EVAL_SEPARATOR: &str = "\n===\n";

/// An export and a JSON Lines request stream, separated by
/// [`EVAL_SEPARATOR`]: evaluation never panics, is deterministic, and the
/// export and its compiled JSON decide identically.
pub fn eval(bytes: &[u8]) -> Result<(), Violation> {
    let text = String::from_utf8_lossy(bytes);
    let (export, requests) = text.split_once(EVAL_SEPARATOR).unwrap_or((&text, ""));
    let c = compile_as(export.as_bytes(), Some(InputFormat::Cfg));
    let Some(policy) = c.policy else {
        return Ok(());
    };
    let Ok(items) = eval::parse_items(requests, RequestsFormat::JsonLines) else {
        return Ok(());
    };
    let json = |p: &scapi_policy::policy::Policy| {
        eval::report(p, &items, eval::ReportFormat::Json).map(|(text, _)| text)
    };
    // A quarantine past the year 9999 is refused, alike every time.
    let a = json(&policy).map_err(|e| e.to_string());
    let b = json(&policy).map_err(|e| e.to_string());
    if a != b {
        return Err("evaluating twice gives different decisions".into());
    }
    let _ = eval::report(&policy, &items, eval::ReportFormat::Human);
    let compiled = CompiledPolicy::from(&policy).to_json();
    let loaded = CompiledPolicy::from_json(&compiled)
        .and_then(|d| d.to_policy())
        .map_err(|e| format!("the compiled policy does not load back: {e}"))?;
    let c2 = json(&loaded).map_err(|e| e.to_string());
    if a != c2 {
        return Err("the export and its compiled JSON decide differently".into());
    }
    for item in &items {
        if let eval::ItemKind::Request(r) = &item.kind {
            let _ = scapi_tools::explain::explain(&policy, &r.origin).to_json();
        }
    }
    Ok(())
}

/// The targets of an origin list as the grammar reads them, and whether
/// it found a problem (for tests of the formatter's output).
pub fn origin_list_targets(value: &str) -> (Vec<&str>, bool) {
    let l = crate::syntax::origin_list::origin_list(value);
    (
        l.entries.iter().map(|e| e.target).collect(),
        !l.diagnostics.is_empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_is_caught() {
        let bad = Diagnostic::new(crate::rules::Code::EmptyEntry, Span::new(0, 99), "x");
        assert!(spans_in_bounds("short", &[bad]).is_err());
        let inside = Diagnostic::new(crate::rules::Code::EmptyEntry, Span::new(1, 2), "x");
        assert!(spans_in_bounds("é", &[inside]).is_err());
    }

    #[test]
    fn examples_hold() {
        for f in ["wwews-cluster.cfg", "broken.cfg"] {
            let bytes = std::fs::read(format!("{}/../../examples/{f}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
            lint(&bytes, InputFormat::Cfg).unwrap();
            compiled_round_trip(&bytes).unwrap();
            fmt_fixed_point(&bytes).unwrap();
        }
    }
}
