//! Every model's timeline on one time axis (the big screen and presenter mode): per model
//! run so far, its workers' lanes and the machine's CPU during the run, all drawn to the
//! same scale — so a run that took twice as long is twice as long on screen.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use super::timeline::{glyph, lane_label, legend_block, wait_names};
use crate::app::timeline::Activity;
use crate::app::{App, ModelRun};
use crate::core::fmt::secs;
use crate::exec::Model;
use crate::ui::theme::Theme;
use crate::workload::WorkKind;

/// The tallest a lane grows (rows; from 3 its last row is a gap), and the CPU row under
/// each model's lanes. Lanes grow into the room one or two runs leave on a big screen,
/// but no further: past a sixth of a 60-row screen a taller band of the same glyphs
/// tells nothing more, and lengths are what the eye compares.
const MAX_LANE_H: usize = 10;
const MAX_CPU_H: usize = 6;

/// The runs drawn: every model that ran (or runs) with the current settings, in the
/// order of [`App::panels`].
fn runs(app: &App) -> Vec<(usize, &ModelRun)> {
    app.panels()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.config.is_some())
        .collect()
}

/// Does any run show GIL waits (threads sharing one GIL)?
fn any_shared_gil(app: &App) -> bool {
    app.panels().iter().any(|p| match &p.config {
        Some(c) => c.gil && p.model == Model::Threads,
        None => false,
    }) || (app.panels().iter().all(|p| p.config.is_none()) && app.settings().gil)
}

/// Did any run's lanes draw kind `k` (1 GIL waits, 2 other waits)? An async loop that
/// offloads to threads waits for their GIL, and parks while they compute.
fn drawn(app: &App, k: usize) -> bool {
    app.panels()
        .iter()
        .any(|p| (0..p.timeline.lanes()).any(|l| p.timeline.totals(l)[k] > 0))
}

/// The legend in long words, with the CPU row's meaning.
fn legend(app: &App) -> Vec<Span<'static>> {
    let t = &Theme::of(app.theme());
    let (wait, _) = wait_names(app);
    let mut v = Vec::new();
    // Native code holding the GIL: only where it happens.
    let native_hold = app.settings().workload().name() == "native"
        || app
            .panels()
            .iter()
            .any(|p| (0..p.timeline.lanes()).any(|l| p.timeline.native_hold_total(l) > 0));
    for (a, name) in [
        (Activity::Compute, "computing"),
        (Activity::NativeHold, "holding the GIL in native code"),
        (Activity::GilWait, "waiting for the GIL"),
        (Activity::Io, wait),
        (Activity::Idle, "idle"),
    ] {
        if a == Activity::GilWait && !any_shared_gil(app) && !drawn(app, 1) {
            continue;
        }
        if a == Activity::NativeHold && !native_hold {
            continue;
        }
        if a == Activity::Io && app.settings().workload().kind() == WorkKind::Cpu && !drawn(app, 2)
        {
            continue;
        }
        let (g, s) = glyph(a, t);
        v.push(Span::styled(format!(" {g}{g}"), s));
        v.push(Span::styled(format!(" {name} "), t.dim));
    }
    v.push(Span::styled(" ▂▅█", cpu_style(app)));
    v.push(Span::styled(" CPU, all cores ", t.dim));
    v
}

/// How tall lanes and CPU rows are, and how many lanes each run shows, to fit `rows`.
struct Fit {
    lane_h: usize,
    /// 0: no CPU rows (no room for them).
    cpu_h: usize,
    /// A blank row between runs.
    gap: bool,
    lanes: Vec<usize>,
}

fn fit(runs: &[(usize, &ModelRun)], rows: usize) -> Fit {
    let n = runs.len();
    let all: Vec<usize> = runs.iter().map(|(_, p)| p.timeline.lanes()).collect();
    let lanes: usize = all.iter().sum();
    // A CPU row only under runs that have CPU samples (a replay may have none).
    let traced = runs
        .iter()
        .filter(|(_, p)| !p.cpu_trace.samples.is_empty())
        .count();
    // The axis, a gap between runs, the lanes, the CPU rows.
    let need = |lane_h: usize, cpu_h: usize, gap: bool| {
        1 + usize::from(gap) * n.saturating_sub(1) + lanes * lane_h + traced * cpu_h
    };
    if need(1, 1, true) > rows {
        // Short of room: first the CPU rows go, then the gaps, then lanes (the rows
        // shared between the runs, each showing its first lanes).
        if need(1, 0, true) <= rows {
            return Fit {
                lane_h: 1,
                cpu_h: 0,
                gap: true,
                lanes: all,
            };
        }
        let per = (rows.saturating_sub(1) / n.max(1)).max(1);
        return Fit {
            lane_h: 1,
            cpu_h: 0,
            gap: false,
            lanes: all.iter().map(|&l| l.min(per)).collect(),
        };
    }
    // Lanes grow first, the CPU rows keeping about half their height (so a tall lane
    // never sits on a one-row CPU), then whichever still can.
    let (mut lane_h, mut cpu_h) = (1, 1);
    loop {
        let lane_fits = lane_h < MAX_LANE_H && need(lane_h + 1, cpu_h, true) <= rows;
        let cpu_fits = cpu_h < MAX_CPU_H && cpu_h < lane_h && need(lane_h, cpu_h + 1, true) <= rows;
        if cpu_fits && cpu_h * 2 < lane_h {
            cpu_h += 1;
        } else if lane_fits {
            lane_h += 1;
        } else if cpu_fits {
            cpu_h += 1;
        } else {
            break;
        }
    }
    Fit {
        lane_h,
        cpu_h,
        gap: true,
        lanes: all,
    }
}

