//! Drawing the watch screen from a [`WatchApp`]: header, per-core CPU, the process tree
//! (CPU and memory of each process), one lane per thread coloured by what the kernel saw
//! it do, and the legend with the keys. Pure: no clock, no I/O.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::app::WatchApp;
use crate::core::fmt::{bar, bytes, fit};
use crate::observe::totals::Longer;
use crate::ui::block;
use crate::ui::kernel_lanes::{self, LaneView};

pub fn draw(frame: &mut Frame, app: &WatchApp) {
    render(app, frame.area(), frame.buffer_mut());
}

pub fn render(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    if area.height < 8 || area.width < 40 {
        Paragraph::new(Line::styled(
            "conlab watch needs at least 40x8",
            app.theme.warn,
        ))
        .render(area, buf);
        return;
    }
    let cpu_rows = cpu_rows(app, area.width);
    let procs = app.totals.processes.len().max(1) as u16;
    let proc_h = (procs + 3).min((area.height / 4).max(4));
    let cpu_h = cpu_rows + 2;
    let header = Rect::new(area.x, area.y, area.width, 1);
    let cpu = Rect::new(area.x, area.y + 1, area.width, cpu_h);
    let tree = Rect::new(area.x, cpu.bottom(), area.width, proc_h);
    let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
    // CPython's GIL sampler, under the lanes: a line, or a row per thread once reported.
    let gil_h = super::gil_panel::height(&app.gil, area.height);
    let gil = Rect::new(area.x, footer.y.saturating_sub(gil_h), area.width, gil_h);
    let lanes_h = gil.y.saturating_sub(tree.bottom());
    let lanes = Rect::new(area.x, tree.bottom(), area.width, lanes_h);
    render_header(app, header, buf);
    render_cpu(app, cpu, buf);
    render_tree(app, tree, buf);
    if lanes.height >= 3 {
        render_lanes(app, lanes, buf);
    }
    super::gil_panel::render(&app.gil, &app.totals, &app.theme, gil, buf);
    render_footer(app, footer, buf);
}

fn render_header(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let status = match app.finished {
        None => Span::styled("running", t.ok),
        Some(None) => Span::styled("exited", t.warn),
        Some(Some(c)) => Span::styled(format!("exited {c}"), t.warn),
    };
    let threads = app
        .totals
        .threads
        .values()
        .filter(|x| x.exited_ns.is_none())
        .count();
    let procs = app
        .totals
        .processes
        .values()
        .filter(|p| p.exited_ns.is_none())
        .count();
    let line = Line::from(vec![
        Span::styled(" conlab watch ", t.title),
        Span::styled(fit(&app.title, (area.width as usize / 3).max(10)), t.accent),
        Span::styled(
            format!(
                "  {:.1} s · {procs} process{} · {threads} thread{} · ",
                app.elapsed_s(),
                if procs == 1 { "" } else { "es" },
                if threads == 1 { "" } else { "s" },
            ),
            t.text,
        ),
        status,
    ]);
    Paragraph::new(line).render(area, buf);
}

/// Bars per row that fit, and the rows the CPU panel needs (at most 4).
fn cpu_layout(app: &WatchApp, width: u16) -> (usize, usize) {
    let n = app.cores.len().max(1);
    let per_row = ((width.saturating_sub(2)) as usize / 28).max(1);
    let rows = n.div_ceil(per_row);
    (per_row, rows)
}

fn cpu_rows(app: &WatchApp, width: u16) -> u16 {
    let (_, rows) = cpu_layout(app, width);
    if rows <= 4 {
        rows as u16
    } else {
        // Compact cells, four characters a core.
        let per_row = ((width.saturating_sub(2)) as usize / 4).max(1);
        app.cores.len().div_ceil(per_row).min(4) as u16
    }
}

