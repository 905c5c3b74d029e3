//! Inline suppressions in cfg comments:
//! `; scapi: allow(SC0113, cleartext-origin) served inside the LAN only`.

use super::{Res, blanks};
use crate::source::{Span, span_in};
use nom::Parser;
use nom::bytes::complete::{tag, take_till1, take_while};
use nom::character::complete::char;
use nom::multi::separated_list1;
use nom::sequence::delimited;

/// A parsed suppression comment. Spans are of the comment text given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression<'a> {
    /// The rules, as written, with their spans.
    pub rules: Vec<(&'a str, Span)>,
    /// The reason after the list (trimmed; may be empty).
    pub reason: &'a str,
}

/// Whether a comment is addressed to scapi (after its `;` or `#` marker).
pub fn is_directive(comment_text: &str) -> bool {
    comment_text
        .trim_start_matches([';', '#'])
        .trim_start()
        .starts_with("scapi:")
}

/// `suppression := (";" | "#") blank* "scapi:" blank* "allow" blank* "(" blank* rule (blank* "," blank* rule)* blank* ")" reason`
/// where `rule := (any character but "," | ")" | blank)+` and `reason := (any character)*`
pub fn suppression(comment: &str) -> Option<Suppression<'_>> {
    let rule = |i| take_till1(|c: char| c == ',' || c == ')' || super::is_blank(c)).parse(i);
    let parsed: Res<'_, _> = (
        take_while(|c| c == ';' || c == '#'),
        blanks,
        tag("scapi:"),
        blanks,
        tag("allow"),
        blanks,
        delimited(
            (char('('), blanks),
            separated_list1((blanks, char(','), blanks), rule),
            (blanks, char(')')),
        ),
    )
        .parse(comment);
    let (rest, (.., rules)) = parsed.ok()?;
    Some(Suppression {
        rules: rules
            .into_iter()
            .map(|r| (r, span_in(comment, r)))
            .collect(),
        reason: rest.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressions() {
        let s = suppression("; scapi: allow(SC0113, cleartext-origin) LAN only").unwrap();
        assert_eq!(
            s.rules.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec!["SC0113", "cleartext-origin"]
        );
        assert_eq!(s.rules[0].1, Span::new(15, 21));
        assert_eq!(s.reason, "LAN only");
        assert_eq!(suppression("# scapi:allow( SC0113 )").unwrap().reason, "");
        assert!(suppression("; scapi: allow SC0113 reason").is_none());
        assert!(suppression("; scapi: deny(SC0113) x").is_none());
        assert!(suppression("; scapi: allow() x").is_none());
        assert!(is_directive("; scapi: whatever"));
        assert!(!is_directive("; a comment"));
    }
}
