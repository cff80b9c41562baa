//! CPython's GIL sampler on the watch screen and in its summary: while the program runs,
//! one line saying the sampler is on and that its figures come at the end; once the
//! program ended, one row per thread of the program — GIL held, waiting, released and its
//! turns, as CPython's sampler saw it — beside what the kernel saw the same thread (by its
//! native id, the lane's tid) do. Pure: no clock, no I/O.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::gil::{GilReport, GilSampler, shares_text};
use crate::core::fmt::fit;
use crate::observe::TreeTotals;
use crate::runtime::gecko::ThreadGil;
use crate::ui::theme::Theme;

/// What the watch screen shows about CPython's GIL sampler.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum GilView {
    /// Not a Python watch knows: nothing.
    #[default]
    None,
    /// One line: why the sampler is not used (an older Python, `--no-gil-sampler`, …).
    Note(String),
    /// On; its profile arrives when the program ends.
    Waiting {
        python: String,
    },
    Reported(Box<GilReport>),
}

impl GilView {
    pub fn of(sampler: Option<&GilSampler>, note: Option<&str>) -> GilView {
        match (sampler, note) {
            (Some(s), _) => GilView::Waiting {
                python: s.python.clone(),
            },
            (None, Some(n)) => GilView::Note(n.to_string()),
            (None, None) => GilView::None,
        }
    }
}

/// The rows it takes in an `area_h`-row screen.
pub fn height(v: &GilView, area_h: u16) -> u16 {
    match v {
        GilView::None => 0,
        GilView::Note(_) | GilView::Waiting { .. } => 1,
        GilView::Reported(r) => match &r.threads {
            Ok(t) if !t.is_empty() => (t.len() as u16 + 2).min((area_h / 4).max(3)),
            _ => 1,
        },
    }
}

/// Width of the thread-name column (the watch lanes' own).
const NAME_W: usize = 16;

pub fn render(v: &GilView, totals: &TreeTotals, t: &Theme, area: Rect, buf: &mut Buffer) {
    let w = area.width as usize;
    let line = |s: String, style| Paragraph::new(Line::styled(fit(&s, w), style));
    match v {
        GilView::None => {}
        GilView::Note(n) => line(format!(" {n}"), t.dim).render(area, buf),
        GilView::Waiting { python } => line(
            format!(
                " CPython's GIL sampler: on · reported when the program ends · it costs CPU \
                 (python -m profiling.sampling, {python})"
            ),
            t.accent,
        )
        .render(area, buf),
        GilView::Reported(r) => match &r.threads {
            Err(e) => {
                line(format!(" CPython's GIL sampler: no profile: {e}"), t.warn).render(area, buf)
            }
            Ok(threads) if threads.is_empty() => line(
                " CPython's GIL sampler: the profile holds no thread".into(),
                t.warn,
            )
            .render(area, buf),
            Ok(threads) => render_rows(r, threads, totals, t, area, buf),
        },
    }
}

