//! The event loop: block on the one channel, fold each [`Msg`] into the [`App`], carry out
//! the [`Command`]s `App::update` returns (start/cancel a run, classify, save a frame,
//! quit), redraw at most every [`FRAME`]. Generic over ratatui's `Backend` so tests drive
//! the real loop on a `TestBackend`.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::layout::Size;

use super::run::RunJob;
use super::{classify_job, screenshot};
use crate::app::{App, Command, Msg, ReplayMsg};
use crate::core::Runtime;
use crate::exec::Runner;
use crate::observe::Probe;
use crate::observe::sampler::Sampler;
use crate::recording::capture::TraceFile;
use crate::recording::record::Recorder;
use crate::recording::replay::Player;
use crate::runtime::NativeRunner;
use crate::ui;

pub use crate::ui::FRAME;
/// While a run is in progress, time advances at least this often (live elapsed).
pub const TICK: Duration = Duration::from_millis(100);

/// What the loop runs with besides the app: what performs runs, and optional duties
/// (record what it receives, play a recording, where to save frames).
pub struct Extras {
    /// Performs the runs `App::update` asks for (the native engine unless a test plugs
    /// in a mock).
    pub runner: Arc<dyn Runner>,
    /// Performs the runs when the settings say CPython (`r`); `None` without a Python.
    pub cpython: Option<Arc<dyn Runner>>,
    /// The same interpreter with its threads runs under CPython's GIL sampler (`G`);
    /// `None` when it has none (older than 3.15).
    pub cpython_sampled: Option<Arc<dyn Runner>>,
    pub recorder: Option<Recorder>,
    /// `--trace`: every run's events and the CPU samples, closed when the loop ends; what it
    /// holds is left in `trace_note`.
    pub trace: Option<TraceFile>,
    pub trace_note: Option<String>,
    /// A recording to play and its speed factor.
    pub player: Option<(Player, f64)>,
    /// Where `s` saves screenshots (default `screenshots/`).
    pub shots_dir: Option<PathBuf>,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            runner: Arc::new(NativeRunner),
            cpython: None,
            cpython_sampled: None,
            recorder: None,
            trace: None,
            trace_note: None,
            player: None,
            shots_dir: None,
        }
    }
}

/// [`run_loop_with`] the native engine and no extra duties.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> std::io::Result<()> {
    run_loop_with(terminal, app, tx, rx, &mut Extras::default())
}

