//! Positions as LSP counts them (lines, and UTF-16 code units within a
//! line) to and from byte offsets of a document's text — in time that does
//! not grow with the length of a line: an export's origin list is often one
//! line of megabytes.

use lsp_types::{Position, Range};

/// Bytes between two marks of the UTF-16 index.
const STRIDE: usize = 1024;

/// UTF-16 code units of UTF-8 bytes, counted byte by byte: each byte that
/// starts a character is one unit, a four-byte character's first byte two.
fn units(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .map(|&b| u32::from(b & 0xC0 != 0x80) + u32::from(b >= 0xF0))
        .sum()
}

/// The line starts of a document's text, and its UTF-16 units before every
/// [`STRIDE`] bytes.
#[derive(Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    marks: Vec<u32>,
}

impl LineIndex {
    /// The index of `text`. Lines end at `\n` (a `\r` before it belongs to
    /// the line, as LSP counts `\r\n` as one line end).
    pub fn new(text: &str) -> LineIndex {
        let mut marks = Vec::with_capacity(text.len() / STRIDE + 2);
        let mut count = 0u32;
        for chunk in text.as_bytes().chunks(STRIDE) {
            marks.push(count);
            count = count.saturating_add(units(chunk));
        }
        marks.push(count);
        LineIndex {
            starts: std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
                .collect(),
            marks,
        }
    }

    /// UTF-16 units before byte `offset` (a character boundary).
    fn units_before(&self, text: &str, offset: usize) -> u32 {
        let k = offset / STRIDE;
        let mark = self.marks.get(k).copied().unwrap_or(0);
        mark + text.as_bytes().get(k * STRIDE..offset).map_or(0, units)
    }

    /// The position of a byte offset (clamped to the text; inside a
    /// character, that character's start).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col = self.units_before(text, offset) - self.units_before(text, start);
        Position::new(u32::try_from(line).unwrap_or(u32::MAX), col)
    }

    /// The range of a byte span.
    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }

    /// The byte offset of a position (past the end of a line: the line's
    /// end; past the last line: the end of the text).
    pub fn offset(&self, text: &str, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else {
            return text.len();
        };
        let end = self
            .starts
            .get(p.line as usize + 1)
            .map_or(text.len(), |next| next - 1);
        let target = self.units_before(text, start).saturating_add(p.character);
        // The last mark at or before the target, within the line, then a
        // walk of at most one stride.
        let first = start / STRIDE;
        let last = end / STRIDE;
        let k = first
            + self
                .marks
                .get(first + 1..=last)
                .map_or(0, |m| m.partition_point(|&u| u <= target));
        let mut at = (k * STRIDE).max(start);
        while !text.is_char_boundary(at) {
            at += 1;
        }
        let mut units_here = self.units_before(text, at);
        for (i, c) in text.get(at..end).unwrap_or("").char_indices() {
            if units_here >= target {
                return at + i;
            }
            units_here += c.len_utf16() as u32;
        }
        end
    }
}

/// The character index in `rope` of an LSP position (UTF-16 columns; past
/// the end of a line: the line's end, before its break; past the last line:
/// the end of the text), as [`LineIndex::offset`] finds a byte offset.
pub fn rope_offset(rope: &ropey::Rope, p: Position) -> usize {
    let line = p.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let start = rope.line_to_char(line);
    let mut end = rope.get_line(line).map_or(start, |l| start + l.len_chars());
    // The line break is not part of the line's columns.
    for brk in ['\n', '\r'] {
        if end > start && rope.get_char(end - 1) == Some(brk) {
            end -= 1;
        }
    }
    let base = rope.char_to_utf16_cu(start);
    let last = rope.char_to_utf16_cu(end);
    let target = base.saturating_add(p.character as usize).min(last);
    // Inside a surrogate pair: the character after it, as the index finds.
    let c = rope.utf16_cu_to_char(target);
    if rope.char_to_utf16_cu(c) < target {
        c + 1
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edits through the rope give what edits of the string give, and the
    /// rope finds every position where the line index does.
    #[test]
    fn rope_edits_agree_with_string_edits() {
        let mut text: String = (0..3000)
            .map(|i| match i % 97 {
                3 => "\n",
                n if n % 11 == 0 => "é",
                n if n % 13 == 1 => "𝄞",
                _ => "ab",
            })
            .collect();
        let mut rope = ropey::Rope::from_str(&text);
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n.max(1)
        };
        for i in 0..2000 {
            let ix = LineIndex::new(&text);
            let lines = text.matches('\n').count() as u64 + 2;
            let a = Position::new(next(lines) as u32, next(60) as u32);
            let b = Position::new(a.line + next(2) as u32, next(60) as u32);
            let (s, e) = (ix.offset(&text, a), ix.offset(&text, b));
            let e = e.max(s);
            let (rs, re) = (rope_offset(&rope, a), rope_offset(&rope, b));
            let re = re.max(rs);
            assert_eq!(rope.char_to_byte(rs), s, "edit {i} at {a:?}");
            assert_eq!(rope.char_to_byte(re), e, "edit {i} at {b:?}");
            let insert = ["", "x", "\né", "𝄞\n\n"]
                .get(next(4) as usize)
                .copied()
                .unwrap_or_default();
            text.replace_range(s..e, insert);
            rope.remove(rs..re);
            rope.insert(rs, insert);
        }
        assert_eq!(rope.to_string(), text);
    }

    #[test]
    fn utf16_columns_round_trip() {
        let text = "a=é𝄞x\r\nb\n";
        let ix = LineIndex::new(text);
        // `x` is after a 2-byte and a 4-byte character: 1 + 2 UTF-16 units.
        let x = text.find('x').unwrap_or_default();
        assert_eq!(ix.position(text, x), Position::new(0, 5));
        assert_eq!(ix.offset(text, Position::new(0, 5)), x);
        let b = text.find('b').unwrap_or_default();
        assert_eq!(ix.position(text, b), Position::new(1, 0));
        assert_eq!(ix.offset(text, Position::new(1, 0)), b);
        assert_eq!(
            ix.offset(text, Position::new(0, 99)),
            text.find('\n').unwrap_or_default()
        );
        assert_eq!(ix.offset(text, Position::new(9, 0)), text.len());
    }

    #[test]
    fn long_lines_agree_with_a_walk() {
        let text: String = (0..5000)
            .map(|i| match i % 1499 {
                3 => "\n",
                n if n % 7 == 0 => "é",
                n if n % 7 == 1 => "𝄞",
                _ => "ab",
            })
            .collect();
        let ix = LineIndex::new(&text);
        let mut line = 0u32;
        let mut col = 0u32;
        for (i, c) in text.char_indices() {
            assert_eq!(ix.position(&text, i), Position::new(line, col), "at {i}");
            assert_eq!(
                ix.offset(&text, Position::new(line, col)),
                i,
                "at {line}:{col}"
            );
            if c == '\n' {
                line += 1;
                col = 0;
            } else {
                col += c.len_utf16() as u32;
            }
        }
    }
}
