//! What the server answers: diagnostics, quick fixes, hover, completion
//! and formatting — each from the compiler (findings, fixes, rule pages,
//! the request catalog, option docs, `fmt`), none computed a second way.

use crate::Analysis;
use crate::text::LineIndex;
use lsp_server::ErrorCode;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CompletionItem,
    CompletionItemKind, CompletionParams, CompletionResponse, CompletionTextEdit,
    DiagnosticRelatedInformation, DiagnosticSeverity, DocumentFormattingParams, Documentation,
    Hover, HoverContents, HoverParams, Location, MarkupContent, MarkupKind, NumberOrString,
    Position, Range, TextEdit, Uri, WorkspaceEdit,
};
use scapi::diagnostic::{Applicability, Diagnostic, Severity};
use scapi::front::config::Settings;
use scapi_policy::catalog;
use serde_json::Value;
use std::collections::HashMap;

/// A failed request: its error code and message.
pub type Failure = (ErrorCode, String);

/// What a request is answered from.
pub struct Context<'a> {
    pub uri: &'a Uri,
    /// The document's name (the last segment of its URI).
    pub name: String,
    pub text: &'a str,
    pub index: &'a LineIndex,
    /// The compilation of exactly this text, when there is one.
    pub analysis: Option<&'a Analysis>,
    pub settings: &'a Settings,
}

/// Parameters naming a document.
pub trait HasDocument {
    fn document(&self) -> &Uri;
}

impl HasDocument for CodeActionParams {
    fn document(&self) -> &Uri {
        &self.text_document.uri
    }
}

impl HasDocument for HoverParams {
    fn document(&self) -> &Uri {
        &self.text_document_position_params.text_document.uri
    }
}

impl HasDocument for CompletionParams {
    fn document(&self) -> &Uri {
        &self.text_document_position.text_document.uri
    }
}

impl HasDocument for DocumentFormattingParams {
    fn document(&self) -> &Uri {
        &self.text_document.uri
    }
}

