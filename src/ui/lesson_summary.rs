//! The end-of-lesson screen (`n` after the last step): for each step its question, the
//! room's guess with the spread of hands, the measurement and whether the room was
//! right — one screen, ready for a screenshot, at 80x24 as at 200x60.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::lesson_panel::spread_spans;
use crate::app::App;
use crate::core::fmt::fit;
use crate::experiment::rehearsal::Outcome;
use crate::experiment::room::StepSummary;
use crate::ui::theme::Theme;
use crate::ui::wrap::wrap_spans;

/// The verdict's mark, word and style.
fn verdict(o: Outcome, t: &Theme) -> (&'static str, Style) {
    match o {
        Outcome::Right => ("✓ right", t.ok),
        Outcome::Wrong => ("✗ wrong", t.bad),
        Outcome::Inconclusive => ("? inconclusive", t.warn),
        Outcome::Unjudged => ("· not judged", t.dim),
    }
}

/// One step's lines; `compact` keeps each part to one line (a short screen).
fn step_lines(s: &StepSummary, width: usize, compact: bool, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let (word, style) = verdict(s.verdict, t);
    let mut verdict_spans = vec![Span::styled(word, style.add_modifier(Modifier::BOLD))];
    if let Some(r) = &s.reason {
        verdict_spans.push(Span::styled(format!(": {r}"), t.dim));
    }
    let head = format!("{} {}", s.step, s.title);
    if compact {
        // The verdict beside the title, the reason cut to what fits.
        let v: String = verdict_spans
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        let room = width.saturating_sub(head.chars().count() + 3);
        out.push(Line::from(vec![
            Span::styled(head, t.title),
            Span::styled(" · ", t.dim),
            Span::styled(fit(&v, room), style),
        ]));
    } else {
        out.push(Line::styled(head, t.title));
    }
    let one = |spans: Vec<Span<'static>>, indent: usize| -> Vec<Line<'static>> {
        let mut l = wrap_spans(spans, width, indent);
        if compact && l.len() > 1 {
            // Cut, not wrapped: the last word that fits, then "…".
            l.truncate(1);
            let text: String = l[0].spans.iter().map(|s| s.content.to_string()).collect();
            if text.chars().count() + 2 <= width {
                l[0].spans.push(Span::styled(" …", t.dim));
            }
        }
        l
    };
    if let Some(q) = &s.question {
        out.extend(one(
            vec![
                Span::styled("  ? ", t.accent),
                Span::styled(q.clone(), t.text),
            ],
            4,
        ));
    }
    let mut room = vec![Span::styled("  room ", t.accent)];
    if s.hands.is_empty() {
        match &s.guess {
            Some(g) => room.push(Span::styled(format!("guessed {g}"), t.text)),
            None => room.push(Span::styled("no hands counted", t.dim)),
        }
    } else {
        let right = s
            .answer
            .as_ref()
            .and_then(|a| s.options.iter().position(|o| o == a));
        room.extend(spread_spans(&s.options, &s.hands, right, false, t));
    }
    out.extend(one(room, 7));
    out.extend(one(
        vec![
            Span::styled("  measured ", t.accent),
            Span::styled(
                s.measured.clone().unwrap_or_else(|| "— (not run)".into()),
                if s.measured.is_some() { t.text } else { t.dim },
            ),
        ],
        11,
    ));
    if !compact {
        let mut v = vec![Span::raw("  ")];
        v.extend(verdict_spans);
        out.extend(wrap_spans(v, width, 4));
    }
    out
}

/// The whole summary's lines at `width`, fitted to `rows` (compact when the full form
/// would not fit).
pub fn lines(app: &App, width: usize, rows: usize) -> Vec<Line<'static>> {
    if app.lesson().is_none() {
        return Vec::new();
    }
    let t = &Theme::of(app.theme());
    let all = crate::app::lesson_mode::summaries(app);
    let build = |compact: bool| -> Vec<Line<'static>> {
        let mut out = Vec::new();
        for (i, s) in all.iter().enumerate() {
            if i > 0 && !compact {
                out.push(Line::raw(""));
            }
            out.extend(step_lines(s, width, compact, t));
        }
        out
    };
    let full = build(false);
    let mut out = if full.len() + 2 <= rows {
        full
    } else {
        build(true)
    };
    let count = |o: Outcome| all.iter().filter(|s| s.verdict == o).count();
    out.push(Line::raw(""));
    out.push(Line::from(vec![
        Span::styled("the room: ", t.accent),
        Span::styled(
            format!(
                "{} right · {} wrong · {} inconclusive · {} not judged, of {} steps",
                count(Outcome::Right),
                count(Outcome::Wrong),
                count(Outcome::Inconclusive),
                count(Outcome::Unjudged),
                all.len()
            ),
            t.text,
        ),
    ]));
    out
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(l) = app.lesson() else { return };
    let t = &Theme::of(app.theme());
    let title = format!(" the end · {} ", l.lesson.title);
    let keys = Line::from(vec![
        Span::styled(" s", t.key),
        Span::styled(" save  ", t.dim),
        Span::styled("p", t.key),
        Span::styled(" back  ", t.dim),
        Span::styled("q", t.key),
        Span::styled(" quit ", t.dim),
    ]);
    let b = block(
        Line::styled(
            fit(&title, (area.width as usize).saturating_sub(4)),
            t.title,
        ),
        t,
        true,
    )
    .title_bottom(keys.right_aligned());
    let inner = b.inner(area);
    b.render(area, buf);
    let inner = Rect::new(
        inner.x + 1,
        inner.y,
        inner.width.saturating_sub(2),
        inner.height,
    );
    let mut body = lines(app, inner.width as usize, inner.height as usize);
    if let Some(n) = app.notice().or(app.info()) {
        body.push(Line::styled(n.to_string(), t.warn));
    }
    if body.len() > inner.height as usize && inner.height > 0 {
        body.truncate(inner.height as usize - 1);
        body.push(Line::styled("… (enlarge the terminal for the rest)", t.dim));
    }
    Paragraph::new(body).render(inner, buf);
}
