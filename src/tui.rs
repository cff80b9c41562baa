//! The dashboard's terminal side: init and restore (one path for quit, error, panic and
//! Ctrl-C), the event loop (generic over ratatui's `Backend`), the input thread, and the
//! run thread that carries out the [`Command`]s `App::update` returns.

use std::io::{IsTerminal, Stdout};
use std::path::PathBuf;
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
use crate::cli::{LessonArgs, OnOff, ReplayArgs, TuiArgs};
use crate::exec::{self, CancelToken, RunSpec, Sink};
use crate::headless::CliError;
use crate::record::Recorder;
use crate::replay::Player;
use crate::ui::{self, theme};
use crate::workload;

/// Redraw at most this often: 10 fps, the rate live numbers change at (ticks are 100 ms).
/// Drawing a 200x60 screen cost ~4% of a core at 30 fps and ~3% at 20 fps during a run:
/// the dashboard must not disturb what it measures.
pub const FRAME: Duration = Duration::from_millis(100);
/// While a run is in progress, time advances at least this often (live elapsed).
pub const TICK: Duration = Duration::from_millis(100);

/// Refuse politely without a terminal, pointing to the headless commands.
fn need_terminal(workload: &str) -> Option<ExitCode> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return None;
    }
    eprintln!(
        "conlab: the dashboard needs a terminal on stdin and stdout.\n\
         For scripts and pipes use `conlab run` (one model) or `conlab compare` (all three),\n\
         e.g. conlab run --workload {workload} --model threads --workers 2"
    );
    Some(ExitCode::from(2))
}

