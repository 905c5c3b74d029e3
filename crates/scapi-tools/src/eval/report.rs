//! The report of a replay, streamed: JSON (as `jsonfmt` lays documents
//! out) or a table.

use super::replay::{Decided, Summary};
use super::requests::*;
use scapi_policy::decision::Outcome;
use scapi_policy::jsonfmt::{
    Scalar, Streamer, push_json_str, push_object, push_pad, push_raw, push_strings,
};
use std::io::Write;

/// How [`run`](super::run) writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// A table, one row per item, then the counts (`scapi eval`).
    Human,
    /// The document of `grammar/eval.schema.json`, streamed.
    Json,
}

/// A report being written, decision by decision.
pub(super) trait Printer {
    fn decision(&mut self, item: &Item, d: &Decided<'_>) -> std::io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()>;
    /// The run stops early. A report not yet begun on the output is
    /// dropped, so a bad file found early prints nothing; one that has
    /// begun is written out to where it stopped.
    fn abort(&mut self) -> std::io::Result<()>;
}

/// Flush the buffer to the output when it holds this much.
const FLUSH_AT: usize = 60 * 1024;

/// The JSON report, streamed through `jsonfmt`'s [`Streamer`].
pub(super) struct JsonPrinter<'w, W: Write> {
    /// `None` once finished or aborted.
    doc: Option<Streamer<&'w mut W>>,
}

/// The report document with no decisions: its text around the array.
fn document(summary: &Summary) -> serde_json::Value {
    let mut s = serde_json::Map::new();
    for (o, n) in Outcome::ALL.iter().zip(summary.outcomes) {
        s.insert(o.as_str().to_string(), n.into());
    }
    s.insert("expectMismatches".into(), summary.mismatches.into());
    serde_json::json!({"schemaVersion": 1, "decisions": [], "summary": s})
}

impl<'w, W: Write> JsonPrinter<'w, W> {
    pub(super) fn new(out: &'w mut W) -> std::io::Result<JsonPrinter<'w, W>> {
        let doc = Streamer::begin(out, &document(&Summary::default()), "/decisions")
            .ok_or_else(|| std::io::Error::other("the eval document has no decisions"))?;
        Ok(JsonPrinter { doc: Some(doc) })
    }
}

impl<W: Write> Printer for JsonPrinter<'_, W> {
    fn decision(&mut self, _: &Item, d: &Decided<'_>) -> std::io::Result<()> {
        match &mut self.doc {
            Some(doc) => doc.item_with(|out, depth| push_decision(out, d, depth)),
            None => Ok(()),
        }
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        match self.doc.take() {
            Some(doc) => doc.finish_with(&document(summary), "/decisions"),
            None => Ok(()),
        }
    }

    fn abort(&mut self) -> std::io::Result<()> {
        match self.doc.take() {
            Some(doc) => doc.abort(),
            None => Ok(()),
        }
    }
}