/// Block on the channel, drain bursts, redraw at most every [`FRAME`], tick only while a
/// run needs live time. Returns when a `Quit` command arrives (or every sender is gone),
/// after cancelling and joining the run.
pub fn run_loop_with<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    extras: &mut Extras,
) -> std::io::Result<()> {
    let t0 = Instant::now();
    let io = |e: B::Error| std::io::Error::other(e.to_string());
    if let Ok(s) = terminal.size() {
        app.update(Msg::Resize(s.width, s.height));
    }
    let mut runs = RunJob::new(extras.runner.clone());
    let (native, cpython) = (extras.runner.clone(), extras.cpython.clone());
    let sampled = extras.cpython_sampled.clone();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    // Set by commands inside `handle`, read by the loop around it.
    let quit = Cell::new(false);
    let want_shot = Cell::new(false);
    let want_kernel: Cell<Option<bool>> = Cell::new(None);
    let mut kernel: Option<Sampler> = None;
    let result = loop {
        if let Some((player, speed)) = &mut extras.player
            && !player.finished()
        {
            player.play_until(app, t0.elapsed().mul_f64(*speed));
            dirty = true;
            if player.finished() {
                app.update(Msg::Replay(ReplayMsg::Finished));
            }
        }
        let now = Instant::now();
        if dirty && last_draw.is_none_or(|d| now.duration_since(d) >= FRAME) {
            if let Err(e) = terminal.draw(|f| ui::draw(f, app)) {
                break Err(io(e));
            }
            last_draw = Some(now);
            dirty = false;
        }
        let mut wait: Option<Duration> = None;
        if dirty {
            wait = last_draw.map(|d| FRAME.saturating_sub(d.elapsed()));
        }
        if app.wants_ticks() {
            let tw = TICK.saturating_sub(last_tick.elapsed());
            wait = Some(wait.map_or(tw, |w| w.min(tw)));
        }
        if let Some((player, speed)) = &extras.player
            && let Some(due) = player.next_due()
        {
            let pw = due.div_f64(*speed).saturating_sub(t0.elapsed()).min(TICK);
            wait = Some(wait.map_or(pw, |w| w.min(pw)));
        }
        let first = match wait {
            None => rx.recv().ok(),
            Some(w) => match rx.recv_timeout(w) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break Ok(()),
            },
        };
        let recorder = extras.recorder.as_ref();
        let mut trace = extras.trace.as_mut();
        let mut handle = |msg: Msg, app: &mut App| {
            // A mouse event is located with drawing's layout before the app sees it.
            let msg = match msg {
                Msg::Mouse(m) => match ui::hit_test(app, m) {
                    Some(click) => click,
                    None => return,
                },
                other => other,
            };
            if let Some(r) = recorder {
                record(r, &msg);
            }
            if let Some(t) = trace.as_deref_mut() {
                keep_in_trace(t, &msg, t0.elapsed());
            }
            for cmd in app.update(msg) {
                match cmd {
                    Command::Start { id, spec } => {
                        // The settings name the runtime; the run goes to its runner.
                        runs.set_runner(match (app.settings().runtime, &cpython) {
                            (Runtime::Cpython, Some(_))
                                if app.settings().samples_gil() && sampled.is_some() =>
                            {
                                sampled.clone().unwrap_or_else(|| native.clone())
                            }
                            (Runtime::Cpython, Some(c)) => c.clone(),
                            _ => native.clone(),
                        });
                        runs.start(id, *spec, tx, t0)
                    }
                    Command::Cancel => runs.cancel(),
                    Command::Screenshot => want_shot.set(true),
                    Command::Classify(spec) => classify_job::spawn(*spec, tx),
                    Command::Kernel(on) => want_kernel.set(Some(on)),
                    Command::Quit => quit.set(true),
                }
            }
        };
        if let Some(m) = first {
            dirty = true;
            handle(m, app);
            // Drain a burst: one redraw for all of it, but never starve drawing.
            let started = Instant::now();
            for (n, m) in rx.try_iter().enumerate() {
                handle(m, app);
                if n % 1024 == 1023 && started.elapsed() >= FRAME {
                    break;
                }
            }
        }
        if app.wants_ticks() && last_tick.elapsed() >= TICK {
            last_tick = Instant::now();
            handle(Msg::Tick(t0.elapsed()), app);
            dirty = true;
        }
        if want_shot.replace(false) {
            let dir = extras
                .shots_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("screenshots"));
            let size = terminal
                .size()
                .unwrap_or(Size::new(app.size().0, app.size().1));
            handle(screenshot::save(app, size, &dir), app);
            dirty = true;
        }
        if let Some(on) = want_kernel.take() {
            kernel = None; // a sampler that was running takes its last sample and stops
            if on {
                match kernel_sampler(tx) {
                    Ok(s) => kernel = Some(s),
                    Err(why) => handle(Msg::KernelUnavailable(why), app),
                }
            }
            dirty = true;
        }
        if quit.get() {
            break Ok(());
        }
    };
    drop(kernel);
    runs.cancel();
    runs.join();
    if let Some(t) = &mut extras.trace {
        extras.trace_note = t
            .finish()
            .unwrap_or_else(|e| Some(format!("conlab: {e:#}")));
    }
    // The recording put in place; a write that failed is said with the trace's note.
    if let Some(r) = &extras.recorder
        && let Err(e) = r.finish()
    {
        let lost = format!("conlab: cannot write recording {}: {e}", r.path().display());
        extras.trace_note = Some(match extras.trace_note.take() {
            Some(n) => format!("{n}\n{lost}"),
            None => lost,
        });
    }
    result
}

/// Sample conlab's own process tree (its threads, worker processes, the interpreter) for
/// the kernel view, every [`crate::app::kernel::SAMPLE_MS`].
fn kernel_sampler(tx: &Sender<Msg>) -> Result<Sampler, String> {
    let cant = |e: String| format!("kernel view unavailable: {e}");
    crate::observe::check_proc().map_err(|e| cant(e.to_string()))?;
    let probe =
        Probe::new(std::process::id(), false, Instant::now()).map_err(|e| cant(e.to_string()))?;
    let every = Duration::from_millis(crate::app::kernel::SAMPLE_MS);
    Sampler::spawn(probe, every, tx.clone(), |s| Msg::Kernel(Box::new(s)))
        .map_err(|e| cant(e.to_string()))
}

/// Write what a trace keeps: run events (at the run's own times) and CPU samples.
fn keep_in_trace(t: &mut TraceFile, msg: &Msg, now: Duration) {
    match msg {
        Msg::Run { id, at, ev } => t.event(*id as u32, at.as_micros() as u64, ev),
        Msg::Cpu(sample) => t.cpu(now.as_micros() as u64, sample),
        _ => {}
    }
}

/// Write what a recording keeps: run events and CPU samples.
fn record(r: &Recorder, msg: &Msg) {
    match msg {
        Msg::Run { id, ev, .. } => r.event(*id as u32, ev),
        Msg::Cpu(sample) => {
            if let Ok(v) = serde_json::to_value(sample) {
                r.cpu(v);
            }
        }
        _ => {}
    }
}
