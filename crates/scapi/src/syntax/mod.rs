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
pub mod origin_list;
pub mod origin_parts;
pub mod suppression;

use crate::source::Span;
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

pub use scapi_tools::text::is_invisible;

/// How to remove one item of a list (an origin-list entry, a filter, a key)
/// together with one separator. Which separator depends on which other
/// items are removed by the same run of fixes: lowering decides, knowing
/// all of them (a run that reaches the end of the list must take the
/// separators before its items, or it leaves a trailing comma).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removal {
    /// The item itself.
    pub item: Span,
    /// From the end of the item before to the end of this one; `None` for
    /// the first item.
    pub before: Option<Span>,
    /// From the start of this item to the start of the next; `None` for
    /// the last item.
    pub after: Option<Span>,
}

impl Removal {
    /// The removal of `item`, between the items before and after it.
    pub fn between(prev: Option<Span>, item: Span, next: Option<Span>) -> Removal {
        Removal {
            item,
            before: prev.map(|p| Span::new(p.end, item.end)),
            after: next.map(|n| Span::new(item.start, n.start)),
        }
    }

    /// Removals of items given by their spans, in order.
    pub fn of_items(spans: &[Span]) -> Vec<Removal> {
        (0..spans.len())
            .filter_map(|i| {
                let prev = i.checked_sub(1).and_then(|p| spans.get(p)).copied();
                Some(Removal::between(
                    prev,
                    *spans.get(i)?,
                    spans.get(i + 1).copied(),
                ))
            })
            .collect()
    }

    /// What removing this item alone deletes: up to the next item, else
    /// from the end of the one before, else the item.
    pub fn span(&self) -> Span {
        self.after.or(self.before).unwrap_or(self.item)
    }

    /// The removal with every span passed through `f`.
    pub fn map(self, f: impl Fn(Span) -> Span) -> Removal {
        Removal {
            item: f(self.item),
            before: self.before.map(&f),
            after: self.after.map(&f),
        }
    }
}

/// Quote characters users wrap values in, including typographic ones that
/// word processors produce.
pub(crate) const QUOTES: &[char] = &['"', '\'', '\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}'];
