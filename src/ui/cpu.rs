//! The CPU panel: one bar (with a short history) per logical core when they fit, else a
//! compact grid of cells coloured by load with the number in them; then conlab's own
//! process tree (itself and its worker processes).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{block, theme::Theme};
use crate::app::App;
use crate::core::fmt::{bar, bytes, spark};

/// Narrowest column of per-core bars.
const MIN_BAR_COLUMN: usize = 24;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let c = &app.cpu();
    let n = c.cores();
    let digits = n > 0 && (1..=2).contains(&grid_cell_width(n, area));
    let limited = c.given.as_ref().filter(|g| g.limited());
    let title = if n == 0 {
        " CPU ".to_string()
    } else if let Some(g) = limited {
        let full = format!(" CPU · {} · avg {:.0}% ", g.describe(), c.average());
        let short = full.replace(" seen", "");
        let shortest = match g.cpu_quota {
            Some(q) => format!(
                " CPU ×{n} · quota {} · avg {:.0}% ",
                crate::core::cpus_text(q),
                c.average()
            ),
            None => short.clone(),
        };
        [full, short, shortest]
            .into_iter()
            .find(|s| s.chars().count() + 2 <= area.width as usize)
            .unwrap_or_else(|| format!(" CPU ×{n} "))
    } else if digits {
        format!(" CPU ×{n} · avg {:.0}% · cell = tens of % ", c.average())
    } else {
        format!(
            " CPU · {n} core{} · avg {:.0}% ",
            if n == 1 { "" } else { "s" },
            c.average()
        )
    };
    let b = block(Line::styled(title, t.title), t, false);
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    // Under a quota, a row for the total with the quota marked across it.
    let quota = limited
        .and_then(|g| g.cpu_quota)
        .filter(|_| n > 0 && inner.height >= 3);
    let rows = inner.height.saturating_sub(1 + u16::from(quota.is_some())) as usize;
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if n == 0 {
        lines.push(Line::styled("measuring…", t.dim));
    } else if rows >= 2 * n && inner.width >= 40 {
        render_tall(
            app,
            Rect::new(inner.x, inner.y, inner.width, rows as u16),
            buf,
        );
        lines = vec![Line::raw(""); rows];
    } else if rows > 0 {
        let columns = n.div_ceil(rows);
        let col_w = width / columns;
        if col_w >= MIN_BAR_COLUMN {
            lines = bar_lines(app, rows, columns, col_w);
        } else {
            lines = grid_lines(app, rows, width);
        }
    }
    lines.truncate(rows);
    while lines.len() < rows {
        lines.push(Line::raw(""));
    }
    if let Some(q) = quota {
        lines.push(quota_line(app, q, width));
    }
    lines.push(tree_line(app, width));
    Paragraph::new(lines).render(inner, buf);
}

/// Few cores, much room: per core a bar and a history chart several rows tall.
fn render_tall(app: &App, area: Rect, buf: &mut Buffer) {
    use ratatui::widgets::{RenderDirection, Sparkline};
    let t = &Theme::of(app.theme());
    let c = &app.cpu();
    let n = c.cores() as u16;
    let k = (area.height / n).min(10);
    let lw = (n.saturating_sub(1)).to_string().len() as u16;
    let bw = (area.width / 3).min(30);
    for i in 0..n {
        let y = area.y + i * k;
        let pct = c.last.cores[i as usize];
        let (fill, empty) = bar(bw as usize, pct as f64 / 100.0);
        let line = Line::from(vec![
            Span::styled(format!("{i:>w$} ", w = lw as usize), t.dim),
            Span::styled(fill, t.load_fg(pct)),
            Span::styled(empty, t.bar_empty),
            Span::styled(format!("{:>4.0}%", pct), t.text),
        ]);
        let mid = y + (k.saturating_sub(1)) / 2;
        Paragraph::new(line).render(Rect::new(area.x, mid, area.width, 1), buf);
        let x = area.x + lw + 1 + bw + 6;
        let w = area.width.saturating_sub(lw + bw + 7);
        let data: Vec<u64> = c.history[i as usize]
            .iter()
            .rev()
            .take(w as usize)
            .map(|&v| u64::from(v))
            .collect();
        let h = k.saturating_sub(u16::from(k > 2));
        Sparkline::default()
            .data(&data)
            .max(100)
            .direction(RenderDirection::RightToLeft)
            .style(t.load_fg(pct))
            .render(Rect::new(x, y, w, h), buf);
    }
}