fn json(v: impl serde::Serialize) -> Result<Value, Failure> {
    serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

/// The range of a finding's span in the document (the compiler's offsets
/// leave out a BOM; the document's keep it).
fn range_of(a: &Analysis, start: usize, end: usize) -> Range {
    let base = a.compilation.source.base();
    a.index.range(&a.text, start + base, end + base)
}

/// The findings of a compilation, as LSP diagnostics.
pub fn diagnostics(uri: &Uri, a: &Analysis) -> Vec<lsp_types::Diagnostic> {
    a.compilation
        .diagnostics
        .iter()
        .map(|d| lsp_diagnostic(uri, a, d))
        .collect()
}

/// Where a finding is in the document (a finding about the whole file: at
/// its start).
fn finding_range(a: &Analysis, d: &Diagnostic) -> Range {
    if d.located {
        range_of(a, d.span.start, d.span.end)
    } else {
        Range::default()
    }
}

fn lsp_diagnostic(uri: &Uri, a: &Analysis, d: &Diagnostic) -> lsp_types::Diagnostic {
    let range = finding_range(a, d);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .map(|l| DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: range_of(a, l.span.start, l.span.end),
            },
            message: l.message.clone(),
        })
        .collect();
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        source: Some("scapi".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

fn overlaps(a: Range, b: Range) -> bool {
    let before = |x: Position, y: Position| (x.line, x.character) < (y.line, y.character);
    !before(a.end, b.start) && !before(b.end, a.start)
}

/// Quick fixes from the findings' fixes under the range, and "fix all".
pub fn code_actions(cx: &Context<'_>, p: CodeActionParams) -> Result<Value, Failure> {
    let Some(a) = cx.analysis else {
        return json(Vec::<CodeActionOrCommand>::new());
    };
    let only = p.context.only.as_deref().unwrap_or_default();
    let asked = |kind: &CodeActionKind| only.iter().any(|k| kind.as_str().starts_with(k.as_str()));
    // Quick fixes unless other kinds are asked for; fixing the whole file
    // (which compiles it again) only when asked for by kind, as editors do
    // for "fix all" and on save — not on every move of the cursor.
    let quick = only.is_empty() || asked(&CodeActionKind::QUICKFIX);
    let mut actions = Vec::new();
    if quick {
        for d in &a.compilation.diagnostics {
            let Some(fix) = &d.fix else { continue };
            if !overlaps(finding_range(a, d), p.range) {
                continue;
            }
            let diag = lsp_diagnostic(cx.uri, a, d);
            let edits: Vec<TextEdit> = fix
                .parts()
                .into_iter()
                .map(|e| TextEdit {
                    range: range_of(a, e.span.start, e.span.end),
                    new_text: e.replacement,
                })
                .collect();
            let safe = fix.applicability == Applicability::Safe;
            let what = d.help.clone().unwrap_or_else(|| "apply the fix".into());
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: if safe {
                    format!("{}: {what}", d.code)
                } else {
                    format!(
                        "{}: {what} (unsafe: grants what the export does not name)",
                        d.code
                    )
                },
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![diag]),
                edit: Some(edit_of(cx.uri, edits)),
                is_preferred: Some(safe),
                ..CodeAction::default()
            }));
        }
    }
    if asked(&CodeActionKind::SOURCE_FIX_ALL)
        && a.compilation.diagnostics.iter().any(|d| {
            d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == Applicability::Safe)
        })
    {
        let options = cx.settings.options(scapi::Options::default(), &cx.name);
        if let Ok(run) =
            scapi::fix::fix_file(&cx.name, cx.text.as_bytes().to_vec(), &options, false)
            && let Some(fixed) = &run.fixed_bytes
        {
            let whole = cx.index.range(cx.text, 0, cx.text.len());
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!(
                    "Fix all safe problems ({} finding{})",
                    run.fixed.len(),
                    if run.fixed.len() == 1 { "" } else { "s" }
                ),
                kind: Some(CodeActionKind::SOURCE_FIX_ALL),
                edit: Some(edit_of(
                    cx.uri,
                    vec![TextEdit {
                        range: whole,
                        new_text: String::from_utf8_lossy(fixed)
                            .trim_start_matches('\u{feff}')
                            .to_string(),
                    }],
                )),
                ..CodeAction::default()
            }));
        }
    }
    json(actions)
}

fn edit_of(uri: &Uri, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

/// The word of a request name or filter around `offset`: its byte range.
fn word_at(text: &str, offset: usize) -> (usize, usize) {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '_' | '-');
    let start = text.get(..offset).map_or(offset, |t| {
        t.char_indices()
            .rev()
            .take_while(|&(_, c)| is_word(c))
            .last()
            .map_or(offset, |(i, _)| i)
    });
    let end = text.get(offset..).map_or(offset, |t| {
        offset + t.find(|c: char| !is_word(c)).unwrap_or(t.len())
    });
    (start, end)
}

/// If `offset` is inside a filter list — after a `(` on its line that no
/// `)` closes — the byte offset of that `(`.
fn open_paren(text: &str, offset: usize) -> Option<usize> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.get(line_start..)?;
    match (line.rfind('('), line.rfind(')')) {
        (Some(o), Some(c)) if c > o => None,
        (Some(o), _) => Some(line_start + o),
        _ => None,
    }
}

/// The entry's origin before a filter list's `(`.
fn entry_origin(text: &str, paren: usize) -> Option<&str> {
    let before = text.get(..paren)?;
    let from = before
        .rfind([',', ';', '=', '\n', '"', '>'])
        .map_or(0, |i| i + 1);
    let origin = before.get(from..)?.trim();
    (!origin.is_empty()).then_some(origin)
}

fn markdown(value: String) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: None,
    }
}

