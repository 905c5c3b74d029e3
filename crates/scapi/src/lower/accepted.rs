//! `accepted-web-content-origins`: origins (validated and canonicalized with
//! `url`) and their request filters (checked against the catalog).

use super::{Cx, ORIGINS};
use crate::diagnostic::Diagnostic;
use crate::input::{MAIN_SECTION, OptionEntry};
use crate::rules::Code;
use crate::source::{Span, span_in};
use crate::suggest::closest;
use crate::syntax::Removal;
use crate::syntax::name;
use crate::syntax::origin_list::{self, FilterList, WrittenEntry};
use crate::syntax::origin_parts::{self, OriginParts};
use scapi_policy::catalog;
use scapi_policy::policy::{Filter, Grant, OriginRule};
use std::collections::HashMap;

/// What the origin list lowers to.
pub(super) struct Origins {
    pub rules: Vec<OriginRule>,
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

/// An entry that survived validation.
struct Lowered {
    /// `None` for `*`.
    origin: Option<Box<str>>,
    grant: Grant,
    /// The entry's span in the value.
    span: Span,
    removal: Removal,
}

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
            rules: Vec::new(),
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
    let mut rejected = Rejected::default();
    let mut entries = 0usize;
    let syntax = origin_list::each_entry(value, |entry| {
        entries += 1;
        match lower_entry(cx, opt, &entry) {
            Ok(l) => kept.push(l),
            Err((origin, grant)) => {
                rejected.origins.extend(origin);
                match grant {
                    Some(g) => rejected.grants.push(g),
                    None => rejected.unknown_grants = true,
                }
            }
        }
    });
    for d in syntax {
        cx.value_diag(opt, d);
    }
    let out = merge(cx, opt, kept);
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

/// Whether text after a `;` starts another entry of an origin list (so the
/// `;` is a mistaken separator, not a comment).
fn starts_entry(text: &str) -> bool {
    let first = text
        .split(|c: char| crate::syntax::is_blank(c) || matches!(c, ',' | ';' | '('))
        .next()
        .unwrap_or("");
    first.contains("://") || first == "*" || first.starts_with(crate::syntax::QUOTES)
}

/// Merges duplicate origins (with a warning) and checks entries against `*`.
fn merge(cx: &mut Cx<'_>, opt: &OptionEntry, mut kept: Vec<Lowered>) -> Origins {
    // Repeats are found by sorting the entries by origin, then position (a
    // span's start): equal origins end up side by side, the first written
    // first. No map of a million origins; and the rules come out sorted, as
    // the policy keeps them.
    kept.sort_unstable_by(|a, b| {
        a.origin
            .cmp(&b.origin)
            .then(a.span.start.cmp(&b.span.start))
    });
    // Each repeat is merged into the first entry of its origin, in the
    // order they are written.
    let mut repeat = vec![false; kept.len()];
    let mut first = 0;
    for i in 1..kept.len() {
        let same = match (kept.get(first), kept.get(i)) {
            (Some(f), Some(r)) => f.origin == r.origin,
            _ => false,
        };
        if !same {
            first = i;
            continue;
        }
        if let Some(flag) = repeat.get_mut(i) {
            *flag = true;
        }
        let Some(r) = kept.get(i) else {
            continue;
        };
        let (grant, span, removal) = (r.grant.clone(), r.span, r.removal);
        let name = r.origin.as_deref().unwrap_or("*").to_string();
        let Some(first) = kept.get_mut(first) else {
            continue;
        };
        let same = first.grant.normal_form() == grant.normal_form();
        let d = Diagnostic::new(
            Code::DuplicateOrigin,
            span,
            format!("`{name}` is listed twice"),
        )
        .label(if same {
            "grants nothing more"
        } else {
            "its filters are merged with the first entry"
        })
        .with_secondary(first.span, "first listed here");
        first.grant = first.grant.merge(&grant);
        if same {
            cx.value_removal(opt, d.help("remove the repeated entry"), removal);
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
    let any_pos = merged.iter().position(|l| l.origin.is_none());
    let any = any_pos
        .and_then(|i| merged.get(i))
        .map(|l| (l.grant.clone(), l.span));
    if let Some((any_grant, any_span)) = &any {
        any_origin_checks(cx, opt, any_grant, *any_span);
        let any_form = any_grant.normal_form();
        for l in merged.iter().filter(|l| l.origin.is_some()) {
            if l.grant.normal_form() == any_form {
                let name = l.origin.as_deref().unwrap_or_default();
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
                    l.removal,
                );
            }
        }
    }
    // Collected in place: the entries' allocation is reused for the rules.
    let rules = merged
        .into_iter()
        .filter_map(|l| {
            l.origin.map(|origin| OriginRule {
                origin,
                grant: l.grant,
            })
        })
        .collect();
    Origins {
        rules,
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
) -> Result<Lowered, (Option<String>, Option<Grant>)> {
    let tspan = entry.target_span(&opt.value);
    let origin = if entry.target == "*" {
        Some(None)
    } else {
        check_origin(cx, opt, entry.target, tspan).map(|o| Some(o.into_boxed_str()))
    };
    let offset = opt.file_span(entry.span).start;
    let line = cx.line(offset);
    let grant = lower_grant(cx, opt, entry.filters.as_ref(), line);
    match (origin, grant) {
        (Some(origin), Some(grant)) => Ok(Lowered {
            origin,
            grant,
            span: entry.span,
            removal: entry.removal,
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

// ---------------------------------------------------------------------------
// Origins

const SCHEMES: &[&str] = &["http", "https"];

/// Validates one origin; returns its canonical form, or `None` after
/// reporting why it can never match.
fn check_origin(cx: &mut Cx<'_>, opt: &OptionEntry, text: &str, span: Span) -> Option<String> {
    let v = opt.value.as_str();
    let part = |p: &str| span_in(v, p);
    if text.eq_ignore_ascii_case("null") {
        cx.value_diag(
            opt,
            Diagnostic::new(Code::NullOrigin, span, "origin `null` is accepted")
                .label("sandboxed frames and local files all send `null`")
                .help("remove it and list the real origin of the application"),
        );
        return None;
    }
    // Most configured origins are written canonically already: the
    // presented-origin check recognizes them without a URL parse (it accepts
    // exactly what the URL standard would write back, `tests/properties.rs`).
    // Of the checks below only port 0 and cleartext `http` can apply.
    if scapi_policy::presented::is_canonical(text) && !text.ends_with(":0") {
        if let Some(host) = text.strip_prefix("http://") {
            if !is_loopback(text) {
                cleartext(
                    cx,
                    opt,
                    text,
                    span_in(v, text.get(..4).unwrap_or(text)),
                    host,
                );
            }
            return Some(text.to_string());
        }
        if text.starts_with("https://") {
            return Some(text.to_string());
        }
    }
    let Some(parts) = origin_parts::origin(text) else {
        missing_scheme(cx, opt, text, span);
        return None;
    };
    let scheme = parts.scheme.to_ascii_lowercase();
    if !SCHEMES.contains(&scheme.as_str()) {
        let d = Diagnostic::new(
            Code::UnknownScheme,
            part(parts.scheme),
            format!("origin `{text}` has the scheme `{}`", parts.scheme),
        )
        .label("not `http` or `https`");
        let d = match closest(&scheme, SCHEMES.iter().copied()) {
            Some(s) => d
                .help(format!("did you mean `{s}`?"))
                .fix(part(parts.scheme), s)
                .unsafe_fix(),
            None => d.help("agent desktop applications are served over `https` (or `http`)"),
        };
        cx.value_diag(opt, d);
        return None;
    }
    let host_ok = check_host(cx, opt, text, &parts);
    let port_ok = check_port(cx, opt, text, &parts);
    if !(host_ok && port_ok) {
        return None;
    }
    let canonical = match canonical_of(&scheme, &parts) {
        Some(c) => c,
        None => {
            let d = match bad_punycode_label(parts.host) {
                Some(label) => Diagnostic::new(
                    Code::InvalidHost,
                    part(label),
                    format!("`{label}` is not valid punycode"),
                )
                .label("no browser sends this label")
                .help("a label starting with `xn--` must encode a Unicode name: write the name itself (such as `bücher`), which scapi compares in punycode, or copy the label again"),
                None => Diagnostic::new(
                    Code::InvalidHost,
                    part(parts.host),
                    format!("`{}` is not a valid host", parts.host),
                )
                .label("invalid host")
                .help("write a host name of letters, digits, hyphens and dots (`crm.example.com`), an IPv4 address or a bracketed IPv6 address"),
            };
            cx.value_diag(opt, d);
            return None;
        }
    };
    let mut structural = false;
    if let Some(ui) = parts.userinfo {
        structural = true;
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::OriginHasUserinfo,
                part(ui),
                format!("origin `{text}` has user information"),
            )
            .label("browsers never send this part")
            .help(format!("use `{canonical}`"))
            .fix(span, canonical.clone())
            // The entry matches nothing as written: the fix makes it a
            // live grant, a widening to review (`--unsafe-fixes`).
            .unsafe_fix(),
        );
    }
    match (parts.path, parts.query.or(parts.fragment)) {
        (Some("/"), None) => {
            structural = true;
            cx.value_diag(
                opt,
                Diagnostic::new(
                    Code::OriginTrailingSlash,
                    parts.path.map_or(span, part),
                    format!("origin `{text}` ends with `/`"),
                )
                .label("browsers send origins without a trailing slash")
                .help(format!("use `{canonical}`"))
                .fix(span, canonical.clone())
                // The entry matches nothing as written: the fix makes it a
                // live grant, a widening to review (`--unsafe-fixes`).
                .unsafe_fix(),
            );
        }
        (Some(path), _) if path != "/" => {
            structural = true;
            let end = parts
                .fragment
                .or(parts.query)
                .map_or(part(path), |q| part(path).join(part(q)));
            cx.value_diag(
                opt,
                Diagnostic::new(
                    Code::OriginHasPath,
                    end,
                    format!("origin `{text}` has a path; browsers send origins without one"),
                )
                .label("not part of an origin")
                .help(format!("use `{canonical}`"))
                .fix(span, canonical.clone())
                // The entry matches nothing as written: the fix makes it a
                // live grant, a widening to review (`--unsafe-fixes`).
                .unsafe_fix(),
            );
        }
        _ => {}
    }
    if let Some(q) = parts.query.or(parts.fragment)
        && parts.path.is_none_or(|p| p == "/")
    {
        structural = true;
        let sp = part(q).join(parts.fragment.map_or(part(q), part));
        let what = if parts.query.is_some() {
            "a query"
        } else {
            "a fragment"
        };
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::OriginHasQuery,
                sp,
                format!("origin `{text}` has {what}"),
            )
            .label("not part of an origin")
            .help(format!("use `{canonical}`"))
            .fix(span, canonical.clone())
            // The entry matches nothing as written: the fix makes it a
            // live grant, a widening to review (`--unsafe-fixes`).
            .unsafe_fix(),
        );
    }
    // Cleartext is a finding of its own, whatever else is wrong: fixing the
    // path leaves it.
    if scheme == "http" && !is_loopback(&canonical) {
        let host = canonical.trim_start_matches("http://");
        cleartext(cx, opt, &canonical, part(parts.scheme), host);
    }
    if structural {
        return None;
    }
    if text != canonical {
        let why = non_canonical_reasons(&parts, &canonical);
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::NonCanonicalOrigin,
                span,
                format!("origin `{text}` is not canonical ({why})"),
            )
            .label("browsers send the canonical form")
            .help(format!("write `{canonical}`"))
            .fix(span, canonical.clone()),
        );
    }
    Some(canonical)
}

fn cleartext(cx: &mut Cx<'_>, opt: &OptionEntry, canonical: &str, scheme: Span, host: &str) {
    cx.value_diag(
        opt,
        Diagnostic::new(
            Code::CleartextOrigin,
            scheme,
            format!("origin `{canonical}` uses cleartext `http`"),
        )
        .label("pages served over http can be tampered with in transit")
        .help(format!(
            "serve the application over https and accept `https://{host}`"
        )),
    );
}

/// The canonical serialized origin of an origin's scheme, host and port
/// (WHATWG URL rules: lowercase, punycode, default port dropped, IPv4 and
/// IPv6 normalized); `None` when the host is not valid.
///
/// The URL standard accepts hosts no DNS name can have (`a..b`, `a"}`,
/// `x=y`); those are refused here too, so every configured origin is one
/// the presented-origin check ([`scapi_policy::presented`]) can accept.
fn canonical_of(scheme: &str, parts: &OriginParts<'_>) -> Option<String> {
    let authority = format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        parts.host,
        parts.port.unwrap_or("")
    );
    let u = url::Url::parse(&authority).ok()?;
    let canonical = u.origin().ascii_serialization();
    let presentable = scapi_policy::presented::is_canonical(&canonical);
    (u.host_str().is_some_and(|h| !h.is_empty()) && presentable).then_some(canonical)
}

