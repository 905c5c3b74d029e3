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

/// One kept run of an original line.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// Offset of the run's text in the excerpt.
    excerpt: usize,
    /// Original byte range kept.
    start: usize,
    end: usize,
    /// Character column (0-based) of `start` in its original line.
    col: usize,
}

/// How one original line appears in the excerpt.
#[derive(Clone, Debug)]
struct LineMap {
    /// Offset of the line's start in the excerpt.
    excerpt_start: usize,
    /// Original byte range of the line.
    orig: Span,
    /// The kept runs, in order (at least one).
    segments: Vec<Segment>,
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
    /// around them, each line at most about `max_chars` characters.
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
        // A final line break does not start a line worth showing.
        let last_line = source.line_of(text.strip_suffix('\n').map_or(text.len(), str::len));
        let last = (last_label_line + context).min(last_line.max(last_label_line));
        let mut out = String::new();
        let mut lines = Vec::new();
        for line in first..=last {
            let ls = source.line_span(line);
            if ls.len() > LONG_LINE {
                let excerpt_start = out.len();
                let segments = long_line(source, ls, spans, max_chars, &mut out);
                out.push('\n');
                lines.push(LineMap {
                    excerpt_start,
                    orig: ls,
                    segments,
                });
                continue;
            }
            let line_text = source.slice(ls);
            let total = line_text.chars().count();
            let excerpt_start = out.len();
            let mut segments = Vec::new();
            let mut prev_end = 0;
            for (start_c, end_c) in windows(line_text, ls, spans, max_chars) {
                if start_c > prev_end {
                    out.push_str(ELLIPSIS);
                }
                let start = ls.start + byte_at(line_text, start_c);
                let end = ls.start + byte_at(line_text, end_c);
                segments.push(Segment {
                    excerpt: out.len(),
                    start,
                    end,
                    col: start_c,
                });
                push_printable(&mut out, text.get(start..end).unwrap_or(""));
                prev_end = end_c;
            }
            if prev_end < total {
                out.push_str(ELLIPSIS);
            }
            out.push('\n');
            lines.push(LineMap {
                excerpt_start,
                orig: ls,
                segments,
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
        let line = self
            .lines
            .iter()
            .rev()
            .find(|l| l.orig.start <= off)
            .or(self.lines.first());
        let Some(l) = line else { return 0 };
        // The run holding `off`, or the first one after it.
        let seg = l
            .segments
            .iter()
            .find(|s| off <= s.end)
            .or(l.segments.last());
        let Some(s) = seg else { return l.excerpt_start };
        s.excerpt + off.clamp(s.start, s.end) - s.start
    }

    /// The 0-based character column in the original line of an excerpt offset.
    fn original_column(&self, off: usize) -> usize {
        let Some(l) = self.lines.iter().rev().find(|l| l.excerpt_start <= off) else {
            return 0;
        };
        let Some(s) = l
            .segments
            .iter()
            .rev()
            .find(|s| s.excerpt <= off)
            .or(l.segments.first())
        else {
            return 0;
        };
        let chars = self
            .text
            .get(s.excerpt..off.max(s.excerpt))
            .map_or(0, |t| t.chars().count());
        s.col + chars
    }
}

/// Lines longer than this many bytes are only looked at near their labels,
/// so an excerpt costs what it shows, not what the line holds.
const LONG_LINE: usize = 4096;

/// Control characters (a NUL, an ANSI escape) would garble or drive the
/// terminal, and bidirectional or invisible ones would hide what the file
/// holds. The stand-in has the same UTF-8 length, so every offset and
/// column stays where it was: `?` for one byte, `¿` for two, `�` for three.
fn push_printable(out: &mut String, kept: &str) {
    out.extend(kept.chars().map(|c| {
        if !crate::syntax::is_invisible(c) || c == '\t' {
            return c;
        }
        match c.len_utf8() {
            1 => '?',
            2 => '¿',
            _ => '\u{fffd}',
        }
    }));
}

/// The runs of a very long line: one around each label (merged when they
/// touch), `…` for what lies between.
fn long_line(
    source: &SourceFile,
    ls: Span,
    spans: &[Span],
    max_chars: usize,
    out: &mut String,
) -> Vec<Segment> {
    let text = source.text();
    let reach = (max_chars / 2).max(8);
    let snap_back = |mut i: usize| {
        while i > ls.start && !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let snap_fwd = |mut i: usize| {
        while i < ls.end && !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    let mut regions: Vec<(usize, usize)> = spans
        .iter()
        .filter(|s| s.start <= ls.end && s.end.max(s.start) >= ls.start)
        .map(|s| {
            let a = s.start.max(ls.start).saturating_sub(reach).max(ls.start);
            let b = (s.end.min(ls.end) + reach).min(ls.end);
            (snap_back(a), snap_fwd(b))
        })
        .collect();
    if regions.is_empty() {
        regions.push((ls.start, snap_back((ls.start + 2 * reach).min(ls.end))));
    }
    regions.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in regions {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let line_chars = source.chars_before(ls.start);
    let mut segments = Vec::new();
    let mut prev = ls.start;
    for (a, b) in merged {
        if a > prev || (a == ls.start && prev != ls.start) {
            out.push_str(ELLIPSIS);
        }
        segments.push(Segment {
            excerpt: out.len(),
            start: a,
            end: b,
            col: source.chars_before(a) - line_chars,
        });
        push_printable(out, text.get(a..b).unwrap_or(""));
        prev = b;
    }
    if prev < ls.end {
        out.push_str(ELLIPSIS);
    }
    segments
}

/// The runs `[start, end)` (in characters) of a line to show: the whole
/// line if it fits; else each label with some context around it, runs
/// closer than a few characters merged; a line without labels shows its
/// beginning.
fn windows(line: &str, line_span: Span, spans: &[Span], max_chars: usize) -> Vec<(usize, usize)> {
    let total = line.chars().count();
    if total <= max_chars {
        return vec![(0, total)];
    }
    let budget = max_chars.saturating_sub(2).max(10);
    let char_of = |off: usize| {
        line.get(..off.saturating_sub(line_span.start).min(line.len()))
            .map_or(0, |s| s.chars().count())
    };
    let mut on_line: Vec<(usize, usize)> = spans
        .iter()
        .filter(|s| s.start <= line_span.end && s.end.max(s.start) >= line_span.start)
        .map(|s| {
            (
                char_of(s.start.max(line_span.start)),
                char_of(s.end.min(line_span.end)).max(char_of(s.start) + 1),
            )
        })
        .collect();
    if on_line.is_empty() {
        return vec![(0, budget.min(total))];
    }
    on_line.sort_unstable();
    let labelled: usize = on_line.iter().map(|(a, b)| b - a).sum();
    // Spread the rest of the budget as context around each label.
    let pad = (budget.saturating_sub(labelled) / (2 * on_line.len())).clamp(6, budget);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (a, b) in on_line {
        let (a, b) = (a.saturating_sub(pad), (b + pad).min(total));
        match runs.last_mut() {
            Some(last) if a <= last.1 + 3 => last.1 = last.1.max(b),
            _ => runs.push((a, b)),
        }
    }
    // Show the start of the line (the option name) when it is close.
    if let Some(first) = runs.first_mut()
        && first.0 <= pad
    {
        first.0 = 0;
    }
    if let Some(last) = runs.last_mut()
        && total - last.1 <= 3
    {
        last.1 = total;
    }
    runs
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
        assert!(line.chars().count() <= 62, "{}", line.chars().count());
        let m = e.map(Span::new(at, at + 6));
        assert_eq!(&e.text[m.offset()..m.offset() + m.len()], "TARGET");
        // Headers report the original position.
        let c = e.read_span(&m, 0, 0).unwrap();
        assert_eq!((c.line(), c.column()), (1, 202));
    }

    #[test]
    fn very_long_lines_cost_what_they_show() {
        let long = format!(
            "k={}A{}B{}",
            "é".repeat(500_000),
            "x".repeat(1_000_000),
            "y".repeat(10)
        );
        let s = SourceFile::new("f", long.clone());
        let a = 2 + 1_000_000;
        let b = a + 1 + 1_000_000;
        let e = Excerpt::new(&s, &[Span::new(a, a + 1), Span::new(b, b + 1)], 0, 60);
        let line = e.text.lines().next().unwrap();
        assert!(line.chars().count() < 200, "{}", line.chars().count());
        let m = e.map(Span::new(b, b + 1));
        assert_eq!(&e.text[m.offset()..m.offset() + m.len()], "B");
        assert_eq!(
            e.read_span(&m, 0, 0).unwrap().column(),
            s.line_col(b).column - 1
        );
    }

    #[test]
    fn far_apart_labels_get_separate_runs() {
        let long = format!("k=A{}B", "x".repeat(300));
        let s = SourceFile::new("f", long.clone());
        let e = Excerpt::new(&s, &[Span::new(2, 3), Span::new(303, 304)], 0, 60);
        let line = e.text.lines().next().unwrap();
        assert!(
            line.contains('A') && line.contains('B') && line.contains('…'),
            "{line}"
        );
        assert!(line.chars().count() < 80, "{line}");
        let b = e.map(Span::new(303, 304));
        assert_eq!(&e.text[b.offset()..b.offset() + b.len()], "B");
        assert_eq!(e.read_span(&b, 0, 0).unwrap().column(), 303);
    }
}
