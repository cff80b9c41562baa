//! Drawing only: [`draw`] renders an [`App`] into a frame, one file per panel. Pure:
//! no clock, no I/O, no state of its own.

pub mod cpu;
pub mod fmt;
pub mod header;
pub mod help;
pub mod layout;
pub mod models;
pub mod progress;
pub mod theme;
pub mod timeline;

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
    if layout::too_small(area) {
        render_too_small(app, area, buf);
        return;
    }
    let a = layout::areas(area, app.cpu.cores(), app.shown_workers());
    header::render(app, a.header, buf);
    cpu::render(app, a.cpu, buf);
    progress::render(app, a.progress, buf);
    for i in 0..3 {
        models::render(app, i, a.models[i], buf);
    }
    timeline::render(app, a.timeline, buf);
    render_explain(app, a.explain, buf);
    render_keys(app, a.keys, buf);
    if app.help {
        help::render(app, area, buf);
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
    let t = &app.theme;
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

fn render_explain(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let room = (area.width as usize).saturating_sub(3);
    let line = if let Some(n) = &app.notice {
        Line::from(vec![
            Span::styled(" ! ", t.warn),
            Span::styled(fmt::fit(n, room), t.warn),
        ])
    } else if let Some(e) = explain(app) {
        Line::from(vec![
            Span::styled(" ▸ ", t.accent),
            Span::styled(fmt::fit(&e, room), t.title),
        ])
    } else if app.is_running() {
        Line::from(vec![
            Span::styled(" ▸ ", t.accent),
            Span::styled("measuring… the explanation follows the numbers", t.dim),
        ])
    } else {
        Line::from(vec![
            Span::styled(" ▸ ", t.accent),
            Span::styled("press ", t.dim),
            Span::styled("a", t.key),
            Span::styled(" to run sequential, threads and processes in turn", t.dim),
        ])
    };
    Paragraph::new(line).render(area, buf);
}

fn render_keys(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let items: &[(&str, &str)] = &[
        ("a", "run all"),
        ("⏎", "run"),
        ("c", "cancel"),
        ("g", "GIL"),
        ("+-", "workers"),
        ("[]", "size"),
        ("w", "workload"),
        ("?", "help"),
        ("q", "quit"),
    ];
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (k, what) in items {
        let n = k.chars().count() + what.len() + 3;
        if used + n > area.width as usize {
            break;
        }
        used += n;
        spans.push(Span::styled(*k, t.key));
        spans.push(Span::styled(format!(" {what}  "), t.dim));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests;
