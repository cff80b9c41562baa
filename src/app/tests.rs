//! `App::update` driven by sequences of messages (fixtures, never live timings).

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::fixtures::*;
use super::*;
use crate::exec::RunEnd;

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

#[test]
fn a_runs_every_model_one_after_another() {
    let mut a = app("primes", 2, true);
    let c = a.update(key('a'));
    assert_eq!(c.len(), 1);
    let Command::Start { id, spec } = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(spec.model, Model::Sequential);
    assert_eq!(a.queue.len(), Model::ALL.len() - 1);
    assert_eq!(a.panels[1].state, RunState::Queued);
    // A second `a` while running is refused, nothing starts.
    assert!(a.update(key('a')).is_empty());
    assert!(a.notice.is_some());
    let c = feed(
        &mut a,
        run_msgs(
            *id,
            Model::Sequential,
            2,
            4,
            3_000_000,
            2_900_000,
            false,
            "7",
        ),
    );
    // The next starts only when RunFinished arrived.
    let Some(Command::Start { spec, id: id2 }) = c.first() else {
        panic!("{c:?}")
    };
    assert_eq!(spec.model, Model::Threads);
    assert!(*id2 > *id);
    assert_eq!(a.active, Some((*id2, 1)));
    assert_eq!(a.selected, 1);
    let c = feed(
        &mut a,
        run_msgs(*id2, Model::Threads, 2, 4, 3_000_000, 3_000_000, true, "7"),
    );
    let id3 = started(&c).expect("processes start");
    let c = feed(
        &mut a,
        run_msgs(
            id3,
            Model::Processes,
            2,
            4,
            1_500_000,
            2_950_000,
            false,
            "7",
        ),
    );
    let id4 = started(&c).expect("async starts");
    let c = feed(
        &mut a,
        run_msgs(id4, Model::Async, 2, 4, 3_000_000, 2_950_000, false, "7"),
    );
    let id5 = started(&c).expect("interpreters start");
    let c = feed(
        &mut a,
        run_msgs(
            id5,
            Model::Interpreters,
            2,
            4,
            1_550_000,
            2_950_000,
            false,
            "7",
        ),
    );
    assert!(c.is_empty());
    assert!(!a.is_running());
    assert!(a.panels.iter().all(|p| p.is_finished()));
    assert_eq!(a.answers_agree(), Some(true));
    let s = a.speedup(2).expect("speed-up");
    assert!((s - 2.0).abs() < 1e-9);
    assert!((a.panels[2].utilisation().expect("u") - 2.95 / 1.5).abs() < 1e-9);
}

#[test]
fn explanation_follows_the_numbers() {
    let mut a = three_finished(2);
    a.selected = 1;
    let e = explain(&a).expect("threads explained");
    assert!(
        e.starts_with("threads 0.98×: the GIL let one thread run at a time"),
        "{e}"
    );
    assert!(e.contains("1.0 core busy"), "{e}");
    a.selected = 2;
    let e = explain(&a).expect("processes explained");
    assert!(e.starts_with("processes 1.94×: one interpreter"), "{e}");
    assert!(e.contains("1.9 cores busy"), "{e}");
}

#[test]
fn gil_off_threads_are_explained_as_parallel() {
    let mut a = app("primes", 2, false);
    let id = started(&a.update(key('a'))).expect("start");
    let id = started(&feed(
        &mut a,
        run_msgs(
            id,
            Model::Sequential,
            2,
            4,
            3_000_000,
            3_000_000,
            false,
            "7",
        ),
    ))
    .expect("threads");
    feed(
        &mut a,
        run_msgs(id, Model::Threads, 2, 4, 1_600_000, 3_100_000, false, "7"),
    );
    a.update(code(KeyCode::Char('c')));
    a.selected = 1;
    let e = explain(&a).expect("explained");
    // run_msgs stamps gil: true in RunStarted; the settings say off, the run said on.
    assert!(e.contains("1.88×"), "{e}");
}

