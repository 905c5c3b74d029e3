//! `accepted-web-content-origins`: origins (validated and canonicalized with
//! `url`) and their request filters (checked against the catalog).

use super::{Cx, ORIGINS};

mod filters;
mod origin;

use crate::diagnostic::Diagnostic;
use crate::input::{MAIN_SECTION, OptionEntry};
use crate::rules::Code;
use crate::source::Span;
use crate::syntax::Removal;
use crate::syntax::origin_list::{self, Parsed, WrittenEntry};
pub(in crate::lower) use filters::lower_request;
use filters::*;
pub(crate) use origin::canonical_target;
use origin::*;
use scapi_policy::catalog;
use scapi_policy::policy::{Filter, Grant, GrantUnion, Name, OriginList};

/// What the origin list lowers to.
pub(super) struct Origins {
    pub rules: OriginList,
    pub any: Option<Grant>,
    /// File offset just after the origin list's value, for fixes that append
    /// an origin (none when the option is absent or cannot be edited there).
    pub option_end: Option<usize>,
    /// What the entries with an error meant: findings that only follow
    /// from such an entry (a limit nobody may hit, an extension whose
    /// origin is not accepted) are not reported, since fixing the entry's
    /// own error settles them.
    pub rejected: Rejected,
}

/// What the entries that grant nothing because of an error were meant to
/// accept and grant.
#[derive(Default)]
pub(super) struct Rejected {
    /// The origins they name, canonical, where one can be read off the
    /// entry (`https://crm.example.com/` means `https://crm.example.com`).
    pub origins: std::collections::HashSet<String>,
    /// What their filter lists grant.
    pub grants: Vec<Grant>,
    /// Whether some filter list has an error, so what the list was meant to
    /// grant is not known.
    pub unknown_grants: bool,
}

impl Rejected {
    /// Whether a rejected entry may have meant to grant `request`.
    pub fn may_grant(&self, request: &str) -> bool {
        self.unknown_grants || self.grants.iter().any(|g| g.permits(request))
    }
}

/// An entry that survived validation. A list holds one per entry until it
/// is merged, so it is kept small (64 bytes): its removal is stored as the
/// two gaps it is made of.
struct Lowered {
    /// Its text in the list's names (`*` for the any-origin entry).
    origin: Name,
    grant: Grant,
    /// The entry's span in the value.
    span: Span,
    /// Its text's first bytes as a number that sorts as the text does
    /// ([`SortKeys`]): most comparisons of the sort end here.
    key: u64,
    /// From where the entry before ends to this one's start (`NONE`: it is
    /// the first).
    before: u32,
    /// From this one's end to where the entry after starts (`NONE`: it is
    /// the last).
    after: u32,
}

/// No entry on that side (or one further than 4 GiB of blanks away: its
/// removal then keeps the separator, which a later lint reports).
const NONE: u32 = u32::MAX;

impl Lowered {
    /// How to remove the entry with one separator.
    fn removal(&self) -> Removal {
        let gap = |g: u32| (g != NONE).then_some(g as usize);
        Removal {
            item: self.span,
            before: gap(self.before)
                .and_then(|g| self.span.start.checked_sub(g))
                .map(|end| Span::new(end, self.span.end)),
            after: gap(self.after)
                .and_then(|g| self.span.end.checked_add(g))
                .map(|start| Span::new(self.span.start, start)),
        }
    }
}

/// Sort keys of origins: the rank of the scheme (among those in the list,
/// in the order of `scheme:`) in the top byte, then seven bytes of what
/// follows `://`, past the prefix every entry's host shares, zero-padded.
/// Two origins whose keys differ sort as their keys do (the scheme decides
/// first, as `:` ends it; past a shared prefix the next bytes decide; a
/// shorter host is a prefix, and padding is below any byte of an origin);
/// equal keys leave it to the text. `*` is 0, below any origin. With more
/// than 255 schemes, or a text without `://`, every key is 0 and the text
/// decides.
struct SortKeys<'n> {
    schemes: Vec<&'n str>,
    /// Bytes after `://` that every entry has alike.
    shared: usize,
}