/// The origin an entry with an error names, if one can be read off it: an
/// http(s) origin with a valid host and port, and perhaps a path, a
/// trailing slash, user information or a query (the structural errors).
fn intended_origin(target: &str) -> Option<String> {
    let parts = origin_parts::origin(target)?;
    let scheme = parts.scheme.to_ascii_lowercase();
    if !SCHEMES.contains(&scheme.as_str()) || parts.host.is_empty() || parts.host.contains('*') {
        return None;
    }
    canonical_of(&scheme, &parts)
}

/// The first `xn--` label of a host that does not decode to a name the URL
/// standard accepts.
fn bad_punycode_label(host: &str) -> Option<&str> {
    host.split('.').find(|l| {
        l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
            && idna::domain_to_ascii_cow(l.as_bytes(), idna::AsciiDenyList::URL).is_err()
    })
}

/// The canonical form of an entry's target as written in a valid origin
/// list: `*` stays `*`; an origin is canonicalized as lowering does.
///
/// `None` for any target lowering reports as an error (a bad port, a path,
/// user information, a wildcard or missing host, another scheme), even when
/// an inline suppression hides that error: such an entry grants nothing, and
/// rewriting it into a valid origin would grant something (found by
/// fuzzing `fmt`).
pub(crate) fn canonical_target(target: &str) -> Option<String> {
    if target == "*" {
        return Some("*".to_string());
    }
    let parts = origin_parts::origin(target)?;
    let scheme = parts.scheme.to_ascii_lowercase();
    let port_ok = match (parts.port, parts.port_digits()) {
        (None, _) => true,
        (Some(_), Some(d)) => {
            !d.is_empty()
                && d.bytes().all(|b| b.is_ascii_digit())
                && d.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
        }
        (Some(_), None) => false,
    };
    let clean = SCHEMES.contains(&scheme.as_str())
        && !parts.host.is_empty()
        && !parts.host.contains('*')
        && port_ok
        && parts.userinfo.is_none()
        && parts.path.is_none()
        && parts.query.is_none()
        && parts.fragment.is_none();
    if !clean {
        return None;
    }
    canonical_of(&scheme, &parts)
}

