//! The options scapi reads, with what each means: for editors (hover,
//! completion) and for anyone reading an export.

use crate::lower::{
    BLOCK_MARKDONE_TIMEOUT, INTERACTION_WEB_CONTENT, ORIGINS, QUARANTINE, RATE_LIMIT,
    RATE_LIMIT_PREFIX, READ_ALLOWED, WORKSPACE_WEB_CONTENT, WRITE_ALLOWED,
};

/// One option of the `interaction-workspace` section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionDoc {
    /// The option name (for the per-request rate limit, its prefix).
    pub name: &'static str,
    /// What its value is, in one line.
    pub value: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// The section every option below is read from.
pub const SECTION: &str = crate::input::MAIN_SECTION;

/// Every option scapi reads, in the order an export usually lists them.
pub const OPTIONS: &[OptionDoc] = &[
    OptionDoc {
        name: ORIGINS,
        value: "origin (filters), origin (filters), …",
        meaning: "Which web applications (by browser origin) may call the Service Client API, and which requests each may call. An origin is `scheme://host[:port]` exactly as the browser presents it; `*` is any origin. The filters are request names, `namespace.*` or `*`; no list grants every request but the explicit-only ones (`auth.getJwtToken`).",
    },
    OptionDoc {
        name: RATE_LIMIT,
        value: "requests per minute (0: no limit)",
        meaning: "The default rate limit: how many requests of one type a client may send per 60-second window, counted per client and request name. The request over it gets an error result; the rest are ignored for the quarantine.",
    },
    OptionDoc {
        name: RATE_LIMIT_PREFIX,
        value: "requests per minute (0: no limit)",
        meaning: "`service-client-api.rate-limit.<request>`: the rate limit of one request, instead of the default.",
    },
    OptionDoc {
        name: QUARANTINE,
        value: "seconds (0: until the session ends)",
        meaning: "How long a request type is ignored after its rate limit was exceeded.",
    },
    OptionDoc {
        name: READ_ALLOWED,
        value: "keys, or `*`",
        meaning: "The attached-data (`userData`) keys a frame may read: every other key is removed from the interactions sent to it.",
    },
    OptionDoc {
        name: WRITE_ALLOWED,
        value: "keys, or `*`",
        meaning: "The attached-data keys a frame may write with `interaction.setUserData` and `interaction.deleteUserData`; others are stripped, and a request left with none is refused.",
    },
    OptionDoc {
        name: BLOCK_MARKDONE_TIMEOUT,
        value: "milliseconds",
        meaning: "How long `interaction.blockMarkdone` keeps an interaction from being marked done, at most.",
    },
    OptionDoc {
        name: INTERACTION_WEB_CONTENT,
        value: "section names",
        meaning: "The web extensions shown beside an interaction: each names a section whose `url` is loaded in a frame, whose origin must then be accepted.",
    },
    OptionDoc {
        name: WORKSPACE_WEB_CONTENT,
        value: "section names",
        meaning: "The web extensions shown in the workspace: each names a section whose `url` is loaded in a frame, whose origin must then be accepted.",
    },
];

/// The documentation of an option name, if scapi reads it
/// (`service-client-api.rate-limit.voice.dial` is the per-request limit).
pub fn doc(name: &str) -> Option<&'static OptionDoc> {
    OPTIONS.iter().find(|o| o.name == name).or_else(|| {
        name.strip_prefix(RATE_LIMIT_PREFIX)
            .filter(|r| !r.is_empty())
            .and_then(|_| OPTIONS.iter().find(|o| o.name == RATE_LIMIT_PREFIX))
    })
}

/// The origin an entry of the origin list names, as the compiled policy
/// writes it (`HTTPS://CRM.Example.com:443` is `https://crm.example.com`;
/// `*` is `*`); `None` for a target the compiler reports as an error.
pub fn canonical_entry_target(target: &str) -> Option<String> {
    crate::lower::canonical_target(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_the_compiler_reads_is_documented() {
        for name in crate::lower::KNOWN_OPTIONS {
            assert!(doc(name).is_some(), "{name}");
        }
        assert_eq!(
            doc("service-client-api.rate-limit.voice.dial").map(|d| d.name),
            Some(RATE_LIMIT_PREFIX)
        );
        assert!(doc("service-client-api.rate-limits").is_none());
    }
}
