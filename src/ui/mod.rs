//! Drawing only: [`draw`] renders an [`App`] into a frame, one file per panel. Pure:
//! no clock, no I/O, no state of its own.

pub mod cpu;
pub mod gil_shares;
pub mod header;
pub mod help;
pub mod kernel;
pub mod kernel_lanes;
pub mod layout;
pub mod lesson_panel;
pub mod lesson_summary;
pub mod models;
pub mod present;
pub mod progress;
pub mod stepper;
pub mod theme;
pub mod timeline;
pub mod timelines;
pub mod wrap;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph, Widget};

use crate::app::{App, explain};
use theme::Theme;

/// Draw the whole dashboard.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Render the whole dashboard into `buf` (what [`draw`] does, usable without a terminal).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    // The theme's own background under everything (nothing under NO_COLOR).
    buf.set_style(area, Theme::of(app.theme()).base);
    if layout::too_small(area) {
        render_too_small(app, area, buf);
        return;
    }
    // The screens that take the whole terminal: the class as the scheduler, and the
    // end of a lesson.
    if app.stepper().is_some() || app.lesson().is_some_and(|l| l.summary) {
        if app.stepper().is_some() {
            stepper::render(app, area, buf);
        } else {
            lesson_summary::render(app, area, buf);
        }
        if app.help() {
            help::render(app, area, buf);
        }
        return;
    }
    if app.present() {
        present::render(app, area, buf);
        if app.help() {
            help::render(app, area, buf);
        }
        return;
    }
    let a = screen_areas(app, area);
    header::render(app, a.header, buf);
    if a.cpu.height > 0 {
        cpu::render(app, a.cpu, buf);
        progress::render(app, a.progress, buf);
    } else {
        // No room for the CPU panel (lesson mode on a small screen): one line of it in
        // place of the workload's description, which the lesson's text replaces.
        let row = Rect::new(a.header.x, a.header.y + 1, a.header.width, 1);
        for x in row.x..row.x + row.width {
            buf[(x, row.y)].reset();
        }
        buf.set_style(row, Theme::of(app.theme()).base);
        Paragraph::new(cpu::strip(app, row.width as usize)).render(row, buf);
    }
    for i in 0..a.models.len() {
        models::render(app, i, a.models[i], buf);
    }
    if a.lesson.height > 0 {
        lesson_panel::render(app, a.lesson, buf);
    }
    // CPython's own GIL per worker (its sampler, `G`) under the lanes.
    let (lanes, explain, gil) = gil_shares::place(app, a.timeline, a.explain);
    if app.kernel().on {
        kernel::render(app, lanes, buf);
    } else if layout::is_large(area) {
        timelines::render(app, lanes, buf);
    } else {
        timeline::render(app, lanes, buf);
    }
    gil_shares::render(app, gil, buf);
    render_explain(app, explain, buf);
    render_keys(app, a.keys, buf);
    if app.help() {
        help::render(app, area, buf);
    }
}

/// Where each panel goes on a screen of `area` (lesson mode gives the lesson's words room).
/// Redraw at most this often: 10 fps, the rate live numbers change at (ticks are 100 ms).
/// Drawing a 200x60 screen cost ~4% of a core at 30 fps and ~3% at 20 fps during a run:
/// the dashboard must not disturb what it measures.
pub const FRAME: std::time::Duration = std::time::Duration::from_millis(100);

/// Where a mouse event landed, as the message `App::update` takes: a left click becomes
/// [`Msg::Click`] with the model panel under it (none in presenter mode or on a screen too
/// small to draw); anything else is no message.
pub fn hit_test(app: &App, m: crossterm::event::MouseEvent) -> Option<crate::app::Msg> {
    use crossterm::event::{MouseButton, MouseEventKind};
    if m.kind != MouseEventKind::Down(MouseButton::Left) {
        return None;
    }
    let area = Rect::new(0, 0, app.size().0, app.size().1);
    let whole = app.stepper().is_some() || app.lesson().is_some_and(|l| l.summary);
    if app.help() || layout::too_small(area) || app.present() || whole {
        return Some(crate::app::Msg::Click(None));
    }
    let a = screen_areas(app, area);
    Some(crate::app::Msg::Click(layout::model_panel_at(
        &a, m.column, m.row,
    )))
}

pub fn screen_areas(app: &App, area: Rect) -> layout::Areas {
    let (cores, workers) = (app.cpu().cores(), app.shown_workers());
    if app.lesson().is_some() {
        let rows = lesson_panel::rows_wanted(app, area.width);
        layout::lesson_areas(area, cores, workers, rows)
    } else {
        layout::areas(area, cores, workers)
    }
}

/// A panel's frame: rounded, titled, highlighted when selected.
pub fn block<'a>(title: impl Into<Line<'a>>, t: &Theme, selected: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(if selected {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if selected {
            t.border_selected
        } else {
            t.border
        })
        .title(title)
}