#[test]
fn other_programs_busy_is_named() {
    let mut a = app("primes", 2, true);
    let id = started(&a.update(key('a'))).expect("start");
    let msgs = run_msgs(
        id,
        Model::Sequential,
        2,
        4,
        3_000_000,
        3_000_000,
        false,
        "7",
    );
    feed(&mut a, msgs);
    let id = started(&a.update(code(KeyCode::Right)))
        .or(a.active.map(|x| x.0))
        .expect("threads run");
    let mut msgs = run_msgs(id, Model::Threads, 2, 4, 3_000_000, 1_200_000, false, "7");
    let fin = msgs.pop().expect("finished");
    feed(&mut a, msgs);
    // Others use 1.5 cores while we use 0.4.
    a.update(cpu(vec![95.0, 95.0], 40.0));
    a.update(cpu(vec![95.0, 95.0], 40.0));
    a.update(fin);
    a.selected = 1;
    let e = explain(&a).expect("explained");
    // With no run-queue figure, heavy load makes the speed-up inconclusive, said so.
    assert!(
        e.contains("inconclusive: other programs kept 1.5 cores busy"),
        "{e}"
    );
}

#[test]
fn cancel_clears_the_queue_and_ignores_late_events() {
    let mut a = app("primes", 2, true);
    let id = started(&a.update(key('a'))).expect("start");
    let mut msgs = run_msgs(
        id,
        Model::Sequential,
        2,
        4,
        3_000_000,
        3_000_000,
        false,
        "7",
    );
    let rest = msgs.split_off(4);
    feed(&mut a, msgs);
    assert_eq!(a.update(key('c')), vec![Command::Cancel]);
    assert!(a.queue.is_empty());
    assert_eq!(a.panels[1].state, RunState::Idle);
    let c = a.update(ev(
        id,
        500_000,
        Event::RunFinished(RunEnd {
            answer: None,
            elapsed_us: 500_000,
            cpu_us: 400_000,
            failed: 0,
            cancelled: true,
        }),
    ));
    assert!(c.is_empty(), "nothing more starts after a cancel");
    assert_eq!(
        a.notice, None,
        "the cancelling notice goes once the run stopped"
    );
    assert_eq!(a.panels[0].state, RunState::Cancelled);
    // Events of the old run arriving late change nothing.
    feed(&mut a, rest);
    assert_eq!(a.panels[0].state, RunState::Cancelled);
    assert!(
        explain(&a)
            .expect("line")
            .contains("cancelled after 0.50 s")
    );
}

#[test]
fn a_run_that_cannot_start_shows_why() {
    let mut a = app("primes", 2, true);
    let id = started(&a.update(code(KeyCode::Enter))).expect("start");
    a.update(Msg::RunEnded {
        id,
        result: Err("invalid --size: too big".into()),
    });
    assert!(!a.is_running());
    assert_eq!(
        a.panels[0].state,
        RunState::Failed("invalid --size: too big".into())
    );
}

#[test]
fn ticks_move_live_elapsed_and_only_while_running() {
    let mut a = app("primes", 2, true);
    assert!(!a.wants_ticks());
    let id = started(&a.update(code(KeyCode::Enter))).expect("start");
    assert!(a.wants_ticks());
    let msgs = run_msgs(
        id,
        Model::Sequential,
        2,
        4,
        3_000_000,
        3_000_000,
        false,
        "7",
    );
    a.update(msgs[0].clone()); // RunStarted, sent at loop time 1 s
    a.update(Msg::Tick(Duration::from_millis(1_750)));
    assert_eq!(a.panels[0].elapsed_us, 750_000);
    // Never backwards.
    a.update(Msg::Tick(Duration::from_millis(1_200)));
    assert_eq!(a.panels[0].elapsed_us, 750_000);
}

