//! A deterministic pretty-printer for scapi's JSON documents: objects one
//! key per line, arrays of scalars on one line (`"allow": ["agent.*",
//! "voice.dial"]`), small objects of scalars on one line (`"entry":
//! {"origin": "https://crm.example.com", "line": 2}`), two-space indent, a
//! final newline.
//!
//! It only prints documents scapi builds itself (their depth is fixed by
//! their types), so the recursion is bounded.

use serde::Serialize;
use serde_json::Value;

/// Prints a serializable document.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    let mut out = String::new();
    write(&mut out, &value, 0);
    out.push('\n');
    out
}

fn scalar(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Objects of scalars up to this many characters are written on one line.
const INLINE_MAX: usize = 100;

fn inline_len(map: &serde_json::Map<String, Value>) -> usize {
    map.iter().map(|(k, v)| k.len() + scalar(v).len() + 6).sum()
}

fn write(out: &mut String, v: &Value, depth: usize) {
    let pad = |d: usize| "  ".repeat(d);
    match v {
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) if items.iter().all(is_scalar) => {
            out.push('[');
            out.push_str(&items.iter().map(scalar).collect::<Vec<_>>().join(", "));
            out.push(']');
        }
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write(out, item, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) if map.values().all(is_scalar) && inline_len(map) <= INLINE_MAX => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(&Value::String(k.clone())), scalar(v)))
                .collect();
            out.push('{');
            out.push_str(&fields.join(", "));
            out.push('}');
        }
        Value::Object(map) => {
            out.push_str("{\n");
            for (i, (k, item)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&scalar(&Value::String(k.clone())));
                out.push_str(": ");
                write(out, item, depth + 1);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        other => out.push_str(&scalar(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scalar_arrays() {
        let v = serde_json::json!({"a": ["x", "y"], "b": [], "c": {"d": null}, "e": [{"f": 1}], "g": {"h": [1]}});
        assert_eq!(
            to_string(&v),
            "{\n  \"a\": [\"x\", \"y\"],\n  \"b\": [],\n  \"c\": {\"d\": null},\n  \"e\": [\n    {\"f\": 1}\n  ],\n  \"g\": {\n    \"h\": [1]\n  }\n}\n"
        );
    }
}
