//! Snapshots of each panel and of the whole screen, from fixtures (fixed cores, usages,
//! durations — never live timings). `INSTA_UPDATE=always cargo test` refreshes them.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::fixtures::*;
use crate::app::{App, Msg};
use crate::exec::Model;

/// A buffer as plain text, one line per row (trailing spaces kept: they are layout).
fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut s = String::new();
    for y in a.y..a.y + a.height {
        let mut skip = 0;
        for x in a.x..a.x + a.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            s.push_str(sym);
            skip = unicode_width(sym).saturating_sub(1);
        }
        s.push('\n');
    }
    s
}

fn unicode_width(s: &str) -> usize {
    use ratatui::text::Span;
    Span::raw(s).width().max(1)
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    super::render(app, area, &mut buf);
    text(&buf)
}

fn panel(w: u16, h: u16, f: impl FnOnce(Rect, &mut Buffer)) -> String {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    f(area, &mut buf);
    text(&buf)
}

fn idle(cores: usize) -> App {
    let mut a = app("primes", 2, true);
    a.update(cpu(
        (0..cores).map(|i| (i * 13 % 100) as f32).collect(),
        2.0,
    ));
    a
}

/// Threads with the GIL, half-way: tasks running, GIL waits, a live tick.
fn running(cores: usize) -> App {
    let mut a = idle(cores);
    let _ = a.update(key('a'));
    let id = a.active().map(|x| x.0).unwrap_or(1);
    let c = feed(
        &mut a,
        run_msgs(
            id,
            Model::Sequential,
            2,
            16,
            3_020_000,
            2_990_000,
            false,
            "1270607",
        ),
    );
    let id = started(&c).unwrap_or(2);
    let msgs = run_msgs(
        id,
        Model::Threads,
        2,
        16,
        3_080_000,
        3_050_000,
        true,
        "1270607",
    );
    let n = msgs.len() / 2;
    feed(&mut a, msgs.into_iter().take(n).collect());
    a.update(Msg::Tick(Duration::from_micros(1_000_000 + 1_600_000)));
    a.update(cpu(
        (0..cores)
            .map(|i| if i % 2 == 0 { 97.0 } else { 8.0 })
            .collect(),
        101.0,
    ));
    a
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[test]
fn screens_80x24_and_160x48() {
    for (w, h) in [(80u16, 24u16), (120, 36), (160, 48)] {
        snap!(format!("screen_idle_{w}x{h}"), screen(&idle(2), w, h));
        snap!(format!("screen_running_{w}x{h}"), screen(&running(2), w, h));
        let mut done = three_finished(2);
        snap!(format!("screen_finished_{w}x{h}"), screen(&done, w, h));
        done.update(Msg::Help(true));
        snap!(format!("screen_help_{w}x{h}"), screen(&done, w, h));
    }
}

/// The three models run in turn (as [`three_finished`]), with a CPU sample after every
/// task: one core busy for sequential and GIL-bound threads, both for processes.
fn three_finished_sampled() -> App {
    let mut a = idle(2);
    let mut cmds = a.update(key('a'));
    for (m, us, cores) in [
        (Model::Sequential, 3_020_000, [97.0, 6.0]),
        (Model::Threads, 3_080_000, [55.0, 52.0]),
        (Model::Processes, 1_560_000, [99.0, 98.0]),
    ] {
        let id = started(&cmds).expect("the next model starts");
        let mut msgs = Vec::new();
        for (k, m) in run_msgs(id, m, 2, 16, us, us, m == Model::Threads, "1270607")
            .into_iter()
            .enumerate()
        {
            let finished = matches!(&m, Msg::Run { ev, .. } if matches!(ev.event, crate::exec::Event::RunFinished(_)));
            if finished {
                msgs.push(cpu(cores.to_vec(), 190.0));
            }
            msgs.push(m);
            if k % 6 == 5 {
                msgs.push(cpu(
                    cores.iter().map(|c| c - (k % 4) as f32 * 3.0).collect(),
                    180.0,
                ));
            }
        }
        cmds = feed(&mut a, msgs);
    }
    a
}

#[test]
fn the_big_screen_stacks_every_model_on_one_time_axis() {
    let done = three_finished_sampled();
    let s = screen(&done, 200, 60);
    snap!("screen_finished_200x60", s.clone());
    // Each model's lanes are as long as its run: the fixture's threads took 3.08 s and
    // processes 1.56 s, so the processes' lane is about half the threads'.
    let lane = |name: &str| {
        let row = s
            .lines()
            .find(|l| l.contains(name) && l.contains(" w0 "))
            .unwrap_or_else(|| panic!("no {name} lane in\n{s}"));
        row.chars().filter(|c| matches!(c, '█' | '░')).count()
    };
    let (threads, processes) = (lane("threads"), lane("processes"));
    let ratio = processes as f64 / threads as f64;
    assert!((0.45..0.56).contains(&ratio), "{processes}/{threads}\n{s}");
    assert!(s.contains("cpu "), "the CPU on the run's axis:\n{s}");
    snap!("screen_running_200x60", screen(&running(2), 200, 60));
}

#[test]
fn presenter_mode_shows_large_digits_and_one_time_axis() {
    let mut done = three_finished_sampled();
    done.update(key('P'));
    assert!(done.present(), "P turns presenter mode on");
    let s = screen(&done, 100, 30);
    snap!("present_finished_100x30", s.clone());
    // Large digits are drawn in block characters, not as the plain "3.020 s" text.
    assert!(
        !s.contains("3.020 s") || s.contains("sequential   3.020 s"),
        "{s}"
    );
    assert!(s.contains("speed-up") && s.contains("why"), "{s}");
    for m in ["sequential", "threads", "processes"] {
        assert!(s.contains(m), "{m} missing:\n{s}");
    }
    snap!("present_finished_200x60", screen(&done, 200, 60));
    let mut r = running(2);
    r.update(Msg::Present(true));
    snap!("present_running_100x30", screen(&r, 100, 30));
    done.update(key('P'));
    assert!(!done.present(), "P again leaves it");
}

#[test]
fn presenter_mode_and_the_big_screen_draw_at_any_size_without_panicking() {
    let mut states = vec![
        idle(2),
        running(2),
        three_finished_sampled(),
        three_finished(128),
    ];
    states.push(lesson_app("02-computing-with-the-gil", 1));
    for mut a in states {
        for present in [false, true] {
            a.update(Msg::Present(present));
            for (w, h) in [
                (64, 22),
                (80, 24),
                (100, 30),
                (160, 48),
                (200, 60),
                (300, 90),
            ] {
                let s = screen(&a, w, h);
                assert_eq!(s.lines().count(), h as usize);
            }
        }
    }
}

#[test]
fn presenter_mode_shows_the_lesson_large() {
    let mut a = lesson_app("02-computing-with-the-gil", 1);
    a.update(Msg::Present(true));
    let s = screen(&a, 100, 30);
    assert!(s.contains("? Will the threads"), "{s}");
    snap!("present_lesson_100x30", s);
    reveal_lesson_02(&mut a);
    let s = screen(&a, 100, 30);
    for words in [
        "guessed no ✓",
        "lesson Threads run about as long",
        "speed-up",
    ] {
        assert!(s.contains(words), "{words:?} missing:\n{s}");
    }
    snap!("present_lesson_revealed_100x30", s);
}

#[test]
fn screen_too_small() {
    snap!("screen_too_small", screen(&idle(2), 50, 12));
}

#[test]
fn screens_with_128_cores() {
    snap!("screen_128_cores_80x24", screen(&running(128), 80, 24));
    snap!(
        "screen_128_cores_200x60",
        screen(&three_finished(128), 200, 60)
    );
}

#[test]
fn cpu_panel_from_2_to_128_cores() {
    for (cores, w, h) in [
        (2, 40, 6),
        (8, 60, 12),
        (16, 40, 8),
        (64, 40, 8),
        (128, 40, 8),
        (128, 100, 20),
    ] {
        let a = running(cores);
        snap!(
            format!("cpu_{cores}_cores_{w}x{h}"),
            panel(w, h, |r, b| super::cpu::render(&a, r, b))
        );
    }
}

#[test]
fn header_progress_models_timeline_panels() {
    let r = running(2);
    let f = three_finished(2);
    snap!(
        "header_80",
        panel(80, 2, |a, b| super::header::render(&r, a, b))
    );
    snap!(
        "header_200",
        panel(200, 2, |a, b| super::header::render(&r, a, b))
    );
    snap!(
        "progress_running",
        panel(50, 6, |a, b| super::progress::render(&r, a, b))
    );
    for i in 0..Model::ALL.len() {
        snap!(
            format!("model_{}_finished", Model::ALL[i]),
            panel(30, 7, |a, b| super::models::render(&f, i, a, b))
        );
    }
    snap!(
        "model_threads_running",
        panel(30, 7, |a, b| super::models::render(&r, 1, a, b))
    );
    snap!(
        "timeline_running",
        panel(80, 7, |a, b| super::timeline::render(&r, a, b))
    );
    let mut g = f;
    g.update(Msg::Select(1));
    snap!(
        "timeline_threads_gil",
        panel(120, 8, |a, b| super::timeline::render(&g, a, b))
    );
}

#[test]
fn no_color_keeps_meaning_in_glyphs() {
    let mut a = three_finished(2);
    a.update(Msg::Theme(
        super::theme::Theme::new(super::theme::ThemeName::Dark, false).into(),
    ));
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    super::render(&a, area, &mut buf);
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset)
    );
    assert!(text(&buf).contains("✓"));
}