/// One lane's activity as styled runs of glyphs, `cols` columns for the run's own span.
fn lane_spans(p: &ModelRun, lane: usize, cols: usize, app: &App) -> Vec<Span<'static>> {
    let t = &Theme::of(app.theme());
    let mut spans: Vec<Span> = Vec::new();
    if cols == 0 {
        return spans;
    }
    let acts = p.timeline.columns(lane, cols, p.timeline.shown_us().max(1));
    let mut run: Option<(Activity, usize)> = None;
    for a in acts.into_iter().map(Some).chain(std::iter::once(None)) {
        match (run, a) {
            (Some((ra, n)), Some(a)) if ra == a => run = Some((ra, n + 1)),
            (prev, a) => {
                if let Some((ra, n)) = prev {
                    let (g, s) = glyph(ra, t);
                    spans.push(Span::styled(g.to_string().repeat(n), s));
                }
                run = a.map(|a| (a, 1));
            }
        }
    }
    spans
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let runs = runs(app);
    // The pools' workers (sequential has one thread, async one loop: their rows say so).
    let workers: Vec<String> = runs
        .iter()
        .filter(|(_, p)| matches!(p.model, Model::Threads | Model::Processes))
        .map(|(_, p)| p.timeline.workers.to_string())
        .collect();
    let title = if runs.is_empty() {
        " timelines · every model on one time axis ".to_string()
    } else {
        let mut w = workers;
        w.dedup();
        format!(
            " timelines · one time axis{} ",
            match w.as_slice() {
                [] => String::new(),
                [one] => format!(" · {one} worker{}", if one == "1" { "" } else { "s" }),
                _ => String::new(),
            }
        )
    };
    // The legend beside the title, else in the bottom border, else on a row.
    let leg = legend(app);
    let leg_w: usize = leg.iter().map(|s| s.width()).sum();
    let width = area.width as usize;
    let legend_in_title = width > title.chars().count() + leg_w + 4;
    let legend_below = !legend_in_title && width > leg_w + 4;
    let legend_row = !legend_in_title && !legend_below;
    let mut rows = (area.height as usize).saturating_sub(2 + usize::from(legend_row));
    let f = fit(&runs, rows);
    let cut = runs
        .iter()
        .zip(&f.lanes)
        .any(|((_, p), &shown)| shown < p.timeline.workers.max(p.timeline.lanes()));
    let title = if cut && !runs.is_empty() {
        format!("{title}· first lanes shown ")
    } else {
        title
    };
    let b = legend_block(title, &leg, legend_in_title, legend_below, t);
    let inner = b.inner(area);
    b.render(area, buf);
    let mut y = inner.y;
    if legend_row && inner.height > 0 {
        Paragraph::new(Line::from(leg)).render(Rect::new(inner.x, y, inner.width, 1), buf);
        y += 1;
    }
    rows = rows.min(inner.height as usize);
    if runs.is_empty() {
        Paragraph::new(Line::styled(
            "every model you run appears here, one under another on the same time axis",
            t.dim,
        ))
        .render(Rect::new(inner.x, y, inner.width, rows.min(1) as u16), buf);
        return;
    }
    let span_us = runs
        .iter()
        .map(|(_, p)| p.timeline.shown_us())
        .max()
        .unwrap_or(0)
        .max(1);
    let name_w = runs
        .iter()
        .map(|(_, p)| p.model.name().chars().count())
        .max()
        .unwrap_or(0);
    let lane_w = runs
        .iter()
        .flat_map(|(_, p)| (0..p.timeline.lanes()).map(|l| lane_label(p.model, l).chars().count()))
        .max()
        .unwrap_or(2);
    // "processes  1.569 s  w0 " before the lanes.
    let gutter = name_w + 2 + 8 + 2 + lane_w.max(3) + 1;
    let width = inner.width as usize;
    let cols = width.saturating_sub(gutter + 1);
    let x0 = inner.x + gutter as u16;
    let bottom = inner.y + inner.height;
    for (k, (i, p)) in runs.iter().enumerate() {
        if k > 0 && f.gap {
            y += 1;
        }
        let own = p.timeline.shown_us();
        // The run's own length on the shared scale (rounded, never past the axis).
        let own_cols = ((u128::from(own) * cols as u128 + u128::from(span_us) / 2)
            / u128::from(span_us)) as usize;
        let own_cols = own_cols.min(cols);
        let selected = app.selected() == *i;
        let name_style = if selected { t.border_selected } else { t.title };
        let time_style = if p.is_finished() { t.text } else { t.accent };
        let lanes = f.lanes[k];
        for lane in 0..lanes {
            let spans = lane_spans(p, lane, own_cols, app);
            for row in 0..f.lane_h {
                if y >= bottom.saturating_sub(1) {
                    break;
                }
                // Tall lanes end with a blank row, so neighbours stay apart.
                if f.lane_h >= 3 && row == f.lane_h - 1 {
                    y += 1;
                    continue;
                }
                let mut line: Vec<Span> = Vec::new();
                if lane == 0 && row == 0 {
                    line.push(Span::styled(
                        format!("{:<name_w$}  ", p.model.name()),
                        name_style,
                    ));
                    line.push(Span::styled(
                        format!("{:>8}  ", secs(p.elapsed_us)),
                        time_style,
                    ));
                } else {
                    line.push(Span::raw(" ".repeat(name_w + 12)));
                }
                let label = if row == 0 {
                    lane_label(p.model, lane)
                } else {
                    String::new()
                };
                line.push(Span::styled(
                    format!("{label:<w$} ", w = lane_w.max(3)),
                    t.dim,
                ));
                line.extend(spans.iter().cloned());
                Paragraph::new(Line::from(line)).render(Rect::new(inner.x, y, inner.width, 1), buf);
                y += 1;
            }
        }
        // The machine's CPU under the run's lanes, on the same scale (none for a run
        // shorter than the first sample: a "cpu" row with nothing in it says nothing).
        let data: Vec<Option<u64>> = (0..own_cols)
            .map(|c| {
                let mid = (u128::from(own) * (2 * c as u128 + 1) / (2 * own_cols as u128)) as u64;
                p.cpu_trace.at(mid).map(u64::from)
            })
            .collect();
        if f.cpu_h > 0
            && y + f.cpu_h as u16 <= bottom.saturating_sub(1)
            && data.iter().any(Option::is_some)
        {
            let lead = format!(
                "{:w$}{:<l$} ",
                "",
                "cpu",
                w = name_w + 12,
                l = lane_w.max(3)
            );
            Paragraph::new(Line::styled(lead, t.dim)).render(
                Rect::new(inner.x, y + f.cpu_h as u16 - 1, gutter as u16, 1),
                buf,
            );
            let r = Rect::new(x0, y, own_cols as u16, f.cpu_h as u16);
            Sparkline::default()
                .data(data)
                .max(100)
                .style(cpu_style(app))
                .absent_value_symbol(" ")
                .render(r, buf);
            y += f.cpu_h as u16;
        }
    }
    // The shared time axis right under the runs (the room left, if any, below it).
    if inner.height > 0 {
        let y = y.min(bottom - 1);
        Paragraph::new(Line::styled(axis(span_us, gutter, cols), t.dim))
            .render(Rect::new(inner.x, y, inner.width, 1), buf);
    }
}

