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
use super::{classify, screenshot};
use crate::app::{App, Command, Msg, ReplayMsg};
use crate::exec::Runner;
use crate::record::Recorder;
use crate::replay::Player;
use crate::runtime::NativeRunner;
use crate::ui;

/// Redraw at most this often: 10 fps, the rate live numbers change at (ticks are 100 ms).
/// Drawing a 200x60 screen cost ~4% of a core at 30 fps and ~3% at 20 fps during a run:
/// the dashboard must not disturb what it measures.
pub const FRAME: Duration = Duration::from_millis(100);
/// While a run is in progress, time advances at least this often (live elapsed).
pub const TICK: Duration = Duration::from_millis(100);

/// What the loop runs with besides the app: what performs runs, and optional duties
/// (record what it receives, play a recording, where to save frames).
pub struct Extras {
    /// Performs the runs `App::update` asks for (the native engine unless a test plugs
    /// in a mock).
    pub runner: Arc<dyn Runner>,
    pub recorder: Option<Recorder>,
    /// A recording to play and its speed factor.
    pub player: Option<(Player, f64)>,
    /// Where `s` saves screenshots (default `screenshots/`).
    pub shots_dir: Option<PathBuf>,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            runner: Arc::new(NativeRunner),
            recorder: None,
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
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    // Set by commands inside `handle`, read by the loop around it.
    let quit = Cell::new(false);
    let want_shot = Cell::new(false);
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
        let mut handle = |msg: Msg, app: &mut App| {
            if let Some(r) = recorder {
                record(r, &msg);
            }
            for cmd in app.update(msg) {
                match cmd {
                    Command::Start { id, spec } => runs.start(id, *spec, tx, t0),
                    Command::Cancel => runs.cancel(),
                    Command::Screenshot => want_shot.set(true),
                    Command::Classify(spec) => classify::spawn(*spec, tx),
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
            let size = terminal.size().unwrap_or(Size::new(app.size.0, app.size.1));
            handle(screenshot::save(app, size, &dir), app);
            dirty = true;
        }
        if quit.get() {
            break Ok(());
        }
    };
    if let Some(r) = &extras.recorder {
        let _ = r.flush();
    }
    runs.cancel();
    runs.join();
    result
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