fn missing_scheme(cx: &mut Cx<'_>, opt: &OptionEntry, text: &str, span: Span) {
    if origin_parts::has_scheme_colon(text) {
        // `http:/x`, `https:x`: the separator is broken.
        let (scheme, rest) = text.split_once(':').unwrap_or((text, ""));
        let fixed = format!("{scheme}://{}", rest.trim_start_matches(['/', '\\']));
        let d = Diagnostic::new(
            Code::InvalidEntry,
            span,
            format!("origin `{text}` is malformed"),
        )
        .label("expected `://` after the scheme");
        let d = if SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
            d.help(format!("write `{fixed}`")).fix(span, fixed)
        } else {
            d.help("an origin is `scheme://host[:port]`")
        };
        cx.value_diag(opt, d);
        return;
    }
    if text.contains('*') {
        cx.value_diag(
            opt,
            Diagnostic::new(Code::WildcardHost, span, format!("`{text}` uses a wildcard host"))
                .label("WWE matches origins exactly")
                .help("list every origin separately, e.g. `https://crm.example.com, https://app.example.com`"),
        );
        return;
    }
    let looks_like_host = text
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'));
    if looks_like_host {
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::MissingScheme,
                span,
                format!("origin `{text}` has no scheme"),
            )
            .label("expected `https://` or `http://` before the host")
            .help(format!(
                "write `https://{text}` (or `http://{text}` if it is served over http)"
            )),
        );
    } else {
        cx.value_diag(
            opt,
            Diagnostic::new(Code::InvalidEntry, span, format!("`{text}` is not an origin"))
                .label("expected `*` or `scheme://host[:port]`")
                .help("an entry is `*` or an origin such as `https://crm.example.com`, optionally followed by `(filters)`"),
        );
    }
}

