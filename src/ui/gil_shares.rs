//! CPython's own GIL per worker thread under the timeline (or the kernel view, `k`), for a
//! threads run made under CPython 3.15's sampler (`G`): a row per worker lane — held,
//! waiting, released, its turns — beside what the kernel saw the same thread do (by its
//! native id) when the kernel view sampled it. While the sampler is on and nothing is
//! reported yet, one line says so (the profile is written when the interpreter exits).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use crate::app::App;
use crate::core::Model;
use crate::core::fmt::fit;
use crate::runtime::gecko::{GilNote, NotedThread};
use crate::ui::theme::Theme;

/// The report to show: the selected panel's, else the threads panel's.
fn note(app: &App) -> Option<&GilNote> {
    let panels = app.panels();
    panels[app.selected()].cpython_gil.as_ref().or_else(|| {
        let i = Model::ALL.iter().position(|m| *m == Model::Threads)?;
        panels[i].cpython_gil.as_ref()
    })
}

/// Rows it wants: a frame and a row per worker once reported, else one line (or none).
fn wanted(app: &App) -> u16 {
    match note(app) {
        Some(n) if !n.threads.is_empty() => n.threads.len() as u16 + 2,
        Some(_) => 1,
        None if app.settings().samples_gil() => 1,
        None => 0,
    }
}

/// Where it goes: the bottom of the timeline when that has room (at most half of it),
/// else one line taken from the bottom of the explanation (a small screen, whose timeline
/// has a lane or two). Returns the timeline's, the explanation's and its own area.
pub fn place(app: &App, timeline: Rect, explain: Rect) -> (Rect, Rect, Rect) {
    let want = wanted(app);
    let bottom = |r: Rect, h: u16| {
        let top = Rect::new(r.x, r.y, r.width, r.height - h);
        (top, Rect::new(r.x, top.bottom(), r.width, h))
    };
    if want == 0 {
        return (timeline, explain, Rect::default());
    }
    if timeline.height >= 8 {
        let (t, g) = bottom(timeline, want.min(timeline.height / 2));
        (t, explain, g)
    } else if explain.height >= 2 {
        let (e, g) = bottom(explain, 1);
        (timeline, e, g)
    } else {
        (timeline, explain, Rect::default())
    }
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = &Theme::of(app.theme());
    let w = area.width as usize;
    let line = |s: String, style| Paragraph::new(Line::styled(fit(&s, w), style));
    match note(app) {
        None => line(
            " CPython's GIL sampler: on for threads runs (G: off; it costs CPU) · reported \
             when the run ends"
                .into(),
            t.accent,
        )
        .render(area, buf),
        Some(n) if n.threads.is_empty() => line(
            format!(
                " CPython's GIL sampler: {}",
                n.error
                    .as_deref()
                    .unwrap_or("no worker thread in its profile")
            ),
            t.warn,
        )
        .render(area, buf),
        // One row (a small screen): every worker's held and waiting shares in a line.
        Some(n) if area.height < 3 => {
            let each: Vec<String> = n
                .threads
                .iter()
                .map(|th| {
                    let who = th
                        .worker
                        .map_or_else(|| format!("tid {}", th.tid), |i| format!("w{i}"));
                    format!(
                        "{who} held {:.0}% wait {:.0}%",
                        th.held * 100.0,
                        th.waiting * 100.0
                    )
                })
                .collect();
            line(
                format!(" CPython's own GIL, its sampler: {}", each.join(" · ")),
                t.text,
            )
            .render(area, buf)
        }
        Some(n) => {
            let python = app.panels()[app.selected()]
                .runtime
                .clone()
                .unwrap_or_else(|| "CPython".into());
            let title = fit(
                &format!(
                    " CPython's own GIL per worker · {python} · python -m profiling.sampling "
                ),
                w.saturating_sub(4),
            );
            let b = block(Line::styled(title, t.title), t, false);
            let inner = b.inner(area);
            b.render(area, buf);
            let lines: Vec<Line> = n
                .threads
                .iter()
                .take(inner.height as usize)
                .map(|th| row(app, th, inner.width as usize, t))
                .collect();
            Paragraph::new(lines).render(inner, buf);
        }
    }
}

fn row(app: &App, th: &NotedThread, w: usize, t: &Theme) -> Line<'static> {
    let name = match th.worker {
        Some(i) => format!("worker {i} · tid {}", th.tid),
        None => format!("thread {}", th.tid),
    };
    let shares = format!(
        "held {:>3.0}% · waiting {:>3.0}% · released {:>3.0}% · {} turns",
        th.held * 100.0,
        th.waiting * 100.0,
        th.released * 100.0,
        th.turns
    );
    let mut spans = vec![
        Span::styled(format!("{:<22} ", fit(&name, 22)), t.text),
        Span::styled(shares.clone(), t.text),
    ];
    let used = 23 + shares.chars().count();
    if let Some(k) = kernel(app, th.tid) {
        let k = format!(" │ kernel: {k}");
        if used + k.chars().count() <= w {
            spans.push(Span::styled(k, t.dim));
        }
    }
    Line::from(spans)
}