fn request_doc(id: catalog::RequestId) -> String {
    let r = id.get();
    let mut out = format!("**`{}`** — {}", r.name, r.description);
    if r.explicit_only {
        out.push_str("\n\nGranted only when named: neither `*` nor `namespace.*` grants it.");
    }
    out
}

/// Hover: a finding's rule page; a request name's description and whether
/// its entry grants it; an option name's meaning.
pub fn hover(cx: &Context<'_>, p: HoverParams) -> Result<Value, Failure> {
    let pos = p.text_document_position_params.position;
    let offset = cx.index.offset(cx.text, pos);
    // A finding under the cursor: its rule's page.
    if let Some(a) = cx.analysis {
        let base = a.compilation.source.base();
        let at = offset.saturating_sub(base);
        let pages: Vec<String> = a
            .compilation
            .diagnostics
            .iter()
            .filter(|d| d.located && d.span.start <= at && at <= d.span.end.max(d.span.start + 1))
            .map(|d| {
                format!(
                    "**{}** `{}` ({})\n\n{}",
                    d.code,
                    d.code.name(),
                    d.code.default_severity().as_str(),
                    d.code.doc()
                )
            })
            .collect();
        if !pages.is_empty() {
            return json(markdown(pages.join("\n\n---\n\n")));
        }
    }
    let (start, end) = word_at(cx.text, offset);
    let word = cx.text.get(start..end).unwrap_or("");
    // An option name.
    if let Some(a) = cx.analysis {
        let at = offset.saturating_sub(a.compilation.source.base());
        if let Some(place) = a.compilation.source.option_at(at)
            && place.key.start <= at
            && at <= place.key.end
        {
            let key = place
                .name
                .split_once('/')
                .map_or(place.name.as_str(), |(_, k)| k);
            if let Some(doc) = scapi::options::doc(key) {
                return json(markdown(format!(
                    "**`{key}`** — {}\n\nValue: {}",
                    doc.meaning, doc.value
                )));
            }
        }
    }
    // A request name or a namespace pattern.
    let grant_note = |name: &str| -> String {
        let Some(paren) = open_paren(cx.text, offset) else {
            return String::new();
        };
        let Some(origin) = entry_origin(cx.text, paren) else {
            return String::new();
        };
        let Some(policy) = cx.analysis.and_then(|a| a.compilation.policy.as_ref()) else {
            return String::new();
        };
        let canonical = scapi::options::canonical_entry_target(origin);
        let grant = match canonical.as_deref() {
            Some("*") => policy.any_origin(),
            Some(o) => policy.origin(o).map(|o| o.grant),
            None => None,
        };
        match grant {
            Some(g) if g.permits(name) => format!("\n\nGranted to `{origin}` by this list."),
            Some(_) => format!("\n\nNot granted to `{origin}` by this list."),
            None => format!("\n\nThe entry `{origin}` grants nothing: it has an error."),
        }
    };
    if let Some(id) = catalog::lookup(word) {
        return json(markdown(request_doc(id) + &grant_note(word)));
    }
    if let Some(ns) = word
        .strip_suffix(".*")
        .filter(|ns| catalog::is_namespace(ns))
    {
        let names: Vec<String> = catalog::in_namespace(ns)
            .filter(|id| !id.get().explicit_only)
            .map(|id| format!("`{}`", id.name()))
            .collect();
        return json(markdown(format!(
            "**`{word}`** grants every `{ns}` request but the explicit-only ones: {}",
            names.join(", ")
        )));
    }
    json(Value::Null)
}