fn check_host(cx: &mut Cx<'_>, opt: &OptionEntry, text: &str, parts: &OriginParts<'_>) -> bool {
    let span = span_in(&opt.value, parts.host);
    if parts.host.is_empty() {
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::InvalidHost,
                span.join(span_in(&opt.value, parts.scheme)),
                format!("origin `{text}` has no host"),
            )
            .label("expected a host after `://`")
            .help("write the host, e.g. `https://crm.example.com`"),
        );
        return false;
    }
    if parts.host.contains('*') {
        cx.value_diag(
            opt,
            Diagnostic::new(Code::WildcardHost, span, format!("`{text}` uses a wildcard host"))
                .label("WWE matches origins exactly")
                .help("list every origin separately, e.g. `https://crm.example.com, https://app.example.com`"),
        );
        return false;
    }
    true
}

fn check_port(cx: &mut Cx<'_>, opt: &OptionEntry, text: &str, parts: &OriginParts<'_>) -> bool {
    let (Some(port), Some(digits)) = (parts.port, parts.port_digits()) else {
        return true;
    };
    let span = span_in(&opt.value, port);
    let (msg, fix) = if digits.is_empty() {
        (format!("origin `{text}` has `:` but no port"), Some(""))
    } else if !digits.chars().all(|c| c.is_ascii_digit()) {
        (format!("origin `{text}` has the port `{digits}`"), None)
    } else {
        match digits.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => return true,
            _ => (format!("origin `{text}` has the port `{digits}`"), None),
        }
    };
    let d = Diagnostic::new(Code::BadPort, span, msg).label("not a port from 1 to 65535");
    let d = match fix {
        Some(f) => d.help("remove the `:`").fix(span, f),
        None => d.help("write a port number from 1 to 65535, or none for the scheme's default"),
    };
    cx.value_diag(opt, d);
    false
}

