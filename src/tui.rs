//! The dashboard's terminal side: init and restore (one path for quit, error, panic and
//! Ctrl-C), the event loop (generic over ratatui's `Backend`), the input thread, and the
//! run thread that carries out the [`Command`]s `App::update` returns.

use std::io::{IsTerminal, Stdout};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, MouseEventKind};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend};

use crate::app::{App, Command, Msg, RunId, Settings};
use crate::cli::{OnOff, TuiArgs};
use crate::exec::{self, CancelToken, RunSpec, Sink};
use crate::headless::CliError;
use crate::ui::{self, theme};
use crate::workload;

/// Redraw at most this often (~30 fps).
pub const FRAME: Duration = Duration::from_millis(33);
/// While a run is in progress, time advances at least this often (live elapsed).
pub const TICK: Duration = Duration::from_millis(100);

/// `conlab` / `conlab tui`: open the dashboard.
pub fn tui_command(args: &TuiArgs) -> Result<ExitCode, CliError> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "conlab: the dashboard needs a terminal on stdin and stdout.\n\
             For scripts and pipes use `conlab run` (one model) or `conlab compare` (all three),\n\
             e.g. conlab run --workload {} --model threads --workers 2",
            args.opts.workload
        );
        return Ok(ExitCode::from(2));
    }
    let settings = settings_from(args)?;
    let app = App::new(settings, theme::from_env(args.theme));
    let mut guard = TerminalGuard::init().map_err(|e| CliError::Other(e.into()))?;
    let result = run_dashboard(&mut guard.terminal, app);
    drop(guard);
    result.map_err(|e| CliError::Other(e.into()))?;
    Ok(ExitCode::SUCCESS)
}

/// Check the options the way `conlab run` would, naming the flag.
fn settings_from(args: &TuiArgs) -> Result<Settings, CliError> {
    let o = &args.opts;
    o.gil().map_err(CliError::Usage)?;
    let w = workload::find(&o.workload).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown workload `{}`; choose one of: {}",
            o.workload,
            workload::names().join(", ")
        ))
    })?;
    o.workload_args()
        .resolve(w)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut s = Settings::new(
        w.name(),
        o.size.unwrap_or(0),
        o.workers(),
        o.gil == OnOff::On,
        o.switch_interval_ms,
    );
    s.tasks = o.tasks.unwrap_or(0);
    Ok(s)
}

/// Puts the terminal back: raw mode off first, then leave the alternate screen, mouse
/// capture off, cursor shown. Safe to call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Owns the terminal while the dashboard is up; dropping it restores the terminal.
pub struct TerminalGuard {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn init() -> std::io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        let setup = crossterm::execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            crossterm::cursor::Hide
        )
        .and_then(|_| Terminal::new(CrosstermBackend::new(std::io::stdout())));
        match setup {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Start the producers (input, monitor, signals) and run the loop until quit.
fn run_dashboard<B: Backend>(terminal: &mut Terminal<B>, mut app: App) -> std::io::Result<()> {
    let (tx, rx) = crossbeam_channel::unbounded::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(tx.clone(), stop.clone())?;
    crate::monitor::spawn(tx.clone(), Msg::Cpu)?;
    let sig = tx.clone();
    // One handler per process; if one is set already, Ctrl-C still arrives as a key.
    let _ = ctrlc::set_handler(move || {
        let _ = sig.send(Msg::Quit);
    });
    let result = run_loop(terminal, &mut app, &tx, &rx);
    stop.store(true, Ordering::Relaxed);
    let _ = input.join();
    result
}

/// Read keys, clicks and resizes on a named thread; exits when told to or the send fails.
fn spawn_input(tx: Sender<Msg>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("conlab-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(200)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => return,
                }
                let msg = match event::read() {
                    Ok(event::Event::Key(k)) => Msg::Key(k),
                    Ok(event::Event::Mouse(m)) if matches!(m.kind, MouseEventKind::Down(_)) => {
                        Msg::Mouse(m)
                    }
                    Ok(event::Event::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => return,
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
        })
}

/// The run in progress (at most one).
#[derive(Default)]
struct Runner {
    handle: Option<JoinHandle<()>>,
    cancel: CancelToken,
}

impl Runner {
    fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }

    fn start(&mut self, id: RunId, spec: RunSpec, tx: &Sender<Msg>, t0: Instant) {
        self.join();
        self.cancel = CancelToken::new();
        let cancel = self.cancel.clone();
        let events = tx.clone();
        let ended = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("conlab-run-{}", spec.model))
            .spawn(move || {
                let sink = Sink::new(move |ev| {
                    let _ = events.send(Msg::Run {
                        id,
                        at: t0.elapsed(),
                        ev,
                    });
                });
                let result = exec::run(&spec, &sink, &cancel)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let _ = ended.send(Msg::RunEnded { id, result });
            });
        match spawned {
            Ok(h) => self.handle = Some(h),
            Err(e) => {
                let _ = tx.send(Msg::RunEnded {
                    id,
                    result: Err(format!("could not start the run thread: {e}")),
                });
            }
        }
    }
}

/// The event loop: block on the channel, drain bursts, redraw at most every [`FRAME`],
/// tick only while a run needs live time. Returns when a `Quit` command arrives, after
/// cancelling and joining the run.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
) -> std::io::Result<()> {
    let t0 = Instant::now();
    let io = |e: B::Error| std::io::Error::other(e.to_string());
    if let Ok(s) = terminal.size() {
        app.size = (s.width, s.height);
    }
    let mut runner = Runner::default();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    let mut quit = false;
    let result = loop {
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
        let first = match wait {
            None => rx.recv().ok(),
            Some(w) => match rx.recv_timeout(w) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break Ok(()),
            },
        };
        let mut handle = |msg: Msg, app: &mut App| {
            for cmd in app.update(msg) {
                match cmd {
                    Command::Start { id, spec } => runner.start(id, *spec, tx, t0),
                    Command::Cancel => runner.cancel.cancel(),
                    Command::Quit => quit = true,
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
        if quit {
            break Ok(());
        }
    };
    runner.cancel.cancel();
    runner.join();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