/// `scheme` and what follows `://`.
fn split_scheme(text: &str) -> Option<(&str, &str)> {
    let colon = memchr::memchr(b':', text.as_bytes())?;
    let (scheme, rest) = text.split_at_checked(colon)?;
    Some((scheme, rest.strip_prefix("://")?))
}

impl<'n> SortKeys<'n> {
    fn new(texts: impl Iterator<Item = &'n str>) -> SortKeys<'n> {
        let none = SortKeys {
            schemes: Vec::new(),
            shared: 0,
        };
        let mut schemes: Vec<&str> = Vec::new();
        let mut prefix: Option<&[u8]> = None;
        for t in texts.filter(|&t| t != "*") {
            let Some((scheme, rest)) = split_scheme(t) else {
                return none;
            };
            let rest = rest.as_bytes();
            prefix = Some(match prefix {
                None => rest,
                Some(p) => {
                    let n = p.iter().zip(rest).take_while(|(a, b)| a == b).count();
                    p.get(..n).unwrap_or_default()
                }
            });
            if !schemes.contains(&scheme) {
                if schemes.len() == 255 {
                    return none;
                }
                schemes.push(scheme);
            }
        }
        // By `scheme:`: `http:` before `https:`, as the texts sort.
        schemes.sort_unstable_by(|a, b| a.bytes().chain([b':']).cmp(b.bytes().chain([b':'])));
        SortKeys {
            schemes,
            shared: prefix.map_or(0, <[u8]>::len),
        }
    }

    fn key(&self, text: &str) -> u64 {
        let Some((scheme, rest)) = split_scheme(text) else {
            return 0;
        };
        let Some(rank) = self.schemes.iter().position(|&s| s == scheme) else {
            return 0;
        };
        let mut bytes = [0u8; 8];
        bytes[0] = (rank + 1) as u8;
        let after = rest.as_bytes().get(self.shared..).unwrap_or_default();
        for (b, &r) in bytes.iter_mut().skip(1).zip(after) {
            *b = r;
        }
        u64::from_be_bytes(bytes)
    }
}

// One per entry of a list of up to a million: kept small.
const _: () = assert!(std::mem::size_of::<Lowered>() <= 64);

pub(super) fn lower(cx: &mut Cx<'_>) -> Origins {
    let Some(opt) = cx.option(ORIGINS) else {
        if cx.main_options().next().is_some() || cx.read.export.sections.is_empty() {
            let msg = format!("`{ORIGINS}` is not set, so no origin is accepted");
            // Point at the section the option belongs in, when it is written.
            let d = match cx
                .read
                .export
                .section(MAIN_SECTION)
                .and_then(|s| s.name_span)
            {
                Some(span) => {
                    Diagnostic::new(Code::ApiClosed, span, msg).label("no origin list here")
                }
                None => Diagnostic::file_level(Code::ApiClosed, msg),
            };
            cx.push(
                d.help("list the origins of the web applications that call the Service Client API"),
            );
        }
        return Origins {
            rules: OriginList::new(),
            any: None,
            option_end: None,
            rejected: Rejected::default(),
        };
    };
    // `value ; note` is a comment, `a ; https://b` a mistaken separator
    // (reported by the grammar); `#` is never a separator.
    let value = cx.value_without_comment(opt, |c| c.marker == '#' || !starts_entry(c.text));
    // Entries are lowered as they are parsed: a long list is never held as
    // a syntax tree.
    let mut kept: Vec<Lowered> = Vec::new();
    // Room reserved at once where the memory is there (a failed
    // reservation only means the list grows as it goes).
    let _ = kept.try_reserve_exact(expected_entries(value));
    // The origins' text, one after another (no allocation per origin).
    let mut names = OriginList::new();
    let mut rejected = Rejected::default();
    let mut entries = 0usize;
    origin_list::each_entry(value, |parsed| match parsed {
        Parsed::Entry(entry) => {
            entries += 1;
            match lower_entry(cx, opt, &entry, &mut names) {
                Ok(l) => kept.push(l),
                Err((origin, grant)) => {
                    rejected.origins.extend(origin);
                    match grant {
                        Some(g) => rejected.grants.push(g),
                        None => rejected.unknown_grants = true,
                    }
                }
            }
        }
        Parsed::Finding(d) => cx.value_diag(opt, d),
    });
    let out = merge(cx, opt, kept, names);
    // Entries that failed are reported already; an empty list is news.
    if entries == 0 {
        cx.push(
            Diagnostic::new(
                Code::ApiClosed,
                opt.text_span(),
                "no origin is accepted, so the Service Client API is closed",
            )
            .label("no entry")
            .help("list the origins of the web applications that call the Service Client API"),
        );
    }
    let end = Span::point(value.len());
    let option_end = cx
        .fix_is_verbatim(opt, end, ", https://x")
        .then(|| opt.file_span(end).start);
    Origins {
        option_end,
        rejected,
        ..out
    }
}

/// Room for the entries of an origin list that can be kept: each has a
/// `:` (after its scheme) or is `*`, so the count of colons is an upper
/// bound (a port adds one). Reserved at once, the entries take their size,
/// not up to twice it (a list grown by doubling), at the moment the lint's
/// memory peaks; capped at one entry per 16 bytes (`https://a.b.c, `:
/// shorter entries are rare) so a value of colons reserves at most four
/// times its size, untouched (pages are backed as entries are written).
fn expected_entries(value: &str) -> usize {
    let colons = value.bytes().filter(|&b| b == b':').count();
    (colons + 1).min(value.len() / 16 + 1)
}

/// Whether text after a `;` starts another entry of an origin list (so the
/// `;` is a mistaken separator, not a comment).
fn starts_entry(text: &str) -> bool {
    let first = text
        .split(|c: char| crate::syntax::is_blank(c) || matches!(c, ',' | ';' | '('))
        .next()
        .unwrap_or("");
    first.contains("://") || first == "*" || first.starts_with(crate::syntax::QUOTES)
}

/// Entries by origin, then where they are written. Called, not inlined
/// at each of the sort's places (the WebAssembly build carries them).
#[inline(never)]
fn written_order(names: &OriginList, a: &Lowered, b: &Lowered) -> std::cmp::Ordering {
    a.key
        .cmp(&b.key)
        .then_with(|| names.name(a.origin).cmp(names.name(b.origin)))
        .then(a.span.start.cmp(&b.span.start))
}

/// Merges duplicate origins (with a warning) and checks entries against `*`.
fn merge(cx: &mut Cx<'_>, opt: &OptionEntry, mut kept: Vec<Lowered>, names: OriginList) -> Origins {
    let text = |l: &Lowered| names.name(l.origin);
    let is_any = |l: &Lowered| text(l) == "*";
    // Repeats are found by sorting the entries by origin, then position (a
    // span's start): equal origins end up side by side, the first written
    // first. No map of a million origins; and the rules come out sorted, as
    // the policy keeps them.
    // (`*` sorts before any origin, which starts with its scheme.)
    let keys = SortKeys::new(kept.iter().map(text));
    for l in &mut kept {
        l.key = keys.key(names.name(l.origin));
    }
    kept.sort_unstable_by(|a, b| written_order(&names, a, b));
    // Each repeat is merged into the first entry of its origin, in the
    // order they are written, through a union of the run's grants (linear
    // in their filters however many repeats there are).
    let mut repeat = vec![false; kept.len()];
    let mut first = 0;
    let mut union: Option<GrantUnion> = None;
    for i in 1..=kept.len() {
        let same = match (kept.get(first), kept.get(i)) {
            (Some(f), Some(r)) => text(f) == text(r),
            _ => false,
        };
        if !same {
            if let (Some(u), Some(f)) = (union.take(), kept.get_mut(first)) {
                f.grant = u.into_grant();
            }
            first = i;
            continue;
        }
        if let Some(flag) = repeat.get_mut(i) {
            *flag = true;
        }
        let (Some(f), Some(r)) = (kept.get(first), kept.get(i)) else {
            continue;
        };
        let union = union.get_or_insert_with(|| GrantUnion::new(&f.grant));
        let same = union.same_as(&r.grant);
        union.add(&r.grant);
        let d = Diagnostic::new(
            Code::DuplicateOrigin,
            r.span,
            format!("`{}` is listed twice", text(r)),
        )
        .label(if same {
            "grants nothing more"
        } else {
            "its filters are merged with the first entry"
        })
        .with_secondary(f.span, "first listed here");
        if same {
            cx.value_removal(opt, d.help("remove the repeated entry"), r.removal());
        } else {
            cx.value_diag(
                opt,
                d.help("list the origin once, with all its filters in one list"),
            );
        }
    }
    // Drop the repeats in place: no second list of a million entries.
    let mut position = 0;
    kept.retain(|_| {
        let keep = repeat.get(position) == Some(&false);
        position += 1;
        keep
    });
    drop(repeat);
    let merged = kept;
    let any_pos = merged.iter().position(is_any);
    let any = any_pos
        .and_then(|i| merged.get(i))
        .map(|l| (l.grant.clone(), l.span));
    if let Some((any_grant, any_span)) = &any {
        any_origin_checks(cx, opt, any_grant, *any_span);
        let any_form = any_grant.normal_form();
        for l in merged.iter().filter(|l| !is_any(l)) {
            if l.grant.normal_form() == any_form {
                let name = text(l);
                cx.value_removal(
                    opt,
                    Diagnostic::new(
                        Code::RedundantEntry,
                        l.span,
                        format!("entry `{name}` grants exactly what `*` grants"),
                    )
                    .label("redundant")
                    .with_secondary(
                        *any_span,
                        "`*` already accepts every origin with these filters",
                    )
                    .help("remove the entry"),
                    l.removal(),
                );
            }
        }
    }
    // Collected in place: the entries' allocation is reused for the rules,
    // then given back down to their size (a rule is half an entry).
    let mut rules: Vec<(Name, Grant)> = merged
        .into_iter()
        .filter(|l| !is_any(l))
        .map(|l| (l.origin, l.grant))
        .collect();
    rules.shrink_to_fit();
    Origins {
        rules: names.with_rules(rules),
        any: any.map(|(grant, _)| grant),
        option_end: None,
        rejected: Rejected::default(),
    }
}

fn any_origin_checks(cx: &mut Cx<'_>, opt: &OptionEntry, grant: &Grant, span: Span) {
    let everything = grant.allow().contains(&Filter::All);
    let msg = if everything {
        "`*` lets every website call the Service Client API".to_string()
    } else {
        let n = grant.grants().names().len();
        format!(
            "`*` lets every website call {n} request{}",
            if n == 1 { "" } else { "s" }
        )
    };
    cx.value_diag(
        opt,
        Diagnostic::new(Code::AnyOrigin, span, msg)
            .label("any origin")
            .help("list the origins of the applications that need the API instead of `*`"),
    );
    if let Some(id) = catalog::lookup("auth.getJwtToken")
        && grant.permits_id(id)
    {
        cx.value_diag(
            opt,
            Diagnostic::new(Code::JwtForAnyOrigin, span, "`*` grants `auth.getJwtToken` to every website")
                .label("any site can obtain the agent's token")
                .help("grant `auth.getJwtToken` only to the origins that need it, e.g. `https://app.example (auth.getJwtToken)`"),
        );
    }
}

/// Lowers one entry; `Err` holds what an entry with an error meant (its
/// origin, where one can be read off it, and its grant, if the filters
/// lowered).
fn lower_entry(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    entry: &WrittenEntry<'_>,
    names: &mut OriginList,
) -> Result<Lowered, (Option<String>, Option<Grant>)> {
    let tspan = entry.target_span(&opt.value);
    let origin = if entry.target == "*" {
        Some(None)
    } else {
        check_origin(cx, opt, entry.target, tspan).map(Some)
    };
    let offset = opt.file_span(entry.span).start;
    let line = cx.line(offset);
    let grant = lower_grant(cx, opt, entry.filters.as_ref(), line);
    match (origin, grant) {
        (Some(origin), Some(grant)) => Ok(Lowered {
            origin: names.intern(origin.as_deref().unwrap_or("*")),
            grant,
            span: entry.span,
            key: 0,
            before: entry
                .removal
                .before
                .and_then(|b| u32::try_from(entry.span.start.checked_sub(b.start)?).ok())
                .unwrap_or(NONE),
            after: entry
                .removal
                .after
                .and_then(|a| u32::try_from(a.end.checked_sub(entry.span.end)?).ok())
                .unwrap_or(NONE),
        }),
        (origin, grant) => {
            let meant = match origin {
                Some(o) => o.map(String::from),
                None => intended_origin(entry.target),
            };
            Err((meant, grant))
        }
    }
}

/// Loopback origins are potentially trustworthy to browsers even over http.
fn is_loopback(canonical: &str) -> bool {
    use url::Host;
    url::Url::parse(canonical)
        .ok()
        .is_some_and(|u| match u.host() {
            Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(Host::Ipv4(a)) => a.is_loopback(),
            Some(Host::Ipv6(a)) => a.is_loopback(),
            None => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Keys never contradict the texts' order: where two keys differ,
        /// the texts sort as the keys do.
        #[test]
        fn sort_keys_sort_as_the_texts(
            texts in proptest::collection::vec(
                "(\\*|(https?|ws|wss|chrome-extension|h)://[a-z0-9.:-]{0,12})", 1..40)
        ) {
            let keys = SortKeys::new(texts.iter().map(String::as_str));
            for a in &texts {
                for b in &texts {
                    let (ka, kb) = (keys.key(a), keys.key(b));
                    if ka != kb {
                        proptest::prop_assert_eq!(ka.cmp(&kb), a.cmp(b), "{} {}", a, b);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// The same when every host shares a prefix the keys skip.
        #[test]
        fn sort_keys_past_a_shared_prefix_sort_as_the_texts(
            hosts in proptest::collection::vec("[a-z0-9.:-]{0,12}", 1..40),
            star in proptest::bool::ANY,
        ) {
            let mut texts: Vec<String> =
                hosts.iter().map(|h| format!("https://app{h}")).collect();
            texts.extend(hosts.iter().take(2).map(|h| format!("http://app{h}")));
            if star {
                texts.push("*".into());
            }
            let keys = SortKeys::new(texts.iter().map(String::as_str));
            proptest::prop_assert!(keys.shared >= 3);
            for a in &texts {
                for b in &texts {
                    let (ka, kb) = (keys.key(a), keys.key(b));
                    if ka != kb {
                        proptest::prop_assert_eq!(ka.cmp(&kb), a.cmp(b), "{} {}", a, b);
                    }
                }
            }
        }
    }

    #[test]
    fn sort_keys_give_up_on_what_they_cannot_order() {
        let many: Vec<String> = (0..300).map(|i| format!("s{i}://a")).collect();
        let keys = SortKeys::new(many.iter().map(String::as_str));
        assert_eq!(keys.key("s1://a"), 0);
        let keys = SortKeys::new(["https://a", "no-scheme"].into_iter());
        assert_eq!(keys.key("https://a"), 0);
        let keys = SortKeys::new(["https://a.example", "http://b"].into_iter());
        assert!(keys.key("http://b") < keys.key("https://a.example"));
        assert_eq!(keys.key("*"), 0);
    }

    #[test]
    fn loopback() {
        assert!(is_loopback("http://localhost:8080"));
        assert!(is_loopback("http://127.0.0.1"));
        assert!(is_loopback("http://[::1]:3000"));
        assert!(!is_loopback("http://my-web-server"));
        assert!(!is_loopback("http://localhost.evil.com"));
    }
}
