//! The real event loop on a `TestBackend`: quitting, screenshots, recording, floods, and
//! a whole `a` (run all models) through a fixed-duration fake behind the `Runner` seam.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::*;
use crate::app::Settings;
use crate::exec::CancelToken;
use crate::exec::mock::MockRunner;
use crate::exec::{Event, Model, RunResult, RunSpec, Runner, Sink, Stamped};
use crate::recording::record::Recorder;
use crate::ui::theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn quitting_mid_run_cancels_and_joins_the_run() {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    let settings = Settings::new("sleep", 60_000, 2, true, 5.0);
    let mut app = App::new(settings, theme::Theme::default());
    let (tx, rx) = crossbeam_channel::unbounded();
    tx.send(key('a')).expect("send");
    tx.send(key('q')).expect("send");
    let t = Instant::now();
    run_loop(&mut terminal, &mut app, &tx, &rx).expect("loop");
    // A 60 s sleep workload, cancelled: the loop returned long before it would end.
    assert!(t.elapsed() < Duration::from_secs(50));
    let screen = format!("{:?}", terminal.backend().buffer());
    assert!(screen.contains("conlab"));
}

#[test]
fn s_saves_the_frame_and_says_where() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    let mut app = App::new(
        Settings::new("primes", 0, 2, true, 5.0),
        theme::Theme::default(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    tx.send(key('s')).expect("send");
    tx.send(key('q')).expect("send");
    let mut extras = Extras {
        shots_dir: Some(dir.path().to_path_buf()),
        ..Extras::default()
    };
    run_loop_with(&mut terminal, &mut app, &tx, &rx, &mut extras).expect("loop");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for ext in ["svg", "txt", "ans"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("conlab-") && n.ends_with(ext)),
            "{names:?}"
        );
    }
    assert!(
        app.info().is_some_and(|n| n.contains("saved")),
        "{:?}",
        app.info()
    );
}

#[test]
fn recording_captures_what_the_loop_receives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.jsonl");
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    let mut app = App::new(
        Settings::new("sleep", 1, 2, true, 5.0),
        theme::Theme::default(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    tx.send(Msg::Cpu(crate::observe::monitor::CpuSample {
        cores: vec![10.0, 20.0],
        ..Default::default()
    }))
    .expect("send");
    tx.send(key('q')).expect("send");
    let mut extras = Extras {
        recorder: Some(Recorder::create(&path).expect("recorder")),
        ..Extras::default()
    };
    run_loop_with(&mut terminal, &mut app, &tx, &rx, &mut extras).expect("loop");
    drop(extras);
    let rec = crate::recording::record::load(&path).expect("valid recording");
    assert_eq!(rec.entries.len(), 1);
    assert!(matches!(
        rec.entries[0],
        crate::recording::record::Entry::Cpu { .. }
    ));
}

#[test]
fn ctrl_c_quits() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("test backend");
    let mut app = App::new(
        Settings::new("primes", 0, 2, true, 5.0),
        theme::Theme::default(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    tx.send(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )))
    .expect("send");
    run_loop(&mut terminal, &mut app, &tx, &rx).expect("loop");
    assert!(!app.is_running());
}

/// A TestBackend that counts frames drawn.
struct Counting(TestBackend, usize);

impl Backend for Counting {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a ratatui::buffer::Cell)>,
    {
        self.0.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<ratatui::layout::Position, Self::Error> {
        self.0.get_cursor_position()
    }
    fn set_cursor_position<P: Into<ratatui::layout::Position>>(
        &mut self,
        position: P,
    ) -> Result<(), Self::Error> {
        self.0.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.clear()
    }
    fn clear_region(&mut self, clear_type: ratatui::backend::ClearType) -> Result<(), Self::Error> {
        self.0.clear_region(clear_type)
    }
    fn size(&self) -> Result<ratatui::layout::Size, Self::Error> {
        self.0.size()
    }
    fn window_size(&mut self) -> Result<ratatui::backend::WindowSize, Self::Error> {
        self.0.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.1 += 1;
        self.0.flush()
    }
}

