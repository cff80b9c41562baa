//! The side-by-side elapsed panels, one per model: live elapsed, then the final time,
//! speed-up vs sequential, efficiency, cores busy, the answer, and a bar comparing times.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::theme::Theme;
use crate::app::{App, RunState};
use crate::core::fmt::{bar, fit, secs};
use crate::exec::Model;

pub fn render(app: &App, i: usize, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[i];
    let selected = app.selected() == i;
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
    let tags = p.title_tags();
    if !tags.is_empty() && area.width >= 30 {
        let text = format!(" {} ", tags.join(" · "));
        b = b.title(Line::styled(text, t.dim).right_aligned());
    }
    let inner = b.inner(area);
    let width = inner.width as usize;
    let rows = rows(app, i, width);
    let height = inner.height as usize;
    if height == 0 {
        b.render(area, buf);
        return;
    }
    // The comparison bar sits on the last row; the rows above show what fits, by rank.
    let (mut lines, hidden) = fit_rows(rows, height.saturating_sub(1), width);
    if !hidden.is_empty() {
        b = b.title_bottom(hidden_note(
            &hidden,
            inner.width.saturating_sub(2) as usize,
            t,
        ));
    }
    b.render(area, buf);
    let max = app
        .panels()
        .iter()
        .filter(|q| q.config.is_some())
        .map(|q| q.elapsed_us)
        .max()
        .unwrap_or(0);
    while lines.len() < height.saturating_sub(1) {
        lines.push(Line::raw(""));
    }
    if p.config.is_some() && max > 0 {
        let frac = p.elapsed_us as f64 / max as f64;
        let fastest = app
            .panels()
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

/// A pool's start-up and copying in a panel's width: "start 4.2 ms · copy 14 µs/task";
/// an interpreter's start-up the native runtime does not simulate is said so.
fn crossing_text(c: &crate::core::Crossing) -> String {
    let start = match c.startup_us {
        Some(us) => format!("start {:.1} ms", us as f64 / 1e3),
        None if c.startup_note.is_some() => "start not simulated".to_string(),
        None => "start —".to_string(),
    };
    let copy = match (c.transfer_per_item_us(), c.bytes_per_item()) {
        (_, Some(0.0)) => "no copy".to_string(),
        (Some(us), _) => format!("copy {us:.0} µs/task"),
        (None, _) => "copy —".to_string(),
    };
    format!("{copy} · {start}")
}

/// One row of a panel: what it shows, how much it matters when rows run out (0 first),
/// and what the panel's frame calls it when it is left out (with its figure when that
/// figure is a warning, so a short panel never hides one silently).
struct Row<'a> {
    line: Line<'a>,
    rank: u8,
    hidden_as: Option<Span<'a>>,
    /// Figures the first row can carry instead when this row is left out.
    inline: Vec<Span<'a>>,
}

impl<'a> Row<'a> {
    fn new(line: impl Into<Line<'a>>, rank: u8) -> Self {
        Row {
            line: line.into(),
            rank,
            hidden_as: None,
            inline: Vec::new(),
        }
    }

    fn hidden_as(mut self, s: Span<'a>) -> Self {
        self.hidden_as = Some(s);
        self
    }
}

/// The rows a panel would like, in order, each ranked. Finished: 0 the time, 1 the
/// speed-up, 2 the loop lag (async) or an uneven share of the work (busiest worker 15%
/// over the mean or more), 3 the answer, 4 memory, 5 cores busy, 6 an even share.
fn rows<'a>(app: &'a App, i: usize, width: usize) -> Vec<Row<'a>> {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[i];
    let big = t.title.add_modifier(Modifier::BOLD);
    let mut out: Vec<Row> = Vec::new();
    match &p.state {
        RunState::Idle
            if app
                .lesson()
                .is_some_and(|l| !l.current().models.contains(&p.model)) =>
        {
            let text = if width >= 16 {
                "not in this step"
            } else {
                "not this step"
            };
            out.push(Row::new(Line::styled(text, t.dim), 0));
        }
        RunState::Idle if !app.settings().workload().models().contains(&p.model) => {
            let w = app.settings().workload();
            out.push(Row::new(
                Line::styled(fit("not for this workload", width), t.dim),
                0,
            ));
            out.push(Row::new(
                Line::styled(
                    fit(
                        &format!("{} runs under {}", w.name(), w.model_names()),
                        width,
                    ),
                    t.dim,
                ),
                1,
            ));
        }
        RunState::Idle => {
            out.push(Row::new(Line::styled("—", t.dim), 0));
            out.push(Row::new(
                Line::from(vec![
                    Span::styled("⏎", t.key),
                    Span::styled(
                        if width >= 16 {
                            " run this model"
                        } else {
                            " run"
                        },
                        t.dim,
                    ),
                ]),
                1,
            ));
        }
        RunState::Queued => out.push(Row::new(Line::styled("queued…", t.dim), 0)),
        RunState::Running => {
            out.push(Row::new(
                Line::from(vec![
                    Span::styled(secs(p.elapsed_us), big),
                    Span::styled("  running", t.accent),
                ]),
                0,
            ));
            let done = format!("{:.0}% done", p.progress() * 100.0);
            let mut r = Row::new(Line::styled(done.clone(), t.dim), 2);
            r.inline = vec![Span::styled(format!(" · {done}"), t.accent)];
            out.push(r);
            if let Some(l) = &p.lag {
                out.push(
                    Row::new(loop_line(l.lag_us, l.max_us, Some(l.in_flight), t), 1)
                        .hidden_as(lag_note(l.max_us, t)),
                );
            }
        }
        RunState::Cancelled => {
            out.push(Row::new(
                Line::from(vec![
                    Span::styled(secs(p.elapsed_us), t.dim),
                    Span::styled("  cancelled", t.warn),
                ]),
                0,
            ));
        }
        RunState::Failed(why) => {
            out.push(Row::new(Line::styled("failed", t.bad), 0));
            out.push(Row::new(Line::styled(fit(why, width), t.bad), 1));
        }
        RunState::Finished => finished_rows(app, i, width, &mut out),
    }
    out
}