/// The Enter key.
fn enter() -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    ))
}

/// Lesson 02's first step: the room guesses "no", then its three models run (fixed
/// times: threads no faster than sequential, processes twice as fast).
fn reveal_lesson_02(a: &mut App) {
    a.update(key('2'));
    run_step(
        a,
        &[
            (Model::Sequential, 3_020_000),
            (Model::Threads, 3_080_000),
            (Model::Processes, 1_560_000),
        ],
        "1270607",
        "primes below 20,000,000",
    );
}

/// A shipped lesson open at `step` (1-based), 2 cores, 2 workers.
fn lesson_app(name: &str, step: usize) -> App {
    let mut a = idle(2);
    a.update(Msg::Lesson(Box::new(
        crate::experiment::lesson::open(name).expect("shipped lesson"),
    )));
    for _ in 1..step {
        a.update(key('n'));
    }
    a
}

/// Run every model of the lesson's step through fixed messages; `answer` and `meaning`
/// are what each run reports.
fn run_step(a: &mut App, times: &[(Model, u64)], answer: &str, meaning: &str) {
    let mut cmds = a.update(enter());
    for &(m, us) in times {
        let id = started(&cmds).expect("the step's next model starts");
        let gil = m == Model::Threads && a.settings().gil;
        let mut msgs = run_msgs(id, m, 2, 8, us, us, gil, answer);
        if let Some(Msg::Run { ev, .. }) = msgs.last_mut()
            && let crate::exec::Event::RunFinished(crate::exec::RunEnd {
                answer: Some(ans), ..
            }) = &mut ev.event
        {
            ans.meaning = meaning.to_string();
        }
        cmds = feed(a, msgs);
    }
}