#[test]
fn a_flood_of_events_is_coalesced_and_drawing_goes_on() {
    let mut terminal = Terminal::new(Counting(TestBackend::new(80, 24), 0)).expect("backend");
    // A long run is active (id 1) so its events count.
    let mut app = App::new(
        Settings::new("sleep", 60_000, 2, true, 5.0),
        theme::Theme::default(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    tx.send(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
        .expect("send");
    let flood = 2_000_000u64;
    let producer = {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for i in 0..flood {
                let ev = Stamped {
                    at_us: i,
                    event: Event::Progress {
                        task: 0,
                        worker: 0,
                        done: i,
                        total: flood,
                    },
                };
                if tx
                    .send(Msg::Run {
                        id: 1,
                        at: Duration::from_micros(i),
                        ev,
                    })
                    .is_err()
                {
                    return;
                }
            }
            let _ = tx.send(key('q'));
        })
    };
    run_loop(&mut terminal, &mut app, &tx, &rx).expect("loop");
    producer.join().expect("producer");
    let frames = terminal.backend().1;
    // Far fewer frames than events (coalesced), and at least the first and the last.
    assert!(frames >= 2, "drew {frames} frames");
    assert!(
        (frames as u64) < flood / 100,
        "drew {frames} frames for {flood} events"
    );
}

/// The engine's own fake runner, plus one thing a loop test needs: after its
/// `quit_after`-th run it sends `Quit` on the loop's channel, behind that run's events.
struct QuitAfter {
    runner: MockRunner,
    tx: Sender<Msg>,
    runs: AtomicUsize,
    quit_after: usize,
}

impl Runner for QuitAfter {
    fn on_this_machine(&self) -> bool {
        self.runner.on_this_machine()
    }

    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult {
        let report = self.runner.run(spec, sink, cancel);
        if self.runs.fetch_add(1, Ordering::SeqCst) + 1 == self.quit_after {
            let _ = self.tx.send(Msg::Quit);
        }
        report
    }
}

#[test]
fn pressing_a_runs_every_model_through_the_runner_seam() {
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).expect("test backend");
    let mut app = App::new(
        Settings::new("primes", 1000, 2, true, 5.0),
        theme::Theme::new(theme::ThemeName::Dark, true),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let secs = Duration::from_secs_f64;
    let runner = QuitAfter {
        runner: MockRunner::new("168")
            .takes(Model::Sequential, secs(2.0), secs(2.0))
            .takes(Model::Threads, secs(1.9), secs(2.0))
            .takes(Model::Processes, secs(1.1), secs(2.1))
            .takes(Model::Async, secs(2.05), secs(2.0))
            .takes(Model::Interpreters, secs(1.15), secs(2.1)),
        tx: tx.clone(),
        runs: AtomicUsize::new(0),
        quit_after: Model::ALL.len(),
    };
    tx.send(key('a')).expect("send");
    let mut extras = Extras {
        runner: Arc::new(runner),
        ..Extras::default()
    };
    run_loop_with(&mut terminal, &mut app, &tx, &rx, &mut extras).expect("loop");
    assert!(!app.is_running());
    assert_eq!(app.speedup(2), Some(2_000_000.0 / 1_100_000.0));
    assert_eq!(app.answers_agree(), Some(true));
    assert!(
        app.panels().iter().all(|p| p.is_finished()),
        "every model ran"
    );
    // The loop draws at most every FRAME, so its last frame may predate the last
    // events; draw the final state once more the way the loop does.
    terminal.draw(|f| crate::ui::draw(f, &app)).expect("draw");
    insta::assert_snapshot!("a_runs_all_models_120x36", terminal.backend());
}

#[test]
fn trace_holds_every_run_of_the_session_and_closes_on_quit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.json");
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("test backend");
    let mut app = App::new(
        Settings::new("primes", 1000, 2, true, 5.0),
        theme::Theme::default(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let secs = Duration::from_secs_f64;
    let runner = QuitAfter {
        runner: MockRunner::new("168")
            .takes(Model::Sequential, secs(0.2), secs(0.2))
            .takes(Model::Threads, secs(0.2), secs(0.2))
            .takes(Model::Processes, secs(0.1), secs(0.2)),
        tx: tx.clone(),
        runs: AtomicUsize::new(0),
        // The mock has no time for async: that run fails, and a failure ends the queue.
        quit_after: Model::ALL
            .iter()
            .position(|m| *m == Model::Async)
            .expect("async is a model")
            + 1,
    };
    tx.send(Msg::Cpu(crate::observe::monitor::CpuSample {
        cores: vec![10.0, 20.0],
        ..Default::default()
    }))
    .expect("send");
    tx.send(key('a')).expect("send");
    let mut extras = Extras {
        runner: Arc::new(runner),
        trace: Some(crate::recording::capture::TraceFile::create(&path).expect("trace")),
        ..Extras::default()
    };
    run_loop_with(&mut terminal, &mut app, &tx, &rx, &mut extras).expect("loop");
    let note = extras.trace_note.expect("closed on quit");
    assert!(note.contains("trace of 3 runs"), "{note}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("written")).expect("valid JSON");
    let models: Vec<&str> = v["otherData"]["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["model"].as_str())
        .collect();
    assert_eq!(models, ["sequential", "threads", "processes"]);
    let events = v["traceEvents"].as_array().expect("events");
    assert!(events.iter().any(|e| e["ph"] == "X" && e["cat"] == "task"));
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "C" && e["name"] == "CPU %")
    );
}