fn finished_rows<'a>(app: &'a App, i: usize, width: usize, out: &mut Vec<Row<'a>>) {
    let t = &Theme::of(app.theme());
    let p = &app.panels()[i];
    let big = t.title.add_modifier(Modifier::BOLD);
    out.push(Row::new(Line::styled(secs(p.elapsed_us), big), 0));
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
            // Efficiency is per worker and per core: waiting work's speed-up comes from
            // overlapping waits, not cores ("—"), and the loop is one thread.
            let waiting = app.evidence(p.model).is_some_and(|e| e.waiting);
            if width >= 15 + eff.len() && p.model != Model::Async && !waiting {
                v.push(Span::styled(eff, t.text));
            }
            v
        }
        // A scene that cannot run sequential has no baseline to ask for.
        None if !app
            .settings()
            .workload()
            .models()
            .contains(&Model::Sequential) =>
        {
            vec![Span::styled("speed-up — (no sequential baseline)", t.dim)]
        }
        None => vec![Span::styled("speed-up — (run sequential)", t.dim)],
    };
    // A scene's answer is its lesson, and a lesson step without sequential has
    // no baseline: no speed-up row asking for one.
    let no_baseline = app.settings().workload().answer_is_measured()
        || app
            .lesson()
            .is_some_and(|l| !l.current().models.contains(&Model::Sequential));
    if !(no_baseline && app.speedup(i).is_none()) {
        out.push(Row::new(Line::from(speed), 1).hidden_as(Span::styled("speed-up", t.dim)));
    }
    // Other programs held the cores this run wanted: its time is not its own.
    if let Some(e) = app.evidence(p.model)
        && e.disturbance().is_some()
    {
        let i = e.interference;
        let text = match (i.runqueue_s, i.others_cores) {
            (Some(w), _) => format!("⚠ waited {w:.2} s for a CPU"),
            (None, Some(o)) => format!("⚠ others busy {o:.1} cores"),
            _ => "⚠ disturbed".to_string(),
        };
        out.push(
            Row::new(Line::styled(fit(&text, width), t.warn), 1)
                .hidden_as(Span::styled("⚠", t.warn)),
        );
    }
    // The CPU quota held the run back: ready to run, but the quota said no.
    if let Some(th) = app
        .evidence(p.model)
        .and_then(|e| e.interference.throttled_s)
        .filter(|&th| th > 0.0)
    {
        out.push(
            Row::new(
                Line::styled(
                    fit(&format!("⏸ throttled {th:.2} s by the quota"), width),
                    t.warn,
                ),
                1,
            )
            .hidden_as(Span::styled("throttled", t.warn)),
        );
    }
    if let Some(m) = &p.memory {
        out.push(
            Row::new(
                Line::from(vec![
                    Span::styled("peak ", t.dim),
                    Span::styled(format!("{:.1} MB", m.peak_rss_bytes as f64 / 1e6), t.text),
                    Span::styled(format!(" · {} thr", m.peak_threads), t.dim),
                ]),
                4,
            )
            .hidden_as(Span::styled("memory", t.dim)),
        );
    }
    if let Some(c) = &p.crossing {
        out.push(
            Row::new(Line::styled(fit(&crossing_text(c), width), t.dim), 4)
                .hidden_as(Span::styled("copy", t.dim)),
        );
    }
    if let Some(l) = &p.loop_lag {
        out.push(
            Row::new(loop_line(l.p99_lag_us, l.max_lag_us, None, t), 2)
                .hidden_as(lag_note(l.max_lag_us, t)),
        );
    }
    if let Some(a) = &p.answer {
        let mark = match app.answers_agree() {
            Some(true) => Span::styled(" ✓", t.ok.add_modifier(Modifier::BOLD)),
            Some(false) => Span::styled(" ✗", t.bad.add_modifier(Modifier::BOLD)),
            None => Span::raw(""),
        };
        if app.settings().workload().answer_is_measured() {
            // A scene's answer is a measurement: say what it counts.
            out.push(
                Row::new(
                    Line::from(vec![
                        Span::styled(fit(&a.value, width), t.text),
                        Span::styled(
                            fit(
                                &format!(" {}", a.meaning),
                                width.saturating_sub(a.value.chars().count()),
                            ),
                            t.dim,
                        ),
                    ]),
                    1,
                )
                .hidden_as(Span::styled("answer", t.dim)),
            );
        } else {
            let room = width.saturating_sub(9);
            let mut r = Row::new(
                Line::from(vec![
                    Span::styled("answer ", t.dim),
                    Span::styled(fit(&a.value, room), t.text),
                    mark.clone(),
                ]),
                3,
            )
            .hidden_as(Span::styled("answer", t.dim));
            // Left out, the answer rides on the time's row when it fits there.
            r.inline = vec![
                Span::styled("  answer ", t.dim),
                Span::styled(a.value.clone(), t.text),
                mark,
            ];
            out.push(r);
        }
    }
    if let Some(u) = p.utilisation() {
        out.push(
            Row::new(
                Line::from(vec![
                    Span::styled("cores busy ", t.dim),
                    Span::styled(format!("{u:.2}"), t.text),
                ]),
                5,
            )
            .hidden_as(Span::styled("cores busy", t.dim)),
        );
    }
    // Per-worker busy time: how evenly the work was shared (any model).
    if let Some((min, max, ratio)) = p.busy_spread()
        && p.busy_us.iter().filter(|b| **b > 0).count() > 1
    {
        let uneven = ratio >= UNEVEN;
        let style = if uneven { t.warn } else { t.text };
        // The ratio is the figure that matters: the range shortens, then goes, first.
        let (min, max) = (min as f64 / 1e6, max as f64 / 1e6);
        let text = [
            format!("{min:.2}–{max:.2} s · max/mean {ratio:.2}×"),
            format!("{min:.1}–{max:.1} s · max/mean {ratio:.2}×"),
            format!("max/mean {ratio:.2}×"),
        ]
        .into_iter()
        .find(|s| s.chars().count() + 5 <= width)
        .unwrap_or_else(|| fit(&format!("{ratio:.2}×"), width.saturating_sub(5)));
        let row = Row::new(
            Line::from(vec![
                Span::styled("busy ", t.dim),
                Span::styled(text, style),
            ]),
            if uneven { 2 } else { 6 },
        );
        out.push(if uneven {
            row.hidden_as(Span::styled(format!("busy max/mean {ratio:.2}×"), t.warn))
        } else {
            row.hidden_as(Span::styled("balance", t.dim))
        });
    }
}

