//! Source text, byte spans and line/column positions.
//!
//! A [`Span`] is a half-open byte range into one [`SourceFile`]'s text. Every
//! later phase (readers, syntax, lowering, diagnostics) speaks in spans of the
//! original file, so a diagnostic can always point at the exact bytes the user
//! wrote. This module also owns [`ValueMap`], which maps byte ranges of a
//! *decoded* option value (a JSON string after unescaping, say) back to the
//! bytes of the file.
//!
//! It deliberately knows nothing of options or policies.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A half-open byte range `start..end` into a source text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`; a reversed pair is normalized.
    pub fn new(start: usize, end: usize) -> Span {
        if start <= end {
            Span { start, end }
        } else {
            Span {
                start: end,
                end: start,
            }
        }
    }

    /// An empty span at `at`.
    pub fn point(at: usize) -> Span {
        Span { start: at, end: at }
    }

    /// Number of bytes covered.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// This span moved right by `by` bytes.
    pub fn shift(self, by: usize) -> Span {
        Span {
            start: self.start.saturating_add(by),
            end: self.end.saturating_add(by),
        }
    }

    /// The span as a `Range`.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

/// The byte offset of `part` inside `whole`, when `part` is a sub-slice of it.
///
/// Parsers built on `&str` hand back sub-slices of their input; this turns such
/// a slice back into a position without trusting it blindly.
pub(crate) fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let base = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    let off = at.checked_sub(base)?;
    (off.checked_add(part.len())? <= whole.len()).then_some(off)
}

/// The span of `part` inside `whole` (empty span at 0 if it is not a sub-slice,
/// which would be a bug in the caller, never a panic).
pub(crate) fn span_in(whole: &str, part: &str) -> Span {
    match offset_in(whole, part) {
        Some(off) => Span::new(off, off + part.len()),
        None => Span::point(0),
    }
}

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// One input file: its name as given, its text (UTF-8, without a BOM) and a
/// line index. Cloning is cheap: clones share the text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    text: String,
    /// Bytes stripped from the front of the file (3 for a UTF-8 BOM), added
    /// back when offsets are reported to the user.
    base: usize,
    line_starts: Vec<usize>,
    /// How many characters start before each multiple of [`STRIDE`] bytes,
    /// so a column is found without walking a long line from its start.
    char_marks: Vec<usize>,
    /// Where each option is written, by position; set once the export is
    /// read.
    outline: std::sync::OnceLock<Vec<OptionPlace>>,
}

/// Where one option of the export is written: its name, its key and the
/// bytes from its key to the end of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionPlace {
    /// `section/key`, e.g. `interaction-workspace/service-client-api.rate-limit`.
    pub name: String,
    /// Where the key is written.
    pub key: Span,
    /// From the key to the end of the value.
    pub span: Span,
}

/// Bytes between two entries of [`SourceFile`]'s character index.
const STRIDE: usize = 1024;

/// Whether a byte starts a UTF-8 character (is not a continuation byte).
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