#[test]
fn lesson_at_80x24_shows_text_question_guess_and_reveal() {
    let mut a = lesson_app("02-computing-with-the-gil", 1);
    let before = screen(&a, 80, 24);
    for words in [
        "Counting primes is pure",
        "? Will the threads",
        "1 yes",
        "2 no",
        "q quit",
    ] {
        assert!(before.contains(words), "{words:?} missing:\n{before}");
    }
    snap!("lesson_before_80x24", before);
    reveal_lesson_02(&mut a);
    let after = screen(&a, 80, 24);
    for words in [
        "? Will the threads",
        "guessed no ✓",
        "measured threads ran 0.98× as fast as sequential",
        "lesson Threads run about as long",
        "w0",
    ] {
        assert!(after.contains(words), "{words:?} missing:\n{after}");
    }
    snap!("lesson_revealed_80x24", after);
}

#[test]
fn lesson_race_at_80x24_labels_its_answer_and_flags_a_disagreeing_text() {
    let mut a = lesson_app("06-races-and-locks", 1);
    a.update(key('1'));
    run_step(
        &mut a,
        &[(Model::Threads, 410_000)],
        "0",
        "updates lost without a lock, of 400,000 (with the lock: 0 lost)",
    );
    let s = screen(&a, 80, 24);
    for words in [
        "Each thread adds 1",
        "guessed yes ✓",
        "measured 0 updates lost without a lock",
        // The text expected lost updates; this (fixture) machine lost none.
        "the text below expects \"no\", measured \"yes\"",
        "lesson Updates are lost",
    ] {
        assert!(s.contains(words), "{words:?} missing:\n{s}");
    }
    assert!(!s.contains("waiting on I/O"), "no I/O in a race:\n{s}");
    assert!(!s.contains("run sequential"), "{s}");
    snap!("lesson_race_80x24", s);
}