/// Busiest worker ÷ mean from which the share of work is called uneven (and warned of).
const UNEVEN: f64 = 1.15;

/// The rows that fit in `room`, in their order: first rows that can ride on the first
/// row (the answer beside the time) do so, then the most wanted rows are kept. Returns
/// the lines and what was left out, the most wanted first.
fn fit_rows<'a>(
    mut rows: Vec<Row<'a>>,
    room: usize,
    width: usize,
) -> (Vec<Line<'a>>, Vec<Span<'a>>) {
    let mut k = rows.len();
    while rows.len() > room && k > 1 {
        k -= 1;
        let first: usize = rows[0].line.spans.iter().map(|s| s.width()).sum();
        let extra: usize = rows[k].inline.iter().map(|s| s.width()).sum();
        if extra > 0 && first + extra <= width + 1 {
            let mut r = rows.remove(k);
            // One column short: the gap before the inline text narrows to one space.
            if first + extra > width
                && let Some(s) = r.inline.first_mut()
            {
                let narrowed = s
                    .content
                    .strip_prefix(' ')
                    .unwrap_or(&s.content)
                    .to_string();
                s.content = narrowed.into();
            }
            rows[0].line.spans.extend(r.inline);
        }
    }
    if rows.len() <= room {
        return (rows.into_iter().map(|r| r.line).collect(), Vec::new());
    }
    let mut ranks: Vec<u8> = rows.iter().map(|r| r.rank).collect();
    ranks.sort_unstable();
    // Keep rows ranked below the cut, then rows at the cut while room lasts.
    let cut = ranks.get(room).copied().unwrap_or(u8::MAX);
    let mut at_cut = room - ranks.iter().filter(|r| **r < cut).count();
    let mut lines = Vec::new();
    let mut hidden = Vec::new();
    for r in rows {
        let keep = r.rank < cut || (r.rank == cut && at_cut > 0);
        if keep && r.rank == cut {
            at_cut -= 1;
        }
        if keep {
            lines.push(r.line);
        } else if let Some(h) = r.hidden_as {
            hidden.push((r.rank, h));
        }
    }
    // The frame names the most wanted of them first.
    hidden.sort_by_key(|(rank, _)| *rank);
    (lines, hidden.into_iter().map(|(_, h)| h).collect())
}

