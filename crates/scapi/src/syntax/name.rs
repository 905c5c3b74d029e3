//! Request names and name patterns: `voice.dial`, `agent.*`, `*`.
//!
//! Used for filters, `rate-limit.<request>` keys and the requests presented
//! to a policy. Matching is case-sensitive; this module only says whether a
//! text has the shape of a name.

use super::Res;
use nom::Parser;
use nom::bytes::complete::{tag, take_while};
use nom::character::complete::{char, satisfy};
use nom::combinator::{all_consuming, recognize};
use nom::sequence::{pair, separated_pair, terminated};

/// `ident := (ALPHA | "_") (ALPHA | DIGIT | "_")*`
fn ident(i: &str) -> Res<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

/// `request := ident "." ident` — the namespace and the method.
pub fn request(text: &str) -> Option<(&str, &str)> {
    let parsed: Res<'_, _> = all_consuming(separated_pair(ident, char('.'), ident)).parse(text);
    parsed.ok().map(|(_, pair)| pair)
}

/// `namespace-pattern := ident ".*"` — the namespace.
pub fn namespace_pattern(text: &str) -> Option<&str> {
    let parsed: Res<'_, _> = all_consuming(terminated(ident, tag(".*"))).parse(text);
    parsed.ok().map(|(_, ns)| ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(request("voice.dial"), Some(("voice", "dial")));
        assert_eq!(
            request("sipEndpoint.muteMicrophone"),
            Some(("sipEndpoint", "muteMicrophone"))
        );
        for bad in [
            "voice",
            "voice.",
            ".dial",
            "voice.dial.x",
            "voice-x.dial",
            "voice.*",
            "1a.b",
            "voice. dial",
            "vöice.dial",
            "",
        ] {
            assert_eq!(request(bad), None, "{bad}");
        }
        assert_eq!(namespace_pattern("agent.*"), Some("agent"));
        assert_eq!(namespace_pattern("*.get"), None);
        assert_eq!(namespace_pattern("agent.*x"), None);
    }
}
