//! Numeric options: `rate-limit`, `rate-limit.<request>`,
//! `rate-limit-quarantine-delay` and `block-markdone-timeout`.

use super::{BLOCK_MARKDONE_TIMEOUT, Cx, QUARANTINE, RATE_LIMIT, RATE_LIMIT_PREFIX, accepted};
use crate::diagnostic::Diagnostic;
use crate::input::OptionEntry;
use crate::rules::Code;
use crate::source::{Span, span_in};
use crate::syntax::integer::{IntegerError, integer};
use crate::syntax::name;
use crate::syntax::{QUOTES, is_blank};
use scapi_policy::policy::{Filter, Policy, Quarantine, RateLimits, WINDOW_SECONDS};

/// What the numeric options lower to, with what later checks need.
pub(super) struct Numbers {
    pub rate_limits: RateLimits,
    /// Per-request limits that lowered, with the span of their key.
    per_request_keys: Vec<(String, Span)>,
}

#[derive(Clone, Copy)]
enum Kind {
    RateLimit,
    Quarantine,
    Timeout,
}

impl Kind {
    fn unit(self) -> &'static str {
        match self {
            Kind::RateLimit => "a number of requests per minute (`0` for unlimited)",
            Kind::Quarantine => "a number of seconds (`0` for forever)",
            Kind::Timeout => "a number of milliseconds",
        }
    }
}

pub(super) fn lower(cx: &mut Cx<'_>) -> Numbers {
    let mut rate_limits = RateLimits::default();
    let global = cx
        .option(RATE_LIMIT)
        .and_then(|o| number(cx, o, Kind::RateLimit).map(|n| (n, o)));
    if let Some((n, _)) = global {
        rate_limits.default = n;
    }
    let mut per_request_keys = Vec::new();
    let keyed: Vec<&OptionEntry> = cx
        .main_options()
        .filter(|o| o.key.starts_with(RATE_LIMIT_PREFIX))
        .collect();
    for opt in keyed {
        let name = opt.key.get(RATE_LIMIT_PREFIX.len()..).unwrap_or("");
        let name_span = if opt.key_span.len() == opt.key.len() {
            Span::new(
                opt.key_span.start + RATE_LIMIT_PREFIX.len(),
                opt.key_span.end,
            )
        } else {
            opt.key_span
        };
        let value = number(cx, opt, Kind::RateLimit);
        if !request_key(cx, opt, name, name_span) {
            continue;
        }
        let Some(n) = value else { continue };
        rate_limits.per_request.insert(name.to_string(), n);
        per_request_keys.push((name.to_string(), name_span));
        if let Some((g, gopt)) = global
            && g > 0
            && (n == 0 || n > g)
        {
            let msg = if n == 0 {
                format!("`{name}` is unlimited although the global limit is {g}")
            } else {
                format!("`{name}` allows {n} requests per minute, more than the global {g}")
            };
            cx.push(
                Diagnostic::new(Code::LimitAboveGlobal, opt.text_span(), msg)
                    .label("looser than the global limit")
                    .with_secondary(gopt.text_span(), "global limit")
                    .help("keep it if this request needs more room; otherwise lower it"),
            );
        }
    }
    if let Some(opt) = cx.option(QUARANTINE)
        && let Some(q) = number(cx, opt, Kind::Quarantine)
    {
        rate_limits.quarantine = Quarantine::from_option(q);
        let limited = rate_limits.default > 0 || rate_limits.per_request.values().any(|&n| n > 0);
        if q == 0 {
            cx.push(
                Diagnostic::new(Code::QuarantineForever, opt.text_span(), "a quarantine delay of `0` ignores a request type until the session ends")
                    .label("forever")
                    .help("give a delay in seconds, e.g. `60`, unless blocking the rest of the session is intended"),
            );
        } else if q < WINDOW_SECONDS && limited {
            cx.push(
                Diagnostic::new(Code::ShortQuarantine, opt.text_span(), format!("the quarantine of {q} s can end before the one-minute window resets"))
                    .label("shorter than the window")
                    .help("the limit still holds for the whole minute: a request after the quarantine gets the error result again and a new quarantine; use 60 or more to ignore a client until the window resets"),
            );
        }
    }
    if let Some(opt) = cx.option(BLOCK_MARKDONE_TIMEOUT)
        && number(cx, opt, Kind::Timeout) == Some(0)
    {
        cx.push(
            Diagnostic::new(
                Code::InvalidTimeout,
                opt.text_span(),
                "`block-markdone-timeout` is `0`",
            )
            .label("must be greater than 0")
            .help("give the timeout in milliseconds, or remove the option"),
        );
    }
    Numbers {
        rate_limits,
        per_request_keys,
    }
}

/// Checks the request name of a `rate-limit.<request>` key; `true` if the
/// limit applies to a name WWE can match.
fn request_key(cx: &mut Cx<'_>, opt: &OptionEntry, name: &str, span: Span) -> bool {
    if name.contains('*') {
        cx.push(
            Diagnostic::new(Code::RateLimitPattern, span, format!("rate limit for the pattern `{name}`"))
                .label("limits apply to one request name")
                .help("set one limit per request, e.g. `service-client-api.rate-limit.voice.dial`, or use `service-client-api.rate-limit` for all"),
        );
        return false;
    }
    if name::request(name).is_none() {
        let msg = if name.is_empty() {
            format!("`{}` names no request", opt.key)
        } else {
            format!("rate limit for `{name}`, which is not a request name")
        };
        let named = crate::suggest::namespaced(name);
        let help = if name.is_empty() || named.is_empty() {
            "name one request, e.g. `service-client-api.rate-limit.voice.dial`".to_string()
        } else {
            let keys: Vec<String> = named
                .iter()
                .map(|n| format!("service-client-api.rate-limit.{n}"))
                .collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            format!("did you mean {}?", crate::suggest::one_of(&keys))
        };
        cx.push(
            Diagnostic::new(Code::RateLimitUnknownRequest, opt.key_span, msg)
                .label("expected `service-client-api.rate-limit.namespace.request`")
                .help(help),
        );
        return false;
    }
    accepted::lower_request(cx, opt, name, span, true).is_some()
}