#[test]
fn keys_change_settings_within_bounds() {
    let mut a = app("sleep", 2, true);
    let size = a.settings.size;
    a.update(key(']'));
    assert_eq!(a.settings.size, size * 2);
    a.update(key('['));
    a.update(key('['));
    assert_eq!(a.settings.size, size / 2);
    a.update(key('+'));
    assert_eq!(a.settings.workers, 3);
    for _ in 0..10 {
        a.update(key('-'));
    }
    assert_eq!(a.settings.workers, 1);
    a.update(key('g'));
    assert!(!a.settings.gil);
    a.update(key('w'));
    let all = crate::workload::all();
    let after_sleep = all
        .iter()
        .position(|w| w.name() == "sleep")
        .map(|i| all[(i + 1) % all.len()].name());
    assert_eq!(Some(a.settings.workload().name()), after_sleep);
    a.update(key('W'));
    assert_eq!(a.settings.workload().name(), "sleep");
    a.update(code(KeyCode::Left));
    assert_eq!(
        a.selected,
        Model::ALL.len() - 1,
        "left of the first wraps to the last"
    );
    a.update(key('l'));
    assert_eq!(a.selected, 0);
    a.update(code(KeyCode::Down));
    assert_eq!(a.selected, 1);
    a.update(code(KeyCode::Up));
    assert_eq!(a.selected, 0);
    // `k` is the kernel view now, not a way to move.
    a.update(key('k'));
    assert_eq!(a.selected, 0);
    assert!(a.kernel.on);
}

#[test]
fn workload_change_is_refused_while_running_and_clears_results_otherwise() {
    let mut a = three_finished(2);
    a.update(key('w'));
    assert!(a.panels.iter().all(|p| p.state == RunState::Idle));
    a.update(code(KeyCode::Enter));
    a.update(key('w'));
    assert_eq!(a.settings.workload().name(), "naive-primes");
    assert!(a.notice.as_deref().unwrap_or("").contains("fixed"));
}

#[test]
fn help_quit_and_ctrl_c() {
    let mut a = app("primes", 2, true);
    a.update(key('?'));
    assert!(a.help);
    assert!(a.update(key('x')).is_empty());
    assert!(!a.help);
    assert_eq!(a.update(key('q')), vec![Command::Quit]);
    let c = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(c, vec![Command::Quit]);
    assert_eq!(a.update(Msg::Quit), vec![Command::Quit]);
}

#[test]
fn clicking_a_model_panel_selects_it() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut a = app("primes", 2, true);
    a.update(Msg::Resize(120, 36));
    let areas = crate::ui::layout::areas(ratatui::layout::Rect::new(0, 0, 120, 36), 0, 2);
    let r = areas.models[2];
    let click = |kind| MouseEvent {
        kind,
        column: r.x + 2,
        row: r.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    // The loop locates the click with drawing's layout, then the app selects.
    let located = crate::ui::hit_test(&a, click(MouseEventKind::Down(MouseButton::Left)));
    assert_eq!(
        located.as_ref().map(|m| matches!(m, Msg::Click(Some(2)))),
        Some(true)
    );
    assert!(crate::ui::hit_test(&a, click(MouseEventKind::Moved)).is_none());
    a.update(located.expect("a click"));
    assert_eq!(a.selected, 2);
    // A raw mouse event reaching the app changes nothing.
    a.update(Msg::Mouse(click(MouseEventKind::Down(MouseButton::Left))));
    a.update(Msg::Click(Some(1)));
    assert_eq!(a.selected, 1);
}

#[test]
fn a_burst_of_a_million_events_keeps_state_per_worker_not_per_event() {
    let mut a = app("primes", 4, true);
    let id = started(&a.update(code(KeyCode::Right))).unwrap_or(0);
    let id = if id == 0 {
        started(&a.update(code(KeyCode::Enter))).expect("start")
    } else {
        id
    };
    let msgs = run_msgs(id, Model::Threads, 4, 4, 1_000_000, 1_000_000, false, "1");
    a.update(msgs[0].clone());
    for i in 0..1_000_000u64 {
        a.update(ev(
            id,
            i,
            Event::Progress {
                task: 0,
                worker: 0,
                done: i,
                total: 1_000_000,
            },
        ));
    }
    assert_eq!(a.panels[1].workers.len(), 4);
    assert_eq!(a.panels[1].timeline.lanes(), 4);
    assert_eq!(a.panels[1].elapsed_us, 999_999);
    // The memory itself is measured end to end (`conlab run --workload tiny --tasks
    // 10000000` stays under 64 MB: see benches/channel.rs and the README).
}

