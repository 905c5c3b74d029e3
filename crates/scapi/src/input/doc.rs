//! A spanned document tree shared by the JSON and YAML readers, and the one
//! place that knows the export shapes: `{"section": {"key": "value"}}`,
//! `{"options": {…}}` and `{"data": {"options": {…}}}`.

use super::{Export, ExportBuilder, InputError, InputErrorKind, OptionEntry};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::rules::Code;
use crate::source::{SourceFile, Span, Text, ValueMap};

/// A node of a parsed JSON or YAML document.
#[derive(Debug)]
pub(crate) enum Node {
    /// A string, with how its bytes map to the file.
    Str {
        value: String,
        span: Span,
        map: ValueMap,
    },
    /// Any other scalar: its text as written, its type name, and for an
    /// integer its decimal text.
    Scalar {
        text: String,
        span: Span,
        kind: &'static str,
        integer: Option<String>,
    },
    /// A map; keys are strings (other keys are reported by the reader).
    Map {
        entries: Vec<(Key, Node)>,
        span: Span,
    },
    /// A sequence.
    Seq { span: Span },
}

/// A map key.
#[derive(Debug)]
pub(crate) struct Key {
    pub name: String,
    pub span: Span,
}

impl Node {
    pub(crate) fn span(&self) -> Span {
        match self {
            Node::Str { span, .. }
            | Node::Scalar { span, .. }
            | Node::Map { span, .. }
            | Node::Seq { span } => *span,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Node::Str { .. } => "a string",
            Node::Scalar { kind, .. } => kind,
            Node::Map { .. } => "a map",
            Node::Seq { .. } => "a list",
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .rev()
                .find(|(k, _)| k.name == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Turns a document into an export, reporting non-string values and
/// non-map sections and going on.
/// An option value as [`Text`]: a slice of the file when it is written
/// there verbatim, its own copy when it was decoded.
fn text_of(source: &SourceFile, value: String, map: &ValueMap) -> Text {
    if let ValueMap::Direct { base } = map {
        let span = Span::new(*base, base + value.len());
        if source.text().get(span.range()) == Some(value.as_str()) {
            return Text::slice(source, span);
        }
    }
    Text::owned(value)
}

pub(crate) fn export(
    source: &SourceFile,
    root: Node,
    diags: &mut Diagnostics,
) -> Result<Export, InputError> {
    if !matches!(root, Node::Map { .. }) {
        return Err(InputError::new(
            InputErrorKind::Shape,
            format!("document is {}, not a map of sections to options", root.kind()),
        )
        .at(root.span())
        .help("write `{\"interaction-workspace\": {\"option\": \"value\"}}` or the provisioning shape `{\"options\": {…}}`"));
    }
    let sections = match (
        root.get("data").and_then(|d| d.get("options")),
        root.get("options"),
    ) {
        (Some(n @ Node::Map { .. }), _) => n,
        (_, Some(n @ Node::Map { .. })) => n,
        _ => &root,
    };
    let Node::Map { entries, .. } = sections else {
        return Err(
            InputError::new(InputErrorKind::Shape, "`options` is not a map of sections")
                .at(sections.span()),
        );
    };
    let mut b = ExportBuilder::default();
    let mut seen: std::collections::HashMap<&str, &Key> = std::collections::HashMap::new();
    for (name, section) in entries {
        let Node::Map {
            entries: options, ..
        } = section
        else {
            diags.push(
                Diagnostic::new(
                    Code::UnexpectedShape,
                    section.span(),
                    format!(
                        "section `{}` is {}, not a map of options",
                        name.name,
                        section.kind()
                    ),
                )
                .help("write the section as a map of option names to string values"),
            );
            continue;
        };
        if let Some(first) = seen.get(name.name.as_str()) {
            diags.push(
                Diagnostic::new(
                    Code::DuplicateKey,
                    name.span,
                    format!("section `{}` appears twice", name.name),
                )
                .label("its options are merged with the first")
                .with_secondary(first.span, "first here")
                .help("merge the two sections into one"),
            );
        }
        seen.entry(name.name.as_str()).or_insert(name);
        b.section(&name.name, Some(name.span));
        for (key, value) in options {
            let (value, value_span, map, non_string) = match value {
                Node::Str { value, span, map } => (value.clone(), *span, map.clone(), None),
                Node::Scalar {
                    text,
                    span,
                    kind,
                    integer,
                } => {
                    // Lowering says whether a non-string is allowed there (an
                    // integer is, for numeric options); the text is read on.
                    let value = integer.clone().unwrap_or_else(|| text.clone());
                    let written = source.text().get(span.range()) == Some(value.as_str());
                    let map = if written {
                        ValueMap::Direct { base: span.start }
                    } else {
                        ValueMap::Whole(*span)
                    };
                    let non_string = crate::input::NonString {
                        kind,
                        integer: integer.is_some(),
                    };
                    (value, *span, map, Some(non_string))
                }
                other => {
                    diags.push(
                        Diagnostic::new(
                            Code::NonStringValue,
                            other.span(),
                            format!("option `{}` is {}, not a string", key.name, other.kind()),
                        )
                        .help("write the value as one string; lists are comma-separated inside it"),
                    );
                    continue;
                }
            };
            let value = text_of(source, value, &map);
            b.option(
                OptionEntry {
                    key: key.name.clone(),
                    key_span: key.span,
                    value,
                    value_span,
                    map,
                    non_string,
                },
                diags,
            );
        }
    }
    Ok(b.finish())
}
