//! Where each panel goes, from the terminal's size alone (shared by drawing and by mouse
//! hit-testing).

use ratatui::layout::{Constraint, Layout, Rect};

use crate::core::Model;

/// One panel per model.
pub const MODELS: usize = Model::ALL.len();
/// Model panels sit side by side from this width (each gets about 30 columns); below it,
/// in two rows.
pub const SIDE_BY_SIDE_WIDTH: u16 = 120;

/// The smallest terminal the dashboard draws in.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 22;

/// Every panel's rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub cpu: Rect,
    pub progress: Rect,
    pub models: [Rect; MODELS],
    pub timeline: Rect,
    /// Lesson mode's panel (empty otherwise).
    pub lesson: Rect,
    pub explain: Rect,
    pub keys: Rect,
}

/// The big-screen layout (from 160x48): every model's timeline on one time axis, the
/// top panels sized to their content.
pub const LARGE: (u16, u16) = (160, 48);

pub fn is_large(area: Rect) -> bool {
    area.width >= LARGE.0 && area.height >= LARGE.1
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// Rows the CPU panel would like for `cores` (bars when they fit, else a grid).
fn cpu_rows_wanted(cores: usize, width: u16) -> u16 {
    let inner = width.saturating_sub(2).max(1) as usize;
    let bar_cols = (inner / 30).max(1);
    let bars = cores.div_ceil(bar_cols);
    let rows = if bars <= 16 {
        bars
    } else {
        cores.div_ceil((inner / 4).max(1))
    };
    rows as u16 + 1
}

/// `cores` and `workers` size the CPU and progress panels (the timeline takes the rest).
pub fn areas(area: Rect, cores: usize, workers: usize) -> Areas {
    if is_large(area) {
        return large_areas(area, cores, workers);
    }
    // The explanation may wrap onto a second line on narrower screens.
    let explain_h = if area.width < 160 && area.height >= 24 {
        2
    } else {
        1
    };
    let [header, body, explain, keys] = rows(area, explain_h);
    let h = body.height;
    let side_by_side = body.width >= SIDE_BY_SIDE_WIDTH;
    let panel_h = if h >= 40 {
        8
    } else if side_by_side || h >= 30 {
        7
    } else if h >= 19 {
        5
    } else {
        // The smallest screen: the time and the comparison bar.
        4
    };
    let models_h = if side_by_side { panel_h } else { panel_h * 2 };
    let top_w = body.width;
    let cpu_w = top_w / 2;
    let rest = h.saturating_sub(models_h);
    // The timeline keeps room for its legend, lanes and axis; the top panels take what
    // their cores and workers need; what is left is shared between them.
    let timeline_min = if area.width >= 120 { 5 } else { 6 };
    let lanes = workers.clamp(1, 64) as u16;
    // Two rows of model panels leave the CPU and progress panels a row less.
    let top_floor = if side_by_side { 6 } else { 5 };
    let top_need = (cpu_rows_wanted(cores, cpu_w) + 2)
        .max(lanes + 3)
        .max(top_floor);
    let timeline_want = (lanes * 4 + 4).max(timeline_min);
    let top_h = if top_need + timeline_want <= rest {
        top_need + (rest - top_need - timeline_want) / 2
    } else {
        top_need.clamp(top_floor, rest.saturating_sub(timeline_min).max(top_floor))
    };
    let body = body_areas(
        body,
        top_h,
        cpu_w,
        models_h,
        if side_by_side { 1 } else { 2 },
    );
    Areas {
        header,
        explain,
        keys,
        ..body
    }
}

/// The body without lesson mode, from the top: the CPU and progress panels side by side
/// (`top_h` rows, the CPU panel `cpu_w` wide), the model panels (`models_h` rows, in
/// `grid_rows` rows), the timeline below. The header, explanation and keys are left empty.
fn body_areas(body: Rect, top_h: u16, cpu_w: u16, models_h: u16, grid_rows: usize) -> Areas {
    let [top, models, timeline] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(models_h),
        Constraint::Min(0),
    ])
    .areas(body);
    let [cpu, progress] =
        Layout::horizontal([Constraint::Length(cpu_w), Constraint::Min(0)]).areas(top);
    Areas {
        header: Rect::default(),
        cpu,
        progress,
        models: model_grid(models, grid_rows),
        timeline,
        lesson: Rect::default(),
        explain: Rect::default(),
        keys: Rect::default(),
    }
}