/// Completion: request names and `namespace.*` inside a filter list;
/// option names where an option of `interaction-workspace` is written.
pub fn completion(cx: &Context<'_>, p: CompletionParams) -> Result<Value, Failure> {
    let pos = p.text_document_position.position;
    let offset = cx.index.offset(cx.text, pos);
    let (start, _) = word_at(cx.text, offset);
    let replace = cx.index.range(cx.text, start, offset);
    let item = |label: String, kind, detail: &str, doc: String| CompletionItem {
        label: label.clone(),
        kind: Some(kind),
        detail: Some(detail.to_string()),
        documentation: Some(Documentation::MarkupContent(MarkupContent {
            kind: MarkupKind::Markdown,
            value: doc,
        })),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range: replace,
            new_text: label,
        })),
        ..CompletionItem::default()
    };
    let mut items = Vec::new();
    if open_paren(cx.text, offset).is_some() {
        for id in catalog::all() {
            let r = id.get();
            items.push(item(
                r.name.to_string(),
                CompletionItemKind::FUNCTION,
                r.description,
                request_doc(id),
            ));
        }
        for ns in catalog::NAMESPACES {
            items.push(item(
                format!("{ns}.*"),
                CompletionItemKind::MODULE,
                "every request of the namespace",
                format!("Every `{ns}` request but the explicit-only ones."),
            ));
        }
    } else if at_option_key(cx.text, offset) {
        for o in scapi::options::OPTIONS {
            items.push(item(
                o.name.to_string(),
                CompletionItemKind::PROPERTY,
                o.value,
                o.meaning.to_string(),
            ));
        }
    }
    json(CompletionResponse::Array(items))
}

/// Whether `offset` is where an option name of `interaction-workspace` is
/// written: at the start of a cfg line (before `=`) in that section, or of
/// an indented YAML line (before `:`) under it.
fn at_option_key(text: &str, offset: usize) -> bool {
    let Some(before) = text.get(..offset) else {
        return false;
    };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.get(line_start..).unwrap_or("");
    if line.contains(['=', ':', '[', ';', '#']) {
        return false;
    }
    let indented = line.starts_with([' ', '\t']);
    // The section or top-level key this line is under.
    let mut section = None;
    for l in before.get(..line_start).unwrap_or("").lines().rev() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            break;
        }
        if indented && !l.starts_with([' ', '\t']) && t.ends_with(':') {
            section = Some(t.trim_end_matches(':').trim().to_string());
            break;
        }
    }
    section.as_deref() == Some(scapi::options::SECTION)
}

/// Formatting through `fmt`: cfg/ini exports only, and only one that
/// compiles; otherwise an error with `fmt`'s reason.
pub fn formatting(cx: &Context<'_>, _p: DocumentFormattingParams) -> Result<Value, Failure> {
    let options = cx.settings.options(scapi::Options::default(), &cx.name);
    match scapi::fmt::format(&cx.name, cx.text.as_bytes(), &options) {
        Ok(f) if f.changed() => {
            let whole = cx.index.range(cx.text, 0, cx.text.len());
            json(vec![TextEdit {
                range: whole,
                new_text: f.text.trim_start_matches('\u{feff}').to_string(),
            }])
        }
        Ok(_) => json(Vec::<TextEdit>::new()),
        Err(scapi::fmt::FmtError::Diagnostics(_)) => Err((
            ErrorCode::RequestFailed,
            format!(
                "`{}` has errors; `fmt` formats only an export that compiles",
                cx.name
            ),
        )),
        Err(e) => Err((ErrorCode::RequestFailed, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_lists_and_option_keys_are_found() {
        let t = "[interaction-workspace]\nservice-client-api.accepted-web-content-origins=https://a.example (agent.g, voi\nserv";
        let in_list = t.find("agent.g").unwrap_or_default() + 3;
        let paren = open_paren(t, in_list).unwrap_or_default();
        assert_eq!(entry_origin(t, paren), Some("https://a.example"));
        assert!(open_paren(t, t.find("https").unwrap_or_default()).is_none());
        assert!(at_option_key(t, t.len()));
        assert!(!at_option_key("[other]\nserv", 12));
        assert!(at_option_key("interaction-workspace:\n  serv", 29));
        assert_eq!(word_at("(agent.get, voice.*)", 8), (1, 10));
    }
}
