//! The progress panel: the overall gauge and one bar per worker with its current task,
//! fed only by engine events.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::timeline::{glyph, lane_label, wait_names};
use crate::app::timeline::Activity;
use crate::app::{App, RunState};
use crate::core::fmt::{bar, fit, secs};
use crate::exec::Model;
use crate::ui::theme::Theme;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[app.focus()];
    let title = match &p.state {
        RunState::Running => format!(" progress · {} ", p.model),
        RunState::Idle => " progress ".to_string(),
        RunState::Queued => format!(" progress · {} (queued) ", p.model),
        RunState::Finished => format!(" progress · {} · done ", p.model),
        RunState::Cancelled => format!(" progress · {} · cancelled ", p.model),
        RunState::Failed(_) => format!(" progress · {} · failed ", p.model),
    };
    let b = block(Line::styled(title, t.title), t, false);
    let inner = b.inner(area);
    b.render(area, buf);
    let width = inner.width as usize;
    let rows = inner.height as usize;
    if rows == 0 {
        return;
    }
    let Some(cfg) = &p.config else {
        let lines = vec![
            Line::from(vec![
                Span::styled("a", t.key),
                Span::styled(" run every model in turn", t.dim),
            ]),
            Line::from(vec![
                Span::styled("⏎", t.key),
                Span::styled(" run the selected model", t.dim),
            ]),
        ];
        Paragraph::new(lines).render(inner, buf);
        return;
    };
    let frac = p.progress();
    let counts = format!(
        " {:>3.0}% {}/{} {}",
        frac * 100.0,
        p.tasks_done,
        cfg.tasks,
        if cfg.tasks == 1 { "task" } else { "tasks" }
    );
    let (fill, empty) = bar(width.saturating_sub(counts.chars().count()), frac);
    let mut lines = vec![Line::from(vec![
        Span::styled(fill, t.bar),
        Span::styled(empty, t.bar_empty),
        Span::styled(counts, t.text),
    ])];
    let workers = &p.workers;
    let avail = rows - 1;
    let show = if workers.len() > avail {
        avail.saturating_sub(1)
    } else {
        workers.len()
    };
    let lw = (0..workers.len())
        .map(|i| lane_label(p.model, i).chars().count())
        .max()
        .unwrap_or(2);
    // Room to spare: a blank line between workers reads better.
    let gap = !workers.is_empty() && avail >= 2 * workers.len();
    if gap {
        lines.push(Line::raw(""));
    }
    for (i, w) in workers.iter().enumerate().take(show) {
        let mut spans = vec![Span::styled(
            format!("{:<lw$}", lane_label(p.model, i)),
            t.dim,
        )];
        let pid = if p.model == Model::Processes && w.pid != 0 {
            format!(" pid {:<7}", w.pid)
        } else {
            String::new()
        };
        spans.push(Span::styled(pid.clone(), t.dim));
        let head = lw + pid.chars().count();
        match w.task {
            Some(task) => {
                let label = format!(" task {task:<3}");
                let pct = if w.progress.1 > 0 {
                    w.progress.0 as f64 / w.progress.1 as f64
                } else {
                    0.0
                };
                let tail = format!(" {:>3.0}%", pct * 100.0);
                let bw = width.saturating_sub(head + label.chars().count() + tail.len() + 1);
                spans.push(Span::styled(label, t.text));
                spans.push(Span::raw(" "));
                // A task that waits (a sleep, a request) makes no progress meanwhile:
                // say what it waits for and how long, not an empty bar.
                match p.timeline.waiting(i) {
                    Some((a, since)) if pct == 0.0 && a == Activity::Io => {
                        let (g, style) = glyph(a, t);
                        let text = format!(
                            "{g}{g} {} for {}",
                            wait_names(app).0,
                            secs(p.elapsed_us.saturating_sub(since))
                        );
                        spans.push(Span::styled(fit(&text, bw + tail.len()), style));
                    }
                    _ => {
                        let (fill, empty) = bar(bw, pct);
                        spans.push(Span::styled(fill, t.compute));
                        spans.push(Span::styled(empty, t.bar_empty));
                        spans.push(Span::styled(tail, t.text));
                    }
                }
            }
            None => spans.push(Span::styled(
                format!(
                    " idle · {} task{} done",
                    w.tasks_done,
                    if w.tasks_done == 1 { "" } else { "s" }
                ),
                t.dim,
            )),
        }
        lines.push(Line::from(spans));
        if gap {
            lines.push(Line::raw(""));
        }
    }
    let total = p.timeline.workers.max(workers.len());
    if show < total {
        let busy = workers.iter().filter(|w| w.task.is_some()).count();
        lines.push(Line::styled(
            format!("+{} more workers · {busy} busy in all", total - show),
            t.dim,
        ));
    }
    Paragraph::new(lines).render(inner, buf);
}