fn render_too_small(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let msg = format!(
        "too small (need {}×{}, have {}×{})",
        layout::MIN_WIDTH,
        layout::MIN_HEIGHT,
        area.width,
        area.height
    );
    let lines = vec![
        Line::styled(msg, t.warn),
        Line::styled("enlarge the terminal · q quits", t.dim),
    ];
    let y = area.y + area.height.saturating_sub(2) / 2;
    let r = Rect::new(area.x, y, area.width, area.height.min(2));
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(ratatui::widgets::Wrap { trim: true })
        .render(r, buf);
}

/// Word-wrap `text` into at most `rows` lines of `width` characters (the last one cut
/// with "…" if needed).
fn wrap(text: &str, width: usize, rows: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split(' ') {
        let cur = lines.len() - 1;
        let len = lines[cur].chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if len > 0 {
                lines[cur].push(' ');
            }
            lines[cur].push_str(word);
        }
    }
    if lines.len() > rows {
        let rest = lines.split_off(rows.max(1) - 1).join(" ");
        lines.push(crate::core::fmt::fit(&rest, width));
    }
    lines
        .into_iter()
        .map(|l| crate::core::fmt::fit(&l, width))
        .collect()
}

fn render_explain(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let width = (area.width as usize).saturating_sub(3);
    let rows = area.height.max(1) as usize;
    let (mark, text, style) = if let Some(n) = app.notice() {
        (Span::styled(" ! ", t.warn), n.to_string(), t.warn)
    } else if let Some(n) = app.info() {
        (Span::styled(" ✓ ", t.ok), n.to_string(), t.text)
    } else if let Some(c) = app.classified().filter(|_| !app.is_running()) {
        (Span::styled(" ◆ ", t.accent), c.to_string(), t.title)
    } else if let Some(e) = explain(app) {
        (Span::styled(" ▸ ", t.accent), e, t.title)
    } else if app.is_running() {
        (
            Span::styled(" ▸ ", t.accent),
            "measuring… the explanation follows the numbers".to_string(),
            t.dim,
        )
    } else {
        let line = if app.lesson().is_some() {
            Line::from(vec![
                Span::styled(" ▸ ", t.accent),
                Span::styled("guess, then press ", t.dim),
                Span::styled("⏎", t.key),
                Span::styled(" to run the step; ", t.dim),
                Span::styled("n", t.key),
                Span::styled(" / ", t.dim),
                Span::styled("p", t.key),
                Span::styled(" move between steps", t.dim),
            ])
        } else {
            Line::from(vec![
                Span::styled(" ▸ ", t.accent),
                Span::styled("press ", t.dim),
                Span::styled("a", t.key),
                Span::styled(" to run every model in turn, one after another", t.dim),
            ])
        };
        Paragraph::new(line).render(area, buf);
        return;
    };
    let lines: Vec<Line> = wrap(&text, width, rows)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let lead = if i == 0 {
                mark.clone()
            } else {
                Span::raw("   ")
            };
            Line::from(vec![lead, Span::styled(l, style)])
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

fn render_keys(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let lesson: &[(&str, &str)] = if crate::app::stepping::offered(app) {
        &[
            ("n", "next"),
            ("p", "back"),
            ("⏎", "run"),
            ("v", "hands"),
            ("t", "scheduler"),
        ]
    } else {
        &[("n", "next"), ("p", "back"), ("⏎", "run"), ("v", "hands")]
    };
    let normal: &[(&str, &str)] = &[("a", "run all"), ("⏎", "run")];
    let rest: &[(&str, &str)] = &[
        ("c", "cancel"),
        ("g", "GIL"),
        ("+-", "workers"),
        ("[]", "size"),
        ("w", "workload"),
    ];
    // Help and quit always show; the others in order while they fit.
    let last: &[(&str, &str)] = &[("?", "help"), ("q", "quit")];
    let width = |items: &[(&str, &str)]| -> usize {
        items
            .iter()
            .map(|(k, w)| k.chars().count() + w.len() + 3)
            .sum()
    };
    let first = if app.lesson().is_some() {
        lesson
    } else {
        normal
    };
    let mut room = (area.width as usize).saturating_sub(1 + width(last));
    let mut shown: Vec<(&str, &str)> = Vec::new();
    for item in first.iter().chain(rest) {
        let n = width(std::slice::from_ref(item));
        if n > room {
            break;
        }
        room -= n;
        shown.push(*item);
    }
    shown.extend_from_slice(last);
    let mut spans = vec![Span::raw(" ")];
    for (k, what) in shown {
        spans.push(Span::styled(k, t.key));
        spans.push(Span::styled(format!(" {what}  "), t.dim));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod wrap_tests {
    #[test]
    fn wraps_on_words_and_cuts_the_last_line() {
        assert_eq!(super::wrap("aa bb cc", 5, 2), vec!["aa bb", "cc"]);
        assert_eq!(super::wrap("aa bb cc dd ee", 5, 2), vec!["aa bb", "cc d…"]);
        assert_eq!(super::wrap("short", 80, 2), vec!["short"]);
    }
}
