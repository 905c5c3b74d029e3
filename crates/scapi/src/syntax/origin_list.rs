//! The origin list: `http://a, http://b (*), http://c (agent.*, voice.dial), * (agent.get)`.
//!
//! Entries are separated by commas at the top level; commas inside
//! parentheses separate filters. Blanks around any token are insignificant.
//! The parser never fails: it reports syntax problems (unbalanced
//! parentheses, empty entries, `;` separators, missing commas, quotes) as
//! diagnostics and resynchronizes at the next top-level separator.

use super::{QUOTES, Removal, Res, blanks, is_blank};
use crate::diagnostic::Diagnostic;
use crate::rules::Code;
use crate::source::{Span, span_in};
use nom::Parser;
use nom::bytes::complete::{take_till, take_till1};
use nom::character::complete::char;
use nom::combinator::{opt, recognize};

/// A parsed origin list, held whole (for tests and the invariant checks;
/// the compiler and the formatter stream it). Spans are byte ranges of the
/// value.
#[cfg(any(test, feature = "invariants"))]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OriginList<'a> {
    /// The entries, in order.
    pub entries: Vec<WrittenEntry<'a>>,
    /// Syntax problems found.
    pub diagnostics: Vec<Diagnostic>,
}

/// One entry: a target (`*` or an origin) and an optional filter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenEntry<'a> {
    /// The target text, quotes removed.
    pub target: &'a str,
    /// The whole entry, from the target to the closing parenthesis.
    pub span: Span,
    /// How to remove the entry with a separator.
    pub removal: Removal,
    /// The filter list, if written.
    pub filters: Option<FilterList<'a>>,
}

impl WrittenEntry<'_> {
    /// Where the target text is.
    pub fn target_span(&self, list: &str) -> Span {
        span_in(list, self.target)
    }
}

/// A parenthesized filter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterList<'a> {
    /// The `(`.
    pub open: Span,
    /// The `)`, if present.
    pub close: Option<Span>,
    /// The filters.
    pub items: Vec<WrittenFilter<'a>>,
}

/// One filter as written: a name and, when a method signature was pasted,
/// its argument list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFilter<'a> {
    /// The name (`agent.*`, `voice.dial`, `*`).
    pub name: &'a str,
    /// The `(…)` after the name, if any.
    pub args: Option<&'a str>,
    /// Name and arguments.
    pub span: Span,
    /// How to remove the filter with a separator.
    pub removal: Removal,
}

/// `origin-list := blank* (entry (blank* "," blank* entry)*)? blank*`
#[cfg(any(test, feature = "invariants"))]
pub fn origin_list(value: &str) -> OriginList<'_> {
    let mut entries = Vec::new();
    let mut diagnostics = Vec::new();
    each_entry(value, |p| match p {
        Parsed::Entry(e) => entries.push(e),
        Parsed::Finding(d) => diagnostics.push(d),
    });
    OriginList {
        entries,
        diagnostics,
    }
}

/// What the parser hands out as it goes: an entry, or a syntax problem.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// An entry, once the next one is known (its removal span needs it).
    Entry(WrittenEntry<'a>),
    /// A syntax problem, as soon as it is found.
    Finding(Diagnostic),
}

/// Parses an origin list and hands each entry and each syntax problem to
/// `each` as soon as they are known, so neither a list of a million entries
/// nor a million empty entries is ever held in memory at once (the sink
/// keeps only as many findings per rule as it lists).
pub fn each_entry<'a>(value: &'a str, each: impl FnMut(Parsed<'a>)) {
    let mut p = OriginListParser {
        full: value,
        rest: value,
        pending: None,
        count: 0,
        each,
    };
    p.unquote_whole();
    p.list();
    p.flush();
}

/// Whether a character ends a target or filter name.
fn is_delimiter(c: char) -> bool {
    is_blank(c) || matches!(c, ',' | ';' | '(' | ')')
}

/// `target := "*" | origin` — parsed as any run of characters but blanks,
/// `,`, `;`, `(` and `)`; lowering says whether it is a valid origin.
fn target(i: &str) -> Res<'_, &str> {
    take_till1(is_delimiter).parse(i)
}