/// Take the terminal, run the dashboard, give the terminal back.
fn open(app: App, mut extras: Extras) -> Result<ExitCode, CliError> {
    let mut guard = TerminalGuard::init().map_err(|e| CliError::Other(e.into()))?;
    let result = run_dashboard(&mut guard.terminal, app, &mut extras);
    drop(guard);
    result.map_err(|e| CliError::Other(e.into()))?;
    if let Some(r) = &extras.recorder {
        eprintln!("conlab: recorded to {}", r.path().display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `conlab` / `conlab tui`: open the dashboard.
pub fn tui_command(args: &TuiArgs) -> Result<ExitCode, CliError> {
    if let Some(code) = need_terminal(&args.opts.workload) {
        return Ok(code);
    }
    let settings = settings_from(args)?;
    let recorder = args
        .record
        .as_deref()
        .map(Recorder::create)
        .transpose()
        .map_err(|e| CliError::Usage(format!("invalid --record: {e:#}")))?;
    let app = App::new(settings, theme::from_env(args.theme));
    open(
        app,
        Extras {
            recorder,
            ..Extras::default()
        },
    )
}

/// `conlab replay FILE`: play a recording in the dashboard at its own pace.
pub fn replay_command(args: &ReplayArgs) -> Result<ExitCode, CliError> {
    if !(args.speed.is_finite() && (0.05..=100.0).contains(&args.speed)) {
        return Err(CliError::Usage(format!(
            "invalid --speed: {} (allowed 0.05..=100)",
            args.speed
        )));
    }
    let rec = crate::record::load(&args.file).map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(code) = need_terminal("primes") {
        return Ok(code);
    }
    let mut app = App::new(
        Settings::new("primes", 0, 1, true, 5.0),
        theme::from_env(args.theme),
    );
    app.replaying = true;
    open(
        app,
        Extras {
            player: Some((Player::new(rec), args.speed)),
            ..Extras::default()
        },
    )
}

/// `conlab lesson FILE` (or `--list`): step through a lesson in the dashboard.
pub fn lesson_command(args: &LessonArgs) -> Result<ExitCode, CliError> {
    if args.list || args.lesson.is_none() {
        let all = crate::lesson::shipped();
        if all.is_empty() {
            return Err(CliError::Usage(format!(
                "no lessons found in {}",
                crate::lesson::lessons_dir().display()
            )));
        }
        for (path, lesson) in all {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("?")
                .to_string();
            match lesson {
                Ok(l) => println!("{name:<28} {} ({} steps)", l.title, l.steps.len()),
                Err(e) => println!("{name:<28} INVALID: {e}"),
            }
        }
        if args.lesson.is_none() && !args.list {
            eprintln!("\nopen one with: conlab lesson NAME");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.lesson.as_deref().unwrap_or_default();
    let lesson = crate::lesson::load(&crate::lesson::find(name))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if let Some(code) = need_terminal(lesson.steps[0].workload.get_ref()) {
        return Ok(code);
    }
    let workers = args.workers.unwrap_or_else(crate::cli::default_workers);
    let mut app = App::new(
        Settings::new("primes", 0, workers, true, 5.0),
        theme::from_env(args.theme),
    );
    crate::app::lesson::start(&mut app, lesson);
    open(app, Extras::default())
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
fn run_dashboard<B: Backend>(
    terminal: &mut Terminal<B>,
    mut app: App,
    extras: &mut Extras,
) -> std::io::Result<()> {
    let (tx, rx) = crossbeam_channel::unbounded::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(tx.clone(), stop.clone())?;
    // A replay brings its own CPU samples.
    if extras.player.is_none() {
        crate::monitor::spawn(tx.clone(), Msg::Cpu)?;
    }
    let sig = tx.clone();
    // One handler per process; if one is set already, Ctrl-C still arrives as a key.
    let _ = ctrlc::set_handler(move || {
        let _ = sig.send(Msg::Quit);
    });
    let result = run_loop_with(terminal, &mut app, &tx, &rx, extras);
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
    run_loop_with(terminal, app, tx, rx, &mut Extras::default())
}

/// The loop's optional duties: record what it receives, play a recording, save frames.
#[derive(Default)]
pub struct Extras {
    pub recorder: Option<Recorder>,
    /// A recording to play and its speed factor.
    pub player: Option<(Player, f64)>,
    /// Where `s` saves screenshots (default `screenshots/`).
    pub shots_dir: Option<PathBuf>,
}

/// Sample `spec` on a named thread and send the verdict back as a message.
fn spawn_classify(spec: RunSpec, tx: &Sender<Msg>) {
    let verdict_tx = tx.clone();
    let gil = spec.gil.enabled;
    let spawned = std::thread::Builder::new()
        .name("conlab-classify".into())
        .spawn(move || {
            let result =
                crate::classify::sample_spec(spec, Duration::from_secs(1), &CancelToken::new())
                    .map(|s| crate::classify::one_line(&s, gil))
                    .map_err(|e| e.to_string());
            let _ = verdict_tx.send(Msg::Classified(result));
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Classified(Err(e.to_string())));
    }
}

/// UTC `YYYYMMDD-HHMMSS` for file names (no time-zone database needed).
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Save what the dashboard shows now; returns the SVG's path.
fn save_screenshot(
    app: &App,
    size: ratatui::layout::Size,
    dir: &std::path::Path,
) -> anyhow::Result<PathBuf> {
    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    ui::render(app, area, &mut buf);
    let title = format!(
        "conlab — {} · {} workers · GIL {}",
        app.settings.workload().name(),
        app.settings.workers,
        if app.settings.gil { "on" } else { "off" }
    );
    crate::shot::write_files(
        &buf,
        dir,
        &format!("conlab-{}", timestamp()),
        &title,
        app.theme.name,
    )
}

/// [`run_loop`] with extra duties.
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
        app.size = (s.width, s.height);
    }
    let mut runner = Runner::default();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    let mut quit = false;
    let mut want_shot = false;
    let result = loop {
        if let Some((player, speed)) = &mut extras.player
            && !player.finished()
        {
            player.play_until(app, t0.elapsed().mul_f64(*speed));
            dirty = true;
            if player.finished() {
                app.notice = Some("replay finished: q quits, s saves a screenshot".into());
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
                match &msg {
                    Msg::Run { id, ev, .. } => r.event(*id as u32, ev),
                    Msg::Cpu(sample) => {
                        if let Ok(v) = serde_json::to_value(sample) {
                            r.cpu(v);
                        }
                    }
                    _ => {}
                }
            }
            for cmd in app.update(msg) {
                match cmd {
                    Command::Start { id, spec } => runner.start(id, *spec, tx, t0),
                    Command::Cancel => runner.cancel.cancel(),
                    Command::Screenshot => want_shot = true,
                    Command::Classify(spec) => spawn_classify(*spec, tx),
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
        if want_shot {
            want_shot = false;
            let dir = extras
                .shots_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("screenshots"));
            let size = terminal
                .size()
                .unwrap_or(ratatui::layout::Size::new(app.size.0, app.size.1));
            app.notice = Some(match save_screenshot(app, size, &dir) {
                Ok(path) => format!("saved {} (+ .txt, .ans)", path.display()),
                Err(e) => format!("screenshot not saved: {e:#}"),
            });
            dirty = true;
        }
        if quit {
            break Ok(());
        }
    };
    if let Some(r) = &extras.recorder {
        let _ = r.flush();
    }
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
            app.notice.as_deref().is_some_and(|n| n.contains("saved")),
            "{:?}",
            app.notice
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
        tx.send(Msg::Cpu(crate::monitor::CpuSample {
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
        let rec = crate::record::load(&path).expect("valid recording");
        assert_eq!(rec.entries.len(), 1);
        assert!(matches!(rec.entries[0], crate::record::Entry::Cpu { .. }));
    }

    #[test]
    fn timestamps_are_civil_dates() {
        let t = timestamp();
        assert_eq!(t.len(), 15, "{t}");
        assert!(t.starts_with("20"), "{t}");
        assert_eq!(&t[8..9], "-");
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
        fn clear_region(
            &mut self,
            clear_type: ratatui::backend::ClearType,
        ) -> Result<(), Self::Error> {
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
        use crate::exec::{Event, Stamped};
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
        // Far fewer frames than events (coalesced), and more than the first and last.
        assert!(frames >= 1, "drew {frames} frames");
        assert!(
            (frames as u64) < flood / 100,
            "drew {frames} frames for {flood} events"
        );
    }
}
