//! `user-data.read-allowed` and `user-data.write-allowed`: `*` or a
//! comma-separated key list; keys are compared exactly (case-sensitive), may
//! contain dots and spaces, and are trimmed.

use super::{Cx, READ_ALLOWED, WRITE_ALLOWED};
use crate::diagnostic::Diagnostic;
use crate::input::OptionEntry;
use crate::policy::{KeySet, UserDataPolicy};
use crate::rules::Code;
use crate::source::Span;
use crate::syntax::list::key_list;
use std::collections::{BTreeSet, HashMap};

pub(super) fn lower(cx: &mut Cx<'_>) -> UserDataPolicy {
    let read = cx
        .option(READ_ALLOWED)
        .map(|o| (key_set(cx, o, "readable"), o));
    let write = cx
        .option(WRITE_ALLOWED)
        .map(|o| (key_set(cx, o, "writable"), o));
    if let (Some((KeySet::Keys(r), ropt)), Some((w, wopt))) = (&read, &write) {
        match w {
            KeySet::Keys(w) => {
                let mut reported = BTreeSet::new();
                for item in key_list(&wopt.value) {
                    if w.contains(item.text) && !r.contains(item.text) && reported.insert(item.text)
                    {
                        let mut d = Diagnostic::new(Code::WriteNotReadable, item.span, format!("key `{}` is writable but not readable", item.text))
                            .label("not in `read-allowed`")
                            .help("an application that writes a key usually needs to read it back; add it to `read-allowed` if so");
                        if let Some(close) = r.iter().find(|k| k.eq_ignore_ascii_case(item.text)) {
                            d = d.help(format!(
                                "keys are case-sensitive: `read-allowed` has `{close}`"
                            ));
                        }
                        let d = cx
                            .map_diag(wopt, d)
                            .with_secondary(ropt.text_span(), "readable keys");
                        cx.push(d);
                    }
                }
            }
            KeySet::All => {
                cx.push(
                    Diagnostic::new(
                        Code::WriteNotReadable,
                        wopt.text_span(),
                        "every key is writable but only some are readable",
                    )
                    .label("`*`")
                    .with_secondary(ropt.text_span(), "readable keys")
                    .help("list the writable keys, or make them readable"),
                );
            }
        }
    }
    UserDataPolicy {
        read: read.map_or(KeySet::All, |(k, _)| k),
        write: write.map_or(KeySet::All, |(k, _)| k),
    }
}

fn key_set(cx: &mut Cx<'_>, opt: &OptionEntry, what: &str) -> KeySet {
    if opt.value.trim().is_empty() {
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
        return KeySet::Keys(BTreeSet::new());
    }
    let items = key_list(&opt.value);
    let mut keys = BTreeSet::new();
    let mut star = None;
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for item in &items {
        if item.text.is_empty() {
            cx.value_diag(
                opt,
                Diagnostic::new(Code::EmptyUserDataKey, item.span, "empty key in the list")
                    .label("nothing between the commas")
                    .help("remove the extra comma")
                    .fix(item.removal, ""),
            );
            continue;
        }
        if let Some(first) = seen.get(item.text) {
            cx.value_diag(
                opt,
                Diagnostic::new(
                    Code::DuplicateUserDataKey,
                    item.span,
                    format!("key `{}` is listed twice", item.text),
                )
                .label("repeated")
                .with_secondary(*first, "first listed here")
                .help("remove the repeated key")
                .fix(item.removal, ""),
            );
            continue;
        }
        seen.insert(item.text, item.span);
        if item.text == "*" {
            star = Some(item.span);
            continue;
        }
        if item.text.contains('*') {
            cx.value_diag(
                opt,
                Diagnostic::new(
                    Code::KeyContainsWildcard,
                    item.span,
                    format!("key `{}` contains `*`", item.text),
                )
                .label("matched literally, not as a pattern")
                .help("list the keys by name; only `*` alone means every key"),
            );
        }
        keys.insert(item.text.to_string());
    }
    if let Some(star) = star {
        if !keys.is_empty() {
            cx.value_diag(
                opt,
                Diagnostic::new(Code::WildcardMixedWithKeys, star, "`*` is listed together with keys")
                    .label("`*` already allows every key")
                    .help("write `*` alone to allow every key, or remove it to allow only the listed keys")
                    .fix(Span::new(0, opt.value.len()), "*"),
            );
        }
        return KeySet::All;
    }
    KeySet::Keys(keys)
}