/// `filter := filter-name (blank* args)?` where
/// `filter-name := "*" | namespace-pattern | request` — parsed as any run of
/// characters but blanks, `,`, `;`, `(` and `)`.
fn filter_name(i: &str) -> Res<'_, &str> {
    take_till1(is_delimiter).parse(i)
}

/// `args := "(" (any character but ")")* ")"` — the argument list of a
/// method signature pasted from the documentation (always an error, parsed
/// so it can be reported and removed).
fn args(i: &str) -> Res<'_, &str> {
    recognize((char('('), take_till(|c| c == ')'), opt(char(')')))).parse(i)
}

/// The state of one origin list being parsed: the text, what is left of it,
/// and where each entry and finding goes.
struct OriginListParser<'a, F: FnMut(Parsed<'a>)> {
    full: &'a str,
    rest: &'a str,
    /// The last entry parsed, held until the next one sets its removal span.
    pending: Option<WrittenEntry<'a>>,
    /// Entries parsed so far.
    count: usize,
    each: F,
}

impl<'a, F: FnMut(Parsed<'a>)> OriginListParser<'a, F> {
    /// Hands out a syntax problem.
    fn report(&mut self, d: Diagnostic) {
        (self.each)(Parsed::Finding(d));
    }

    /// The end of the last entry parsed.
    fn last_end(&self) -> Option<usize> {
        self.pending.as_ref().map(|e| e.span.end)
    }

    /// Takes a new entry: the one before it now knows its removal span
    /// (up to this one's start) and is handed out.
    fn push_entry(&mut self, mut entry: WrittenEntry<'a>) {
        if let Some(f) = &mut entry.filters {
            let mut prev = None;
            for i in 0..f.items.len() {
                let next = f.items.get(i + 1).map(|n| n.span);
                if let Some(item) = f.items.get_mut(i) {
                    item.removal = Removal::between(prev, item.span, next);
                    prev = Some(item.span);
                }
            }
        }
        entry.removal.before = self
            .pending
            .as_ref()
            .map(|p| Span::new(p.span.end, entry.span.end));
        if let Some(mut prev) = self.pending.take() {
            prev.removal.after = Some(Span::new(prev.span.start, entry.span.start));
            (self.each)(Parsed::Entry(prev));
        }
        self.count += 1;
        self.pending = Some(entry);
    }

    /// Hands out the last entry.
    fn flush(&mut self) {
        if let Some(last) = self.pending.take() {
            (self.each)(Parsed::Entry(last));
        }
    }
    fn pos(&self) -> usize {
        span_in(self.full, self.rest).start
    }

    fn skip_blanks(&mut self) {
        if let Ok((rest, _)) = blanks(self.rest) {
            self.rest = rest;
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    /// Consumes one character and returns its span.
    fn bump(&mut self) -> Span {
        let start = self.pos();
        let mut chars = self.rest.chars();
        let len = chars.next().map_or(0, char::len_utf8);
        self.rest = chars.as_str();
        Span::new(start, start + len)
    }

    /// Quotes around the whole value are reported and parsing goes on inside.
    fn unquote_whole(&mut self) {
        let trimmed = self.full.trim_matches(is_blank);
        let mut chars = trimmed.chars();
        let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
            return;
        };
        if !(QUOTES.contains(&first) && QUOTES.contains(&last)) {
            return;
        }
        let inner = chars.as_str();
        // `'a', 'b'` is two quoted entries, not one quoted value.
        if inner.contains(QUOTES) {
            return;
        }
        let whole = span_in(self.full, trimmed);
        let open = Span::new(whole.start, whole.start + first.len_utf8());
        let close = Span::new(whole.end - last.len_utf8(), whole.end);
        self.report(
            Diagnostic::new(Code::QuotedValue, open, "the value is wrapped in quotes")
                .label("this quote becomes part of the first origin")
                .with_secondary(close, "and this one part of the last")
                .help("remove the quotes; option values are written without them")
                .fix_deleting(whole, inner, &[open, close]),
        );
        // Parse the inside; `rest` is a sub-slice of `full`, so spans stay
        // relative to the whole value.
        self.rest = inner;
    }

    fn list(&mut self) {
        let mut expect_entry = true;
        let mut last_sep: Option<Span> = None;
        // The separator right after the last entry: a trailing comma if no
        // entry follows it.
        let mut sep_after_entry: Option<Span> = None;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                if let (true, Some(sep)) = (expect_entry, sep_after_entry) {
                    let from = self.last_end().unwrap_or(sep.start);
                    self.report(
                        Diagnostic::new(Code::EmptyEntry, sep, "trailing comma")
                            .label("no entry after this comma")
                            .help("remove the trailing comma")
                            .fix(Span::new(from, sep.end), ""),
                    );
                }
                return;
            };
            match (expect_entry, c) {
                (true, ',' | ';') => {
                    let sp = self.bump();
                    let what = if self.count == 0 && last_sep.is_none() {
                        "leading comma"
                    } else {
                        "empty entry"
                    };
                    self.report(
                        Diagnostic::new(Code::EmptyEntry, sp, format!("{what} in the origin list"))
                            .label("nothing before this separator")
                            .help("remove the extra separator")
                            .fix(sp, ""),
                    );
                    last_sep = Some(sp);
                }
                (_, ')') => {
                    let sp = self.bump();
                    self.report(
                        Diagnostic::new(
                            Code::UnbalancedParentheses,
                            sp,
                            "`)` without a matching `(`",
                        )
                        .label("unmatched")
                        .help("remove it, or add the `(` that opens the filter list")
                        .fix(sp, ""),
                    );
                }
                (false, ',') => {
                    last_sep = Some(self.bump());
                    sep_after_entry = last_sep;
                    expect_entry = true;
                }
                (false, ';') => {
                    let sp = self.bump();
                    self.report(
                        Diagnostic::new(
                            Code::SemicolonSeparator,
                            sp,
                            "entries are separated with `;`",
                        )
                        .label("WWE reads this as part of an origin")
                        .help("separate entries with `,`")
                        .fix(sp, ","),
                    );
                    last_sep = Some(sp);
                    sep_after_entry = last_sep;
                    expect_entry = true;
                }
                (false, '(') => {
                    let start = self.pos();
                    let fl = self.filter_list();
                    let sp = Span::new(start, fl.close.map_or(self.pos(), |c| c.end));
                    self.report(
                        Diagnostic::new(Code::InvalidEntry, sp, "second filter list for one entry")
                            .label("only one filter list is allowed")
                            .help(
                                "put all filters of an origin in one list: `(agent.*, voice.dial)`",
                            ),
                    );
                }
                (false, _) => {
                    let Ok((_, tok)) = target(self.rest) else {
                        self.bump();
                        continue;
                    };
                    let tok_span = span_in(self.full, tok);
                    if looks_like_target(tok) {
                        let at = self.last_end().unwrap_or(tok_span.start);
                        // Stray text between the entries (`a | b`, reported
                        // on its own) is what stands for the comma: the fix
                        // replaces it, so the two fixes do not fight.
                        let gap = self.full.get(at..tok_span.start).unwrap_or("");
                        let fix = if gap.trim().is_empty() {
                            (Span::point(at), ",")
                        } else {
                            (Span::new(at, tok_span.start), ", ")
                        };
                        self.report(
                            Diagnostic::new(
                                Code::MissingSeparator,
                                tok_span,
                                "entries are not separated by a comma",
                            )
                            .label("a new entry starts here")
                            .help("separate entries with `,`")
                            .fix(fix.0, fix.1),
                        );
                        expect_entry = true;
                        last_sep = None;
                    } else {
                        self.rest = self.rest.get(tok.len()..).unwrap_or("");
                        let help = if tok.contains('.') || tok == "*" {
                            format!("filters go in parentheses after the origin: `({tok})`")
                        } else {
                            "separate entries with `,`; an entry is `*` or `scheme://host[:port]`"
                                .to_string()
                        };
                        self.report(
                            Diagnostic::new(
                                Code::InvalidEntry,
                                tok_span,
                                format!("unexpected `{tok}` after the entry"),
                            )
                            .label("not part of any entry")
                            .help(help),
                        );
                    }
                }
                (true, _) => {
                    self.entry();
                    sep_after_entry = None;
                    expect_entry = false;
                }
            }
        }
    }

    /// `entry := target (blank* filter-list)?`
    fn entry(&mut self) {
        let start = self.pos();
        let mut tgt = "";
        if let Ok((rest, tok)) = target(self.rest) {
            self.rest = rest;
            tgt = self.unquote_target(tok);
        }
        let before_filters = self.rest;
        self.skip_blanks();
        let filters = if self.peek() == Some('(') {
            Some(self.filter_list())
        } else {
            self.rest = before_filters;
            None
        };
        let end = self.pos();
        let span = Span::new(start, end);
        if tgt.is_empty() {
            self.report(
                Diagnostic::new(Code::InvalidEntry, span, "filter list without an origin")
                    .label("no origin before `(`")
                    .help(
                        "write the origin before its filters, e.g. `https://crm.example (agent.*)`",
                    ),
            );
            return;
        }
        self.push_entry(WrittenEntry {
            target: tgt,
            span,
            removal: Removal {
                item: span,
                ..Removal::default()
            },
            filters,
        });
    }

    /// Removes quotes around one target, reporting them.
    fn unquote_target(&mut self, tok: &'a str) -> &'a str {
        let inner = tok.trim_matches(QUOTES);
        if inner.len() == tok.len() {
            return tok;
        }
        let sp = span_in(self.full, tok);
        let inner_span = span_in(self.full, inner);
        let quotes = [
            Span::new(sp.start, inner_span.start),
            Span::new(inner_span.end, sp.end),
        ];
        self.report(
            Diagnostic::new(
                Code::QuotedValue,
                sp,
                format!("entry `{tok}` is wrapped in quotes"),
            )
            .label("quotes are not part of an origin")
            .help(format!("write `{inner}`"))
            .fix_deleting(
                sp,
                inner,
                &quotes
                    .into_iter()
                    .filter(|q| !q.is_empty())
                    .collect::<Vec<_>>(),
            ),
        );
        inner
    }

    /// `filter-list := "(" blank* (filter (blank* "," blank* filter)*)? blank* ")"`
    fn filter_list(&mut self) -> FilterList<'a> {
        let open = self.bump();
        let mut items: Vec<WrittenFilter<'a>> = Vec::new();
        let mut expect_item = true;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                self.unclosed(open, &items);
                return FilterList {
                    open,
                    close: None,
                    items,
                };
            };
            match (expect_item, c) {
                (_, ')') => {
                    let close = self.bump();
                    if expect_item && let Some(last) = items.last() {
                        let sep_end = close.start;
                        let trailing = Span::new(last.span.end, sep_end);
                        self.report(
                            Diagnostic::new(
                                Code::InvalidFilter,
                                Span::point(close.start),
                                "empty filter before `)`",
                            )
                            .label("nothing after the last comma")
                            .help("remove the trailing comma")
                            .fix(trailing, ""),
                        );
                    }
                    return FilterList {
                        open,
                        close: Some(close),
                        items,
                    };
                }
                (true, ',' | ';') => {
                    let sp = self.bump();
                    self.report(
                        Diagnostic::new(Code::InvalidFilter, sp, "empty filter in the filter list")
                            .label("nothing before this separator")
                            .help("remove the extra separator")
                            .fix(sp, ""),
                    );
                }
                (false, ',' | ';') => {
                    // A comma followed by an origin means the `)` was forgotten:
                    // the comma belongs to the origin list.
                    let after = self
                        .rest
                        .get(1..)
                        .unwrap_or("")
                        .trim_start_matches(is_blank);
                    if target(after).is_ok_and(|(_, t)| t.contains("://")) {
                        self.unclosed(open, &items);
                        return FilterList {
                            open,
                            close: None,
                            items,
                        };
                    }
                    let sp = self.bump();
                    if c == ';' {
                        self.report(
                            Diagnostic::new(
                                Code::SemicolonSeparator,
                                sp,
                                "filters are separated with `;`",
                            )
                            .label("use a comma")
                            .help("separate filters with `,`")
                            .fix(sp, ","),
                        );
                    }
                    expect_item = true;
                }
                (_, '(') => {
                    // `((…))` or `(a (b))`: parse the nested group as an argument list.
                    let start = self.pos();
                    if let Ok((rest, a)) = args(self.rest) {
                        self.rest = rest;
                        let sp = span_in(self.full, a);
                        self.report(
                            Diagnostic::new(
                                Code::InvalidFilter,
                                Span::new(start, sp.end),
                                "unexpected `(` in the filter list",
                            )
                            .label("filter lists do not nest")
                            .help(
                                "list request names separated by commas: `(agent.*, voice.dial)`",
                            ),
                        );
                    } else {
                        self.bump();
                    }
                }
                (false, _) => {
                    let at = items.last().map_or(self.pos(), |f| f.span.end);
                    let next = filter_name(self.rest)
                        .map_or(Span::point(self.pos()), |(_, t)| span_in(self.full, t));
                    self.report(
                        Diagnostic::new(
                            Code::MissingSeparator,
                            next,
                            "filters are not separated by a comma",
                        )
                        .label("a new filter starts here")
                        .help("separate filters with `,`")
                        .fix(Span::point(at), ","),
                    );
                    expect_item = true;
                }
                (true, _) => {
                    if let Some(f) = self.filter() {
                        items.push(f);
                    }
                    expect_item = false;
                }
            }
        }
    }

    /// `filter := filter-name (blank* args)?`
    fn filter(&mut self) -> Option<WrittenFilter<'a>> {
        let (rest, name) = filter_name(self.rest).ok()?;
        self.rest = rest;
        let start = span_in(self.full, name).start;
        let before = self.rest;
        self.skip_blanks();
        let mut arg = None;
        if self.peek() == Some('(') {
            if let Ok((rest, a)) = args(self.rest) {
                self.rest = rest;
                arg = Some(a);
            }
        } else {
            self.rest = before;
        }
        let end = arg.map_or(start + name.len(), |a| span_in(self.full, a).end);
        if let Some(a) = arg
            && !a.ends_with(')')
        {
            let sp = span_in(self.full, a);
            self.report(
                Diagnostic::new(
                    Code::UnbalancedParentheses,
                    Span::new(sp.start, sp.start + 1),
                    "`(` is not closed",
                )
                .label("opened here")
                .help("close it with `)`"),
            );
        }
        let span = Span::new(start, end);
        Some(WrittenFilter {
            name,
            args: arg,
            span,
            removal: Removal {
                item: span,
                ..Removal::default()
            },
        })
    }

    fn unclosed(&mut self, open: Span, items: &[WrittenFilter<'a>]) {
        let at = items.last().map_or(open.end, |f| f.span.end);
        self.report(
            Diagnostic::new(Code::UnbalancedParentheses, open, "`(` is not closed")
                .label("this filter list has no `)`")
                .help("close the filter list with `)`")
                .fix(Span::point(at), ")")
                // Where the list ends is a guess: the entries after it may
                // be meant as filters, or the reverse.
                .unsafe_fix(),
        );
    }
}