/// One decision of the JSON report, laid out as `jsonfmt` lays documents
/// out: on one line when all its fields are short scalars, else one field
/// per line; the event's JSON text is re-laid out without changing a
/// scalar of it.
fn push_decision(out: &mut Vec<u8>, d: &Decided<'_>, depth: usize) {
    let until = d.quarantine_until.as_ref().map(Option::as_deref);
    let mut head: Vec<(&str, Scalar<'_>)> = vec![
        ("index", Scalar::Num(d.index)),
        ("outcome", Scalar::Str(d.outcome.as_str())),
        ("reason", Scalar::Str(d.reason.as_str())),
    ];
    if d.shadow {
        head.push(("shadow", Scalar::Bool(true)));
    }
    let simple =
        d.entry.is_none() && d.result.is_none() && d.denied_keys.is_empty() && d.event.is_none();
    if simple {
        head.push(("entry", Scalar::Null));
        if let Some(u) = until {
            head.push(("quarantineUntil", u.map_or(Scalar::Null, Scalar::Str)));
        }
        if let Some(x) = d.mismatch {
            head.push(("expected", Scalar::Str(x.as_str())));
        }
        push_object(out, &head, depth);
        return;
    }
    // Not all scalars: one field per line.
    let field = |out: &mut Vec<u8>, key: &str, first: bool| {
        if !first {
            out.extend_from_slice(b",\n");
        }
        push_pad(out, depth + 1);
        push_json_str(out, key);
        out.extend_from_slice(b": ");
    };
    out.extend_from_slice(b"{\n");
    for (i, (k, v)) in head.iter().enumerate() {
        field(out, k, i == 0);
        v.push(out);
    }
    field(out, "entry", false);
    match d.entry {
        None => out.extend_from_slice(b"null"),
        Some(e) => push_object(
            out,
            &[
                ("origin", Scalar::Str(e.origin)),
                ("line", Scalar::Num(e.line)),
            ],
            depth + 1,
        ),
    }
    if let Some(r) = &d.result {
        field(out, "result", false);
        push_object(
            out,
            &[
                ("errorMessage", Scalar::Str(&r.error_message)),
                ("request", Scalar::Str(&r.request)),
            ],
            depth + 1,
        );
    }
    if let Some(u) = until {
        field(out, "quarantineUntil", false);
        u.map_or(Scalar::Null, Scalar::Str).push(out);
    }
    if !d.denied_keys.is_empty() {
        field(out, "deniedKeys", false);
        push_strings(out, &d.denied_keys);
    }
    if let Some(ev) = &d.event {
        field(out, "event", false);
        push_raw(out, ev, depth + 1);
        field(out, "removedKeys", false);
        push_strings(out, &d.removed_keys);
    }
    if let Some(x) = d.mismatch {
        field(out, "expected", false);
        Scalar::Str(x.as_str()).push(out);
    }
    out.push(b'\n');
    push_pad(out, depth);
    out.push(b'}');
}

/// The widest a cell of the human table gets, in characters.
const CELL_MAX: usize = 64;

/// Rows held to size the table's columns; later rows use those widths (a
/// wider cell pushes its row, nothing is cut beyond [`CELL_MAX`]).
const SIZING_ROWS: usize = 256;

/// Lines of answered results and of unmet expectations listed after the
/// table; the rest are counted.
const LISTED: usize = 100;

/// The human table, streamed: the first rows size the columns.
pub(super) struct HumanPrinter<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    rows: Vec<[String; 8]>,
    widths: Option<[usize; 8]>,
    answered: Vec<String>,
    mismatches: Vec<String>,
    more_answered: usize,
    more_mismatches: usize,
    /// Whether some of the report is on the output already.
    begun: bool,
}

const HEADER: [&str; 8] = [
    "#", "TIME", "CLIENT", "ORIGIN", "REQUEST", "OUTCOME", "REASON", "ENTRY",
];

impl<'w, W: Write> HumanPrinter<'w, W> {
    pub(super) fn new(out: &'w mut W) -> HumanPrinter<'w, W> {
        HumanPrinter {
            out,
            buf: Vec::with_capacity(64 * 1024),
            rows: vec![HEADER.map(String::from)],
            widths: None,
            answered: Vec::new(),
            mismatches: Vec::new(),
            more_answered: 0,
            more_mismatches: 0,
            begun: false,
        }
    }

    fn push_row(buf: &mut Vec<u8>, row: &[String; 8], widths: &[usize; 8]) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        buf.extend_from_slice(line.trim_end().as_bytes());
        buf.push(b'\n');
    }

    /// Sizes the columns from the rows held and writes them.
    fn size_columns(&mut self) {
        let mut widths = [0usize; 8];
        for r in &self.rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for r in std::mem::take(&mut self.rows) {
            Self::push_row(&mut self.buf, &r, &widths);
        }
        self.widths = Some(widths);
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.begun = true;
        Ok(())
    }
}