/// The time axis: "0", round ticks at least a dozen columns apart, and the end.
fn axis(span_us: u64, gutter: usize, cols: usize) -> String {
    let mut out = format!("{:gutter$}0", "");
    let end = secs(span_us);
    let end_at = (gutter + cols).saturating_sub(end.chars().count());
    let steps_us = [1u64, 2, 5]
        .iter()
        .cycle()
        .zip((0..18).flat_map(|e| std::iter::repeat_n(10u64.pow(e), 3)))
        .map(|(m, p)| m * p);
    let min_gap = 12u128;
    let step = steps_us
        .into_iter()
        .find(|&s| u128::from(s) * cols as u128 >= min_gap * u128::from(span_us))
        .unwrap_or(span_us);
    let mut at_us = step;
    while at_us < span_us {
        let label = tick(at_us, span_us);
        let col = gutter + (u128::from(at_us) * cols as u128 / u128::from(span_us)) as usize;
        let start = col.saturating_sub(label.chars().count() / 2);
        if start > out.chars().count() + 1 && start + label.chars().count() + 2 < end_at {
            out += &" ".repeat(start - out.chars().count());
            out += &label;
        }
        at_us += step;
    }
    if end_at > out.chars().count() {
        out += &" ".repeat(end_at - out.chars().count());
        out += &end;
    }
    out
}

/// A round tick's label in the unit the axis's end needs: "0.5 s", "2 s", "20 ms".
fn tick(us: u64, span_us: u64) -> String {
    if span_us >= 1_000_000 {
        format!("{} s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

/// The CPU rows in the theme's plain text colour: apart from every state's colour.
fn cpu_style(app: &App) -> Style {
    Theme::of(app.theme()).text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_axis_has_round_ticks_and_the_end() {
        let a = super::axis(3_174_000, 4, 160);
        assert!(a.starts_with("    0"), "{a}");
        assert!(
            a.contains(" 0.5 s ") && a.contains(" 1 s ") && a.contains(" 2.5 s "),
            "{a}"
        );
        assert!(a.ends_with("3.174 s"), "{a}");
        let a = super::axis(40_000, 0, 80);
        assert!(a.contains("10 ms") && a.ends_with("0.040 s"), "{a}");
    }
}
