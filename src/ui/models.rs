//! The side-by-side elapsed panels, one per model: live elapsed, then the final time,
//! speed-up vs sequential, efficiency, cores busy, the answer, and a bar comparing times.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::fmt::{bar, fit, secs};
use crate::app::{App, RunState};
use crate::exec::Model;

pub fn render(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let p = &app.panels[i];
    let selected = app.selected == i;
    let name = if selected {
        format!(" ▸ {} ", p.model)
    } else {
        format!(" {} ", p.model)
    };
    let mut b = block(
        Line::styled(name, if selected { t.border_selected } else { t.title }),
        t,
        selected,
    );
    if let Some(c) = &p.config
        && area.width >= 30
    {
        let gil = if p.model == Model::Threads {
            if c.gil { " · GIL on" } else { " · GIL off" }
        } else {
            ""
        };
        let w = match p.model {
            Model::Sequential => String::new(),
            // One thread runs the loop (workers serve only --offload).
            Model::Async => "1 loop".to_string(),
            _ => format!("{}w", c.workers),
        };
        let text = format!(" {w}{gil} ");
        if !text.trim().is_empty() {
            b = b.title(Line::styled(text, t.dim).right_aligned());
        }
    }
    let inner = b.inner(area);
    b.render(area, buf);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    // A finished panel's rows by what a short panel (four models two by two at 80x24)
    // keeps first: 0 the time, 1 the answer, 2 the speed-up, 3 the loop lag, 4 memory,
    // 5 cores busy. The rows keep their order; the least wanted go when rows run out.
    let mut keep: Vec<u8> = Vec::new();
    let big = t.title.add_modifier(Modifier::BOLD);
    match &p.state {
        RunState::Idle
            if app
                .lesson
                .as_ref()
                .is_some_and(|l| !l.current().models.contains(&p.model)) =>
        {
            lines.push(Line::styled("not in this step", t.dim));
        }
        RunState::Idle => {
            lines.push(Line::styled("—", t.dim));
            lines.push(Line::from(vec![
                Span::styled("⏎", t.key),
                Span::styled(" run this model", t.dim),
            ]));
        }
        RunState::Queued => lines.push(Line::styled("queued…", t.dim)),
        RunState::Running => {
            lines.push(Line::from(vec![
                Span::styled(secs(p.elapsed_us), big),
                Span::styled("  running", t.accent),
            ]));
            lines.push(Line::styled(
                format!("{:.0}% done", p.progress() * 100.0),
                t.dim,
            ));
            if let Some(l) = &p.lag {
                lines.push(loop_line(l.lag_us, l.max_us, Some(l.in_flight), t));
            }
        }
        RunState::Cancelled => {
            lines.push(Line::from(vec![
                Span::styled(secs(p.elapsed_us), t.dim),
                Span::styled("  cancelled", t.warn),
            ]));
        }
        RunState::Failed(why) => {
            lines.push(Line::styled("failed", t.bad));
            lines.push(Line::styled(fit(why, width), t.bad));
        }
        RunState::Finished => {
            lines.push(Line::styled(secs(p.elapsed_us), big));
            keep.push(0);
            let speed = match app.speedup(i) {
                Some(s) if p.model == Model::Sequential => {
                    let long = format!("speed-up {s:.2}× baseline");
                    let text = if long.chars().count() <= width {
                        long
                    } else {
                        fit(&format!("{s:.2}× (baseline)"), width)
                    };
                    vec![Span::styled(text, t.text)]
                }
                Some(s) => {
                    let w = p.config.as_ref().map_or(1, |c| c.workers.max(1));
                    let style = if s >= 1.3 {
                        t.ok
                    } else if s < 0.95 {
                        t.bad
                    } else {
                        t.warn
                    };
                    let mut v = vec![
                        Span::styled("speed-up ", t.dim),
                        Span::styled(format!("{s:.2}×"), style.add_modifier(Modifier::BOLD)),
                    ];
                    let eff = format!("  eff {:.0}%", s / w as f64 * 100.0);
                    // Efficiency is per worker; the loop is one thread and its
                    // speed-up on waits is not a matter of workers.
                    if width >= 15 + eff.len() && p.model != Model::Async {
                        v.push(Span::styled(eff, t.text));
                    }
                    v
                }
                None => vec![Span::styled("speed-up — (run sequential)", t.dim)],
            };
            // A scene's answer is its lesson, and a lesson step without sequential has
            // no baseline: no speed-up row asking for one.
            let no_baseline = app.settings.workload().answer_is_measured()
                || app
                    .lesson
                    .as_ref()
                    .is_some_and(|l| !l.current().models.contains(&Model::Sequential));
            if !(no_baseline && app.speedup(i).is_none()) {
                lines.push(Line::from(speed));
                keep.push(2);
            }
            if let Some(m) = &p.memory {
                lines.push(Line::from(vec![
                    Span::styled("peak ", t.dim),
                    Span::styled(format!("{:.1} MB", m.peak_rss_bytes as f64 / 1e6), t.text),
                    Span::styled(format!(" · {} thr", m.peak_threads), t.dim),
                ]));
                keep.push(4);
            }
            if let Some(l) = &p.loop_lag {
                lines.push(loop_line(l.p99_lag_us, l.max_lag_us, None, t));
                keep.push(3);
            }
            if let Some(a) = &p.answer {
                let mark = match app.answers_agree() {
                    Some(true) => Span::styled(" ✓", t.ok.add_modifier(Modifier::BOLD)),
                    Some(false) => Span::styled(" ✗", t.bad.add_modifier(Modifier::BOLD)),
                    None => Span::raw(""),
                };
                if app.settings.workload().answer_is_measured() {
                    // A scene's answer is a measurement: say what it counts.
                    lines.push(Line::from(vec![
                        Span::styled(fit(&a.value, width), t.text),
                        Span::styled(
                            fit(
                                &format!(" {}", a.meaning),
                                width.saturating_sub(a.value.chars().count()),
                            ),
                            t.dim,
                        ),
                    ]));
                } else {
                    let room = width.saturating_sub(9);
                    lines.push(Line::from(vec![
                        Span::styled("answer ", t.dim),
                        Span::styled(fit(&a.value, room), t.text),
                        mark,
                    ]));
                }
                keep.push(1);
            }
            if let Some(u) = p.utilisation() {
                lines.push(Line::from(vec![
                    Span::styled("cores busy ", t.dim),
                    Span::styled(format!("{u:.2}"), t.text),
                ]));
                keep.push(5);
            }
            // Per-worker busy time: how evenly the work was shared (any model).
            if let Some((min, max, ratio)) = p.busy_spread()
                && p.busy_us.iter().filter(|b| **b > 0).count() > 1
            {
                let style = if ratio >= 1.15 { t.warn } else { t.text };
                lines.push(Line::from(vec![
                    Span::styled("busy ", t.dim),
                    Span::styled(
                        fit(
                            &format!(
                                "{:.2}–{:.2} s · max/mean {ratio:.2}×",
                                min as f64 / 1e6,
                                max as f64 / 1e6
                            ),
                            width.saturating_sub(5),
                        ),
                        style,
                    ),
                ]));
            }
        }
    }
    let rows = inner.height as usize;
    if rows == 0 {
        return;
    }
    // The comparison bar sits on the last row.
    let max = app
        .panels
        .iter()
        .filter(|q| q.config.is_some())
        .map(|q| q.elapsed_us)
        .max()
        .unwrap_or(0);
    let room = rows.saturating_sub(1);
    if keep.len() == lines.len() && lines.len() > room {
        let mut ranks = keep.clone();
        ranks.sort_unstable();
        let cut = ranks.get(room).copied().unwrap_or(u8::MAX);
        let mut kept = 0;
        lines = lines
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| {
                let ok = *k < cut && kept < room;
                kept += usize::from(ok);
                ok
            })
            .map(|(l, _)| l)
            .collect();
    }
    lines.truncate(room);
    while lines.len() < rows.saturating_sub(1) {
        lines.push(Line::raw(""));
    }
    if p.config.is_some() && max > 0 {
        let frac = p.elapsed_us as f64 / max as f64;
        let fastest = app
            .panels
            .iter()
            .filter(|q| q.is_finished())
            .map(|q| q.elapsed_us)
            .min();
        let style = if p.is_finished() && fastest == Some(p.elapsed_us) {
            t.ok
        } else {
            t.bar
        };
        let (fill, empty) = bar(width, frac);
        lines.push(Line::from(vec![
            Span::styled(fill, style),
            Span::styled(empty, t.bar_empty),
        ]));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// The async loop's lag: "lag 2.1 ms · max 310 ms · 9,998 in flight" (live), or the
/// run's p99 and max once finished.
fn loop_line<'a>(
    lag_us: u64,
    max_us: u64,
    in_flight: Option<u64>,
    t: &super::theme::Theme,
) -> Line<'a> {
    let ms = |us: u64| {
        if us >= 10_000 {
            format!("{:.0} ms", us as f64 / 1e3)
        } else {
            format!("{:.1} ms", us as f64 / 1e3)
        }
    };
    let style = if max_us >= 100_000 {
        t.bad
    } else if max_us >= 20_000 {
        t.warn
    } else {
        t.ok
    };
    let mut v = vec![
        Span::styled(
            if in_flight.is_some() {
                "lag "
            } else {
                "lag p99 "
            },
            t.dim,
        ),
        Span::styled(ms(lag_us), t.text),
        Span::styled(" max ", t.dim),
        Span::styled(ms(max_us), style),
    ];
    if let Some(n) = in_flight {
        v.push(Span::styled(format!(" · {n} in flight"), t.dim));
    }
    Line::from(v)
}
