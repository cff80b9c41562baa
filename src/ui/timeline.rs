//! The worker timeline: one lane per worker, time to the right; each column shows what
//! the worker mostly did then — computing, waiting for the GIL, waiting on I/O, or idle.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::fmt::secs;
use super::theme::Theme;
use crate::app::App;
use crate::app::timeline::Activity;

/// The glyph and style of an activity (glyphs differ, so colour is never the only cue).
pub fn glyph(a: Activity, t: &Theme) -> (char, Style) {
    match a {
        Activity::Compute => ('█', t.compute),
        Activity::GilWait => ('░', t.gil),
        Activity::Io => ('≈', t.io),
        Activity::Idle => ('·', t.idle),
    }
}

fn legend(t: &Theme) -> Vec<Span<'static>> {
    let mut v = Vec::new();
    for (a, name) in [
        (Activity::Compute, "computing"),
        (Activity::GilWait, "waiting for the GIL"),
        (Activity::Io, "waiting on I/O"),
        (Activity::Idle, "idle"),
    ] {
        let (g, s) = glyph(a, t);
        v.push(Span::styled(format!(" {g}{g}"), s));
        v.push(Span::styled(format!(" {name} "), t.dim));
    }
    v
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let p = &app.panels[app.focus()];
    let tl = &p.timeline;
    let title = if p.config.is_some() {
        format!(
            " timeline · {} · {} worker{}{} ",
            p.model,
            tl.workers,
            if tl.workers == 1 { "" } else { "s" },
            // The driver knows task spans and its blocking calls, not GIL waits.
            if p.runtime.is_some() {
                " · CPython: █ inside a task is inferred (GIL waits not measured)"
            } else {
                ""
            }
        )
    } else {
        " timeline ".to_string()
    };
    let leg = legend(t);
    let leg_w: usize = leg.iter().map(|s| s.width()).sum();
    let legend_in_title = area.width as usize >= title.chars().count() + leg_w + 4;
    let mut b = block(Line::styled(title, t.title), t, false);
    if legend_in_title {
        b = b.title(Line::from(leg.clone()).right_aligned());
    }
    let inner = b.inner(area);
    b.render(area, buf);
    let width = inner.width as usize;
    let mut rows = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    if !legend_in_title && rows > 0 {
        lines.push(Line::from(leg));
        rows -= 1;
    }
    if p.config.is_none() {
        lines.push(Line::styled(
            "what each worker did, moment by moment, appears here during a run",
            t.dim,
        ));
        Paragraph::new(lines).render(inner, buf);
        return;
    }
    let span_us = tl.shown_us().max(1);
    let lanes = tl.lanes();
    let lw = lanes.saturating_sub(1).to_string().len() + 2;
    let show_totals = width >= 90;
    let totals_w = if show_totals { 20 } else { 0 };
    let cols = width.saturating_sub(lw + totals_w);
    let lane_rows = rows.saturating_sub(1);
    let shown = if lanes > lane_rows {
        lane_rows.saturating_sub(1)
    } else {
        lanes
    };
    let lane_h = if shown == lanes && lanes > 0 {
        (lane_rows / lanes).clamp(1, 7)
    } else {
        1
    };
    for lane in 0..shown {
        let mut spans: Vec<Span> = Vec::new();
        let acts = tl.columns(lane, cols, span_us);
        let mut run: Option<(Activity, usize)> = None;
        for (idx, a) in acts
            .into_iter()
            .chain(std::iter::once(Activity::Idle))
            .enumerate()
        {
            let last = idx == cols;
            match run {
                Some((ra, n)) if ra == a && !last => run = Some((ra, n + 1)),
                _ => {
                    if let Some((ra, n)) = run {
                        let (g, s) = glyph(ra, t);
                        spans.push(Span::styled(g.to_string().repeat(n), s));
                    }
                    run = Some((a, 1));
                }
            }
        }
        for row in 0..lane_h {
            // Tall lanes end with a blank row, so neighbours stay apart.
            if lane_h >= 3 && row == lane_h - 1 {
                lines.push(Line::raw(""));
                continue;
            }
            let label = if row == 0 {
                format!("w{lane}")
            } else {
                String::new()
            };
            let mut line = vec![Span::styled(format!("{label:<lw$}"), t.dim)];
            line.extend(spans.iter().cloned());
            if show_totals && row == 0 {
                let [c, g, io] = tl.totals(lane);
                let pct = |x: u64| (x as f64 * 100.0 / span_us as f64).min(100.0);
                line.push(Span::styled(
                    format!(" {:>3.0}%█ {:>3.0}%░ {:>3.0}%≈", pct(c), pct(g), pct(io)),
                    t.dim,
                ));
            }
            lines.push(Line::from(line));
        }
    }
    if shown < tl.workers {
        lines.push(Line::styled(
            format!("{:lw$}+{} more workers", "", tl.workers - shown),
            t.dim,
        ));
    }
    // Time axis under the lanes.
    if rows > 0 {
        let end = secs(span_us);
        let mid = secs(span_us / 2);
        let mut axis = format!("{:lw$}0", "");
        let mid_at = lw + cols / 2 - mid.chars().count() / 2;
        let end_at = (lw + cols).saturating_sub(end.chars().count());
        if mid_at > axis.chars().count() + 2 && mid_at + mid.chars().count() + 2 < end_at {
            axis += &" ".repeat(mid_at - axis.chars().count());
            axis += &mid;
        }
        if end_at > axis.chars().count() {
            axis += &" ".repeat(end_at - axis.chars().count());
            axis += &end;
        }
        while lines.len() < rows.saturating_sub(1) + usize::from(!legend_in_title) {
            lines.push(Line::raw(""));
        }
        lines.truncate(inner.height as usize - 1);
        lines.push(Line::styled(axis, t.dim));
    }
    Paragraph::new(lines).render(inner, buf);
}
