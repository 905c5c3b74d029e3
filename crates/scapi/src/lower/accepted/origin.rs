//! One origin of the list: checked, canonicalized with `url`, and the
//! findings of what it would never match.

use super::*;
use crate::diagnostic::Diagnostic;
use crate::input::OptionEntry;
use crate::lower::Cx;
use crate::rules::Code;
use crate::source::{Span, span_in};
use crate::suggest::closest;
use crate::syntax::origin_parts::{self, OriginParts};

pub(super) const SCHEMES: &[&str] = &["http", "https"];

/// Validates one origin; returns its canonical form, or `None` after
/// reporting why it can never match.
pub(super) fn check_origin<'t>(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    text: &'t str,
    span: Span,
) -> Option<std::borrow::Cow<'t, str>> {
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
            return Some(std::borrow::Cow::Borrowed(text));
        }
        if text.starts_with("https://") {
            return Some(std::borrow::Cow::Borrowed(text));
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
    Some(canonical.into())
}

pub(super) fn cleartext(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    canonical: &str,
    scheme: Span,
    host: &str,
) {
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
pub(super) fn canonical_of(scheme: &str, parts: &OriginParts<'_>) -> Option<String> {
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
pub(super) fn intended_origin(target: &str) -> Option<String> {
    let parts = origin_parts::origin(target)?;
    let scheme = parts.scheme.to_ascii_lowercase();
    if !SCHEMES.contains(&scheme.as_str()) || parts.host.is_empty() || parts.host.contains('*') {
        return None;
    }
    canonical_of(&scheme, &parts)
}

/// The first `xn--` label of a host that does not decode to a name the URL
/// standard accepts.
pub(super) fn bad_punycode_label(host: &str) -> Option<&str> {
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

pub(super) fn missing_scheme(cx: &mut Cx<'_>, opt: &OptionEntry, text: &str, span: Span) {
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

pub(super) fn check_host(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    text: &str,
    parts: &OriginParts<'_>,
) -> bool {
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

pub(super) fn check_port(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    text: &str,
    parts: &OriginParts<'_>,
) -> bool {
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

pub(super) fn non_canonical_reasons(parts: &OriginParts<'_>, canonical: &str) -> String {
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
