//! Where each panel goes, from the terminal's size alone (shared by drawing and by mouse
//! hit-testing).

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest terminal the dashboard draws in.
pub const MIN_WIDTH: u16 = 64;
pub const MIN_HEIGHT: u16 = 22;

/// Every panel's rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub cpu: Rect,
    pub progress: Rect,
    pub models: [Rect; 4],
    pub timeline: Rect,
    pub explain: Rect,
    pub keys: Rect,
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
    // The explanation may wrap onto a second line on narrower screens.
    let explain_h = if area.width < 160 && area.height >= 24 {
        2
    } else {
        1
    };
    let [header, body, explain, keys] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(explain_h),
        Constraint::Length(1),
    ])
    .areas(area);
    let h = body.height;
    // Four panels side by side where each gets 30 columns; two by two below that.
    let side_by_side = body.width >= 120;
    let panel_h = if h >= 40 {
        8
    } else if side_by_side || h >= 30 {
        7
    } else if h >= 22 {
        5
    } else if h >= 18 {
        4
    } else {
        3
    };
    let models_h = if side_by_side { panel_h } else { panel_h * 2 };
    let top_w = body.width;
    let cpu_w = top_w / 2;
    let rest = h.saturating_sub(models_h);
    // The timeline keeps room for its legend, lanes and axis; the top panels take what
    // their cores and workers need; what is left is shared between them.
    let timeline_min = if area.width >= 120 { 5 } else { 6 };
    let lanes = workers.clamp(1, 64) as u16;
    let top_need = (cpu_rows_wanted(cores, cpu_w) + 2).max(lanes + 3).max(6);
    let timeline_want = (lanes * 4 + 4).max(timeline_min);
    let top_h = if top_need + timeline_want <= rest {
        top_need + (rest - top_need - timeline_want) / 2
    } else {
        top_need.clamp(6, rest.saturating_sub(timeline_min).max(6))
    };
    let [top, models, timeline] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(models_h),
        Constraint::Min(0),
    ])
    .areas(body);
    let [cpu, progress] =
        Layout::horizontal([Constraint::Length(cpu_w), Constraint::Min(0)]).areas(top);
    let models: [Rect; 4] = if side_by_side {
        Layout::horizontal([Constraint::Ratio(1, 4); 4]).areas(models)
    } else {
        let [a, b] = Layout::vertical([Constraint::Ratio(1, 2); 2]).areas(models);
        let [a1, a2] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas(a);
        let [b1, b2] = Layout::horizontal([Constraint::Ratio(1, 2); 2]).areas(b);
        [a1, a2, b1, b2]
    };
    Areas {
        header,
        cpu,
        progress,
        models,
        timeline,
        explain,
        keys,
    }
}

/// The model panel at terminal cell (`x`, `y`), if any.
pub fn model_panel_at(area: Rect, cores: usize, workers: usize, x: u16, y: u16) -> Option<usize> {
    if too_small(area) {
        return None;
    }
    let a = areas(area, cores, workers);
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
                + if w < 120 { a.models[2].height } else { 0 }
                + a.timeline.height
                + a.explain.height
                + 1;
            assert_eq!(sum, h, "{w}x{h}");
            assert!(a.timeline.height >= 4, "{w}x{h} timeline {:?}", a.timeline);
            assert_eq!(a.cpu.width + a.progress.width, w);
        }
    }

    #[test]
    fn clicks_find_model_panels() {
        let area = Rect::new(0, 0, 90, 30);
        let a = areas(area, 2, 2);
        let r = a.models[2];
        assert_eq!(model_panel_at(area, 2, 2, r.x + 1, r.y + 1), Some(2));
        assert_eq!(model_panel_at(area, 2, 2, 0, 0), None);
    }
}
