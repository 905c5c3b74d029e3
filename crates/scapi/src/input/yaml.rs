//! The YAML reader.
//!
//! `saphyr-parser` turns the text into events with spans (which
//! `serde_yaml_ng` does not expose); this module folds the events into the
//! shared document tree without recursion, with a bound on nesting and on
//! alias expansion (a "billion laughs" file is refused, not expanded). Plain
//! scalars are typed the way `serde_yaml_ng` types them, so `4` or `true` is
//! reported as a non-string value exactly as the rest of scapi would read it.
//!
//! Spans are exact for plain and quoted single-line scalars, and cover the
//! whole value for block and multi-line scalars.

use super::doc::{self, Key, Node};
use super::escapes::{self, Quoting};
use super::{Export, InputError, InputErrorKind};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::rules::Code;
use crate::source::{SourceFile, Span, ValueMap};
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use std::collections::HashMap;

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 128;
/// Alias expansion may copy at most this many nodes in all.
const MAX_ALIAS_NODES: usize = 100_000;

enum Frame {
    Map {
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        start: usize,
        anchor: usize,
    },
    Seq {
        start: usize,
        anchor: usize,
    },
}

/// Whether YAML's aliases stay within the budget an export's have
/// ([`MAX_ALIAS_NODES`] nodes copied in all), for YAML read by `serde`
/// (a compiled policy), which copies every alias whole: a file of a few
/// kilobytes of nested aliases would otherwise expand to gigabytes.
/// Syntax errors are left to the reader.
pub(crate) fn aliases_within_budget(text: &str) -> bool {
    // Per open collection, its anchor and the nodes in it so far.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    let mut budget = MAX_ALIAS_NODES;
    for item in Parser::new_from_str(text) {
        let Ok((event, _)) = item else {
            return true;
        };
        let nodes = match event {
            Event::Scalar(_, _, anchor, _) => {
                if anchor != 0 {
                    sizes.insert(anchor, 1);
                }
                1
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                open.push((anchor, 1));
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some((anchor, nodes)) = open.pop() else {
                    continue;
                };
                if anchor != 0 {
                    sizes.insert(anchor, nodes);
                }
                nodes
            }
            Event::Alias(id) => {
                let nodes = sizes.get(&id).copied().unwrap_or(0);
                if nodes > budget {
                    return false;
                }
                budget -= nodes;
                nodes
            }
            _ => continue,
        };
        if let Some((_, count)) = open.last_mut() {
            *count = count.saturating_add(nodes);
        }
    }
    true
}

/// Reads a YAML export.
pub(crate) fn read(source: &SourceFile, diags: &mut Diagnostics) -> Result<Export, InputError> {
    let text = source.text();
    let mut pos = CharToByte::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut alias_budget = MAX_ALIAS_NODES;
    for item in Parser::new_from_str(text) {
        let (event, sp) = item.map_err(|e| {
            let at = pos.byte(e.marker().index());
            InputError::new(
                InputErrorKind::Syntax,
                format!("invalid YAML: {}", e.info()),
            )
            .at(Span::point(at))
            .help("fix the YAML syntax at the marked position")
        })?;
        let span = Span::new(pos.byte(sp.start.index()), pos.byte(sp.end.index()));
        let node = match event {
            Event::DocumentStart(_) if root.is_some() => {
                diags.push(
                    Diagnostic::new(
                        Code::UnexpectedShape,
                        span,
                        "file has more than one YAML document",
                    )
                    .label("ignored from here")
                    .help("keep one document per export"),
                );
                break;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let node = scalar(text, &value, style, tag.as_deref(), span);
                if anchor != 0 {
                    anchors.insert(anchor, clone_node(&node));
                }
                node
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(InputError::new(
                        InputErrorKind::Syntax,
                        format!("YAML is nested more than {MAX_DEPTH} levels deep"),
                    )
                    .at(span)
                    .help(super::json::NESTING_HELP));
                }
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        start: span.start,
                        anchor,
                    },
                    _ => Frame::Seq {
                        start: span.start,
                        anchor,
                    },
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Map {
                        entries,
                        start,
                        anchor,
                        ..
                    }) => (
                        Node::Map {
                            entries,
                            span: Span::new(start, span.end.max(start)),
                        },
                        anchor,
                    ),
                    Some(Frame::Seq { start, anchor }) => (
                        Node::Seq {
                            span: Span::new(start, span.end.max(start)),
                        },
                        anchor,
                    ),
                    None => continue,
                };
                if anchor != 0 {
                    anchors.insert(anchor, clone_node(&node));
                }
                node
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    continue;
                };
                let size = node_count(target);
                if size > alias_budget {
                    return Err(InputError::new(
                        InputErrorKind::Syntax,
                        "YAML aliases expand to too many nodes",
                    )
                    .at(span)
                    .help("write the values out instead of nesting aliases"));
                }
                alias_budget -= size;
                relocate(clone_node(target), span)
            }
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { .. }) => {}
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(as_key(node, diags)),
                Some(k) if k.name == "<<" => merge(entries, node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    let root = root.ok_or_else(|| {
        InputError::new(InputErrorKind::Shape, "YAML document is empty")
            .help("write a map such as `interaction-workspace: {}`")
    })?;
    doc::export(source, root, diags)
}