/// One row of the table.
fn row(item: &Item, d: &Decided<'_>) -> [String; 8] {
    let (client, origin, request) = match &item.kind {
        ItemKind::Request(r) => (r.client.as_str(), r.origin.as_str(), r.request.clone()),
        ItemKind::Event(ev) => {
            let kind = serde_json::from_str::<serde_json::Value>(ev)
                .ok()
                .and_then(|v| {
                    v.pointer("/data/eventType")
                        .and_then(|t| t.as_str())
                        .map(String::from)
                })
                .unwrap_or_else(|| "notification".into());
            ("", "", format!("event {kind}"))
        }
        ItemKind::Policy(path) => ("", "", format!("policy {path}")),
    };
    let mut reason = d.reason.as_str().to_string();
    if !d.denied_keys.is_empty() {
        let verb = if d.shadow { "would strip" } else { "stripped" };
        reason.push_str(&format!(" ({verb} {})", d.denied_keys.join(", ")));
    }
    if d.outcome == Outcome::Redacted {
        reason = if d.removed_keys.is_empty() {
            "nothing removed".into()
        } else {
            format!("removed {}", d.removed_keys.join(", "))
        };
    }
    if let Some(until) = &d.quarantine_until {
        reason.push_str(&match until {
            Some(t) => format!(" until {t}"),
            None => " forever".into(),
        });
    }
    // `origin:9` would read as a port.
    let entry = d.entry.map_or("-".to_string(), |e| {
        format!("{} (line {})", e.origin, e.line)
    });
    let mut outcome = match d.mismatch {
        Some(_) => format!("{} ≠", d.outcome),
        None => d.outcome.to_string(),
    };
    if d.shadow {
        // Would have been: the request went on.
        outcome.push_str(" (shadow)");
    }
    // Untrusted text is shown escaped and cut: a control character must
    // not drive the terminal, and one long origin must not widen every
    // row (`--format json` has every value in full).
    let cell = |s: &str| crate::text::clip(&crate::text::exact(s), CELL_MAX).into_owned();
    [
        d.index.to_string(),
        format_time(d.at).unwrap_or_default(),
        cell(client),
        cell(origin),
        cell(&request),
        outcome,
        // Whole: the keys it names are the point of the row.
        crate::text::exact(&reason).into_owned(),
        cell(&entry),
    ]
}

impl<W: Write> Printer for HumanPrinter<'_, W> {
    fn decision(&mut self, item: &Item, d: &Decided<'_>) -> std::io::Result<()> {
        let r = row(item, d);
        match &self.widths {
            Some(w) => {
                let w = *w;
                Self::push_row(&mut self.buf, &r, &w);
            }
            None => {
                self.rows.push(r);
                if self.rows.len() > SIZING_ROWS {
                    self.size_columns();
                }
            }
        }
        if let Some(res) = &d.result {
            if self.answered.len() < LISTED {
                self.answered.push(format!(
                    "item {} answered: {}\n",
                    d.index,
                    crate::text::exact(&res.to_json())
                ));
            } else {
                self.more_answered += 1;
            }
        }
        if let Some(expected) = d.mismatch {
            if self.mismatches.len() < LISTED {
                self.mismatches.push(format!(
                    "item {}: expected {expected}, got {} ({})\n",
                    d.index, d.outcome, d.reason
                ));
            } else {
                self.more_mismatches += 1;
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        if self.widths.is_none() {
            self.size_columns();
        }
        let n = summary.items();
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .zip(summary.outcomes)
            .filter(|(_, n)| *n > 0)
            .map(|(o, n)| format!("{n} {o}"))
            .collect();
        let mut tail = format!("\n{n} item{}", if n == 1 { "" } else { "s" });
        if !counts.is_empty() {
            tail.push_str(&format!(": {}", counts.join(", ")));
        }
        tail.push('\n');
        for a in &self.answered {
            tail.push_str(a);
        }
        if self.more_answered > 0 {
            tail.push_str(&format!(
                "… and {} more rate-limited items (see `--format json`)\n",
                self.more_answered
            ));
        }
        for m in &self.mismatches {
            tail.push_str(m);
        }
        if self.more_mismatches > 0 {
            tail.push_str(&format!(
                "… and {} more unmet expectations (see `--format json`)\n",
                self.more_mismatches
            ));
        }
        if summary.mismatches > 0 {
            tail.push_str(&format!(
                "{} expectation{} not met\n",
                summary.mismatches,
                if summary.mismatches == 1 { "" } else { "s" }
            ));
        }
        self.buf.extend_from_slice(tail.as_bytes());
        self.flush_buf()?;
        self.out.flush()
    }

    fn abort(&mut self) -> std::io::Result<()> {
        if self.begun {
            self.flush_buf()?;
        }
        self.out.flush()
    }
}