/// The bottom border's note of rows left out: " more: memory · cores busy ", as many
/// names as fit in `width` and a count of the rest.
fn hidden_note<'a>(hidden: &[Span<'a>], width: usize, t: &Theme) -> Line<'a> {
    for shown in (0..=hidden.len()).rev() {
        let mut spans = vec![Span::styled(" more: ", t.dim)];
        for (k, h) in hidden[..shown].iter().enumerate() {
            if k > 0 {
                spans.push(Span::styled(" · ", t.dim));
            }
            spans.push(h.clone());
        }
        let rest = hidden.len() - shown;
        if rest > 0 {
            spans.push(Span::styled(
                if shown > 0 {
                    format!(" +{rest} ")
                } else {
                    format!("{rest} rows ")
                },
                t.dim,
            ));
        } else {
            spans.push(Span::styled(" ", t.dim));
        }
        let line = Line::from(spans);
        if line.width() <= width || shown == 0 {
            return line.right_aligned();
        }
        // A warning (else the most wanted row) alone, without "more:", before the note
        // gives way to a bare count.
        if shown == 1 {
            let rest = hidden.len() - 1;
            let first = hidden
                .iter()
                .find(|h| h.style == t.warn)
                .unwrap_or(&hidden[0]);
            let mut spans = vec![Span::styled(" ", t.dim), first.clone()];
            spans.push(Span::styled(
                if rest > 0 {
                    format!(" +{rest} ")
                } else {
                    " ".to_string()
                },
                t.dim,
            ));
            let line = Line::from(spans);
            // It may take the border's two spare columns beside the corners.
            if line.width() <= width + 2 {
                return line.right_aligned();
            }
        }
    }
    Line::default()
}

/// A left-out lag row, as the frame says it: "lag max 349 ms", coloured as the row's.
fn lag_note<'a>(max_us: u64, t: &Theme) -> Span<'a> {
    let (text, style) = lag_max(max_us, t);
    Span::styled(format!("lag max {text}"), style)
}

/// The worst lag, in words and in the colour its size calls for.
fn lag_max(max_us: u64, t: &Theme) -> (String, ratatui::style::Style) {
    let style = if max_us >= 100_000 {
        t.bad
    } else if max_us >= 20_000 {
        t.warn
    } else {
        t.ok
    };
    (lag_ms(max_us), style)
}

/// Milliseconds, one decimal below 10 ms: "2.1 ms", "310 ms".
fn lag_ms(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.0} ms", us as f64 / 1e3)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

/// The async loop's lag: "lag 2.1 ms · max 310 ms · 9,998 in flight" (live), or the
/// run's p99 and max once finished.
fn loop_line<'a>(lag_us: u64, max_us: u64, in_flight: Option<u64>, t: &Theme) -> Line<'a> {
    let (max, style) = lag_max(max_us, t);
    let mut v = vec![
        Span::styled(
            if in_flight.is_some() {
                "lag "
            } else {
                "lag p99 "
            },
            t.dim,
        ),
        Span::styled(lag_ms(lag_us), t.text),
        Span::styled(" max ", t.dim),
        Span::styled(max, style),
    ];
    if let Some(n) = in_flight {
        v.push(Span::styled(format!(" · {n} in flight"), t.dim));
    }
    Line::from(v)
}