#[test]
fn lesson_keys_follow_the_answer_kind() {
    // A time question offers times; a number question its values with the unit.
    let a = lesson_app("01-waiting", 1);
    let s = screen(&a, 80, 24);
    assert!(s.contains("1 ≈1 s") && s.contains("3 ≈4 s"), "{s}");
    let a = lesson_app("09-convoy", 1);
    let s = screen(&a, 80, 24);
    assert!(s.contains("3 ≈5 ms"), "{s}");
    // A one-model step never offers the models as answers.
    assert!(!s.contains("1 sequential"), "{s}");
}

#[test]
fn coloured_themes_paint_every_cell_and_no_color_paints_none() {
    use super::theme::{Theme, ThemeName};
    use ratatui::style::Color;
    for (name, bg) in [
        (ThemeName::Dark, Color::Indexed(234)),
        (ThemeName::Light, Color::Indexed(231)),
        (ThemeName::HighContrast, Color::Indexed(16)),
    ] {
        for help in [false, true] {
            let mut a = three_finished(2);
            a.update(Msg::Theme(Theme::new(name, true).into()));
            a.update(Msg::Help(help));
            let area = Rect::new(0, 0, 80, 24);
            let mut buf = Buffer::empty(area);
            super::render(&a, area, &mut buf);
            // Grid cells of the CPU panel are the one place a load colour is the background.
            let stray = buf
                .content
                .iter()
                .filter(|c| c.bg != bg && !super::theme::Theme::of(a.theme()).load.contains(&c.bg))
                .count();
            assert_eq!(
                stray, 0,
                "{name:?} help={help}: cells on the terminal's background"
            );
        }
    }
}

#[test]
fn at_64x22_cut_text_ends_with_an_ellipsis() {
    let s = screen(&three_finished(2), 64, 22);
    snap!("screen_finished_64x22", s);
}

/// The `native` scene's holding variant: worker 0 holds the GIL in native code while
/// worker 1 waits for it; the timeline draws holding as its own glyph (▓) and colour.
#[test]
fn timeline_draws_native_code_holding_the_gil_in_its_own_colour() {
    use crate::exec::{Event, RunStart, SpanKind};
    let mut a = app("native", 2, true);
    let cmds = a.update(key('a'));
    let id = started(&cmds)
        .or(a.active().map(|x| x.0))
        .expect("a run started");
    let mut msgs = vec![ev(
        id,
        0,
        Event::RunStarted(RunStart {
            workload: "native".into(),
            model: Model::Threads,
            workers: 2,
            tasks: 3,
            gil: true,
            switch_interval_ms: 5.0,
            size: 32,
        }),
    )];
    for w in 0..2 {
        msgs.push(ev(
            id,
            0,
            Event::TaskStarted {
                task: w,
                worker: w,
                pid: 1,
                thread: format!("t{w}"),
            },
        ));
    }
    // Calls of 40 ms: the holder holds, the other waits; then they swap.
    for k in 0..4u64 {
        let (holder, waiter) = if k % 2 == 0 { (0, 1) } else { (1, 0) };
        let (s, e) = (k * 40_000, (k + 1) * 40_000);
        for (w, kind) in [
            (holder, SpanKind::NativeHolding),
            (waiter, SpanKind::GilWait),
        ] {
            msgs.push(ev(
                id,
                e,
                Event::Span {
                    worker: w,
                    kind,
                    start_us: s,
                    end_us: e,
                },
            ));
        }
    }
    msgs.push(ev(
        id,
        160_000,
        Event::Note {
            key: "native".into(),
            value: "fixture".into(),
        },
    ));
    feed(&mut a, msgs);
    a.update(Msg::Tick(Duration::from_micros(1_000_000 + 160_000)));
    a.update(Msg::Select(1));
    let area = Rect::new(0, 0, 100, 6);
    let mut buf = Buffer::empty(area);
    super::timeline::render(&a, area, &mut buf);
    let native = super::theme::Theme::of(a.theme())
        .native
        .fg
        .expect("the native colour");
    assert_ne!(Some(native), super::theme::Theme::of(a.theme()).compute.fg);
    assert_ne!(Some(native), super::theme::Theme::of(a.theme()).gil.fg);
    let held: Vec<_> = buf.content.iter().filter(|c| c.symbol() == "▓").collect();
    assert!(!held.is_empty(), "{}", text(&buf));
    assert!(held.iter().all(|c| c.fg == native));
    snap!("timeline_native_holding", text(&buf));
}