#[test]
fn i_classifies_the_current_workload_and_shows_the_verdict() {
    let mut a = app("sleep", 2, true);
    let cmds = a.update(key('i'));
    match cmds.as_slice() {
        [Command::Classify(spec)] => {
            assert_eq!(spec.workload, "sleep");
            assert_eq!(spec.model, Model::Sequential);
        }
        other => panic!("expected one Classify command, got {other:?}"),
    }
    a.update(Msg::Classified(Ok("sleep: mostly waiting".into())));
    assert_eq!(a.classified.as_deref(), Some("sleep: mostly waiting"));
    assert!(
        a.notice.is_none(),
        "the verdict replaces the 'classifying…' notice"
    );
    a.update(key('w'));
    assert!(
        a.classified.is_none(),
        "a new workload forgets the old verdict"
    );
    a.update(Msg::Classified(Err("boom".into())));
    assert!(a.notice.as_deref().is_some_and(|n| n.contains("boom")));
}

#[test]
fn a_saved_screenshot_says_where_and_a_failed_one_says_why() {
    let mut a = app("primes", 2, true);
    let c = a.update(Msg::ShotSaved(Ok("shots/conlab-1.svg".into())));
    assert!(c.is_empty());
    assert_eq!(
        a.info.as_deref(),
        Some("saved shots/conlab-1.svg (+ .txt, .ans)")
    );
    assert_eq!(a.notice, None, "a success is not shown as a warning");
    a.update(Msg::ShotSaved(Err("cannot create shots: denied".into())));
    assert_eq!(
        a.notice.as_deref(),
        Some("screenshot not saved: cannot create shots: denied")
    );
}

#[test]
fn a_notice_from_outside_reaches_the_status_line() {
    let mut a = app("primes", 2, true);
    assert!(a.update(Msg::Notice("hello".into())).is_empty());
    assert_eq!(a.notice.as_deref(), Some("hello"));
}

#[test]
fn replay_begins_refusing_runs_queues_recorded_runs_and_says_when_finished() {
    let mut a = app("primes", 2, true);
    assert!(a.update(Msg::Replay(ReplayMsg::Begin)).is_empty());
    assert!(a.replaying);
    // Keys that would start runs are refused while replaying.
    assert!(a.update(key('a')).is_empty());
    assert!(!a.is_running());
    let mut recorded = Settings::new("sleep", 50, 3, false, 5.0);
    recorded.tasks = 6;
    let c = a.update(Msg::Replay(ReplayMsg::Run {
        settings: Box::new(recorded.clone()),
        model: Model::Threads,
    }));
    let [Command::Start { id, spec }] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert_eq!(spec.model, Model::Threads);
    assert_eq!(a.settings, recorded);
    assert_eq!(a.active, Some((*id, 1)));
    a.update(Msg::Replay(ReplayMsg::Finished));
    assert_eq!(
        a.info.as_deref(),
        Some("replay finished: q quits, s saves a screenshot")
    );
}

#[test]
fn a_run_cannot_start_while_classifying_and_classify_not_twice() {
    let mut a = app("sleep", 2, true);
    assert!(matches!(
        a.update(key('i')).as_slice(),
        [Command::Classify(_)]
    ));
    assert!(
        a.update(key('a')).is_empty(),
        "no run while the sample runs"
    );
    assert!(
        a.notice
            .as_deref()
            .unwrap_or("")
            .contains("one measurement at a time")
    );
    assert!(a.update(key('i')).is_empty(), "one classify at a time");
    a.update(Msg::Classified(Ok("waiting".into())));
    assert!(
        !a.update(key('a')).is_empty(),
        "after the verdict, runs start"
    );
}