fn bar_lines<'a>(app: &'a App, rows: usize, columns: usize, col_w: usize) -> Vec<Line<'a>> {
    let t = &Theme::of(app.theme());
    let c = &app.cpu();
    let n = c.cores();
    let lw = (n.saturating_sub(1)).to_string().len();
    let rem = col_w.saturating_sub(lw + 1 + 5 + 1);
    let (bw, sw) = if rem >= 16 {
        (rem / 2, rem - rem / 2 - 1)
    } else {
        (rem, 0)
    };
    let mut lines = Vec::new();
    for r in 0..rows.min(n) {
        let mut spans = Vec::new();
        for col in 0..columns {
            let i = col * rows + r;
            if i >= n {
                break;
            }
            let pct = c.last.cores[i];
            let (fill, empty) = bar(bw, pct as f64 / 100.0);
            spans.push(Span::styled(format!("{i:>lw$} "), t.dim));
            spans.push(Span::styled(fill, t.load_fg(pct)));
            spans.push(Span::styled(empty, t.bar_empty));
            spans.push(Span::styled(format!("{:>4.0}%", pct), t.text));
            if sw > 0 {
                let h = &c.history[i];
                spans.push(Span::raw(" "));
                spans.push(Span::styled(spark(h.iter().copied(), sw), t.load_fg(pct)));
            }
            spans.push(Span::raw(" "));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The grid's cell width for `n` cores in a panel of `area` (0 when bars are used).
fn grid_cell_width(n: usize, area: Rect) -> usize {
    let rows = area.height.saturating_sub(3) as usize;
    let width = area.width.saturating_sub(2) as usize;
    if rows == 0 || (rows >= 2 * n && width >= 40) || width / n.div_ceil(rows) >= MIN_BAR_COLUMN {
        return 0;
    }
    choose_cell(n, rows, width)
}

/// Widest cells that fit `n` cores in `rows` × `width`, keeping a row for the legend
/// when possible.
fn choose_cell(n: usize, rows: usize, width: usize) -> usize {
    [4usize, 3, 2, 1]
        .into_iter()
        .find(|&cw| n.div_ceil((width / cw).max(1)) < rows.max(2))
        .or_else(|| {
            [4usize, 3, 2, 1]
                .into_iter()
                .find(|&cw| n.div_ceil((width / cw).max(1)) <= rows)
        })
        .unwrap_or(1)
}

/// Cell width and the text for one core at that width.
fn cell_text(pct: f32, cw: usize) -> String {
    let p = pct.round().clamp(0.0, 100.0) as u32;
    match cw {
        4.. => format!("{p:>3}"),
        3 => format!("{:>2}", p.min(99)),
        _ => {
            if p >= 100 {
                "*".to_string()
            } else {
                (p / 10).to_string()
            }
        }
    }
}

fn grid_lines<'a>(app: &'a App, rows: usize, width: usize) -> Vec<Line<'a>> {
    let t: &Theme = &Theme::of(app.theme());
    let cores = &app.cpu().last.cores;
    let n = cores.len();
    let cw = choose_cell(n, rows, width);
    // Room to spare: each cell gets a small bar after its number.
    let mini = if cw == 4 {
        (3..=10)
            .rev()
            .find(|b| n.div_ceil((width / (5 + b)).max(1)) < rows.max(2))
    } else {
        None
    };
    if let Some(b) = mini {
        let per_row = (width / (5 + b)).max(1);
        let mut lines: Vec<Line> = cores
            .chunks(per_row)
            .map(|chunk| {
                let mut spans = Vec::new();
                for &pct in chunk {
                    let (fill, empty) = bar(b, f64::from(pct) / 100.0);
                    spans.push(Span::styled(format!("{:>3.0} ", pct), t.text));
                    spans.push(Span::styled(fill, t.load_fg(pct)));
                    spans.push(Span::styled(empty, t.bar_empty));
                    spans.push(Span::raw(" "));
                }
                Line::from(spans)
            })
            .collect();
        lines.push(Line::styled("% busy per core", t.dim));
        return lines;
    }
    let per_row = (width / cw).max(1);
    let mut lines = Vec::new();
    for chunk in cores.chunks(per_row).take(rows) {
        let mut spans = Vec::new();
        for &pct in chunk {
            spans.push(Span::styled(cell_text(pct, cw), t.load_cell(pct)));
            if cw >= 2 {
                spans.push(Span::raw(" "));
            }
        }
        lines.push(Line::from(spans));
    }
    let shown = (rows * per_row).min(n);
    if lines.len() < rows {
        let legend = match cw {
            4 => "% busy per core".to_string(),
            3 => "% busy per core (99 = 99–100)".to_string(),
            _ => "tens of % busy per core (* = 100)".to_string(),
        };
        lines.push(Line::styled(legend, t.dim));
    } else if shown < n {
        lines.push(Line::styled(
            format!("+{} cores not shown", n - shown),
            t.dim,
        ));
    }
    lines
}

