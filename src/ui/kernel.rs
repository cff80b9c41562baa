//! The dashboard's kernel view (`k`), drawn where the engine's timeline goes: one lane per
//! thread of the run as the scheduler saw it, a column a fixed 5 ms (zoomed with `z`/`Z`,
//! scrolled with `<`/`>` in time and `{`/`}` over lanes), the run's workers first, busiest
//! first; the legend on the bottom edge so every inner row is a lane.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::block;
use super::kernel_lanes::{self, LaneView};
use crate::app::App;
use crate::app::kernel::SAMPLE_MS;
use crate::ui::theme::Theme;

/// Width of the thread-name column (narrower on a narrow screen).
const NAME_W: usize = 22;
const NAME_W_NARROW: usize = 18;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &Theme::of(app.theme());
    let k = app.kernel();
    let width = area.width as usize;
    let name_w = if width < 110 { NAME_W_NARROW } else { NAME_W };
    let per = k.per_column();
    let col_ms = per * k.totals.interval_ms(SAMPLE_MS);
    let kept = k.lanes.lanes.values().filter(|l| k.keep(l)).count();
    let rows = area.height.saturating_sub(2) as usize;
    let mut title = format!(" kernel's view · {col_ms} ms a column ");
    if kept > rows && rows > 0 {
        let first = k.lane_scroll.min(kept.saturating_sub(1)) + 1;
        let last = (k.lane_scroll + rows).min(kept);
        title.push_str(&format!(
            "· threads {first}–{last} of {kept}, {{ }} scroll "
        ));
    }
    if k.back > 0 {
        title.push_str(&format!("· {} ms back > ", k.back * col_ms));
    }
    for more in [
        "· z Z zoom < > time ".to_string(),
        "· k: engine timeline ".to_string(),
    ] {
        if title.chars().count() + more.chars().count() + 2 <= width {
            title.push_str(&more);
        }
    }
    // What sampling costs, where there is room for it.
    if let Some(share) = k.totals.sampler_share() {
        let more = format!("· sampler {:.1}% of a core ", share * 100.0);
        if title.chars().count() + more.chars().count() + 2 <= width {
            title.push_str(&more);
        }
    }
    let legend = if k.totals.quota {
        kernel_lanes::fit_legend(t, true, width, 4)
    } else if width >= 100 {
        kernel_lanes::legend(t, false)
    } else {
        kernel_lanes::short_legend(t, false)
    };
    let b = block(Line::styled(title, t.title), t, false).title_bottom(Line::from(legend));
    let lanes = b.inner(area);
    b.render(area, buf);
    if lanes.height == 0 {
        return;
    }
    if let Some(why) = &k.unavailable {
        Paragraph::new(Line::styled(why.as_str(), t.warn)).render(lanes, buf);
        return;
    }
    let keep = |l: &crate::observe::lanes::Lane| k.keep(l);
    let view = LaneView {
        lanes: &k.lanes,
        totals: &k.totals,
        keep: &keep,
        per_column: per,
        end: k.end(),
        busiest_first: true,
        scroll: k.lane_scroll,
        name_w,
        empty: if app.is_running() {
            "waiting for the run's threads…"
        } else {
            "no run sampled yet: press a (all models) or Enter; its threads appear here as they run"
        },
    };
    kernel_lanes::render(&view, t, lanes, buf);
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use crate::app::fixtures::app;
    use crate::app::{App, Msg};
    use crate::observe::{KernelSample, Split, ThreadInterval, TreeEvent, Wait};

    const MS: u64 = 1_000_000;

    /// Two pool threads taking turns at a GIL (4 samples each), the run's thread asleep,
    /// and the dashboard's input thread (left out): fixed numbers, no timing.
    fn gil_turns(a: &mut App) {
        let me = a.kernel().own_pid;
        let born = |tid, name: &str| TreeEvent::ThreadBorn {
            pid: me,
            tid,
            name: name.into(),
        };
        for i in 0..60u64 {
            let events = if i == 0 {
                vec![
                    born(1, "conlab-input"),
                    born(2, "conlab-run-threads"),
                    born(3, "conlab-thread-0"),
                    born(4, "conlab-thread-1"),
                ]
            } else {
                vec![]
            };
            let turn = (i / 4) % 2;
            // Every fourth sample the turn comes mid-sample: half on a CPU, half on the lock.
            let split = |running: bool, wait| {
                let run = if i % 4 == 3 && wait == Wait::Lock {
                    5 * MS / 2
                } else if running {
                    5 * MS
                } else {
                    MS / 10
                };
                Split::of_interval(run, 0, 5 * MS, Some(wait), true)
            };
            let thread = |tid, split| ThreadInterval {
                pid: me,
                tid,
                split,
            };
            a.update(Msg::Kernel(Box::new(KernelSample {
                planned_step: 0,
                throttled_ns: None,
                cost_ns: 0,
                at_ns: (i + 1) * 5 * MS,
                interval_ns: 5 * MS,
                threads: vec![
                    thread(1, split(false, Wait::Io)),
                    thread(2, split(false, Wait::Sleep)),
                    thread(3, split(turn == 0, Wait::Lock)),
                    thread(4, split(turn == 1, Wait::Lock)),
                ],
                events,
            })));
        }
    }

    fn draw(a: &App, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        term.draw(|f| crate::ui::draw(f, a)).expect("draw");
        term
    }

    #[test]
    fn k_shows_the_run_threads_as_the_kernel_saw_them() {
        let mut a = app("primes", 2, true);
        let cmds = a.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('k'),
        )));
        assert_eq!(cmds, vec![crate::app::Command::Kernel(true)]);
        gil_turns(&mut a);
        let term = draw(&a, 120, 36);
        let text = format!("{}", term.backend());
        assert!(text.contains("conlab-thread-0"), "{text}");
        assert!(
            text.contains('▚'),
            "a turn inside a column shows as both: {text}"
        );
        assert!(
            !text.contains("conlab-input"),
            "the dashboard's own threads are left out"
        );
        insta::assert_snapshot!("kernel_view_120x36", term.backend());
        let term = draw(&a, 80, 24);
        let text = format!("{}", term.backend());
        assert!(
            text.contains("conlab-thread-0") && text.contains("conlab-thread-1"),
            "both workers fit at 80x24, the feeder does not: {text}"
        );
        insta::assert_snapshot!("kernel_view_80x24", term.backend());
    }

    /// Two workers under a quota: 10 samples computing, then 10 held back by the quota
    /// (the sampler shared the cgroup's counter out as `throttled`), one sample of queue.
    fn quota_turns(a: &mut App) {
        let me = a.kernel().own_pid;
        for i in 0..60u64 {
            let events = if i == 0 {
                (3..=4)
                    .map(|tid| TreeEvent::ThreadBorn {
                        pid: me,
                        tid,
                        name: format!("conlab-thread-{}", tid - 3),
                    })
                    .collect()
            } else {
                vec![]
            };
            let held = (i / 10) % 2 == 1;
            let split = Split {
                on_cpu: if held { 0 } else { 4 * MS },
                runnable: if held { 0 } else { MS },
                throttled: if held { 5 * MS } else { 0 },
                span: 5 * MS,
                ..Split::default()
            };
            let thread = |tid| ThreadInterval {
                pid: me,
                tid,
                split,
            };
            a.update(Msg::Kernel(Box::new(KernelSample {
                at_ns: (i + 1) * 5 * MS,
                interval_ns: 5 * MS,
                threads: vec![thread(3), thread(4)],
                events,
                throttled_ns: Some(if held { 10 * MS } else { 0 }),
                ..KernelSample::default()
            })));
        }
    }

    #[test]
    fn under_a_quota_throttled_time_has_its_own_glyph_and_legend() {
        let mut a = app("primes", 2, true);
        a.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('k'),
        )));
        quota_turns(&mut a);
        for (w, h) in [(80, 24), (200, 60)] {
            let term = draw(&a, w, h);
            let text = format!("{}", term.backend());
            assert!(text.contains('╳'), "{w}x{h}: {text}");
            assert!(text.contains("throttled"), "the legend names it: {text}");
            assert!(text.contains("est."), "and says it is an estimate: {text}");
            // Half the time held back: the largest wait.
            assert!(text.contains("throttled  50%"), "{w}x{h}: {text}");
            insta::assert_snapshot!(format!("kernel_view_quota_{w}x{h}"), term.backend());
        }
        // Without a quota the same lanes have no throttled legend (the GIL fixture).
        let mut b = app("primes", 2, true);
        b.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Char('k'),
        )));
        gil_turns(&mut b);
        let text = format!("{}", draw(&b, 200, 60).backend());
        assert!(!text.contains("throttled") && !text.contains('╳'), "{text}");
    }

    #[test]
    fn k_again_gives_the_engine_timeline_back() {
        let mut a = app("primes", 2, true);
        let k = || {
            Msg::Key(crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char('k'),
            ))
        };
        a.update(k());
        assert_eq!(a.update(k()), vec![crate::app::Command::Kernel(false)]);
        let text = format!("{}", draw(&a, 120, 36).backend());
        assert!(!text.contains("kernel's view"), "{text}");
    }
}