/// The screen's rows: the header, the panels' body, the explanation (`explain_h` rows)
/// and the keys.
fn rows(area: Rect, explain_h: u16) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(explain_h),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The big screen: the CPU and progress panels as tall as their content (a bar per core,
/// a row per worker; at most a quarter of the screen), the model panels as tall as their
/// numbers, and everything else for the timelines of every model on one time axis.
fn large_areas(area: Rect, cores: usize, workers: usize) -> Areas {
    let [header, body, explain, keys] = rows(area, 1);
    let cpu_w = body.width / 2;
    let cpu_need = cpu_rows_wanted(cores, cpu_w).max(2) + 2;
    // The gauge, a row per worker, a row saying how many more.
    let progress_need = 1 + workers.clamp(1, 64) as u16 + 2 + u16::from(workers > 64);
    let top_h = cpu_need
        .max(progress_need)
        .clamp(5, (body.height / 4).max(5));
    // Every model side by side: the big screen is wide enough for all of them.
    let body = body_areas(body, top_h, cpu_w, 7, 1);
    Areas {
        header,
        explain,
        keys,
        ..body
    }
}

/// Lesson mode: the lesson's words come first (`lesson_rows` with its frame), then the
/// model panels and a timeline lane; the CPU and progress panels get what is left, and
/// are left out (empty rectangles) when too little is.
pub fn lesson_areas(area: Rect, cores: usize, workers: usize, lesson_rows: u16) -> Areas {
    let explain_h = if area.width < 160 && area.height >= 30 {
        2
    } else {
        1
    };
    let [header, body, explain, keys] = rows(area, explain_h);
    let mut left = body.height;
    // Lesson first, but never so tall that no model panel or lane is left.
    let lesson_h = lesson_rows.min(left.saturating_sub(8)).max(left.min(4));
    left -= lesson_h;
    let mut models_h = left.min(4);
    left -= models_h;
    let mut timeline_h = left.min(4);
    left -= timeline_h;
    // Then, in turn: a row for the answer, a row per lane, the model panels' last
    // rows, taller lanes.
    let lanes = workers.clamp(1, 64) as u16;
    for (models_to, timeline_to) in [(5, 0), (0, lanes + 3), (7, 0), (0, lanes * 2 + 3)] {
        let more = (models_to as u16).saturating_sub(models_h).min(left);
        models_h += more;
        left -= more;
        let more = timeline_to.saturating_sub(timeline_h).min(left);
        timeline_h += more;
        left -= more;
    }
    let top_need = (cpu_rows_wanted(cores, body.width / 2) + 2).max(5);
    let top_h = if left >= 5 { left.min(top_need) } else { 0 };
    timeline_h += left - top_h;
    let [top, lesson, models, timeline] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(lesson_h),
        Constraint::Length(models_h),
        Constraint::Length(timeline_h),
    ])
    .areas(body);
    let [cpu, progress] =
        Layout::horizontal([Constraint::Length(body.width / 2), Constraint::Min(0)]).areas(top);
    let models = model_grid(models, 1);
    Areas {
        header,
        cpu,
        progress,
        models,
        timeline,
        lesson,
        explain,
        keys,
    }
}

/// [`MODELS`] panels in `rows` rows, left to right, top to bottom; a row with fewer
/// panels (five in two rows: three, then two) shares the whole width among them.
fn model_grid(area: Rect, rows: usize) -> [Rect; MODELS] {
    let rows = rows.clamp(1, MODELS);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(area);
    let mut out = [Rect::default(); MODELS];
    let (base, extra) = (MODELS / rows, MODELS % rows);
    let mut next = 0;
    for (r, row) in row_areas.iter().enumerate() {
        let n = base + usize::from(r < extra);
        let cols = Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(*row);
        for col in cols.iter() {
            out[next] = *col;
            next += 1;
        }
    }
    out
}