/// The CPU panel in one line, for screens with no room for the panel (lesson mode at
/// 80x24): each core's bar and number while they fit, else one cell per core; then
/// conlab's own CPU.
pub fn strip(app: &App, width: usize) -> Line<'static> {
    let t = &Theme::of(app.theme());
    let c = &app.cpu();
    let n = c.cores();
    let mut spans = vec![Span::styled(" CPU ", t.title)];
    if n == 0 {
        spans.push(Span::styled("measuring…", t.dim));
        return Line::from(spans);
    }
    let tail = format!(
        " · avg {:.0}%{} · conlab {:.0}%",
        c.average(),
        c.given
            .as_ref()
            .and_then(|g| g.cpu_quota)
            .map_or(String::new(), |q| format!(
                " · quota {} CPU",
                crate::core::cpus_text(q)
            )),
        c.last.tree_cpu
    );
    let room = width.saturating_sub(5 + tail.chars().count());
    if n * 12 <= room {
        for (i, &pct) in c.last.cores.iter().enumerate() {
            let (fill, empty) = bar(5, pct as f64 / 100.0);
            spans.push(Span::styled(format!("{i} "), t.dim));
            spans.push(Span::styled(fill, t.load_fg(pct)));
            spans.push(Span::styled(empty, t.bar_empty));
            spans.push(Span::styled(format!("{:>3.0}% ", pct), t.text));
        }
    } else {
        const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let shown = n.min(room.saturating_sub(1));
        for &pct in c.last.cores.iter().take(shown) {
            let l = LEVELS[((pct.clamp(0.0, 100.0) as usize * 8) + 50) / 100];
            spans.push(Span::styled(l.to_string(), t.load_fg(pct)));
        }
        if shown < n {
            spans.push(Span::styled("…", t.dim));
        }
    }
    spans.push(Span::styled(tail, t.accent));
    Line::from(spans)
}

/// The whole machine's load as one bar (100% = every core seen busy) with the quota
/// marked across it: `total ████▌···│······ 40% │ quota 0.5 CPU = 25%`.
fn quota_line(app: &App, quota: f64, width: usize) -> Line<'static> {
    let t = &Theme::of(app.theme());
    let c = app.cpu();
    let n = c.cores().max(1) as f64;
    let at = (quota / n).clamp(0.0, 1.0);
    let avg = f64::from(c.average()) / 100.0;
    let tail = format!(
        " {:>3.0}% │ quota {} CPU = {:.0}%",
        avg * 100.0,
        crate::core::cpus_text(quota),
        at * 100.0
    );
    let bw = width.saturating_sub(6 + tail.chars().count()).min(40);
    let mut spans = vec![Span::styled("total ", t.dim)];
    if bw >= 4 {
        let (fill, empty) = bar(bw, avg);
        let cells: Vec<(char, bool)> = fill
            .chars()
            .map(|ch| (ch, true))
            .chain(empty.chars().map(|ch| (ch, false)))
            .collect();
        let mark = ((at * bw as f64).round() as usize).min(bw.saturating_sub(1));
        for (k, (ch, filled)) in cells.into_iter().enumerate() {
            if k == mark {
                spans.push(Span::styled("│", t.warn));
            } else if filled {
                spans.push(Span::styled(ch.to_string(), t.load_fg(c.average())));
            } else {
                spans.push(Span::styled(ch.to_string(), t.bar_empty));
            }
        }
    }
    spans.push(Span::styled(
        crate::core::fmt::fit(&tail, width.saturating_sub(6 + bw)),
        t.warn,
    ));
    Line::from(spans)
}

fn tree_line<'a>(app: &'a App, width: usize) -> Line<'a> {
    let t = &Theme::of(app.theme());
    let s = &app.cpu().last;
    if app.cpu().cores() == 0 {
        return Line::raw("");
    }
    let text = format!(
        "conlab {:.0}% CPU · {} · {} proc{}",
        s.tree_cpu,
        bytes(s.tree_mem),
        s.tree_procs,
        if s.tree_procs == 1 { "" } else { "s" }
    );
    // Narrow: the short form, and never cut without saying so.
    let text = if text.chars().count() <= width {
        text
    } else {
        crate::core::fmt::fit(
            &format!("conlab {:.0}% · {}", s.tree_cpu, bytes(s.tree_mem)),
            width,
        )
    };
    let room = width.saturating_sub(text.chars().count() + 1);
    let mut spans = vec![Span::styled(text, t.accent)];
    if room >= 6 {
        let max = (app.cpu().cores() as u16 * 100).max(100);
        let hist = app
            .cpu()
            .tree_history
            .iter()
            .map(|&v| ((v.min(max) as u32 * 100) / max as u32) as u8)
            .collect::<Vec<_>>();
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            spark(hist.into_iter(), room.min(32)),
            t.accent,
        ));
    }
    Line::from(spans)
}
