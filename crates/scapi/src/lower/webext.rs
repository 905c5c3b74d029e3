//! Web extension views: `interaction.web-content` and `workspace.web-content`
//! name option sections, each with a `url` (and a `label`). An embedded
//! application calls the Service Client API from its url's origin, so that
//! origin must be accepted.

use super::{Cx, INTERACTION_WEB_CONTENT, ORIGINS, WORKSPACE_WEB_CONTENT};
use crate::diagnostic::Diagnostic;
use crate::rules::Code;
use crate::source::Span;
use crate::suggest::closest;
use crate::syntax::list::key_list;
use scapi_policy::policy::{Policy, WebExtension};
use std::collections::{HashMap, HashSet};

pub(super) fn lower(
    cx: &mut Cx<'_>,
    policy: &Policy,
    origins_end: Option<usize>,
    rejected: &super::accepted::Rejected,
) -> Vec<WebExtension> {
    let mut out: Vec<WebExtension> = Vec::new();
    // Lists and exports can be long: look names up in sets, not by scanning.
    let sections: HashMap<&str, &crate::input::Section> = cx
        .read
        .export
        .sections
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut named: HashSet<&str> = HashSet::new();
    for key in [INTERACTION_WEB_CONTENT, WORKSPACE_WEB_CONTENT] {
        let Some(opt) = cx.option(key) else { continue };
        if opt.value.trim().is_empty() {
            continue;
        }
        for item in key_list(&opt.value) {
            if item.text.is_empty() {
                cx.value_removal(
                    opt,
                    Diagnostic::new(
                        Code::EmptySectionName,
                        item.span,
                        format!("empty section name in `{key}`"),
                    )
                    .label("nothing between the commas")
                    .help("remove the extra comma"),
                    item.removal,
                );
                continue;
            }
            if !named.insert(item.text) {
                continue;
            }
            let item_span = opt.file_span(item.span);
            let Some(section) = sections.get(item.text).copied() else {
                let names: Vec<&str> = cx
                    .read
                    .export
                    .sections
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect();
                let d = Diagnostic::new(
                    Code::MissingExtensionSection,
                    item.span,
                    format!("section `{}` is not in the export", item.text),
                )
                .label(format!("named by `{key}`"));
                let d = match names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(item.text))
                    .copied()
                    .or_else(|| closest(item.text, names.iter().copied()))
                {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "add a section `[{}]` with `url` and `label`, or remove the name",
                        item.text
                    )),
                };
                cx.value_diag(opt, d);
                continue;
            };
            let Some(url) = section.get("url") else {
                let span = section.name_span.unwrap_or(item_span);
                cx.push(
                    Diagnostic::new(
                        Code::ExtensionWithoutUrl,
                        span,
                        format!("web extension `{}` has no `url`", section.name),
                    )
                    .label("no `url` option in this section")
                    .with_secondary(item_span, format!("named by `{key}`"))
                    .help("add `url=https://…` with the address of the application"),
                );
                out.push(WebExtension {
                    section: section.name.clone(),
                    url: None,
                    origin: None,
                    accepted: false,
                });
                continue;
            };
            let origin = match url_origin(&url.value) {
                UrlOrigin::Known(o) => Some(o),
                UrlOrigin::Unknown(why) => {
                    cx.push(
                        Diagnostic::new(Code::ExtensionOriginUnknown, url.text_span(), format!("the origin of web extension `{}` cannot be checked", section.name))
                            .label(why)
                            .help("make sure the origin it resolves to is in `service-client-api.accepted-web-content-origins`"),
                    );
                    None
                }
                UrlOrigin::Invalid(why) => {
                    cx.push(
                        Diagnostic::new(
                            Code::InvalidExtensionUrl,
                            url.text_span(),
                            format!(
                                "`url` of web extension `{}` is not a valid address",
                                section.name
                            ),
                        )
                        .label(why)
                        .help("write an absolute address such as `https://crm.example.com/agent`"),
                    );
                    None
                }
            };
            let accepted = origin
                .as_deref()
                .is_some_and(|o| policy.grant_for(o).is_some());
            // Listed with an error (a trailing slash, say): that error is the
            // finding, and adding the origin again would list it twice.
            let meant = origin
                .as_deref()
                .is_some_and(|o| rejected.origins.contains(o));
            if let Some(o) = origin.as_deref().filter(|_| !accepted && !meant) {
                let d = Diagnostic::new(
                    Code::ExtensionOriginNotAccepted,
                    url.text_span(),
                    format!(
                        "web extension `{}` is served from `{o}`, which is not accepted",
                        section.name
                    ),
                )
                .label("its calls to the Service Client API will be refused")
                .with_secondary(item_span, format!("named by `{key}`"));
                let d = match origins_end {
                    Some(at) => d
                        .help(format!("add `{o}` to `{ORIGINS}`"))
                        .fix(Span::point(at), format!(", {o}"))
                        .unsafe_fix(),
                    None => d.help(format!("set `{ORIGINS}` to `{o}`")),
                };
                cx.push(d);
            }
            out.push(WebExtension {
                section: section.name.clone(),
                url: Some(url.value.to_string()),
                origin,
                accepted,
            });
        }
    }
    out
}

enum UrlOrigin {
    Known(String),
    Unknown(&'static str),
    Invalid(&'static str),
}

/// The origin of a web extension url. `$Interaction.Id$`-style variables
/// are allowed in the path and query; in the host they hide the origin.
fn url_origin(url: &str) -> UrlOrigin {
    let url = url.trim();
    if url.is_empty() {
        return UrlOrigin::Invalid("empty");
    }
    if url.starts_with('/') && !url.starts_with("//") {
        return UrlOrigin::Unknown("a relative address is served from the WWE host itself");
    }
    let authority = url.split_once("://").map_or("", |(_, rest)| {
        rest.split(['/', '?', '#']).next().unwrap_or("")
    });
    if authority.contains('$') {
        return UrlOrigin::Unknown("the host is a variable");
    }
    // Variables elsewhere do not change the origin; give the parser plain text.
    let mut plain = String::with_capacity(url.len());
    let mut in_var = false;
    for c in url.chars() {
        if c == '$' {
            in_var = !in_var;
            if in_var {
                plain.push('x');
            }
        } else if !in_var {
            plain.push(c);
        }
    }
    match url::Url::parse(&plain) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            UrlOrigin::Known(u.origin().ascii_serialization())
        }
        Ok(_) => UrlOrigin::Invalid("not an http or https address"),
        Err(_) => UrlOrigin::Invalid("not an absolute address"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_urls() {
        let known = |u: &str| match url_origin(u) {
            UrlOrigin::Known(o) => o,
            _ => String::new(),
        };
        assert_eq!(
            known("https://App.Example:443/x?id=$Interaction.Id$"),
            "https://app.example"
        );
        assert_eq!(
            known("http://crm:8080/$Contact.Id$/view"),
            "http://crm:8080"
        );
        assert!(matches!(
            url_origin("https://$Host$/x"),
            UrlOrigin::Unknown(_)
        ));
        assert!(matches!(
            url_origin("/local/page.html"),
            UrlOrigin::Unknown(_)
        ));
        assert!(matches!(
            url_origin("crm.example.com"),
            UrlOrigin::Invalid(_)
        ));
        assert!(matches!(
            url_origin("ftp://files.example"),
            UrlOrigin::Invalid(_)
        ));
    }
}