/// The model panel at terminal cell (`x`, `y`) of screen `a`, if any.
pub fn model_panel_at(a: &Areas, x: u16, y: u16) -> Option<usize> {
    a.models
        .iter()
        .position(|r| r.contains(ratatui::layout::Position { x, y }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_tile_the_screen_without_overlap() {
        for (w, h, cores) in [(80, 24, 2), (200, 60, 128), (64, 22, 128), (160, 48, 8)] {
            let a = areas(Rect::new(0, 0, w, h), cores, cores);
            let sum = a.header.height
                + a.cpu.height
                + a.models[0].height
                + if w < SIDE_BY_SIDE_WIDTH {
                    a.models[MODELS - 1].height
                } else {
                    0
                }
                + a.timeline.height
                + a.explain.height
                + 1;
            assert_eq!(sum, h, "{w}x{h}");
            // Every model has a panel of its own, none overlapping another.
            for (i, m) in a.models.iter().enumerate() {
                assert!(m.width >= 16 && m.height >= 4, "{w}x{h} panel {i}: {m:?}");
                for n in &a.models[i + 1..] {
                    assert!(!m.intersects(*n), "{w}x{h}: {m:?} and {n:?}");
                }
            }
            assert!(a.timeline.height >= 4, "{w}x{h} timeline {:?}", a.timeline);
            assert_eq!(a.cpu.width + a.progress.width, w);
        }
    }

    #[test]
    fn the_big_screen_sizes_the_top_panels_to_their_content() {
        // 2 cores, 2 workers: two bars and conlab's line; the gauge and two workers.
        let a = areas(Rect::new(0, 0, 200, 60), 2, 2);
        assert_eq!(a.cpu.height, 5, "{a:?}");
        assert_eq!(a.progress.height, 5, "{a:?}");
        assert!(a.timeline.height >= 40, "the timelines get the rest: {a:?}");
        // 128 cores, 128 workers: capped at a quarter of the screen.
        let a = areas(Rect::new(0, 0, 200, 60), 128, 128);
        assert!(a.cpu.height <= 15, "{a:?}");
        assert!(a.timeline.height >= 30, "{a:?}");
        // Below 160x48 the old layout stands.
        let a = areas(Rect::new(0, 0, 159, 60), 2, 2);
        assert!(a.cpu.height > 5, "{a:?}");
    }

    #[test]
    fn clicks_find_model_panels() {
        let area = Rect::new(0, 0, 90, 30);
        let a = areas(area, 2, 2);
        let r = a.models[2];
        assert_eq!(model_panel_at(&a, r.x + 1, r.y + 1), Some(2));
        assert_eq!(model_panel_at(&a, 0, 0), None);
    }

    #[test]
    fn lesson_mode_gives_the_words_room_at_80x24() {
        for (lesson_rows, workers) in [(8, 2), (11, 4), (30, 2)] {
            let a = lesson_areas(Rect::new(0, 0, 80, 24), 2, workers, lesson_rows);
            let sum = a.header.height
                + a.cpu.height
                + a.lesson.height
                + a.models[0].height
                + a.timeline.height
                + a.explain.height
                + a.keys.height;
            assert_eq!(sum, 24, "{a:?}");
            assert!(a.lesson.height >= lesson_rows.min(12), "{a:?}");
            assert!(a.models[0].height >= 4, "{a:?}");
            assert!(
                a.timeline.height >= 4,
                "one lane, with frame and axis: {a:?}"
            );
        }
        // A tall screen keeps the CPU panel.
        let a = lesson_areas(Rect::new(0, 0, 120, 40), 2, 2, 9);
        assert!(a.cpu.height >= 5, "{a:?}");
    }
}
