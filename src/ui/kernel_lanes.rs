//! The kernel's lanes, drawn: one row per thread, each column what the scheduler saw it
//! mostly do over that column's samples (on a CPU, in the run queue, blocked on a lock,
//! on I/O, asleep; under a CPU quota, held back by it) or, for a column part on a CPU and
//! part on a lock, both (a GIL turn),
//! with the thread's totals at the right. Shared by `conlab watch` and
//! the dashboard's kernel view (`k`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::theme::Theme;
use std::cmp::Reverse;

use crate::core::fmt::fit;
use crate::observe::lanes::{Cell, Lane, Lanes};
use crate::observe::{State, TreeTotals};

/// The glyph and style of a state (glyphs differ, so colour is never the only cue; the
/// run queue and a lock differ in both).
pub fn glyph(s: State, t: &Theme) -> (char, Style) {
    match s {
        State::OnCpu => ('█', t.compute),
        State::Runnable => ('▪', t.bad),
        State::Lock => ('░', t.gil),
        State::Io => ('≈', t.io),
        State::Sleep => ('·', t.idle),
        State::Throttled => ('╳', t.warn),
    }
}

/// A column part on a CPU and part blocked on a lock: a GIL turn inside it.
pub fn mixed_glyph(t: &Theme) -> (char, Style) {
    ('▚', t.gil)
}

/// A cell's glyph: both when it mixes a CPU and a lock, else its most common state.
pub fn cell_glyph(c: &Cell, t: &Theme) -> (char, Style) {
    if c.cpu_and_lock() {
        mixed_glyph(t)
    } else {
        glyph(c.state, t)
    }
}

/// The states in legend order, with their words.
pub const LEGEND: [(State, &str); 5] = [
    (State::OnCpu, "on a CPU"),
    (State::Runnable, "run queue"),
    (State::Lock, "lock"),
    (State::Io, "I/O"),
    (State::Sleep, "asleep"),
];

/// The legend's entry for throttled time, shown only under a CPU quota (`quota`): what
/// it is and that it is an estimate.
const THROTTLED: &str = "throttled (quota; cpu.stat shared out, est.)";
const THROTTLED_SHORT: &str = "throttled (quota, est.)";

fn throttled_entry(spans: &mut Vec<Span<'static>>, t: &Theme, word: &'static str, twice: bool) {
    let (g, st) = glyph(State::Throttled, t);
    let g = if twice {
        format!(" {g}{g}")
    } else {
        format!(" {g}")
    };
    spans.push(Span::styled(g, st));
    spans.push(Span::styled(format!(" {word}"), t.dim));
}

/// The legend as spans: ` ██ on a CPU ▚▚ CPU+lock ░░ lock …`; under a CPU quota
/// (`quota`) throttled time too.
pub fn legend(t: &Theme, quota: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (i, (s, name)) in LEGEND.into_iter().enumerate() {
        let (g, st) = glyph(s, t);
        spans.push(Span::styled(format!(" {g}{g}"), st));
        spans.push(Span::styled(format!(" {name}"), t.dim));
        if i == 0 {
            let (g, st) = mixed_glyph(t);
            spans.push(Span::styled(format!(" {g}{g}"), st));
            spans.push(Span::styled(" CPU+lock", t.dim));
        }
        if quota && s == State::Runnable {
            throttled_entry(&mut spans, t, THROTTLED, true);
        }
    }
    spans.push(Span::raw(" "));
    spans
}

/// The legend in one glyph each, for a narrow panel: ` █ CPU ▚ CPU+lock ░ lock …`.
pub fn short_legend(t: &Theme, quota: bool) -> Vec<Span<'static>> {
    let words = ["CPU", "queue", "lock", "I/O", "asleep"];
    let mut spans = Vec::new();
    for (i, ((s, _), w)) in LEGEND.into_iter().zip(words).enumerate() {
        let (g, st) = glyph(s, t);
        spans.push(Span::styled(format!(" {g}"), st));
        spans.push(Span::styled(format!(" {w}"), t.dim));
        if i == 0 {
            let (g, st) = mixed_glyph(t);
            spans.push(Span::styled(format!(" {g}"), st));
            spans.push(Span::styled(" CPU+lock", t.dim));
        }
        if quota && s == State::Runnable {
            throttled_entry(&mut spans, t, THROTTLED_SHORT, false);
        }
    }
    spans.push(Span::raw(" "));
    spans
}

/// The full legend where it fits in `width` columns (beside `beside` more), else the
/// short one.
pub fn fit_legend(t: &Theme, quota: bool, width: usize, beside: usize) -> Vec<Span<'static>> {
    let long = legend(t, quota);
    let w: usize = long.iter().map(|s| s.content.chars().count()).sum();
    if w + beside <= width {
        long
    } else {
        short_legend(t, quota)
    }
}