fn non_canonical_reasons(parts: &OriginParts<'_>, canonical: &str) -> String {
    let mut why = Vec::new();
    if parts.scheme.chars().any(|c| c.is_ascii_uppercase())
        || parts.host.chars().any(|c| c.is_ascii_uppercase())
    {
        why.push("upper case");
    }
    if !parts.host.is_ascii() {
        why.push("unicode host; browsers send punycode");
    }
    if let Some(d) = parts.port_digits() {
        let default = matches!(
            (
                parts.scheme.to_ascii_lowercase().as_str(),
                d.trim_start_matches('0')
            ),
            ("http", "80") | ("https", "443")
        );
        if default {
            why.push("default port");
        } else if d.starts_with('0') {
            why.push("leading zeros in the port");
        }
    }
    if why.is_empty() {
        let h = parts.host.to_ascii_lowercase();
        if h.starts_with('[') {
            why.push("IPv6 address not in compressed form");
        } else if canonical.contains(&h) {
            why.push("spelling");
        } else {
            why.push("the host is written in a form browsers normalize");
        }
    }
    why.join(", ")
}

// ---------------------------------------------------------------------------
// Filters

/// Lowers an entry's filter list; `None` if the list grants nothing because
/// of an error (an empty list, an unclosed parenthesis).
/// Lists up to this long are searched in place rather than through a map.
const SHORT_LIST: usize = 16;

/// Distinct filter lists remembered by their text, at most.
const FILTER_TEXTS: usize = 4096;

/// What an entry's filter list grants. Exports repeat a few filter lists
/// over thousands of entries: a list whose exact text was already lowered
/// without a finding is not lowered again.
fn lower_grant(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    list: Option<&FilterList<'_>>,
    line: usize,
) -> Option<Grant> {
    let v = opt.value.as_str();
    // The text from `(` to `)`; "" for no list. An unclosed list is never
    // remembered (it is an error).
    let text = match list {
        None => Some(""),
        Some(l) => l.close.and_then(|c| v.get(l.open.start..c.end)),
    };
    if let Some(g) = text.and_then(|t| cx.filter_texts.get(t)) {
        return Some(g.at_line(line));
    }
    let before = cx.diags.pushed();
    let filters = lower_filters(cx, opt, list)?;
    let grant = cx.grants.grant(filters, line);
    if let Some(t) = text
        && cx.diags.pushed() == before
        && cx.filter_texts.len() < FILTER_TEXTS
    {
        cx.filter_texts.insert(t.into(), grant.clone());
    }
    Some(grant)
}

