//! The worker timeline: one lane per worker, time to the right; each column shows what
//! the worker mostly did then — computing, holding the GIL in native code, waiting for the
//! GIL, waiting on I/O, or idle.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::theme::Theme;
use crate::app::App;
use crate::app::timeline::Activity;
use crate::core::fmt::secs;
use crate::exec::Model;
use crate::workload::WorkKind;

/// A timeline's frame: its title, and the legend at the right of the title, of the bottom
/// border, or (neither) left to the caller to draw as a row.
pub fn legend_block<'a>(
    title: String,
    leg: &[Span<'static>],
    in_title: bool,
    below: bool,
    t: &Theme,
) -> ratatui::widgets::Block<'a> {
    let b = block(Line::styled(title, t.title), t, false);
    if in_title {
        b.title(Line::from(leg.to_vec()).right_aligned())
    } else if below {
        b.title_bottom(Line::from(leg.to_vec()).right_aligned())
    } else {
        b
    }
}

/// The glyph and style of an activity (glyphs differ, so colour is never the only cue).
pub fn glyph(a: Activity, t: &Theme) -> (char, Style) {
    match a {
        Activity::Compute => ('█', t.compute),
        Activity::GilWait => ('░', t.gil),
        Activity::Io => ('≈', t.io),
        Activity::NativeHold => ('▓', t.native),
        Activity::Idle => ('·', t.idle),
    }
}

/// A lane's name: "w3", or "loop" for the async model's event loop (lane 0; its
/// offload pool's workers are w1, w2, …).
pub fn lane_label(model: Model, lane: usize) -> String {
    if model == Model::Async && lane == 0 {
        "loop".to_string()
    } else {
        format!("w{lane}")
    }
}

/// What a worker outside the GIL was blocked on, in this workload: (long, short) names.
/// (The engine records every wait outside the GIL alike: a sleep, a socket, a lock.)
pub fn wait_names(app: &App) -> (&'static str, &'static str) {
    let w = app.settings().workload();
    match (w.name(), w.kind()) {
        ("sleep" | "convoy" | "native", _) => ("sleeping", "sleep"),
        ("rate-limit", _) | (_, WorkKind::Io | WorkKind::Mixed) => ("waiting on I/O", "I/O"),
        (_, WorkKind::Scene) => ("waiting on a lock or queue", "lock"),
        _ => ("blocked", "blocked"),
    }
}