/// The text of the panel titled `name` on the row where its title is (up to its frame's
/// corner).
fn title_of(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find_map(|l| {
            let at = l.find(&format!(" {name} "))?;
            let rest = &l[at..];
            let end = rest.find(['╮', '┓']).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
        .unwrap_or_default()
}

#[test]
fn the_async_panel_is_titled_alike_in_every_mode() {
    for offload in [crate::exec::Offload::None, crate::exec::Offload::Threads] {
        let mut a = offloading("primes", 2, true, offload);
        run_every_model(&mut a);
        let want = match offload {
            crate::exec::Offload::None => "1 loop",
            _ => "1 loop + 2w",
        };
        let normal = screen(&a, 160, 48);
        let big = screen(&a, 200, 60);
        a.update(key('P'));
        let present = screen(&a, 160, 48);
        for (mode, s) in [("normal", &normal), ("big", &big), ("presenter", &present)] {
            let t = title_of(s, "async");
            assert!(t.contains(want), "{mode}: {t:?} should say {want:?}\n{s}");
            if offload == crate::exec::Offload::None {
                assert!(!t.contains("2w"), "{mode}: {t:?}\n{s}");
            }
        }
        // One lane for the loop alone; with offload, the loop and the pool's workers.
        let lanes = a.panels()[3].timeline.lanes();
        assert_eq!(lanes, if want == "1 loop" { 1 } else { 3 }, "{want}");
        assert!(big.contains("async          3.050 s  loop"), "{big}");
    }
}

/// Three finished runs where worker 1 of each pool was busy twice as long as worker 0
/// (equal ranges of numbers: the upper range costs more).
fn uneven_finished() -> App {
    let mut a = app("primes", 2, true);
    let mut cmds = a.update(key('a'));
    for m in [
        Model::Sequential,
        Model::Threads,
        Model::Processes,
        Model::Async,
        Model::Interpreters,
    ] {
        let id = started(&cmds).expect("the next model starts");
        let msgs = run_msgs(id, m, 2, 16, 3_000_000, 3_000_000, false, "1270607")
            .into_iter()
            .map(|mut msg| {
                if let Msg::Run { ev, .. } = &mut msg
                    && let crate::exec::Event::TaskFinished {
                        worker: 1, wall_us, ..
                    } = &mut ev.event
                {
                    *wall_us *= 2;
                }
                msg
            })
            .collect();
        cmds = feed(&mut a, msgs);
    }
    a
}

#[test]
fn an_uneven_share_of_the_work_is_never_hidden_by_a_short_panel() {
    let a = uneven_finished();
    assert!(a.panels()[1].busy_spread().is_some_and(|(_, _, r)| r > 1.3));
    // The smallest screen has one row beside the time: it counts what it leaves out.
    let s = screen(&a, 64, 22);
    assert!(s.contains("more: speed-up +3"), "{s}");
    for (w, h) in [(80, 24), (120, 36), (160, 48), (200, 60)] {
        let s = screen(&a, w, h);
        // Threads and processes: shown as a row, or named with its figure on the frame.
        let said = s.matches("max/mean 1.33×").count();
        assert!(
            said >= 2,
            "{w}x{h}: the imbalance is said {said} times\n{s}"
        );
    }
    snap!("screen_uneven_80x24", screen(&a, 80, 24));
}

#[test]
fn a_short_panel_names_what_it_leaves_out() {
    let a = three_finished(2);
    let s = screen(&a, 80, 24);
    // Two rows and the bar: the time with the answer, the speed-up; the rest named.
    assert!(s.contains("3.080 s answer 1270607 ✓"), "{s}");
    assert!(s.contains("speed-up 0.98×"), "{s}");
    assert!(s.contains("more: memory · cores busy"), "{s}");
    // The async loop's lag is named with its figure before the less wanted rows.
    assert!(s.contains("more: lag max 191 ms · memory"), "{s}");
    // Both workers' lanes: the time axis moves into the timeline's frame to make room.
    assert!(s.contains("│w0 ") && s.contains("│w1 "), "{s}");
    assert!(!s.contains("shown)") && s.contains("╰── 0 ──"), "{s}");
    // Tall enough panels leave nothing out but an even share of the work.
    let s = screen(&a, 160, 48);
    assert!(
        !s.contains("more: memory") && !s.contains("more: speed-up"),
        "{s}"
    );
}

/// Rows of the timelines panel (between its frame's top and bottom) that draw a lane.
fn lane_rows(s: &str) -> (usize, usize) {
    let rows: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("timelines"))
        .skip(1)
        .take_while(|l| !l.starts_with('╰'))
        .collect();
    let lanes = rows
        .iter()
        .filter(|l| l.contains('█') || l.contains('░'))
        .filter(|l| !l.contains(" cpu "))
        .count();
    (lanes, rows.len())
}

#[test]
fn on_the_big_screen_lanes_grow_into_the_room_one_or_two_runs_leave() {
    let mut a = idle(2);
    let run_selected = |a: &mut App, us: u64| {
        let id = started(&a.update(enter())).expect("Enter runs the selected model");
        let model = a.panels()[a.selected()].model;
        feed(
            a,
            run_msgs(id, model, 2, 16, us, us, model == Model::Threads, "1270607"),
        );
    };
    run_selected(&mut a, 3_000_000);
    let one = screen(&a, 200, 60);
    let (lanes, rows) = lane_rows(&one);
    // One run of one lane: taller than the six rows lanes used to stop at, bounded.
    assert!((8..=10).contains(&lanes), "{lanes} of {rows} rows\n{one}");
    a.update(key('l'));
    run_selected(&mut a, 3_080_000);
    let two = screen(&a, 200, 60);
    let (lanes, rows) = lane_rows(&two);
    // Two runs, three lanes: most of the panel draws them.
    assert!(lanes * 2 >= rows, "{lanes} of {rows} rows drawn\n{two}");
    snap!("big_screen_two_runs_200x60", two);
}

#[test]
fn a_sleeping_task_is_drawn_waiting_while_it_sleeps() {
    use crate::exec::{Event, RunStart, SpanKind};
    let mut a = app("sleep", 2, true);
    a.update(key('l'));
    let id = started(&a.update(enter())).expect("Enter runs threads");
    let mut msgs = vec![ev(
        id,
        0,
        Event::RunStarted(RunStart {
            workload: "sleep".into(),
            model: Model::Threads,
            workers: 2,
            tasks: 2,
            gil: true,
            switch_interval_ms: 5.0,
            size: 4000,
        }),
    )];
    for w in 0..2 {
        msgs.push(ev(
            id,
            100,
            Event::TaskStarted {
                task: w,
                worker: w,
                pid: 1,
                thread: format!("t{w}"),
            },
        ));
        msgs.push(ev(
            id,
            110,
            Event::Progress {
                task: w,
                worker: w,
                done: 0,
                total: 1,
            },
        ));
        // The engine says the wait as it begins; its span comes only when it ends.
        msgs.push(ev(
            id,
            120,
            Event::SpanStarted {
                worker: w,
                kind: SpanKind::Io,
                start_us: 120,
            },
        ));
    }
    feed(&mut a, msgs);
    a.update(Msg::Tick(Duration::from_micros(1_000_000 + 2_400_000)));
    let s = screen(&a, 120, 36);
    let lane = s
        .lines()
        .find(|l| l.starts_with("│w0 ≈"))
        .unwrap_or_else(|| panic!("w0 is not drawn waiting\n{s}"));
    let glyphs: String = lane.chars().skip(4).take_while(|c| *c != ' ').collect();
    assert!(
        glyphs.chars().count() > 50 && glyphs.chars().all(|c| c == '≈'),
        "a sleeping task drawn computing: {lane}"
    );
    assert!(lane.contains("100%≈"), "{lane}");
    assert!(s.contains("≈≈ sleeping for 2.400 s"), "{s}");
}

/// Lesson mode on the big screen keeps the lesson layout (its words first, whole), with
/// the big screen's timelines on one axis below, lanes grown into the room.
#[test]
fn lesson_mode_on_the_big_screen_puts_the_words_first_and_every_run_on_one_axis() {
    let mut a = lesson_app("02-computing-with-the-gil", 1);
    reveal_lesson_02(&mut a);
    let s = screen(&a, 200, 60);
    let at = |words: &str| {
        s.lines()
            .position(|l| l.contains(words))
            .unwrap_or_else(|| panic!("{words:?} missing:\n{s}"))
    };
    // The lesson's reveal is not cut, and comes before the numbers and the lanes.
    assert!(
        at("lesson Threads run about as long") < at("╭ sequential"),
        "{s}"
    );
    assert!(at("╭ sequential") < at("timelines · one time axis"), "{s}");
    let (lanes, rows) = lane_rows(&s);
    assert!(lanes * 2 >= rows, "{lanes} of {rows} rows draw lanes\n{s}");
    snap!("lesson_revealed_200x60", s);
}

#[test]
fn the_legend_names_every_glyph_the_lanes_draw() {
    use crate::exec::{Event, RunStart, SpanKind};
    // An async loop offloading primes to threads: the pool's workers wait for the GIL
    // they share with the loop, and the loop parks while they compute.
    let mut a = offloading("primes", 2, true, crate::exec::Offload::Threads);
    for _ in 0..3 {
        a.update(key('l'));
    }
    let id = started(&a.update(enter())).expect("Enter runs async");
    let mut msgs = vec![ev(
        id,
        0,
        Event::RunStarted(RunStart {
            workload: "primes".into(),
            model: Model::Async,
            workers: 2,
            tasks: 2,
            gil: true,
            switch_interval_ms: 5.0,
            size: 20_000_000,
        }),
    )];
    for (worker, kind, start_us, end_us) in [
        (1, SpanKind::GilWait, 1_000, 40_000),
        (0, SpanKind::Io, 2_000, 90_000),
    ] {
        msgs.push(ev(
            id,
            start_us,
            Event::TaskStarted {
                task: worker,
                worker,
                pid: 1,
                thread: "t".into(),
            },
        ));
        msgs.push(ev(
            id,
            end_us,
            Event::Span {
                worker,
                kind,
                start_us,
                end_us,
            },
        ));
    }
    feed(&mut a, msgs);
    a.update(Msg::Tick(Duration::from_micros(1_000_000 + 100_000)));
    let s = screen(&a, 120, 36);
    let title = s
        .lines()
        .find(|l| l.contains("timeline · async"))
        .unwrap_or_else(|| panic!("no timeline\n{s}"));
    assert!(title.contains("░░ waiting for the GIL"), "{title}");
    assert!(title.contains("≈≈ blocked"), "{title}");
    let big = screen(&a, 200, 60);
    assert!(
        big.contains("░░ waiting for the GIL") && big.contains("≈≈ blocked"),
        "{big}"
    );
}

/// Under a CPU quota the CPU panel and the header say it, with the quota marked across
/// the total; without one they read as before.
#[test]
fn a_quota_is_shown_where_cores_are_shown() {
    let mut a = idle(2);
    a.set_cpus_given(crate::core::CpusGiven {
        cpus_seen: 2,
        cpus_affinity: Some(2),
        cpu_quota: Some(0.5),
        ..Default::default()
    });
    for (w, h) in [(80, 24), (200, 60)] {
        let s = screen(&a, w, h);
        assert!(s.contains("quota 0.5"), "{w}x{h}:\n{s}");
        assert!(s.contains("│ quota 0.5 CPU = 25%"), "{w}x{h}:\n{s}");
    }
    // Beside the workers where the header has room.
    assert!(screen(&a, 200, 60).contains("workers 2 · quota 0.5"));
    assert!(screen(&a, 200, 60).contains("CPU · 2 cores seen · quota 0.5 CPU"));
    let plain = screen(&idle(2), 80, 24);
    assert!(!plain.contains("quota"), "{plain}");
}

/// `n` presses of key `c`.
fn presses(a: &mut App, c: char, n: usize) {
    for _ in 0..n {
        a.update(key(c));
    }
}

/// Lesson 02 taught whole: the room's hands counted before each step (step 1: 3 yes,
/// 12 no; step 2: 2 sequential, 5 threads, 9 processes), each step run on fixed
/// numbers, then `n` after the last step opens the summary.
fn lesson_02_taught() -> (App, String) {
    let mut a = lesson_app("02-computing-with-the-gil", 1);
    a.update(key('v'));
    presses(&mut a, '1', 4);
    a.update(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Backspace,
    )));
    presses(&mut a, '2', 12);
    let counting = screen(&a, 80, 24);
    a.update(key('v'));
    run_step(
        &mut a,
        &[
            (Model::Sequential, 3_020_000),
            (Model::Threads, 3_080_000),
            (Model::Processes, 1_560_000),
        ],
        "1270607",
        "primes below 20,000,000",
    );
    let revealed = screen(&a, 80, 24);
    assert!(
        revealed.contains("room yes ▇▇▇ 3 · no ▇▇▇▇▇▇▇▇▇▇ 12 ✓"),
        "the spread beside the measurement:\n{revealed}"
    );
    assert!(revealed.contains("guessed no ✓"), "{revealed}");
    a.update(key('n'));
    a.update(key('v'));
    presses(&mut a, '1', 2);
    presses(&mut a, '2', 5);
    presses(&mut a, '3', 9);
    a.update(key('v'));
    run_step(
        &mut a,
        &[
            (Model::Sequential, 2_000_000),
            (Model::Threads, 2_050_000),
            (Model::Processes, 1_010_000),
        ],
        "9",
        "digits",
    );
    a.update(key('n'));
    assert!(
        a.lesson().is_some_and(|l| l.summary),
        "n after the last step"
    );
    (a, counting)
}

