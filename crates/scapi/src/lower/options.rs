//! Option names and where they are set: unknown `service-client-api.*`
//! options (with "did you mean"), options outside `interaction-workspace`,
//! and options on a Person or Agent Group, where WWE ignores them.

use super::{
    BLOCK_MARKDONE_TIMEOUT, Cx, INTERACTION_WEB_CONTENT, ORIGINS, ObjectLevel, PREFIX, QUARANTINE,
    RATE_LIMIT, RATE_LIMIT_PREFIX, READ_ALLOWED, WORKSPACE_WEB_CONTENT, WRITE_ALLOWED,
};
use crate::diagnostic::Diagnostic;
use crate::input::MAIN_SECTION;
use crate::rules::Code;
use crate::suggest::closest;

/// The options scapi knows, in the main section.
const KNOWN: &[&str] = &[
    ORIGINS,
    RATE_LIMIT,
    QUARANTINE,
    READ_ALLOWED,
    WRITE_ALLOWED,
    BLOCK_MARKDONE_TIMEOUT,
];

fn is_scapi_key(key: &str) -> bool {
    key.get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// Whether a key is one of the options scapi reads from the main section.
fn is_ours(key: &str) -> bool {
    is_scapi_key(key) || key == INTERACTION_WEB_CONTENT || key == WORKSPACE_WEB_CONTENT
}

/// Whether an option's value is a number of the Service Client API, which
/// JSON and YAML may write as an integer.
fn is_numeric(section: &str, key: &str) -> bool {
    section == MAIN_SECTION
        && (matches!(key, RATE_LIMIT | QUARANTINE | BLOCK_MARKDONE_TIMEOUT)
            || key.starts_with(RATE_LIMIT_PREFIX))
}

/// JSON and YAML values that are not strings: an integer is the text of a
/// numeric option (people write `rate-limit: 50`; any other scalar there is
/// not a whole number, which the numeric check says), anything else is
/// reported. Its text is still checked as the value.
fn check_types(cx: &mut Cx<'_>) {
    for section in &cx.read.export.sections {
        for o in &section.options {
            let Some(ns) = o.non_string else { continue };
            // A numeric option's check says what is wrong with `1.5` or
            // `true` more precisely than "not a string" would.
            if is_numeric(&section.name, &o.key) {
                continue;
            }
            let text = cx.source().slice(o.value_span);
            cx.diags.push(
                Diagnostic::new(
                    Code::NonStringValue,
                    o.value_span,
                    format!("option `{}` is {}, not a string", o.key, ns.kind),
                )
                .label("option values are strings")
                .help(format!("quote the value: `\"{text}\"`"))
                .fix(o.value_span, format!("\"{text}\"")),
            );
        }
    }
}

pub(super) fn check_keys(cx: &mut Cx<'_>, object: ObjectLevel) {
    check_types(cx);
    let export = &cx.read.export;
    if object != ObjectLevel::Application {
        let keys: Vec<_> = export
            .sections
            .iter()
            .flat_map(|s| s.options.iter())
            .filter(|o| is_scapi_key(&o.key))
            .collect();
        if let Some((first, rest)) = keys.split_first() {
            let mut d = Diagnostic::new(
                Code::NotApplicationLevel,
                first.key_span,
                format!("Service Client API options on a {} are ignored by WWE", object.describe()),
            )
            .label("set at the wrong level")
            .help("set them on the WWEWS Cluster application, section `interaction-workspace`; they cannot be overridden per agent or agent group");
            for o in rest.iter().take(8) {
                d = d.with_secondary(o.key_span, "also ignored");
            }
            cx.push(d);
        }
    }
    for section in &export.sections {
        if section.name == MAIN_SECTION {
            for o in &section.options {
                if is_scapi_key(&o.key)
                    && !KNOWN.contains(&o.key.as_str())
                    && !o.key.starts_with(RATE_LIMIT_PREFIX)
                {
                    cx.push(unknown_option(&o.key, o.key_span, |k| {
                        section.get(k).map(|o| o.key_span)
                    }));
                }
            }
            continue;
        }
        for o in section.options.iter().filter(|o| is_ours(&o.key)) {
            let mut d = Diagnostic::new(
                Code::WrongSection,
                o.key_span,
                format!("option `{}` is in section `{}`", o.key, section.name),
            )
            .label("WWE reads it only from `interaction-workspace`");
            if let Some(span) = section.name_span {
                d = d.with_secondary(span, "this section");
            }
            // Renaming a section whose options the main section sets too
            // would set them twice.
            let clash = export
                .section(MAIN_SECTION)
                .is_some_and(|main| section.options.iter().any(|o| main.get(&o.key).is_some()));
            d = if section.name.eq_ignore_ascii_case(MAIN_SECTION) && clash {
                d.help(format!(
                    "section names are case-sensitive, and `{MAIN_SECTION}` sets some of these options already: merge the two sections"
                ))
            } else if section.name.eq_ignore_ascii_case(MAIN_SECTION) {
                let d = d.help(format!(
                    "section names are case-sensitive: rename `{}` to `{MAIN_SECTION}`",
                    section.name
                ));
                // Unsafe: options WWE ignores start to take effect, origins
                // and filters among them.
                match section.name_span {
                    Some(span) => d.fix(span, MAIN_SECTION).unsafe_fix(),
                    None => d,
                }
            } else if closest(&section.name, [MAIN_SECTION]).is_some() {
                d.help(format!("did you mean section `{MAIN_SECTION}`?"))
            } else {
                d.help(format!("move it to section `[{MAIN_SECTION}]`"))
            };
            cx.push(d);
        }
    }
}

/// An unknown `service-client-api.` option. `set` finds an option of the
/// same section by name: a case fix that would set an option twice is not
/// offered.
fn unknown_option(
    key: &str,
    span: crate::source::Span,
    set: impl Fn(&str) -> Option<crate::source::Span>,
) -> Diagnostic {
    let d = Diagnostic::new(Code::UnknownOption, span, format!("unknown option `{key}`"))
        .label("WWE ignores it");
    // A known option written in another case, or a per-request rate limit
    // with the prefix in another case.
    let fixed = match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        Some(known) => Some(known.to_string()),
        None => key
            .get(RATE_LIMIT_PREFIX.len()..)
            .filter(|_| {
                key.get(..RATE_LIMIT_PREFIX.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(RATE_LIMIT_PREFIX))
            })
            .map(|rest| format!("{RATE_LIMIT_PREFIX}{rest}")),
    };
    if let Some(fixed) = fixed {
        return match set(&fixed) {
            Some(other) => d
                .with_secondary(other, "set here in its own case")
                .help(format!(
                    "option names are case-sensitive, and `{fixed}` is set already: remove this line"
                )),
            None => d
                .help(format!("option names are case-sensitive: write `{fixed}`"))
                .fix(span, fixed)
                // WWE ignores the option as written: fixed, it takes
                // effect, which may widen (an origin list, a looser limit).
                .unsafe_fix(),
        };
    }
    match closest(key, KNOWN.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "the Service Client API options are {}",
            KNOWN
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