fn lower_filters(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    list: Option<&FilterList<'_>>,
) -> Option<Vec<Filter>> {
    let Some(list) = list else {
        return Some(vec![Filter::All]);
    };
    if list.items.is_empty() {
        let span = list.close.map_or(list.open, |c| list.open.join(c));
        cx.value_diag(
            opt,
            Diagnostic::new(Code::EmptyFilterList, span, "empty filter list grants nothing")
                .label("no request is allowed")
                .help("list the requests to allow, e.g. `(agent.*)`, or remove the parentheses to allow every request"),
        );
        return None;
    }
    let mut out: Vec<(Filter, Span, Removal)> = Vec::new();
    // With `auth.getJwtToken` named, `auth.*` beside it is only removed.
    let names_jwt = list
        .items
        .iter()
        .any(|i| i.name == "auth.getJwtToken" && i.args.is_none());
    // Repeats: found in place in short lists, through a map in long ones.
    let mut first_seen: HashMap<Filter, Span> = HashMap::new();
    let long = list.items.len() > SHORT_LIST;
    let mut ok = list.close.is_some();
    for item in &list.items {
        let jwt = names_jwt.then_some(item.removal);
        match lower_filter(cx, opt, item.name, item.span, item.args, jwt) {
            Some(f) => {
                let first = if long {
                    first_seen.get(&f).copied()
                } else {
                    out.iter().find(|(g, _, _)| *g == f).map(|(_, s, _)| *s)
                };
                if let Some(first) = first {
                    cx.value_removal(
                        opt,
                        Diagnostic::new(
                            Code::DuplicateFilter,
                            item.span,
                            format!("filter `{f}` is listed twice"),
                        )
                        .label("repeated")
                        .with_secondary(first, "first listed here")
                        .help("remove the repeated filter"),
                        item.removal,
                    );
                    continue;
                }
                if long {
                    first_seen.insert(f.clone(), item.span);
                }
                out.push((f, item.span, item.removal));
            }
            None => ok = false,
        }
    }
    redundant_filters(cx, opt, &out);
    ok.then(|| out.into_iter().map(|(f, _, _)| f).collect())
}

fn redundant_filters(cx: &mut Cx<'_>, opt: &OptionEntry, filters: &[(Filter, Span, Removal)]) {
    let star = filters.iter().find(|(f, _, _)| *f == Filter::All);
    // Short lists (nearly all) are searched in place; a long one through a
    // map, so a list of a hundred thousand filters stays linear.
    let namespaces: HashMap<&str, &(Filter, Span, Removal)> = if filters.len() > SHORT_LIST {
        filters
            .iter()
            .filter_map(|entry| match &entry.0 {
                Filter::Namespace(ns) => Some((ns.as_str(), entry)),
                _ => None,
            })
            .collect()
    } else {
        HashMap::new()
    };
    let namespace = |ns: &str| {
        if filters.len() > SHORT_LIST {
            namespaces.get(ns).copied()
        } else {
            filters
                .iter()
                .find(|(f, _, _)| matches!(f, Filter::Namespace(n) if n == ns))
        }
    };
    for (f, span, removal) in filters {
        let explicit = matches!(f, Filter::Request(r) if catalog::lookup(r).is_some_and(|id| id.get().explicit_only));
        // A client-side helper is covered by nothing (it is never a
        // request); `SC0212` reports it.
        let helper = matches!(f, Filter::Request(r) if catalog::is_client_helper(r));
        if explicit || helper || *f == Filter::All {
            continue;
        }
        let cover = match (star, f) {
            (Some(s), _) => Some(s),
            (None, Filter::Request(r)) => r.split_once('.').and_then(|(ns, _)| namespace(ns)),
            (None, _) => None,
        };
        if let Some((by, by_span, _)) = cover {
            cx.value_removal(
                opt,
                Diagnostic::new(
                    Code::RedundantFilter,
                    *span,
                    format!("filter `{f}` is already covered by `{by}`"),
                )
                .label("redundant")
                .with_secondary(*by_span, "covers it")
                .help("remove the redundant filter"),
                *removal,
            );
        }
    }
}