/// A YAML merge key (`<<: *base`) adds the entries the map does not have.
fn merge(entries: &mut Vec<(Key, Node)>, node: Node) {
    if let Node::Map { entries: more, .. } = node {
        for (k, v) in more {
            if !entries.iter().any(|(e, _)| e.name == k.name) {
                entries.push((k, v));
            }
        }
    }
}

fn as_key(node: Node, diags: &mut Diagnostics) -> Key {
    match node {
        // The key's span is its text: inside the quotes when it maps exactly.
        Node::Str {
            span: _,
            map,
            value,
        } => Key {
            span: map.map(Span::new(0, value.len())),
            name: value,
        },
        Node::Scalar { text, span, .. } => Key { name: text, span },
        other => {
            diags.push(
                Diagnostic::new(
                    Code::UnexpectedShape,
                    other.span(),
                    "map key is not a string",
                )
                .help("use plain text keys"),
            );
            Key {
                name: String::new(),
                span: other.span(),
            }
        }
    }
}

fn scalar(text: &str, value: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
    let core = tag
        .filter(|t| t.is_yaml_core_schema())
        .map(|t| t.suffix.as_str());
    let kind = match (core, style) {
        (Some("str"), _) => None,
        (Some("int" | "float"), _) => Some("a number"),
        (Some("bool"), _) => Some("a boolean"),
        (Some("null"), _) => Some("null"),
        (_, ScalarStyle::Plain) => plain_kind(value),
        _ => None,
    };
    if let Some(kind) = kind {
        return Node::Scalar {
            text: value.to_string(),
            span,
            kind,
            integer: (kind == "a number").then(|| integer_text(value)).flatten(),
        };
    }
    let map = match style {
        ScalarStyle::Plain => text
            .get(span.start..span.start + value.len())
            .filter(|raw| *raw == value)
            .map(|_| ValueMap::Direct { base: span.start }),
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let quoting = if style == ScalarStyle::SingleQuoted {
                Quoting::YamlSingle
            } else {
                Quoting::YamlDouble
            };
            let inner = Span::new(
                span.start + 1,
                span.end.saturating_sub(1).max(span.start + 1),
            );
            text.get(inner.range())
                .and_then(|raw| escapes::map(raw, value, inner.start, quoting))
        }
        _ => None,
    };
    Node::Str {
        value: value.to_string(),
        span,
        map: map.unwrap_or(ValueMap::Whole(span)),
    }
}

/// The decimal text of a YAML integer (`50`, `0x32`, `+50`), `None` for
/// any other number.
fn integer_text(value: &str) -> Option<String> {
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(value) {
        Ok(serde_yaml_ng::Value::Number(n)) => n
            .as_u64()
            .map(|u| u.to_string())
            .or_else(|| n.as_i64().map(|i| i.to_string())),
        _ => None,
    }
}

/// The type `serde_yaml_ng` gives a plain scalar: `None` for a string.
fn plain_kind(value: &str) -> Option<&'static str> {
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(value) {
        Ok(serde_yaml_ng::Value::Null) => Some("null"),
        Ok(serde_yaml_ng::Value::Bool(_)) => Some("a boolean"),
        Ok(serde_yaml_ng::Value::Number(_)) => Some("a number"),
        _ => None,
    }
}

fn node_count(n: &Node) -> usize {
    // Iterative, so a deep tree cannot overflow the stack.
    let mut count = 0;
    let mut todo = vec![n];
    while let Some(n) = todo.pop() {
        count += 1;
        if let Node::Map { entries, .. } = n {
            todo.extend(entries.iter().map(|(_, v)| v));
        }
    }
    count
}

fn clone_node(n: &Node) -> Node {
    match n {
        Node::Str { value, span, map } => Node::Str {
            value: value.clone(),
            span: *span,
            map: map.clone(),
        },
        Node::Scalar {
            text,
            span,
            kind,
            integer,
        } => Node::Scalar {
            text: text.clone(),
            span: *span,
            kind,
            integer: integer.clone(),
        },
        Node::Seq { span } => Node::Seq { span: *span },
        Node::Map { entries, span } => Node::Map {
            entries: entries
                .iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.name.clone(),
                            span: k.span,
                        },
                        clone_node(v),
                    )
                })
                .collect(),
            span: *span,
        },
    }
}