/// What the kernel view saw the same thread do, when it sampled it.
fn kernel(app: &App, tid: u64) -> Option<String> {
    kernel_text(&app.kernel().totals, u32::try_from(tid).ok()?)
}

/// "cpu 52% queue 0% lock 48%": the thread's share on a CPU, waiting for one and blocked
/// on a lock (the GIL is a futex), as the kernel saw it over its life (the dashboard's
/// kernel view and `watch` alike).
pub fn kernel_text(totals: &crate::observe::TreeTotals, tid: u32) -> Option<String> {
    let s = totals.threads.get(&tid)?.split.settled();
    let total = s.total();
    (total > 0).then(|| {
        let pct = |v: u64| v as f64 / total as f64 * 100.0;
        format!(
            "cpu {:>3.0}% queue {:>3.0}% lock {:>3.0}%",
            pct(s.on_cpu),
            pct(s.runnable),
            pct(s.lock)
        )
    })
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::app::fixtures::app;
    use crate::app::{App, Msg};
    use crate::core::{Event, Model};
    use crate::runtime::gecko::{GilNote, NotedThread};

    /// A threads run on CPython whose sampler reported two workers (fixed shares).
    fn sampled(a: &mut App) {
        use crate::app::fixtures::{ev, feed, key, run_msgs, started};
        a.update(key('l'));
        assert_eq!(Model::ALL[a.selected()], Model::Threads);
        let cmds = a.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter,
        )));
        let id = started(&cmds).expect("a run starts");
        let t = |tid, worker, held, waiting, turns| NotedThread {
            tid,
            worker: Some(worker),
            held,
            waiting,
            released: 1.0 - held - waiting,
            turns,
        };
        let note = GilNote {
            threads: vec![t(7124, 0, 0.467, 0.367, 177), t(7125, 1, 0.44, 0.39, 180)],
            error: None,
        };
        let mut msgs = run_msgs(
            id,
            Model::Threads,
            2,
            16,
            3_080_000,
            3_050_000,
            true,
            "1270607",
        );
        let end = msgs.pop().expect("the run's end");
        msgs.push(ev(
            id,
            3_080_000,
            Event::Note {
                key: crate::runtime::cpython::GIL_NOTE.into(),
                value: serde_json::to_string(&note).expect("json"),
            },
        ));
        msgs.push(end);
        feed(a, msgs);
    }

    fn screen(a: &App, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        term.draw(|f| crate::ui::draw(f, a)).expect("draw");
        term
    }

    #[test]
    fn the_samplers_shares_show_under_the_timeline() {
        let mut a = app("primes", 2, true);
        sampled(&mut a);
        let term = screen(&a, 120, 36);
        let text = format!("{}", term.backend());
        assert!(text.contains("CPython's own GIL per worker"), "{text}");
        assert!(
            text.contains("worker 0 · tid 7124") && text.contains("held  47% · waiting  37%"),
            "{text}"
        );
        insta::assert_snapshot!("gil_shares_120x36", term.backend());
        let term = screen(&a, 80, 24);
        let text = format!("{}", term.backend());
        assert!(
            text.contains("its sampler: w0 held 47% wait 37% · w1 held 44% wait 39%"),
            "one line on a small screen: {text}"
        );
        insta::assert_snapshot!("gil_shares_80x24", term.backend());
    }

    #[test]
    fn nothing_is_taken_without_a_report_or_the_sampler() {
        use ratatui::layout::Rect;
        let (tl, ex) = (Rect::new(0, 10, 80, 20), Rect::new(0, 30, 80, 2));
        let a = app("primes", 2, true);
        assert_eq!(super::place(&a, tl, ex), (tl, ex, Rect::default()));
        let mut b = app("primes", 2, true);
        sampled(&mut b);
        let (t, e, g) = super::place(&b, tl, ex);
        assert_eq!((t.height, e, g), (16, ex, Rect::new(0, 26, 80, 4)));
        let small = Rect::new(0, 10, 80, 3);
        let (t, e, g) = super::place(&b, small, ex);
        assert_eq!(
            (t, e.height, g),
            (small, 1, Rect::new(0, 31, 80, 1)),
            "a line of the explanation"
        );
    }
}
