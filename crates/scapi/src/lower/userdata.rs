//! `user-data.read-allowed` and `user-data.write-allowed`: `*` or a
//! comma-separated key list; keys are compared exactly (case-sensitive), may
//! contain dots and spaces, and are trimmed. What WWE would read literally
//! but no caller sends — quotes, `;` or `|` separators, invisible
//! characters, a trailing comment — is reported by the grammar
//! ([`user_data_keys`]) and read as meant.

use super::{Cx, READ_ALLOWED, WRITE_ALLOWED};
use crate::diagnostic::Diagnostic;
use crate::input::OptionEntry;
use crate::rules::Code;
use crate::source::Span;
use crate::syntax::list::user_data_keys;
use scapi_policy::policy::{KeySet, UserDataPolicy};
use std::collections::{BTreeSet, HashMap};

/// A lowered key list: the set, and the keys with their spans in the value
/// (for findings that compare the two lists).
struct Lowered<'o> {
    opt: &'o OptionEntry,
    set: KeySet,
    keys: Vec<(String, Span)>,
}

/// `origins` is the origin-list option when some origin is accepted: then
/// an absent option (every key, the compiled default) is made visible.
pub(super) fn lower(cx: &mut Cx<'_>, origins: Option<&OptionEntry>) -> UserDataPolicy {
    let read = cx.option(READ_ALLOWED).map(|o| key_set(cx, o, "readable"));
    let write = cx.option(WRITE_ALLOWED).map(|o| key_set(cx, o, "writable"));
    if let Some(origins) = origins {
        for (absent, option, verb) in [
            (read.is_none(), READ_ALLOWED, "read"),
            (write.is_none(), WRITE_ALLOWED, "write"),
        ] {
            if absent {
                cx.push(
                    Diagnostic::new(
                        Code::UserDataUnrestricted,
                        origins.key_span,
                        format!("every accepted origin can {verb} every attached-data key"),
                    )
                    .label(format!("`{option}` is not set"))
                    .help(format!(
                        "set `{option}` to the keys the applications need (an empty value allows none, `*` every key)"
                    )),
                );
            }
        }
    }
    if let (Some(r), Some(w)) = (&read, &write)
        && let KeySet::Keys(readable) = &r.set
    {
        not_readable(cx, readable, r.opt, w);
    }
    UserDataPolicy {
        read: read.map_or(KeySet::All, |l| l.set),
        write: write.map_or(KeySet::All, |l| l.set),
    }
}

/// Writable keys that are not readable.
fn not_readable(cx: &mut Cx<'_>, readable: &BTreeSet<String>, ropt: &OptionEntry, w: &Lowered<'_>) {
    if w.set == KeySet::All {
        cx.push(
            Diagnostic::new(
                Code::WriteNotReadable,
                w.opt.text_span(),
                "every key is writable but only some are readable",
            )
            .label("`*`")
            .with_secondary(ropt.text_span(), "readable keys")
            .help("list the writable keys, or make them readable"),
        );
        return;
    }
    let mut reported = BTreeSet::new();
    for (key, span) in &w.keys {
        if readable.contains(key) || !reported.insert(key.as_str()) {
            continue;
        }
        let mut d = Diagnostic::new(
            Code::WriteNotReadable,
            *span,
            format!("key `{key}` is writable but not readable"),
        )
        .label("not in `read-allowed`")
        .help("an application that writes a key usually needs to read it back; add it to `read-allowed` if so");
        if let Some(close) = readable.iter().find(|k| k.eq_ignore_ascii_case(key)) {
            d = d.help(format!(
                "keys are case-sensitive: `read-allowed` has `{close}`"
            ));
        }
        let d = cx
            .map_diag(w.opt, d)
            .with_secondary(ropt.text_span(), "readable keys");
        cx.push(d);
    }
}

fn key_set<'o>(cx: &mut Cx<'_>, opt: &'o OptionEntry, what: &str) -> Lowered<'o> {
    // A `;` after a blank starts a comment; without one it is a separator,
    // reported by the grammar.
    let value = cx.value_without_comment(opt, |_| true);
    let no_keys = |cx: &mut Cx<'_>| {
        cx.push(
            Diagnostic::new(
                Code::NoUserDataKeys,
                opt.text_span(),
                format!("no user-data key is {what}"),
            )
            .label("empty list")
            .help(
                "this is deliberate lock-down; to allow every key remove the option or write `*`",
            ),
        );
    };
    if value.trim().is_empty() {
        no_keys(cx);
        return Lowered {
            opt,
            set: KeySet::Keys(BTreeSet::new()),
            keys: Vec::new(),
        };
    }
    let list = user_data_keys(value);
    for d in list.diagnostics {
        cx.value_diag(opt, d);
    }
    let mut keys = BTreeSet::new();
    let mut listed = Vec::new();
    let mut star = None;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &list.keys {
        let text = item.text.as_ref();
        if text.is_empty() {
            cx.value_removal(
                opt,
                Diagnostic::new(Code::EmptyUserDataKey, item.span, "empty key in the list")
                    .label("nothing between the commas")
                    .help("remove the extra comma"),
                item.removal,
            );
            continue;
        }
        if let Some(first) = seen.get(text) {
            cx.value_removal(
                opt,
                Diagnostic::new(
                    Code::DuplicateUserDataKey,
                    item.span,
                    format!("key `{text}` is listed twice"),
                )
                .label("repeated")
                .with_secondary(*first, "first listed here")
                .help("remove the repeated key"),
                item.removal,
            );
            continue;
        }
        seen.insert(text, item.span);
        if text == "*" {
            star = Some(item.span);
            continue;
        }
        if text.contains('*') {
            cx.value_diag(
                opt,
                Diagnostic::new(
                    Code::KeyContainsWildcard,
                    item.span,
                    format!("key `{text}` contains `*`"),
                )
                .label("matched literally, not as a pattern")
                .help("list the keys by name; only `*` alone means every key"),
            );
        }
        keys.insert(text.to_string());
        listed.push((text.to_string(), item.span));
    }
    if let Some(star) = star {
        if !keys.is_empty() {
            cx.value_diag(
                opt,
                Diagnostic::new(Code::WildcardMixedWithKeys, star, "`*` is listed together with keys")
                    .label("`*` already allows every key")
                    .help("write `*` alone to allow every key, or remove it to allow only the listed keys")
                    .fix(Span::new(0, value.len()), "*"),
            );
        }
        return Lowered {
            opt,
            set: KeySet::All,
            keys: listed,
        };
    }
    // Only empty entries (`,`): the same lock-down as an empty value, said
    // the same way, so removing the commas reveals no new finding.
    if keys.is_empty() {
        no_keys(cx);
    }
    Lowered {
        opt,
        set: KeySet::Keys(keys),
        keys: listed,
    }
}