#[test]
fn counting_hands_shows_the_spread_with_each_answers_key() {
    let (_, counting) = lesson_02_taught();
    assert!(
        counting.contains("hands 1 yes ▇▇▇ 3 · 2 no ▇▇▇▇▇▇▇▇▇▇ 12"),
        "a key press per hand, Backspace took one back:\n{counting}"
    );
    assert!(counting.contains("⌫ takes one back"), "{counting}");
}

#[test]
fn a_full_lesson_ends_on_its_summary_with_the_rooms_guesses() {
    let (mut a, _) = lesson_02_taught();
    let s = screen(&a, 80, 24);
    for words in [
        "the end · Computing",
        "1 Count primes on every model",
        "? Will the threads finish faster",
        "room yes ▇▇▇ 3 · no ▇▇▇▇▇▇▇▇▇▇ 12 ✓",
        "measured threads ran 0.98× as fast",
        "✓ right",
        "2 Big Fibonacci numbers",
        "processes ▇▇▇▇▇▇▇▇▇▇ 9 ✓",
        "the room: 2 right · 0 wrong",
        "s save",
    ] {
        assert!(s.contains(words), "{words:?} missing:\n{s}");
    }
    snap!("lesson_summary_80x24", s);
    let big = screen(&a, 200, 60);
    assert!(big.contains("the room: 2 right"), "{big}");
    snap!("lesson_summary_200x60", big);
    // p goes back to the last step, its measurement still there; nothing runs.
    assert!(a.update(enter()).is_empty());
    a.update(key('p'));
    assert!(a.lesson().is_some_and(|l| !l.summary && l.step == 1));
    assert!(screen(&a, 80, 24).contains("room sequential"));
}