/// Whether a token reads as the start of a new entry (so a comma is missing
/// before it) rather than stray text.
fn looks_like_target(tok: &str) -> bool {
    tok.contains("://") || tok == "*" || tok.starts_with(QUOTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets<'a>(l: &OriginList<'a>) -> Vec<&'a str> {
        l.entries.iter().map(|e| e.target).collect()
    }

    fn filters<'a>(e: &WrittenEntry<'a>) -> Vec<&'a str> {
        e.filters
            .as_ref()
            .map(|f| f.items.iter().map(|i| i.name).collect())
            .unwrap_or_default()
    }

    fn codes(l: &OriginList<'_>) -> Vec<Code> {
        l.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn vendor_example() {
        let v = "http://my-web-server0, http://my-web-server1 (*), http://my-web-server2 (agent.*, voice.dial), http://my-web-server3 (agent.*, interaction.*)";
        let l = origin_list(v);
        assert!(l.diagnostics.is_empty());
        assert_eq!(targets(&l).len(), 4);
        assert_eq!(filters(&l.entries[2]), vec!["agent.*", "voice.dial"]);
        assert_eq!(
            &v[l.entries[2].span.range()],
            "http://my-web-server2 (agent.*, voice.dial)"
        );
        assert_eq!(
            &v[l.entries[0].removal.span().range()],
            "http://my-web-server0, "
        );
        assert_eq!(
            &v[l.entries[3].removal.span().range()],
            ", http://my-web-server3 (agent.*, interaction.*)"
        );
    }

    #[test]
    fn stray_space_before_comma() {
        let l = origin_list("http://my-web-server ,http://b");
        assert!(l.diagnostics.is_empty());
        assert_eq!(targets(&l), vec!["http://my-web-server", "http://b"]);
    }

    #[test]
    fn empty_entries_and_trailing_comma() {
        let v = ",a,,b,";
        let l = origin_list(v);
        assert_eq!(targets(&l), vec!["a", "b"]);
        assert_eq!(codes(&l), vec![Code::EmptyEntry; 3]);
        let trailing = l.diagnostics[2].fix.as_ref().unwrap();
        assert_eq!(&v[trailing.span.range()], ",");
    }

    #[test]
    fn unclosed_paren_before_next_origin() {
        let v = "http://a (agent.get, http://b (voice.dial)";
        let l = origin_list(v);
        assert_eq!(targets(&l), vec!["http://a", "http://b"]);
        assert_eq!(codes(&l), vec![Code::UnbalancedParentheses]);
        let fix = l.diagnostics[0].fix.as_ref().unwrap();
        assert_eq!(fix.span, Span::point(19));
        assert_eq!(filters(&l.entries[1]), vec!["voice.dial"]);
    }

    #[test]
    fn unclosed_at_end_and_stray_close() {
        let l = origin_list("http://a (agent.get");
        assert_eq!(codes(&l), vec![Code::UnbalancedParentheses]);
        let l = origin_list("http://a), http://b");
        assert_eq!(codes(&l), vec![Code::UnbalancedParentheses]);
        assert_eq!(targets(&l), vec!["http://a", "http://b"]);
    }

    #[test]
    fn pasted_signature_is_one_filter() {
        let v = "http://a (interaction.consult(interactionId, targetQuery, userData, extensions, succeeded, failed), voice.dial)";
        let l = origin_list(v);
        assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
        let f = &l.entries[0].filters.as_ref().unwrap().items;
        assert_eq!(f[0].name, "interaction.consult");
        assert!(f[0].args.unwrap().starts_with("(interactionId"));
        assert_eq!(f[1].name, "voice.dial");
    }

    #[test]
    fn semicolons_quotes_and_missing_commas() {
        let l = origin_list("\"http://a, http://b\"");
        assert_eq!(codes(&l), vec![Code::QuotedValue]);
        assert_eq!(targets(&l), vec!["http://a", "http://b"]);
        let l = origin_list("http://a; http://b");
        assert_eq!(codes(&l), vec![Code::SemicolonSeparator]);
        let l = origin_list("http://a http://b");
        assert_eq!(codes(&l), vec![Code::MissingSeparator]);
        assert_eq!(targets(&l), vec!["http://a", "http://b"]);
        let l = origin_list("'http://a', 'http://b'");
        assert_eq!(codes(&l), vec![Code::QuotedValue, Code::QuotedValue]);
        let l = origin_list("http://a agent.get");
        assert_eq!(codes(&l), vec![Code::InvalidEntry]);
    }

    #[test]
    fn filters_with_problems() {
        let l = origin_list(
            "http://a (), http://b (agent.get,, voice.dial,), http://c (agent.get voice.dial)",
        );
        assert_eq!(
            codes(&l),
            vec![
                Code::InvalidFilter,
                Code::InvalidFilter,
                Code::MissingSeparator
            ]
        );
        assert_eq!(filters(&l.entries[2]), vec!["agent.get", "voice.dial"]);
        assert_eq!(l.entries[0].filters.as_ref().unwrap().items.len(), 0);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for v in [
            "(",
            ")",
            "((",
            "*(",
            "a(b(c",
            "é(ü,",
            "\"",
            "''",
            ", ,",
            "a (b) (c)",
            "(x)",
        ] {
            let _ = origin_list(v);
        }
    }
}
