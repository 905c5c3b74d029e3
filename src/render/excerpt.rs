//! Source excerpts for rendering: the lines a diagnostic's labels touch,
//! with long lines clipped to a window around the labels (`…` marks what is
//! cut), the way rustc shows long lines.
//!
//! Option values are often single lines of hundreds of characters; printing
//! them whole would push every underline off the screen. An [`Excerpt`] is a
//! small text of its own that miette renders, while it reports the original
//! line numbers and character columns so headers point at the real file.

use crate::source::{SourceFile, Span};
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

const ELLIPSIS: &str = "…";

/// How one original line appears in the excerpt.
#[derive(Clone, Copy, Debug)]
struct LineMap {
    /// Offset of the line's start in the excerpt.
    excerpt_start: usize,
    /// Bytes of the `…` prefix (0 when nothing is cut on the left).
    prefix: usize,
    /// Original byte offset of the first kept character.
    kept_start: usize,
    /// Original byte offset just past the last kept character.
    kept_end: usize,
    /// Character column (0-based) of the first kept character.
    kept_col: usize,
}

/// A clipped copy of some lines of a source.
#[derive(Clone, Debug)]
pub(crate) struct Excerpt {
    name: String,
    text: String,
    /// 0-based original line number of the first excerpt line.
    first_line: usize,
    lines: Vec<LineMap>,
}

impl Excerpt {
    /// The excerpt covering `spans` (original offsets) with `context` lines
    /// around them, each line at most `max_chars` characters.
    pub(crate) fn new(
        source: &SourceFile,
        spans: &[Span],
        context: usize,
        max_chars: usize,
    ) -> Excerpt {
        let text = source.text();
        let lo = spans
            .iter()
            .map(|s| s.start)
            .min()
            .unwrap_or(0)
            .min(text.len());
        let hi = spans
            .iter()
            .map(|s| s.end.max(s.start))
            .max()
            .unwrap_or(0)
            .min(text.len());
        let first = source.line_of(lo).saturating_sub(context).max(1);
        let last_label_line = source.line_of(hi.saturating_sub(1).max(lo));
        let last = (last_label_line + context).min(source.line_of(text.len()));
        let mut out = String::new();
        let mut lines = Vec::new();
        for line in first..=last {
            let ls = source.line_span(line);
            let line_text = source.slice(ls);
            let (start_c, end_c) = window(line_text, ls, spans, max_chars);
            let kept_start = ls.start + byte_at(line_text, start_c);
            let kept_end = ls.start + byte_at(line_text, end_c);
            let excerpt_start = out.len();
            let mut prefix = 0;
            if start_c > 0 {
                out.push_str(ELLIPSIS);
                prefix = ELLIPSIS.len();
            }
            out.push_str(text.get(kept_start..kept_end).unwrap_or(""));
            if end_c < line_text.chars().count() {
                out.push_str(ELLIPSIS);
            }
            out.push('\n');
            lines.push(LineMap {
                excerpt_start,
                prefix,
                kept_start,
                kept_end,
                kept_col: start_c,
            });
        }
        Excerpt {
            name: source.name().to_string(),
            text: out,
            first_line: first - 1,
            lines,
        }
    }

    /// Maps an original span into the excerpt.
    pub(crate) fn map(&self, span: Span) -> SourceSpan {
        let start = self.map_offset(span.start);
        let end = self.map_offset(span.end).max(start);
        SourceSpan::from((start, end - start))
    }

    fn map_offset(&self, off: usize) -> usize {
        // The last line whose kept text starts at or before `off`.
        let Some(l) = self
            .lines
            .iter()
            .rev()
            .find(|l| l.kept_start <= off)
            .or(self.lines.first())
        else {
            return 0;
        };
        let inside = off.clamp(l.kept_start, l.kept_end) - l.kept_start;
        l.excerpt_start + l.prefix + inside
    }
}

/// The window `[start, end)` (in characters) of a line to show: whole if it
/// fits, else around the labels on it, else its beginning.
fn window(line: &str, line_span: Span, spans: &[Span], max_chars: usize) -> (usize, usize) {
    let total = line.chars().count();
    if total <= max_chars {
        return (0, total);
    }
    let budget = max_chars.saturating_sub(2).max(10);
    let char_of = |off: usize| {
        line.get(..off.saturating_sub(line_span.start).min(line.len()))
            .map_or(0, |s| s.chars().count())
    };
    let on_line: Vec<(usize, usize)> = spans
        .iter()
        .filter(|s| s.start <= line_span.end && s.end.max(s.start) >= line_span.start)
        .map(|s| {
            (
                char_of(s.start.max(line_span.start)),
                char_of(s.end.min(line_span.end)),
            )
        })
        .collect();
    if on_line.is_empty() {
        return (0, budget.min(total));
    }
    let lo = on_line.iter().map(|s| s.0).min().unwrap_or(0);
    let hi = on_line.iter().map(|s| s.1).max().unwrap_or(0).max(lo + 1);
    if hi <= budget {
        return (0, budget.min(total));
    }
    let room = budget.saturating_sub(hi - lo);
    // Keep a little more context on the left, where the entry begins.
    let start = lo.saturating_sub(room * 2 / 3);
    let end = (start + budget).max(hi + 1).min(total);
    let start = if end == total {
        total.saturating_sub(budget).min(start)
    } else {
        start
    };
    (start, end)
}

fn byte_at(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(i, _)| i)
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let c = self
            .text
            .as_str()
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 {
            self.original_column(span.offset())
        } else {
            0
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            *c.span(),
            c.line() + self.first_line,
            column,
            c.line_count(),
        )))
    }
}

impl Excerpt {
    /// The 0-based character column in the original line of an excerpt offset.
    fn original_column(&self, off: usize) -> usize {
        let Some(l) = self.lines.iter().rev().find(|l| l.excerpt_start <= off) else {
            return 0;
        };
        let from = l.excerpt_start + l.prefix;
        let chars = self
            .text
            .get(from..off.max(from))
            .map_or(0, |s| s.chars().count());
        l.kept_col + chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_whole() {
        let s = SourceFile::new("f", "a=1\nb=2\nc=3\n");
        let e = Excerpt::new(&s, &[Span::new(6, 7)], 1, 80);
        assert_eq!(e.text, "a=1\nb=2\nc=3\n");
        assert_eq!(e.first_line, 0);
        assert_eq!(e.map(Span::new(6, 7)), SourceSpan::from((6, 1)));
    }

    #[test]
    fn long_lines_are_windowed_around_labels() {
        let long = format!("k={}TARGET{}", "x".repeat(200), "y".repeat(200));
        let s = SourceFile::new("f", format!("[s]\n{long}\nz=1\n"));
        let at = 4 + 2 + 200;
        let e = Excerpt::new(&s, &[Span::new(at, at + 6)], 1, 60);
        let line = e.text.lines().nth(1).unwrap();
        assert!(line.starts_with('…') && line.ends_with('…'), "{line}");
        assert!(line.chars().count() <= 60, "{}", line.chars().count());
        let m = e.map(Span::new(at, at + 6));
        assert_eq!(&e.text[m.offset()..m.offset() + m.len()], "TARGET");
        // Headers report the original position.
        let c = e.read_span(&m, 0, 0).unwrap();
        assert_eq!((c.line(), c.column()), (1, 202));
    }
}