fn render_cpu(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let n = app.cores.len();
    let avg = if n == 0 {
        0.0
    } else {
        app.cores.iter().sum::<f32>() / n as f32
    };
    let title = if n == 0 {
        " CPU · measuring… ".to_string()
    } else {
        format!(" CPU · {n} cores · avg {avg:.0}% ")
    };
    let b = block(Line::styled(title, t.title), t, false);
    let inner = b.inner(area);
    b.render(area, buf);
    let (per_row, rows) = cpu_layout(app, area.width);
    let mut lines = Vec::new();
    if rows <= 4 {
        let col_w = inner.width as usize / per_row;
        for r in 0..rows {
            let mut spans = Vec::new();
            for c in 0..per_row {
                let i = r * per_row + c;
                let Some(&pct) = app.cores.get(i) else {
                    break;
                };
                let label = format!("{i:>3} ");
                let num = format!(" {pct:>3.0}% ");
                let w = col_w.saturating_sub(label.len() + num.len()).max(1);
                let (fill, empty) = bar(w, pct as f64 / 100.0);
                spans.push(Span::styled(label, t.dim));
                spans.push(Span::styled(fill, t.load_fg(pct)));
                spans.push(Span::styled(empty, t.bar_empty));
                spans.push(Span::styled(num, t.text));
            }
            lines.push(Line::from(spans));
        }
    } else {
        let per_row = (inner.width as usize / 4).max(1);
        for chunk in app.cores.chunks(per_row).take(inner.height as usize) {
            let spans: Vec<Span> = chunk
                .iter()
                .map(|&p| Span::styled(format!("{:>3} ", p.round() as u32), t.load_cell(p)))
                .collect();
            lines.push(Line::from(spans));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Processes in tree order (parents before children), with their depth.
fn tree_order(app: &WatchApp) -> Vec<(u32, usize)> {
    let procs = &app.totals.processes;
    let mut out = Vec::new();
    let mut todo: Vec<(u32, usize)> = procs
        .values()
        .filter(|p| !procs.contains_key(&p.ppid) || p.pid == app.root)
        .map(|p| (p.pid, 0))
        .collect();
    todo.reverse();
    while let Some((pid, depth)) = todo.pop() {
        out.push((pid, depth));
        let kids: Vec<(u32, usize)> = procs
            .values()
            .filter(|c| c.ppid == pid && c.pid != app.root)
            .map(|c| (c.pid, depth + 1))
            .rev()
            .collect();
        todo.extend(kids);
    }
    out
}

fn render_tree(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let b = block(
        Line::styled(
            " processes · CPU over the last 0.5 s · resident memory ",
            t.title,
        ),
        t,
        false,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let w = inner.width as usize;
    let mut lines = vec![Line::styled(
        fit(
            &format!("{:>8} {:>7} {:>9}  command", "pid", "CPU", "memory"),
            w,
        ),
        t.dim,
    )];
    let order = tree_order(app);
    let room = (inner.height as usize).saturating_sub(1);
    let shown = if order.len() > room {
        room.saturating_sub(1)
    } else {
        room
    };
    for (pid, depth) in order.iter().take(shown) {
        let Some(p) = app.totals.processes.get(pid) else {
            continue;
        };
        let cpu = match (p.exited_ns, app.process_cpu(*pid)) {
            (Some(_), _) => "exited".to_string(),
            (None, Some(c)) => format!("{c:.0}%"),
            (None, None) => "…".to_string(),
        };
        let mem = if p.rss > 0 {
            bytes(p.rss)
        } else {
            "–".into()
        };
        let indent = "  ".repeat(*depth);
        let text = format!("{:>8} {cpu:>7} {mem:>9}  {indent}{}", p.pid, p.cmd);
        let style = if p.exited_ns.is_some() { t.dim } else { t.text };
        lines.push(Line::styled(fit(&text, w), style));
    }
    if order.len() > shown {
        lines.push(Line::styled(
            format!("… and {} more", order.len() - shown),
            t.dim,
        ));
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_lanes(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let per = app.samples_per_column();
    let b = block(
        Line::styled(lanes_title(app, area.width as usize), t.title),
        t,
        false,
    );
    let inner = b.inner(area);
    b.render(area, buf);
    let view = LaneView {
        lanes: &app.lanes,
        totals: &app.totals,
        keep: &|_| true,
        per_column: per,
        end: app.lanes.samples,
        busiest_first: false,
        scroll: app.scroll,
        name_w: 16,
        empty: "waiting for the first sample…",
    };
    kernel_lanes::render(&view, t, inner, buf);
}

/// A rate in Hz as said on screen: whole above 10, one decimal below.
fn fmt_hz(hz: f64) -> String {
    if hz >= 10.0 {
        format!("{hz:.0}")
    } else {
        format!("{hz:.1}")
    }
}

/// The lanes' title: what a column is, how often the kernel was sampled and what that
/// cost — the parts that fit in `width`, the most important first.
fn lanes_title(app: &WatchApp, width: usize) -> String {
    let iv = app.interval_ms();
    let col = app.samples_per_column() * iv;
    let cost = app
        .totals
        .sampler_share()
        .map(|s| format!("sampler {:.1}% of a core", s * 100.0));
    let sampling = match app.totals.why_longer(app.sample_ms) {
        None => format!("sampled every {iv} ms"),
        Some(why) => {
            let hz = 1000.0 / iv.max(1) as f64;
            let budget = match app.budget {
                Some(b) => format!(
                    "sampling at {} Hz to stay within {}% of a core",
                    fmt_hz(hz),
                    fmt_pct(b * 100.0)
                ),
                None => "stretched".into(),
            };
            let why = match why {
                Longer::Budget => budget,
                Longer::Busy => "the sampler waited for a core".into(),
                Longer::Both => format!("{budget}, and waited for a core"),
                Longer::Unknown => "stretched".into(),
            };
            format!("sampled every {iv} ms, not {}: {why}", app.sample_ms)
        }
    };
    let parts: Vec<Option<String>> = vec![
        Some("threads · the kernel's view".into()),
        Some(format!("one column = {col} ms")),
        Some(sampling),
        cost,
        Some("now at the right".into()),
    ];
    let mut title = String::new();
    for p in parts.into_iter().flatten() {
        let next = if title.is_empty() {
            p
        } else {
            format!("{title} · {p}")
        };
        if next.chars().count() + 4 > width && !title.is_empty() {
            continue;
        }
        title = next;
    }
    format!(" {title} ")
}

/// A percentage without needless decimals (1, 0.5).
fn fmt_pct(p: f64) -> String {
    let s = format!("{p:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn render_footer(app: &WatchApp, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    if let Some(note) = &app.note {
        Paragraph::new(Line::styled(format!(" {note}"), t.accent)).render(area, buf);
        return;
    }
    let quota = app.totals.quota;
    let mut spans = if quota {
        // The keys after it need about 45 columns.
        kernel_lanes::fit_legend(t, true, area.width as usize, 45)
    } else {
        kernel_lanes::legend(t, false)
    };
    spans.push(Span::styled("   s", t.key));
    spans.push(Span::styled(" screenshot ", t.dim));
    spans.push(Span::styled("q", t.key));
    spans.push(Span::styled(" quit ", t.dim));
    spans.push(Span::styled("+/-", t.key));
    spans.push(Span::styled(" zoom ", t.dim));
    spans.push(Span::styled("↑↓", t.key));
    spans.push(Span::styled(" scroll", t.dim));
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{KernelSample, Split, ThreadInterval, TreeEvent};
    use crate::watch::app::WatchMsg;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// Two threads taking turns every sample, fixed numbers (no timing).
    fn alternating() -> WatchApp {
        let mut a = WatchApp::new(
            crate::ui::theme::Theme::new(crate::ui::theme::ThemeName::Dark, false),
            "python3 two_threads.py".into(),
            100,
            5,
        );
        a.update(WatchMsg::Cpu(crate::observe::monitor::CpuSample {
            cores: vec![97.0, 12.0],
            ..Default::default()
        }));
        let mut events = vec![TreeEvent::ProcessBorn {
            pid: 100,
            ppid: 1,
            cmd: "python3 two_threads.py".into(),
        }];
        for tid in [100, 101, 102] {
            events.push(TreeEvent::ThreadBorn {
                pid: 100,
                tid,
                name: "python3".into(),
            });
        }
        events.push(TreeEvent::Memory {
            pid: 100,
            rss: 9 << 20,
        });
        for i in 0..40u64 {
            let (a_on, b_on) = if (i / 3) % 2 == 0 { (5, 0) } else { (0, 5) };
            let th = |tid, on: u64| ThreadInterval {
                pid: 100,
                tid,
                split: Split {
                    on_cpu: on * 1_000_000,
                    lock: (5 - on) * 1_000_000,
                    span: 5_000_000,
                    ..Split::default()
                },
            };
            a.update(WatchMsg::Kernel(KernelSample {
                planned_step: 0,
                throttled_ns: None,
                cost_ns: 0,
                at_ns: (i + 1) * 5_000_000,
                interval_ns: 5_000_000,
                threads: vec![th(100, 0), th(101, a_on), th(102, b_on)],
                events: if i == 0 {
                    std::mem::take(&mut events)
                } else {
                    vec![]
                },
            }));
        }
        a
    }

    fn screen(a: &WatchApp, w: u16, h: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        term.draw(|f| draw(f, a)).expect("draw");
        let buf = term.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn lanes_show_threads_taking_turns() {
        let s = screen(&alternating(), 100, 24);
        let lane = |tid: &str| {
            s.lines()
                .find(|l| l.contains(&format!("python3 {tid}")))
                .unwrap_or_else(|| panic!("lane {tid} in\n{s}"))
                .to_string()
        };
        let (a, b) = (lane("101"), lane("102"));
        // Runs of three samples on a CPU, then three blocked, out of phase.
        assert!(a.contains("███░░░███"), "{a}");
        assert!(b.contains("░░░███░░░"), "{b}");
        // 21 of 40 samples on a CPU.
        assert!(a.contains("cpu  52% lock  48%"), "{a}");
        assert!(s.contains("97%"), "per-core CPU shown:\n{s}");
        assert!(s.contains("9.4 MB"), "{s}");
        assert!(s.contains("0.2 s"), "elapsed from the last sample:\n{s}");
    }

    #[test]
    fn tiny_terminals_get_a_message_not_a_panic() {
        let s = screen(&alternating(), 30, 6);
        assert!(s.contains("needs at least"));
        for (w, h) in [(40, 8), (80, 24), (200, 60)] {
            let _ = screen(&alternating(), w, h);
        }
    }

    #[test]
    fn the_lanes_say_how_often_and_at_what_cost_the_kernel_was_sampled() {
        let mut a = alternating();
        let title = lanes_title(&a, 200);
        assert!(title.contains("one column = 5 ms"), "{title}");
        assert!(title.contains("sampled every 5 ms"), "{title}");
        assert!(
            !title.contains("sampler"),
            "no cost measured in the fixture: {title}"
        );
        // A sampler that stretched to 40 ms to keep to 1% of a core says so.
        a.budget = Some(0.01);
        let at = a.totals.at_ns;
        for i in 1..=10u64 {
            a.update(WatchMsg::Kernel(KernelSample {
                at_ns: at + i * 40_000_000,
                interval_ns: 40_000_000,
                cost_ns: 400_000,
                planned_step: 8,
                ..KernelSample::default()
            }));
        }
        let title = lanes_title(&a, 200);
        assert!(title.contains("one column = 40 ms"), "{title}");
        assert!(
            title.contains(
                "sampled every 40 ms, not 5: sampling at 25 Hz to stay within 1% of a core"
            ),
            "{title}"
        );
        assert!(title.contains("sampler "), "{title}");
        // Planned 5 ms but came every 40: the machine kept the sampler waiting, not the
        // budget.
        let at = a.totals.at_ns;
        a.update(WatchMsg::Kernel(KernelSample {
            at_ns: at + 40_000_000,
            interval_ns: 40_000_000,
            planned_step: 1,
            ..KernelSample::default()
        }));
        let busy = lanes_title(&a, 200);
        assert!(
            busy.contains("sampled every 40 ms, not 5: the sampler waited for a core"),
            "{busy}"
        );
        // Narrow: what a column is comes first; nothing is cut mid-word.
        let narrow = lanes_title(&a, 60);
        assert!(narrow.contains("one column = 40 ms"), "{narrow}");
        assert!(narrow.chars().count() <= 60, "{narrow}");
    }
}
