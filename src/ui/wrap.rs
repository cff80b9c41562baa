//! Word-wrapping styled spans into lines (the lesson panel's text and questions).

use crate::core::fmt::fit;

/// Word-wrap styled spans into lines of at most `width` cells; continuation lines start
/// with `indent` spaces. A word longer than a line is cut with "…".
pub fn wrap_spans(
    spans: Vec<ratatui::text::Span<'static>>,
    width: usize,
    indent: usize,
) -> Vec<ratatui::text::Line<'static>> {
    use ratatui::text::{Line, Span};
    use unicode_width::UnicodeWidthStr;
    let width = width.max(indent + 4);
    let mut lines: Vec<Line> = Vec::new();
    let mut cur: Vec<Span> = Vec::new();
    let mut used = 0usize;
    for s in spans {
        let style = s.style;
        for (i, word) in s.content.split(' ').enumerate() {
            // A space before every word but a span's first (spans carry their own).
            let gap = usize::from(i > 0);
            let w = word.width();
            if used > indent && used + gap + w > width {
                lines.push(Line::from(std::mem::take(&mut cur)));
                cur.push(Span::raw(" ".repeat(indent)));
                used = indent;
            } else if gap == 1 {
                cur.push(Span::styled(" ", style));
                used += 1;
            }
            let word = if w > width - used {
                fit(word, width - used)
            } else {
                word.to_string()
            };
            used += word.width();
            cur.push(Span::styled(word, style));
        }
    }
    if !cur.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styled_spans_wrap_on_words() {
        use ratatui::text::Span;
        let lines = wrap_spans(vec![Span::raw("? "), Span::raw("aaa bbb ccc ddd")], 9, 2);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text, vec!["? aaa bbb", "  ccc ddd"]);
        let long = wrap_spans(vec![Span::raw("abcdefghijkl")], 6, 0);
        assert_eq!(long[0].to_string(), "abcde…");
    }
}