#[test]
fn the_stepping_screen_shows_the_bytecode_and_the_lost_update() {
    let mut a = lesson_app("06-races-and-locks", 1);
    let offer = screen(&a, 80, 24);
    assert!(offer.contains("t you are the scheduler"), "{offer}");
    a.update(key('t'));
    let start = screen(&a, 80, 24);
    assert!(start.contains("▶ LOAD_GLOBAL"), "{start}");
    for c in "abaaab".chars() {
        a.update(key(c));
    }
    let mid = screen(&a, 80, 24);
    assert!(!mid.contains("lost update at"), "not lost yet:\n{mid}");
    for c in "bb".chars() {
        a.update(key(c));
    }
    let s = screen(&a, 80, 24);
    for words in [
        "you are the scheduler",
        "thread A",
        "✓ STORE_GLOBAL",
        "counter = 1",
        "replay: conlab step race --schedule A,B,A,A,A,B,B,B",
        "✗ lost update at step 8: B stored 1 over A's 1",
        "a A's next",
    ] {
        assert!(s.contains(words), "{words:?} missing:\n{s}");
    }
    snap!("stepper_lost_update_80x24", s);
    let big = screen(&a, 200, 60);
    assert!(big.contains("✗ lost update at step 8"), "{big}");
}

#[test]
fn presenter_mode_at_80x24_shows_two_lanes_of_every_run() {
    let mut done = three_finished_sampled();
    done.update(Msg::Present(true));
    let s = screen(&done, 80, 24);
    // Sequential has one worker; the pools have two, and both show.
    for short in ["threads ", "processes "] {
        let lanes = s
            .lines()
            .skip_while(|l| !l.contains(short) || !l.contains(" w0 "))
            .take(2)
            .filter(|l| l.contains(" w0 ") || l.contains(" w1 "))
            .count();
        assert_eq!(lanes, 2, "{short}: two lanes in\n{s}");
    }
    snap!("present_finished_80x24", s);
}