/// Lowers one filter; `None` (after reporting) if it can never match.
/// `jwt_named` is the filter's removal when its list names
/// `auth.getJwtToken` already.
fn lower_filter(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    name: &str,
    span: Span,
    args: Option<&str>,
    jwt_named: Option<Removal>,
) -> Option<Filter> {
    let name_span = span_in(&opt.value, name);
    if let Some(args) = args {
        let full = format!("{name}{args}");
        let shown = if full.chars().count() > 40 {
            format!("{}…)", full.chars().take(38).collect::<String>())
        } else {
            full
        };
        let d = Diagnostic::new(
            Code::MethodSignature,
            span,
            format!("filter `{shown}` is a method signature"),
        )
        .label("filters are request names, without arguments")
        .help(format!("write `{name}`"));
        // Unsafe: the filter granted nothing as written; the name grants.
        let d = if name::request(name).is_some() {
            d.fix(span, name).unsafe_fix()
        } else {
            d
        };
        cx.value_diag(opt, d);
        return None;
    }
    if name == "*" {
        return Some(Filter::All);
    }
    // Catalog names and known namespaces (nearly every filter) pass every
    // check below: one lookup decides.
    if catalog::lookup(name).is_some() {
        return Some(Filter::Request(name.to_string()));
    }
    if let Some(ns) = name.strip_suffix(".*")
        && ns != "auth"
        && catalog::is_namespace(ns)
    {
        return Some(Filter::Namespace(ns.to_string()));
    }
    let Some((ns, method)) = name.split_once('.') else {
        let d = Diagnostic::new(
            Code::InvalidFilter,
            name_span,
            format!("filter `{name}` is not a request name"),
        )
        .label("expected `namespace.request`, `namespace.*` or `*`");
        let named = crate::suggest::namespaced(name);
        let d = match (catalog::namespace_ignore_case(name), named.as_slice()) {
            (Some(ns), _) => d.help(format!("to allow the whole namespace, write `{ns}.*`")),
            // A method without its namespace: the fix grants what the
            // filter granted nothing of, so it is unsafe.
            (None, [one]) => d
                .help(format!("did you mean `{one}`?"))
                .fix(name_span, *one)
                .unsafe_fix(),
            (None, [_, ..]) => d.help(format!("did you mean {}?", crate::suggest::one_of(&named))),
            (None, []) => d.help("write a request name such as `agent.getState`"),
        };
        cx.value_diag(opt, d);
        return None;
    };
    if ns.contains('*') || (method.contains('*') && method != "*") || name.matches('*').count() > 1
    {
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::UnsupportedPattern,
                name_span,
                format!("filter `{name}` is not a supported pattern"),
            )
            .label("WWE supports only `*` and `namespace.*`")
            .help("list the requests by name, or use `namespace.*` for a whole namespace"),
        );
        return None;
    }
    let shape = match name::namespace_pattern(name) {
        Some(ns) => Some((ns, true)),
        None => name::request(name).map(|(ns, _)| (ns, false)),
    };
    let Some((ns, pattern)) = shape else {
        let d = Diagnostic::new(
            Code::InvalidFilter,
            name_span,
            format!("filter `{name}` is not a request name"),
        )
        .label("request names are `namespace.request`, letters and digits only");
        // Suggestions cost an edit distance per catalog name: only for
        // findings that will be listed.
        let suggestion = cx.lists(d.code).then(|| crate::suggest::request(name));
        let d = match suggestion.flatten() {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None if name.contains("://") => d.help(
                "an origin inside a filter list: close the list with `)` before the next origin",
            ),
            None => d.help("write a request name such as `agent.getState`"),
        };
        cx.value_diag(opt, d);
        return None;
    };
    if pattern {
        return lower_namespace(cx, opt, ns, name_span, jwt_named);
    }
    lower_request(cx, opt, name, name_span, false)
}