/// An alias's copy reports problems at the alias, where the user sees them
/// in the place that uses the value.
fn relocate(n: Node, at: Span) -> Node {
    match n {
        Node::Str { value, .. } => Node::Str {
            value,
            span: at,
            map: ValueMap::Whole(at),
        },
        Node::Scalar {
            text,
            kind,
            integer,
            ..
        } => Node::Scalar {
            text,
            span: at,
            kind,
            integer,
        },
        Node::Seq { .. } => Node::Seq { span: at },
        Node::Map { entries, .. } => Node::Map {
            entries: entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.name,
                            span: at,
                        },
                        relocate(v, at),
                    )
                })
                .collect(),
            span: at,
        },
    }
}

/// Converts the parser's character indices to byte offsets, walking forward
/// from the last position asked (events come almost in order).
struct CharToByte<'a> {
    text: &'a str,
    chars: usize,
    bytes: usize,
}

impl<'a> CharToByte<'a> {
    fn new(text: &'a str) -> Self {
        CharToByte {
            text,
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, char_index: usize) -> usize {
        if char_index < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let rest = self.text.get(self.bytes..).unwrap_or("");
        for (i, _) in rest.char_indices() {
            if self.chars == char_index {
                self.bytes += i;
                return self.bytes;
            }
            self.chars += 1;
        }
        self.bytes = self.text.len();
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads text as a file named `t`.
    fn read(text: &str, diags: &mut Diagnostics) -> Result<Export, InputError> {
        super::read(&SourceFile::new("t", text), diags)
    }

    fn read_ok(text: &str) -> (Export, Vec<Diagnostic>) {
        let mut d = Diagnostics::new();
        let e = read(text, &mut d).unwrap();
        (e, d.finish().0)
    }

    #[test]
    fn spans_of_plain_and_quoted_scalars() {
        let text = "interaction-workspace:\n  a: http://x, http://y\n  \"b\": 'it''s é'\n  c: \"q\\u0041z\"\n";
        let (e, d) = read_ok(text);
        assert!(d.is_empty(), "{d:?}");
        let s = e.section("interaction-workspace").unwrap();
        let a = s.get("a").unwrap();
        assert_eq!(&text[a.file_span(Span::new(10, 18)).range()], "http://y");
        let b = s.get("b").unwrap();
        assert_eq!(&text[b.key_span.range()], "b");
        assert_eq!(b.value, "it's é");
        assert_eq!(&text[b.file_span(Span::new(5, 7)).range()], "é");
        let c = s.get("c").unwrap();
        assert_eq!(c.value, "qAz");
        assert_eq!(&text[c.file_span(Span::new(2, 3)).range()], "z");
    }

    #[test]
    fn block_scalars_point_at_the_whole_value() {
        let text = "s:\n  k: |\n    line one\n";
        let (e, _) = read_ok(text);
        let k = e.section("s").unwrap().get("k").unwrap();
        assert!(matches!(k.map, ValueMap::Whole(_)));
    }

    #[test]
    fn numbers_are_not_strings_but_tagged_ones_are() {
        use crate::input::NonString;
        let (e, _) =
            read_ok("s:\n  a: 4\n  b: !!str 5\n  c: '6'\n  d: true\n  e: 0x32\n  f: 1.5\n");
        let s = e.section("s").unwrap();
        let kinds: Vec<_> = s
            .options
            .iter()
            .map(|o| (o.value.as_str(), o.non_string))
            .collect();
        let int = Some(NonString {
            kind: "a number",
            integer: true,
        });
        assert_eq!(
            kinds,
            vec![
                ("4", int),
                ("5", None),
                ("6", None),
                (
                    "true",
                    Some(NonString {
                        kind: "a boolean",
                        integer: false
                    })
                ),
                ("50", int),
                (
                    "1.5",
                    Some(NonString {
                        kind: "a number",
                        integer: false
                    })
                ),
            ]
        );
        // `0x32` is read as 50, so its value no longer maps byte for byte.
        assert!(matches!(s.get("e").unwrap().map, ValueMap::Whole(_)));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut text = String::from("a0: &a0 {x: y, z: w}\n");
        for i in 1..30 {
            text.push_str(&format!("a{i}: &a{i} {{p: *a{}, q: *a{}}}\n", i - 1, i - 1));
        }
        let mut d = Diagnostics::new();
        let err = read(&text, &mut d).unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000);
        let mut d = Diagnostics::new();
        assert!(read(&text, &mut d).is_err());
    }

    #[test]
    fn alias_budget_counts_nested_copies() {
        assert!(aliases_within_budget("a: &x [1, 2]\nb: *x\n"));
        // Ten levels of doubling: 2^20 nodes from a few lines.
        let mut bomb = String::from("l0: &l0 [x, x]\n");
        for i in 1..=20 {
            bomb.push_str(&format!("l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
        }
        assert!(!aliases_within_budget(&bomb));
        assert!(aliases_within_budget("not: [valid"));
    }

    #[test]
    fn merge_keys_and_aliases() {
        let (e, d) = read_ok("base: &b {k: v}\ninteraction-workspace:\n  <<: *b\n  j: w\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(e.main_option("k").unwrap().value, "v");
    }
}