impl SourceFile {
    /// A source from its name and its text; a leading UTF-8 BOM is removed and
    /// remembered so reported offsets still count the file's bytes.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let mut text = text.into();
        let mut base = 0;
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
            base = '\u{feff}'.len_utf8();
        }
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut char_marks = Vec::with_capacity(text.len() / STRIDE + 1);
        let mut count = 0;
        for chunk in text.as_bytes().chunks(STRIDE) {
            char_marks.push(count);
            count += chunk.iter().filter(|&&b| starts_char(b)).count();
        }
        char_marks.push(count);
        SourceFile {
            inner: Arc::new(Inner {
                name: name.into(),
                text,
                base,
                line_starts,
                char_marks,
                outline: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Records where the options are written (the reader does, once).
    pub fn set_outline(&self, mut places: Vec<OptionPlace>) {
        places.sort_by_key(|p| (p.span.start, p.span.end));
        let _ = self.inner.outline.set(places);
    }

    /// The option written at `offset`, if any: the innermost whose key or
    /// value holds it, or that it ends (an empty item after a value's last
    /// comma is that value's).
    pub fn option_at(&self, offset: usize) -> Option<&OptionPlace> {
        let places = self.inner.outline.get()?;
        let after = places.partition_point(|p| p.span.start <= offset);
        places
            .get(..after)?
            .iter()
            .rev()
            .find(|p| offset <= p.span.end)
    }

    /// The name the file was given as (a path or `<stdin>`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The text, without a BOM.
    pub fn text(&self) -> &str {
        &self.inner.text
    }

    /// Bytes before the text in the file (the BOM), for reporting offsets.
    pub fn base(&self) -> usize {
        self.inner.base
    }

    /// The text covered by `span` (empty if the span is out of bounds or not
    /// on character boundaries).
    pub fn slice(&self, span: Span) -> &str {
        self.inner.text.get(span.range()).unwrap_or("")
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.inner.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// How many characters start before byte `offset` (an offset inside a
    /// character counts that character).
    pub fn chars_before(&self, offset: usize) -> usize {
        let offset = offset.min(self.inner.text.len());
        let k = offset / STRIDE;
        let base = self.inner.char_marks.get(k).copied().unwrap_or(0);
        let from = k * STRIDE;
        base + self
            .inner
            .text
            .as_bytes()
            .get(from..offset)
            .map_or(0, |b| b.iter().filter(|&&b| starts_char(b)).count())
    }

    /// The 1-based line and character column of a byte offset. An offset
    /// inside a character counts as that character.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.inner.text.len());
        let line = self.line_of(offset);
        let start = self.line_start(line);
        LineCol {
            line,
            column: self.chars_before(offset) - self.chars_before(start) + 1,
        }
    }

    /// The byte offset where a 1-based line starts (0 when out of range).
    fn line_start(&self, line: usize) -> usize {
        self.inner
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
    }

    /// The byte range of a 1-based line including its line break, so that
    /// removing it removes the line.
    pub fn line_with_break(&self, line: usize) -> Span {
        let start = self.line_start(line);
        let next = self.inner.line_starts.get(line).copied();
        Span::new(start, next.unwrap_or(self.inner.text.len()).max(start))
    }

    /// The line break the file uses (its first one): `\r\n` or `\n`. What
    /// a fix adds as a new line is written with it.
    pub fn line_break(&self) -> &'static str {
        match self.inner.text.find('\n') {
            Some(i) if i > 0 && self.inner.text.as_bytes().get(i - 1) == Some(&b'\r') => "\r\n",
            _ => "\n",
        }
    }

    /// The byte range of a 1-based line, without its line break (`\n` or
    /// `\r\n`).
    pub fn line_span(&self, line: usize) -> Span {
        let mut span = self.line_with_break(line);
        for end in ["\n", "\r"] {
            if self.slice(span).ends_with(end) {
                span.end -= end.len();
            }
        }
        span
    }
}

/// The text of an option value: a slice of its source file when written
/// verbatim (every cfg value, JSON and YAML strings without escapes), or
/// decoded text of its own. A slice shares the file's text, so a
/// many-megabyte origin list is never copied.
#[derive(Clone)]
pub struct Text(TextRepr);

#[derive(Clone)]
enum TextRepr {
    Slice(SourceFile, Span),
    Owned(Box<str>),
}

impl Text {
    /// The bytes of `span` in `source` (empty if the span is not valid there).
    pub fn slice(source: &SourceFile, span: Span) -> Text {
        let span = if source.text().get(span.range()).is_some() {
            span
        } else {
            Span::point(0)
        };
        Text(TextRepr::Slice(source.clone(), span))
    }

    /// Text of its own.
    pub fn owned(text: impl Into<Box<str>>) -> Text {
        Text(TextRepr::Owned(text.into()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            TextRepr::Slice(source, span) => source.slice(*span),
            TextRepr::Owned(s) => s,
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the bytes of a decoded option value map back to the file.
///
/// cfg values are written verbatim, JSON strings may contain escapes, and some
/// YAML scalars (block or multi-line) cannot be mapped character by character;
/// for those every range maps to the whole value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueMap {
    /// Value byte `i` is file byte `base + i`.
    Direct {
        /// File offset of the value's first byte.
        base: usize,
    },
    /// Like `Direct`, but with escape sequences in between: each escape maps a
    /// few decoded bytes to a few file bytes.
    Escaped {
        /// File offset of the value's first byte.
        base: usize,
        /// The escapes, in order.
        escapes: Vec<Escape>,
    },
    /// No character-level mapping: every range maps to this span.
    Whole(Span),
}

/// One escape sequence inside an escaped value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Escape {
    /// Offset of the decoded character(s) in the value.
    pub decoded: usize,
    /// Byte length of the decoded character(s).
    pub decoded_len: usize,
    /// Offset of the escape sequence in the file.
    pub raw: usize,
    /// Byte length of the escape sequence in the file.
    pub raw_len: usize,
}

impl ValueMap {
    /// Maps a span of the decoded value to a span of the file.
    pub fn map(&self, span: Span) -> Span {
        match self {
            ValueMap::Direct { base } => span.shift(*base),
            ValueMap::Whole(whole) => *whole,
            ValueMap::Escaped { base, escapes } => {
                let start = map_offset(*base, escapes, span.start, false);
                let end = if span.is_empty() {
                    start
                } else {
                    map_offset(*base, escapes, span.end, true)
                };
                Span::new(start, end)
            }
        }
    }

    /// Whether `span` of the value maps to file bytes that spell exactly the
    /// same text (no escapes inside, no whole-value fallback), so a fix can
    /// replace those bytes verbatim.
    pub fn is_verbatim(&self, span: Span) -> bool {
        match self {
            ValueMap::Direct { .. } => true,
            ValueMap::Whole(_) => false,
            ValueMap::Escaped { escapes, .. } => escapes
                .iter()
                .all(|e| e.decoded + e.decoded_len <= span.start || e.decoded >= span.end),
        }
    }
}

fn map_offset(base: usize, escapes: &[Escape], at: usize, is_end: bool) -> usize {
    // File offset = base + at + the growth (raw_len - decoded_len) of every
    // escape wholly before `at`; an offset inside an escape snaps to its edge.
    let mut grown: usize = 0;
    let mut shrunk: usize = 0;
    for e in escapes {
        if e.decoded + e.decoded_len <= at {
            grown += e.raw_len;
            shrunk += e.decoded_len;
        } else if e.decoded < at {
            return if is_end { e.raw + e.raw_len } else { e.raw };
        } else {
            break;
        }
    }
    (base + at + grown).saturating_sub(shrunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_stripped_and_remembered() {
        let s = SourceFile::new("f", "\u{feff}a=b\n");
        assert_eq!(s.text(), "a=b\n");
        assert_eq!(s.base(), 3);
        assert_eq!(s.line_col(0), LineCol { line: 1, column: 1 });
    }

    #[test]
    fn columns_count_characters() {
        let s = SourceFile::new("f", "x\r\nä=b ü\n");
        // "ä=b ü": ä is 2 bytes; `ü` starts at byte 3 + 5.
        assert_eq!(s.line_col(3), LineCol { line: 2, column: 1 });
        assert_eq!(s.line_col(8), LineCol { line: 2, column: 5 });
        assert_eq!(s.line_span(1), Span::new(0, 1));
        assert_eq!(s.line_span(2), Span::new(3, 10));
        assert_eq!(s.line_span(3), Span::new(11, 11));
        let last = SourceFile::new("f", "a\nbc\r");
        assert_eq!(last.line_span(2), Span::new(2, 4));
    }

    #[test]
    fn columns_on_long_lines_match_a_walk() {
        let line = "aé😀b".repeat(2000);
        let s = SourceFile::new("f", format!("x\n{line}\n"));
        for off in [2, 3, 4, 5, 1000, 1025, 3000, 8001, 16001, 16002] {
            let walked = s.text()[2..]
                .char_indices()
                .take_while(|(i, _)| 2 + i < off)
                .count()
                + 1;
            assert_eq!(s.line_col(off).column, walked, "offset {off}");
        }
    }

    #[test]
    fn escaped_map_through_unicode_escape() {
        // raw: `a\u00e9b` at file offset 10; decoded "aéb" (é is 2 bytes)
        let m = ValueMap::Escaped {
            base: 10,
            escapes: vec![Escape {
                decoded: 1,
                decoded_len: 2,
                raw: 11,
                raw_len: 6,
            }],
        };
        assert_eq!(m.map(Span::new(0, 1)), Span::new(10, 11));
        assert_eq!(m.map(Span::new(1, 3)), Span::new(11, 17));
        assert_eq!(m.map(Span::new(3, 4)), Span::new(17, 18));
        assert!(m.is_verbatim(Span::new(3, 4)));
        assert!(!m.is_verbatim(Span::new(0, 2)));
    }

    #[test]
    fn offset_in_rejects_foreign_slices() {
        let a = String::from("hello");
        let b = String::from("hello");
        assert_eq!(offset_in(&a, &a[1..3]), Some(1));
        assert_eq!(offset_in(&a, &b[1..3]), None);
    }
}