/// The legend: only the activities this run can show (no GIL waits without a shared
/// GIL), in long or short words.
fn legend(app: &App, short: bool) -> Vec<Span<'static>> {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[app.focus()];
    // What the lanes drew counts too: an async loop offloading to threads shares their
    // GIL, and a loop parked on a CPU-bound workload waits.
    let drawn = |k: usize| (0..p.timeline.lanes()).any(|l| p.timeline.totals(l)[k] > 0);
    let shared_gil = drawn(1)
        || match &p.config {
            Some(c) => c.gil && p.model == Model::Threads,
            None => app.settings().gil,
        };
    let (wait, wait_short) = wait_names(app);
    let mut v = Vec::new();
    // Native code holding the GIL: only where it happens (the `native` scene, or a run
    // that drew some).
    let native_hold = app.settings().workload().name() == "native"
        || (0..p.timeline.lanes()).any(|l| p.timeline.native_hold_total(l) > 0);
    for (a, name, brief) in [
        (Activity::Compute, "computing", "compute"),
        (
            Activity::NativeHold,
            "holding the GIL in native code",
            "native",
        ),
        (Activity::GilWait, "waiting for the GIL", "GIL wait"),
        (Activity::Io, wait, wait_short),
        (Activity::Idle, "idle", "idle"),
    ] {
        if a == Activity::GilWait && !shared_gil {
            continue;
        }
        if a == Activity::NativeHold && !native_hold {
            continue;
        }
        // Pure computing never blocks outside the GIL: no entry for what cannot show.
        if a == Activity::Io && app.settings().workload().kind() == WorkKind::Cpu && !drawn(2) {
            continue;
        }
        let (g, s) = glyph(a, t);
        if short {
            v.push(Span::styled(format!(" {g}"), s));
            v.push(Span::styled(format!(" {brief} "), t.dim));
        } else {
            v.push(Span::styled(format!(" {g}{g}"), s));
            v.push(Span::styled(format!(" {name} "), t.dim));
        }
    }
    v
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[app.focus()];
    let tl = &p.timeline;
    let base = if p.config.is_some() {
        let who = match p.workers_label() {
            // The loop (and its offload pool) as the model panel says it.
            Some(l) if p.model == Model::Async => l,
            _ => format!(
                "{} worker{}",
                tl.workers,
                if tl.workers == 1 { "" } else { "s" }
            ),
        };
        format!(
            " timeline · {} · {who}{} ",
            p.model,
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
    // The legend goes beside the title, else in the bottom border, else on a row.
    let fits = |l: &[Span], title: usize| {
        let w: usize = l.iter().map(|s| s.width()).sum();
        area.width as usize >= title + w + 4
    };
    let mut leg = legend(app, false);
    if !fits(&leg, base.chars().count() + 11) {
        leg = legend(app, true);
    }
    let legend_in_title = fits(&leg, base.chars().count() + 11);
    let legend_below = !legend_in_title && fits(&leg, 0);
    let legend_row = !legend_in_title && !legend_below;
    // Lanes that fit: one row each, under the legend (if on a row), over the axis.
    let mut lanes_fit = (area.height as usize).saturating_sub(3 + usize::from(legend_row));
    // Short of rows for every lane (two workers at 80x24), the time axis moves into the
    // bottom border, if the legend left it free: a lane is worth more than a frame.
    let axis_in_border = !legend_below && p.config.is_some() && tl.lanes() > lanes_fit;
    lanes_fit += usize::from(axis_in_border);
    let shown_lanes = tl.lanes().min(lanes_fit.max(1));
    let title = if p.config.is_some() && shown_lanes < tl.workers {
        format!("{}({shown_lanes} shown) ", base)
    } else {
        base
    };
    let b = legend_block(title, &leg, legend_in_title, legend_below, t);
    let inner = b.inner(area);
    b.render(area, buf);
    let width = inner.width as usize;
    let mut rows = inner.height as usize;
    let mut lines: Vec<Line> = Vec::new();
    if legend_row && rows > 0 {
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
    let lw = (0..lanes)
        .map(|l| lane_label(p.model, l).chars().count())
        .max()
        .unwrap_or(2)
        + 1;
    let show_totals = width >= 90;
    let totals_w = if show_totals { 20 } else { 0 };
    let cols = width.saturating_sub(lw + totals_w);
    let lane_rows = rows.saturating_sub(usize::from(!axis_in_border));
    // Lanes that do not fit are counted in the title, never drawn over the axis.
    let shown = lanes.min(lane_rows.max(1));
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
                lane_label(p.model, lane)
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
    // Time axis under the lanes: "0", the middle and the end, at their columns.
    let end = secs(span_us);
    let mid = secs(span_us / 2);
    let mut ticks = vec![(lw, "0".to_string())];
    let mid_at = lw + cols / 2 - mid.chars().count() / 2;
    let end_at = (lw + cols).saturating_sub(end.chars().count());
    if mid_at > lw + 3 && mid_at + mid.chars().count() + 2 < end_at {
        ticks.push((mid_at, mid));
    }
    if end_at > lw + 1 {
        ticks.push((end_at, end));
    }
    if axis_in_border {
        while lines.len() < inner.height as usize {
            lines.push(Line::raw(""));
        }
        Paragraph::new(lines).render(inner, buf);
        // Each label with a blank either side, over the frame's bottom line.
        let y = area.y + area.height.saturating_sub(1);
        for (at, label) in ticks {
            let text = format!(" {label} ");
            let x = (inner.x as usize + at).saturating_sub(1);
            let room = (inner.x + inner.width) as usize - x.min((inner.x + inner.width) as usize);
            let text: String = text.chars().take(room).collect();
            buf.set_string(x as u16, y, text, t.dim);
        }
        return;
    }
    if rows > 0 {
        let mut axis = String::new();
        for (at, label) in ticks {
            axis += &" ".repeat(at.saturating_sub(axis.chars().count()));
            axis += &label;
        }
        while lines.len() < rows.saturating_sub(1) + usize::from(legend_row) {
            lines.push(Line::raw(""));
        }
        lines.truncate(inner.height as usize - 1);
        lines.push(Line::styled(axis, t.dim));
    }
    Paragraph::new(lines).render(inner, buf);
}
