//! The syntax layer: nom parsers for every option-value grammar
//! (`grammar/option-values.ebnf`).
//!
//! Parsers take the decoded value string and return syntax trees whose
//! spans are byte ranges *of that value*; the caller maps them to the file
//! through the option's [`crate::source::ValueMap`]. They are error-tolerant:
//! a broken entry is reported and parsing goes on at the next top-level
//! comma, so one run shows every problem. Nothing here knows what a request
//! grants or whether an origin is accepted — that is [`crate::lower`].
//!
//! Every parser function's doc comment starts with its grammar production;
//! a test checks the grammar file and these comments agree.

pub mod integer;
pub mod list;
pub mod name;
pub mod origin;
pub mod origin_list;
pub mod suppression;

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take_while;

/// Parser result over the value text.
pub(crate) type Res<'a, O> = IResult<&'a str, O>;

/// `blank := " " | "\t" | any other white space` — zero or more blanks.
pub(crate) fn blanks(i: &str) -> Res<'_, &str> {
    take_while(is_blank).parse(i)
}

/// Whether `c` is insignificant around tokens: spaces and tabs, and any
/// other character JavaScript's `String.prototype.trim` removes (line
/// breaks from YAML block scalars, no-break spaces pasted from documents).
pub fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Whether a character is invisible or changes how text is shown instead
/// of being shown: control characters (C0, DEL, C1 — an ANSI escape, a
/// NUL), bidirectional overrides and isolates ("Trojan Source"), and
/// zero-width or other invisible format characters. No one types them on
/// purpose into an option, and a terminal must not receive them raw.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Quote characters users wrap values in, including typographic ones that
/// word processors produce.
pub(crate) const QUOTES: &[char] = &['"', '\'', '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}'];