fn render_rows(
    r: &GilReport,
    threads: &[ThreadGil],
    totals: &TreeTotals,
    t: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut title = format!(" CPython's GIL per thread · {} · its sampler", r.python);
    if let Some(s) = &r.samples {
        title.push_str(&format!(": {s}"));
    }
    if let Some(cpu) = sampler_cpu_s(totals) {
        title.push_str(&format!(" · sampler's CPU {cpu:.2} s"));
    }
    let title = fit(
        &format!("{title} "),
        (area.width as usize).saturating_sub(4),
    );
    let b = crate::ui::block(Line::styled(title, t.title), t, false);
    let inner = b.inner(area);
    b.render(area, buf);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    for th in threads.iter().take(inner.height as usize) {
        let name = thread_name(th, totals, NAME_W);
        let shares = shares_text(th);
        let kernel = crate::ui::gil_shares::kernel_text(totals, th.tid as u32)
            .map(|k| format!(" │ kernel: {k}"));
        let mut spans = vec![Span::styled(format!("{name:<NAME_W$} "), t.text)];
        let used = NAME_W + 1 + shares.chars().count();
        let kernel_w = kernel.as_ref().map_or(0, |k| k.chars().count());
        let bar_w = w.saturating_sub(used + kernel_w + 2).min(20);
        if bar_w >= 6 {
            spans.extend(bar(th, bar_w, t));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(shares, t.text));
        if let Some(k) = kernel
            && used + k.chars().count() <= w
        {
            spans.push(Span::styled(k, t.dim));
        }
        lines.push(Line::from(spans));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Held `█`, waiting `░`, released `·`, in `width` cells (each share rounded, the rest
/// released).
fn bar(th: &ThreadGil, width: usize, t: &Theme) -> Vec<Span<'static>> {
    let held = (th.held_share() * width as f64).round() as usize;
    let wait = ((th.waiting_share() * width as f64).round() as usize).min(width - held.min(width));
    let rest = width.saturating_sub(held + wait);
    vec![
        Span::styled("█".repeat(held.min(width)), t.compute),
        Span::styled("░".repeat(wait), t.gil),
        Span::styled("·".repeat(rest), t.idle),
    ]
}

/// "python3.15 7125" as the lane names it (the kernel's `comm`), else "thread 7125", in
/// `width` characters: the name is cut, never the tid (the key to the lane).
fn thread_name(th: &ThreadGil, totals: &TreeTotals, width: usize) -> String {
    let tid = th.tid.to_string();
    let name = totals
        .threads
        .get(&(th.tid as u32))
        .map_or("thread", |x| x.name.as_str());
    let room = width.saturating_sub(tid.chars().count() + 1).max(1);
    format!("{} {tid}", fit(name, room))
}

/// The sampler's own CPU: the watched tree's root process is the sampler (the program is
/// its child).
fn sampler_cpu_s(totals: &TreeTotals) -> Option<f64> {
    let root = totals
        .processes
        .values()
        .find(|p| !totals.processes.contains_key(&p.ppid))?;
    let ns: u64 = totals
        .threads
        .values()
        .filter(|x| x.pid == root.pid)
        .map(|x| x.split.on_cpu)
        .sum();
    Some(ns as f64 / 1e9)
}

/// The summary's lines (headless): the note, or per thread its shares beside the kernel's.
pub fn summary_lines(
    report: Option<&GilReport>,
    note: Option<&str>,
    totals: &TreeTotals,
) -> Vec<String> {
    let Some(r) = report else {
        return note.map(|n| vec![n.to_string()]).unwrap_or_default();
    };
    let threads = match &r.threads {
        Err(e) => return vec![format!("CPython's GIL sampler: no profile: {e}")],
        Ok(t) if t.is_empty() => {
            return vec![format!(
                "CPython's GIL sampler: the profile holds no thread ({})",
                r.samples
                    .as_deref()
                    .unwrap_or("the program ended before a sample")
            )];
        }
        Ok(t) => t,
    };
    let mut head = format!(
        "CPython's own GIL per thread ({}, python -m profiling.sampling",
        r.python
    );
    if let Some(s) = &r.samples {
        head.push_str(&format!(": {s}"));
    }
    if let Some(cpu) = sampler_cpu_s(totals) {
        head.push_str(&format!("; the sampler used {cpu:.3} s of CPU"));
    }
    head.push_str("):");
    let mut out = vec![head];
    for th in threads {
        let kernel = crate::ui::gil_shares::kernel_text(totals, th.tid as u32)
            .map(|k| format!(" · kernel: {k}"))
            .unwrap_or_default();
        out.push(format!(
            "  {:<24} {}{kernel}",
            thread_name(th, totals, 24),
            shares_text(th)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two CPU-bound threads as CPython 3.15.2's sampler saw them on this machine, and the
    /// main thread joining them.
    pub fn report() -> GilReport {
        let t = |tid, main, held_ms, no_gil_ms, waiting_ms, turns| ThreadGil {
            tid,
            main,
            span_ms: held_ms + no_gil_ms,
            held_ms,
            waiting_ms,
            no_gil_ms,
            on_cpu_ms: held_ms,
            turns,
        };
        GilReport {
            python: "CPython 3.15.2 · GIL".into(),
            threads: Ok(vec![
                t(100, true, 20.0, 1980.0, 5.0, 3),
                t(101, false, 950.0, 1050.0, 900.0, 177),
                t(102, false, 980.0, 1020.0, 870.0, 180),
            ]),
            samples: Some("2000 samples in 2.00 s, 4.9% of reads failed".into()),
        }
    }

    #[test]
    fn the_summary_names_each_thread_with_its_shares() {
        let lines = summary_lines(Some(&report()), None, &TreeTotals::default());
        assert!(lines[0].contains("CPython 3.15.2 · GIL") && lines[0].contains("2000 samples"));
        assert_eq!(lines.len(), 4);
        assert!(
            lines[2].contains("thread 101")
                && lines[2].contains("held  48% · waiting  45% · released   8% · 177 turns"),
            "{}",
            lines[2]
        );
        assert_eq!(
            summary_lines(
                None,
                Some("CPython's own GIL sampler needs CPython 3.15+"),
                &TreeTotals::default()
            ),
            vec!["CPython's own GIL sampler needs CPython 3.15+".to_string()]
        );
        assert!(summary_lines(None, None, &TreeTotals::default()).is_empty());
        let failed = GilReport {
            threads: Err("no profile at /tmp/x".into()),
            ..report()
        };
        assert!(
            summary_lines(Some(&failed), None, &TreeTotals::default())[0].contains("no profile")
        );
    }

    /// A watch of two CPU-bound threads taking turns (fixed samples), then the report.
    fn watched(view: GilView) -> crate::watch::app::WatchApp {
        use crate::observe::{KernelSample, Split, ThreadInterval, TreeEvent};
        use crate::watch::app::{WatchApp, WatchMsg};
        let mut a = WatchApp::new(
            Theme::new(crate::ui::theme::ThemeName::Dark, false),
            "python3.15 two.py".into(),
            100,
            5,
        );
        a.gil = view;
        let names = [
            (100, "python3.15"),
            (101, "Thread-1 (work)"),
            (102, "Thread-2 (work)"),
        ];
        for i in 0..40u64 {
            let mut events = Vec::new();
            if i == 0 {
                events.push(TreeEvent::ProcessBorn {
                    pid: 100,
                    ppid: 1,
                    cmd: "python3.15 two.py".into(),
                });
                for (tid, name) in names {
                    events.push(TreeEvent::ThreadBorn {
                        pid: 100,
                        tid,
                        name: name.into(),
                    });
                }
            }
            let turn = (i / 2) % 2;
            let th = |tid: u32, on: u64| ThreadInterval {
                pid: 100,
                tid,
                split: Split {
                    on_cpu: on,
                    lock: 5_000_000 - on,
                    span: 5_000_000,
                    ..Split::default()
                },
            };
            a.update(WatchMsg::Kernel(KernelSample {
                at_ns: (i + 1) * 5_000_000,
                interval_ns: 5_000_000,
                threads: vec![
                    th(100, 0),
                    th(101, if turn == 0 { 5_000_000 } else { 0 }),
                    th(102, if turn == 1 { 5_000_000 } else { 0 }),
                ],
                events,
                ..KernelSample::default()
            }));
        }
        a
    }

    fn screen(
        a: &crate::watch::app::WatchApp,
        w: u16,
        h: u16,
    ) -> ratatui::Terminal<ratatui::backend::TestBackend> {
        let mut term =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).expect("terminal");
        term.draw(|f| crate::watch::draw::draw(f, a)).expect("draw");
        term
    }

    #[test]
    fn the_watch_screen_shows_each_threads_gil_beside_its_lane() {
        let waiting = watched(GilView::Waiting {
            python: "CPython 3.15.2 · GIL".into(),
        });
        let text = format!("{}", screen(&waiting, 80, 24).backend());
        assert!(text.contains("reported when the program ends"), "{text}");
        let a = watched(GilView::Reported(Box::new(report())));
        let term = screen(&a, 200, 60);
        let text = format!("{}", term.backend());
        assert!(
            text.contains("Thread-1 (w… 101 ██"),
            "named as its lane: {text}"
        );
        assert!(
            text.contains("held  48% · waiting  45% · released   8% · 177 turns │ kernel: cpu  50% queue   0% lock  50%"),
            "CPython's shares beside the kernel's for the same tid: {text}"
        );
        insta::assert_snapshot!("watch_gil_200x60", term.backend());
        let term = screen(&a, 80, 24);
        let text = format!("{}", term.backend());
        assert!(text.contains("held  48% · waiting  45%"), "{text}");
        insta::assert_snapshot!("watch_gil_80x24", term.backend());
    }

    #[test]
    fn the_panel_takes_a_line_until_the_report_then_a_row_a_thread() {
        assert_eq!(height(&GilView::None, 24), 0);
        assert_eq!(height(&GilView::Waiting { python: "x".into() }, 24), 1);
        assert_eq!(height(&GilView::Reported(Box::new(report())), 60), 5);
        assert_eq!(
            height(&GilView::Reported(Box::new(report())), 12),
            3,
            "capped on a short screen"
        );
    }
}
