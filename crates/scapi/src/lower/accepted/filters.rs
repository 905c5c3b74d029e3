//! The request filters of an entry, checked against the catalog.

use crate::diagnostic::Diagnostic;
use crate::input::OptionEntry;
use crate::lower::Cx;
use crate::rules::Code;
use crate::source::{Span, span_in};
use crate::suggest::closest;
use crate::syntax::Removal;
use crate::syntax::name;
use crate::syntax::origin_list::FilterList;
use scapi_policy::catalog;
use scapi_policy::policy::{Filter, Grant};
use std::collections::HashMap;

/// Lowers an entry's filter list; `None` if the list grants nothing because
/// of an error (an empty list, an unclosed parenthesis).
/// Lists up to this long are searched in place rather than through a map.
const SHORT_LIST: usize = 16;

/// Distinct filter lists remembered by their text, at most.
const FILTER_TEXTS: usize = 4096;

/// What an entry's filter list grants. Exports repeat a few filter lists
/// over thousands of entries: a list whose exact text was already lowered
/// without a finding is not lowered again.
pub(super) fn lower_grant(
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

pub(super) fn lower_filters(
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

pub(super) fn redundant_filters(
    cx: &mut Cx<'_>,
    opt: &OptionEntry,
    filters: &[(Filter, Span, Removal)],
) {
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
pub(super) fn lower_filter(
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

pub(super) fn lower_namespace(
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
pub(in crate::lower) fn lower_request(
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