fn lower_namespace(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    ns: &str,
    span: Span,
    jwt_named: Option<Removal>,
) -> Option<Filter> {
    if ns == "auth" {
        let d = Diagnostic::new(
            Code::JwtNotGranted,
            span,
            "`auth.*` does not grant `auth.getJwtToken`",
        )
        .label("grants nothing");
        match jwt_named {
            Some(removal) => cx.value_removal(
                opt,
                d.help("`auth.getJwtToken` is named already; remove `auth.*`"),
                removal,
            ),
            None => cx.value_diag(
                opt,
                d.help("`auth.getJwtToken` is granted only when named: write `auth.getJwtToken`")
                    .fix(span, "auth.getJwtToken")
                    .unsafe_fix(),
            ),
        }
        return Some(Filter::Namespace(ns.to_string()));
    }
    if catalog::is_namespace(ns) {
        return Some(Filter::Namespace(ns.to_string()));
    }
    if let Some(real) = catalog::namespace_ignore_case(ns) {
        cx.value_diag(
            opt,
            Diagnostic::new(
                Code::RequestCaseMismatch,
                span,
                format!("namespace `{ns}` differs from `{real}` only in case"),
            )
            .label("never matches: names are case-sensitive")
            .help(format!("write `{real}.*`"))
            .fix(span, format!("{real}.*"))
            // It matched nothing; fixed, it grants a namespace.
            .unsafe_fix(),
        );
        return None;
    }
    let d = Diagnostic::new(
        Code::UnknownNamespace,
        span,
        format!("unknown namespace `{ns}`"),
    )
    .label("not in the request catalog");
    let suggestion = cx.lists(d.code).then(|| crate::suggest::namespace(ns));
    let d = match suggestion.flatten() {
        Some(s) => d.help(format!("did you mean `{s}.*`?")),
        None => d.help("see `scapi requests` for the namespaces"),
    };
    cx.value_diag(opt, d);
    Some(Filter::Namespace(ns.to_string()))
}

/// Checks a full request name (in a filter, or in a rate-limit key when
/// `in_rate_limit`). Returns the filter, or `None` when it can never match.
pub(super) fn lower_request(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    name: &str,
    span: Span,
    in_rate_limit: bool,
) -> Option<Filter> {
    if catalog::lookup(name).is_some() {
        return Some(Filter::Request(name.to_string()));
    }
    let push = |cx: &mut Cx<'_>, d: Diagnostic| {
        if in_rate_limit {
            cx.push(d);
        } else {
            cx.value_diag(opt, d);
        }
    };
    if let Some(id) = catalog::lookup_ignore_case(name) {
        let real = id.name();
        let d = Diagnostic::new(
            Code::RequestCaseMismatch,
            span,
            format!("request `{name}` differs from `{real}` only in case"),
        )
        .label("never matches: names are case-sensitive")
        .help(format!("write `{real}`"))
        .fix(span, real);
        // In a filter the fix grants what the name granted nothing of; in a
        // rate-limit key it makes a limit take effect, which may loosen
        // (`0`, or above the global limit). Either may widen.
        push(cx, d.unsafe_fix());
        return None;
    }
    if let Some(new) = catalog::replacement_of(name) {
        push(
            cx,
            Diagnostic::new(
                Code::ObsoleteRequest,
                span,
                format!("request `{name}` is obsolete"),
            )
            .label("replaced in newer WWE releases")
            .help(format!("use `{new}`")),
        );
        return Some(Filter::Request(name.to_string()));
    }
    if catalog::is_client_helper(name) {
        push(
            cx,
            Diagnostic::new(
                Code::NotARequest,
                span,
                format!("`{name}` is a client-side helper, not a request"),
            )
            .label("answered inside the frame; never a request to the broker")
            .help("remove it: the frame needs no permission for it, and brokers refuse it as a request whatever the filters"),
        );
        return Some(Filter::Request(name.to_string()));
    }
    let ns = name.split_once('.').map_or(name, |(n, _)| n);
    let ns_known = catalog::is_namespace(ns);
    let d = if in_rate_limit {
        Diagnostic::new(
            Code::RateLimitUnknownRequest,
            span,
            format!("rate limit for unknown request `{name}`"),
        )
    } else if ns_known {
        Diagnostic::new(
            Code::UnknownRequest,
            span,
            format!("unknown request `{name}`"),
        )
    } else {
        Diagnostic::new(
            Code::UnknownNamespace,
            span,
            format!("unknown namespace `{ns}` in `{name}`"),
        )
    };
    let suggestion = if !cx.lists(d.code) {
        None
    } else if ns_known {
        closest(name, catalog::in_namespace(ns).map(|id| id.name()))
    } else {
        crate::suggest::request(name)
    };
    let d = d.label("not in the request catalog");
    let d = match suggestion {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help("if a newer WWE release added it, keep it; otherwise see `scapi requests`"),
    };
    push(cx, d);
    Some(Filter::Request(name.to_string()))
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

    #[test]
    fn loopback() {
        assert!(is_loopback("http://localhost:8080"));
        assert!(is_loopback("http://127.0.0.1"));
        assert!(is_loopback("http://[::1]:3000"));
        assert!(!is_loopback("http://my-web-server"));
        assert!(!is_loopback("http://localhost.evil.com"));
    }
}