/// Parses a numeric option, reporting why it is not one. A comment after
/// the number and quotes around it are reported, and the number inside is
/// read.
fn number(cx: &mut Cx<'_>, opt: &OptionEntry, kind: Kind) -> Option<u32> {
    let value = cx.value_without_comment(opt, |_| true);
    let value = unquote(cx, opt, value);
    let err = match integer(value) {
        Ok(i) => return Some(i.value),
        Err(e) => e,
    };
    let key = &opt.key;
    // Spans are of the value; `value_diag` maps them to the file.
    let span = span_in(&opt.value, value);
    let value = value.trim();
    let d = match err {
        IntegerError::Empty => Diagnostic::new(Code::EmptyValue, span, format!("`{key}` is empty"))
            .label("expected a whole number")
            .help(format!(
                "write {}, or remove the option to use the default",
                kind.unit()
            )),
        IntegerError::Negative => Diagnostic::new(
            Code::NegativeInteger,
            span,
            format!("`{key}` is negative: `{value}`"),
        )
        .label("must be 0 or more")
        .help(format!("write {}", kind.unit())),
        IntegerError::OutOfRange => Diagnostic::new(
            Code::IntegerOutOfRange,
            span,
            format!("`{key}` is too large: `{value}`"),
        )
        .label("more than 4294967295")
        .help(format!("write {} up to 4294967295", kind.unit())),
        IntegerError::Invalid => {
            let d = Diagnostic::new(
                Code::InvalidInteger,
                span,
                format!("`{key}` is not a whole number: `{value}`"),
            )
            .label("expected digits only");
            // `30s`, `4 per minute`: the number is there, the unit is not allowed.
            let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
            let unit = value.get(digits.len()..).unwrap_or("").trim();
            if !digits.is_empty()
                && !unit.is_empty()
                && unit
                    .chars()
                    .all(|c| c.is_alphabetic() || c == ' ' || c == '/')
            {
                // Read as meant from here on, so what follows from the
                // number is reported now, not after the fix.
                let meant = digits.parse().ok();
                cx.value_diag(
                    opt,
                    d.help(format!("write `{digits}`; the unit is implied"))
                        .fix(span, digits),
                );
                return meant;
            } else {
                d.help(format!("write {}", kind.unit()))
            }
        }
    };
    cx.value_diag(opt, d);
    None
}

/// A number in quotes (`"50"`, `“50”`) is reported as such, not as "not a
/// whole number"; the text inside is returned.
fn unquote<'v>(cx: &mut Cx<'_>, opt: &OptionEntry, value: &'v str) -> &'v str {
    let trimmed = value.trim_matches(is_blank);
    let inner = trimmed.trim_start_matches(QUOTES).trim_end_matches(QUOTES);
    if inner.len() == trimmed.len() || trimmed.chars().count() < 2 {
        return value;
    }
    let inner = inner.trim_matches(is_blank);
    let span = span_in(&opt.value, trimmed);
    let at = span_in(&opt.value, inner);
    let quotes: Vec<Span> = [Span::new(span.start, at.start), Span::new(at.end, span.end)]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect();
    cx.value_diag(
        opt,
        Diagnostic::new(
            Code::QuotedValue,
            span,
            format!("the value of `{}` is wrapped in quotes", opt.key),
        )
        .label("the quotes are part of the value")
        .help(format!(
            "remove the quotes: `{}={inner}`; option values are written without them",
            opt.key
        ))
        .fix_deleting(span, inner, &quotes),
    );
    inner
}

/// Per-request limits for a request no entry grants.
pub(super) fn check_reachability(
    cx: &mut Cx<'_>,
    numbers: &Numbers,
    policy: &Policy,
    rejected: &accepted::Rejected,
) {
    for (name, span) in &numbers.per_request_keys {
        // An entry with an error that meant to grant it is the one finding.
        if policy.anyone_may_call(name) || rejected.may_grant(name) {
            continue;
        }
        let wildcard = policy
            .origins()
            .map(|o| o.grant)
            .chain(policy.any_origin())
            .any(|g| {
                g.allow().iter().any(|f| {
                    matches!(f, Filter::All) || matches!(f, Filter::Namespace(ns) if ns == "auth")
                })
            });
        if name == "auth.getJwtToken" && wildcard {
            cx.push(
                Diagnostic::new(Code::JwtNotGranted, *span, "`auth.getJwtToken` has a rate limit but no origin names it")
                    .label("`*` and `auth.*` do not grant it")
                    .help("grant it by name where it is needed, e.g. `https://app.example (*, auth.getJwtToken)`"),
            );
            continue;
        }
        cx.push(
            Diagnostic::new(
                Code::RateLimitUnreachable,
                *span,
                format!("rate limit for `{name}`, which no origin may call"),
            )
            .label("no entry of the origin list grants it")
            .help(format!("grant `{name}` to an origin, or remove the limit")),
        );
    }
}