/// What to draw: which lanes, how many samples a column, from which lane on.
pub struct LaneView<'a> {
    pub lanes: &'a Lanes,
    pub totals: &'a TreeTotals,
    /// Lanes to show (the rest are left out).
    pub keep: &'a dyn Fn(&Lane) -> bool,
    pub per_column: u64,
    /// The sample index just past the right edge (the newest sample unless scrolled back).
    pub end: u64,
    /// Worker threads first, busiest first, the threads that feed a run (`conlab-run-*`)
    /// last; otherwise in thread-id order.
    pub busiest_first: bool,
    pub scroll: usize,
    /// Width of the name column.
    pub name_w: usize,
    /// What to say while no lane is kept.
    pub empty: &'a str,
}

/// One row per kept lane into `area` (no frame), the newest sample at the right.
pub fn render(v: &LaneView, t: &Theme, area: Rect, buf: &mut Buffer) {
    // `cpu  11% queue  67% ╳ 15%` under a quota.
    let stats_w: usize = if v.totals.quota { 27 } else { 22 };
    let w = area.width as usize;
    let cols = w.saturating_sub(v.name_w + stats_w + 2);
    let per = v.per_column.max(1);
    let end = v.end;
    let mut lanes: Vec<&Lane> = v.lanes.lanes.values().filter(|l| (v.keep)(l)).collect();
    if v.busiest_first {
        lanes.sort_by_key(|l| {
            let on_cpu = v.totals.threads.get(&l.tid).map_or(0, |x| x.split.on_cpu);
            (l.name.starts_with("conlab-run-"), Reverse(on_cpu), l.tid)
        });
    }
    let mut lines = Vec::new();
    for lane in lanes.iter().skip(v.scroll).take(area.height as usize) {
        let style = if lane.exited { t.dim } else { t.text };
        // Padded as well as cut, so every lane's time axis starts in the same column.
        let name = fit(&format!("{} {}", lane.name, lane.tid), v.name_w);
        let mut spans = vec![Span::styled(format!("{name:<0$}", v.name_w), style)];
        spans.push(Span::raw(" "));
        let cells: Vec<Option<Cell>> = (0..cols as u64)
            .map(|c| {
                let back = (cols as u64 - c) * per;
                (end >= back).then(|| lane.span(end - back, per)).flatten()
            })
            .collect();
        spans.extend(cells_to_spans(&cells, t));
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            fit(&stats(v.totals, lane.tid, v.totals.quota), stats_w),
            t.dim,
        ));
        lines.push(Line::from(spans));
    }
    if lanes.is_empty() {
        lines.push(Line::styled(v.empty, t.dim));
    }
    Paragraph::new(lines).render(area, buf);
}

/// `cpu  48% lock  51%`: the share on a CPU and the thread's largest wait; under a CPU
/// quota (`quota`) also its throttled share, `╳ 15%`, when that is not the largest.
fn stats(totals: &TreeTotals, tid: u32, quota: bool) -> String {
    let Some(s) = totals.threads.get(&tid).map(|x| x.split.settled()) else {
        return String::new();
    };
    if s.total() == 0 {
        return String::new();
    }
    let pct = |v: u64| v as f64 / s.total() as f64 * 100.0;
    // Ties go to the last: throttled first, so without a quota nothing changes.
    let (top, label) = [
        (s.throttled, "throttled"),
        (s.lock, "lock"),
        (s.io, "I/O"),
        (s.sleep, "sleep"),
        (s.runnable, "queue"),
    ]
    .into_iter()
    .max_by_key(|x| x.0)
    .unwrap_or((0, "lock"));
    let mut out = format!("cpu {:>3.0}% {label} {:>3.0}%", pct(s.on_cpu), pct(top));
    if quota && label != "throttled" && s.throttled > 0 {
        out += &format!(" ╳{:>3.0}%", pct(s.throttled));
    }
    out
}

/// Runs of equal glyphs as one span each.
fn cells_to_spans(cells: &[Option<Cell>], t: &Theme) -> Vec<Span<'static>> {
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = Style::default();
    for c in cells {
        let (g, s) = match c {
            Some(c) => cell_glyph(c, t),
            None => (' ', Style::default()),
        };
        if s != run_style && !run.is_empty() {
            out.push(Span::styled(std::mem::take(&mut run), run_style));
        }
        run_style = s;
        run.push(g);
    }
    if !run.is_empty() {
        out.push(Span::styled(run, run_style));
    }
    out
}