#[test]
fn a_model_the_workload_is_not_for_is_not_run() {
    let mut a = app("recycle", 2, true);
    let cmds = a.update(key('a'));
    // Only processes starts; the other panels stay idle (their panels say why), and
    // nothing failed.
    match cmds.as_slice() {
        [Command::Start { spec, .. }] => assert_eq!(spec.model, Model::Processes),
        other => panic!("expected one start, got {other:?}"),
    }
    assert_eq!(a.panels[0].state, RunState::Idle);
    assert!(a.queue.is_empty(), "nothing else queued");
    assert!(a.notice.is_none(), "{:?}", a.notice);
    // Enter on a model it is not for says which models it runs under.
    a.update(Msg::Select(0));
    let mut b = app("recycle", 2, true);
    assert!(
        b.update(Msg::Key(crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Enter
        )))
        .is_empty()
    );
    assert_eq!(
        b.notice.as_deref(),
        Some("recycle runs under processes only: select its panel")
    );
}

/// Lesson 12's second step runs the models its question compares, and reveals once they
/// have run (fixed numbers: sequential 3.02 s, processes 1.56 s).
#[test]
fn lesson_12_step_2_reveals_after_it_runs() {
    let lesson = crate::experiment::lesson::open("12").expect("shipped");
    let mut a = app("primes", 2, true);
    a.update(Msg::Lesson(Box::new(lesson)));
    feed(&mut a, vec![key('n')]);
    let step = a.lesson.as_ref().expect("in a lesson").current().clone();
    assert_eq!(step.models, vec![Model::Sequential, Model::Processes]);
    assert!(
        step.predict
            .as_deref()
            .is_some_and(|q| q.contains("processes") && q.contains("sequential")),
        "the question names the models the step runs: {:?}",
        step.predict
    );
    feed(&mut a, vec![key('1')]);
    let mut cmds = a.update(Msg::Key(KeyEvent::from(KeyCode::Enter)));
    for (model, us) in [
        (Model::Sequential, 3_020_000),
        (Model::Processes, 1_560_000),
    ] {
        let id = started(&cmds).unwrap_or_else(|| panic!("{model} starts: {cmds:?}"));
        cmds = feed(&mut a, run_msgs(id, model, 2, 4, us, us, false, "1"));
    }
    let v = crate::app::lesson_mode::verdict(&a).expect("the step reveals");
    assert_eq!(v.right, Some(0), "processes faster: yes ({v:?})");
    assert_eq!(v.text_disagrees, None);
}

#[test]
fn a_witness_arriving_after_the_run_finished_reaches_its_panel() {
    let mut a = app("primes", 2, true);
    let id = started(&a.update(key('a'))).expect("start");
    feed(
        &mut a,
        run_msgs(
            id,
            Model::Sequential,
            2,
            4,
            3_000_000,
            3_000_000,
            false,
            "7",
        ),
    );
    // The queue has moved on to threads; sequential's witness comes in late.
    let share = crate::observe::KernelShare {
        on_cpu: 0.5,
        runnable: 0.5,
        thread_s: 3.0,
        ..Default::default()
    };
    let witness = crate::observe::witness::RunWitness {
        interference: crate::observe::Interference::of(3.0, Some(6.0), Some(&share)),
        concurrency: Default::default(),
        share: Some(share),
    };
    a.update(Msg::Witnessed {
        id,
        model: Model::Sequential,
        witness: Box::new(witness),
    });
    let e = a.evidence(Model::Sequential).expect("sequential finished");
    assert_eq!(e.interference.runqueue_s, Some(1.5));
    assert!(
        e.disturbance()
            .is_some_and(|d| d.starts_with("sequential waited 1.50 s")),
        "{e:?}"
    );
}
