//! End to end: the real binary in a pseudo-terminal. Press `a`, read three filled elapsed
//! panels off the screen, quit with `q`, and check the terminal was restored and no
//! process was left behind. Waits only by polling the screen with a deadline.

mod common;
use common::{alive, descendants, running};

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 36;
const COLS: u16 = 120;

struct Screen(Arc<Mutex<vt100::Parser>>);

impl Screen {
    fn text(&self) -> String {
        self.0.lock().expect("parser").screen().contents()
    }

    /// Poll until `pred(screen text)` holds, calling `also` each time; panic with the
    /// screen after `deadline`.
    fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        mut also: impl FnMut(),
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let t = Instant::now();
        loop {
            let s = self.text();
            if pred(&s) {
                return s;
            }
            also();
            assert!(
                t.elapsed() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The first number on the line after the model panels' titles, for each model.
/// Panels the dashboard runs with `a`: one per model.
const MODELS: usize = conlab::core::Model::ALL.len();

fn elapsed_panels(screen: &str) -> Vec<f64> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(i) = lines
        .iter()
        .position(|l| l.contains("sequential") && l.contains("threads") && l.contains("processes"))
    else {
        return Vec::new();
    };
    let Some(next) = lines.get(i + 1) else {
        return Vec::new();
    };
    next.split(['│', '┃'])
        .filter_map(|cell| {
            let cell = cell.trim();
            let num = cell
                .strip_suffix(" s")
                .or_else(|| cell.split(" s ").next())?;
            num.trim().parse::<f64>().ok()
        })
        .collect()
}

#[test]
fn dashboard_runs_all_three_models_and_restores_the_terminal() {
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_conlab"));
    cmd.args([
        "tui",
        "--workload",
        "primes",
        "--size",
        "1000000",
        "--workers",
        "2",
    ]);
    cmd.env("TERM", "xterm-256color");
    cmd.env_remove("NO_COLOR");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn conlab");
    drop(pair.slave);
    let pid = child.process_id().expect("a pid");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(ROWS).expect("rows"),
        std::num::NonZeroU16::new(COLS).expect("cols"),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let feed = parser.clone();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().expect("parser").process(&buf[..n]);
        }
    });
    let mut writer = pair.master.take_writer().expect("writer");
    let screen = Screen(parser.clone());

    screen.wait_for(
        "the idle dashboard",
        Duration::from_secs(30),
        || {},
        |s| s.contains("conlab") && s.contains("timeline"),
    );
    assert!(parser.lock().expect("parser").screen().alternate_screen());

    writer.write_all(b"a").expect("press a");
    writer.flush().expect("flush");
    let mut seen: Vec<u32> = Vec::new();
    let done = screen.wait_for(
        "every model's panel finished",
        Duration::from_secs(120),
        || {
            for c in descendants(pid) {
                if !seen.contains(&c) {
                    seen.push(c);
                }
            }
        },
        |s| {
            s.matches('✓').count() == MODELS
                && !s.contains("running")
                && elapsed_panels(s).len() == MODELS
        },
    );
    let times = elapsed_panels(&done);
    assert_eq!(times.len(), MODELS, "{done}");
    assert!(times.iter().all(|t| *t > 0.0), "{times:?}\n{done}");
    assert!(done.contains("speed-up"), "{done}");
    assert!(
        !seen.is_empty(),
        "the processes model started worker processes"
    );
    assert!(descendants(pid).is_empty(), "workers reaped after the run");

    writer.write_all(b"q").expect("press q");
    writer.flush().expect("flush");
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "conlab did not quit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    drop(writer);
    drop(pair.master);
    let _ = pump.join();
    let p = parser.lock().expect("parser");
    let s = p.screen();
    assert!(!s.alternate_screen(), "alternate screen left");
    assert!(!s.hide_cursor(), "cursor shown");
    assert_eq!(
        s.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse capture off"
    );
    for c in seen {
        assert!(!alive(c), "worker process {c} left behind");
    }
}

#[test]
fn sigint_mid_run_cancels_restores_and_leaves_no_worker() {
    signal_mid_run(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn sigterm_mid_run_cancels_restores_and_leaves_no_worker() {
    signal_mid_run(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn sighup_mid_run_cancels_restores_and_leaves_no_worker() {
    signal_mid_run(nix::sys::signal::Signal::SIGHUP, 129);
}

/// A dashboard in a pty, running long sleeps on two worker processes.
struct MidRun {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    pid: u32,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Set to make the pump let go of its copy of the master (after its next read).
    stop_pump: Arc<std::sync::atomic::AtomicBool>,
    pump: Option<std::thread::JoinHandle<()>>,
    writer: Option<Box<dyn Write + Send>>,
    master: Option<Box<dyn portable_pty::MasterPty + Send>>,
    /// Every worker process seen while the run was going.
    workers: Vec<u32>,
}

impl MidRun {
    /// Start `program args…` in a pty; `args` must end up running `conlab tui`.
    fn start(program: &str, args: &[&str]) -> MidRun {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        let child = pair.slave.spawn_command(cmd).expect("spawn conlab");
        drop(pair.slave);
        let pid = child.process_id().expect("a pid");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(24).expect("rows"),
            std::num::NonZeroU16::new(80).expect("cols"),
            0,
        )));
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let feed = parser.clone();
        let stop_pump = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = stop_pump.clone();
        let pump = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                feed.lock().expect("parser").process(&buf[..n]);
            }
        });
        let mut writer = pair.master.take_writer().expect("writer");
        let screen = Screen(parser.clone());
        screen.wait_for(
            "the dashboard",
            Duration::from_secs(30),
            || {},
            |s| s.contains("timeline"),
        );
        // Enter runs the selected model; select processes first (two steps right).
        writer.write_all(b"ll\r").expect("keys");
        writer.flush().expect("flush");
        let mut workers: Vec<u32> = Vec::new();
        let note = |workers: &mut Vec<u32>| {
            for c in descendants(pid) {
                if !workers.contains(&c) {
                    workers.push(c);
                }
            }
        };
        screen.wait_for(
            "worker processes",
            Duration::from_secs(30),
            || note(&mut workers),
            |s| s.contains("pid ") && s.contains("running"),
        );
        note(&mut workers);
        assert!(!workers.is_empty(), "workers started");
        MidRun {
            child,
            pid,
            parser,
            stop_pump,
            pump: Some(pump),
            writer: Some(writer),
            master: Some(pair.master),
            workers,
        }
    }

    /// Close every copy of the pty's master; with `now`, without waiting for conlab to
    /// write more (the pump lets go after its next read).
    fn close_terminal(&mut self, now: bool) {
        if now {
            self.stop_pump
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        drop(self.writer.take());
        drop(self.master.take());
        if let Some(p) = self.pump.take() {
            let _ = p.join();
        }
    }

    /// Wait (with a deadline) for the process the pty started to exit.
    fn wait_exit(&mut self, why: &str) -> portable_pty::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "conlab did not quit on {why}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn assert_no_worker_left(&self) {
        for c in &self.workers {
            assert!(!alive(*c), "worker process {c} left behind");
        }
    }
}

/// The process-tree args that run the long sleeps on worker processes.
const LONG_SLEEPS: [&str; 7] = [
    "tui",
    "--workload",
    "sleep",
    "--size",
    "60000",
    "--workers",
    "2",
];

/// `sig` while worker processes run: the dashboard cancels, reaps them, gives the
/// terminal back, says what was cancelled and exits 128 + sig.
fn signal_mid_run(sig: nix::sys::signal::Signal, code: u32) {
    let mut run = MidRun::start(env!("CARGO_BIN_EXE_conlab"), &LONG_SLEEPS);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(run.pid as i32), sig).expect("signal");
    let status = run.wait_exit(sig.as_str());
    assert_eq!(status.exit_code(), code, "{status:?}");
    run.assert_no_worker_left();
    run.close_terminal(false);
    let p = run.parser.lock().expect("parser");
    assert!(!p.screen().alternate_screen());
    assert!(!p.screen().hide_cursor());
    assert_eq!(
        p.screen().mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse capture off"
    );
    let said = p.screen().contents();
    assert!(
        said.contains(sig.as_str()) && said.contains("cancelled"),
        "the summary after the dashboard: {said}"
    );
}

#[test]
fn terminal_closed_mid_run_quits_as_sighup_and_leaves_no_worker() {
    // conlab leads the pty's session: the kernel sends it SIGHUP when the master closes,
    // while crossterm's reader spins on the dead terminal (it used to hang the quit).
    hangup_mid_run(env!("CARGO_BIN_EXE_conlab"), &LONG_SLEEPS);
}

#[test]
fn terminal_closed_without_a_sighup_still_quits_and_leaves_no_worker() {
    // A shell that ignores HUP leads the session, so the kernel's SIGHUP goes to it alone
    // (as under `nohup` or a `trap '' HUP` wrapper): conlab must notice the hang-up itself.
    let script = "trap '' HUP; \"$0\" \"$@\"; exit $?";
    let mut args = vec!["-c", script, env!("CARGO_BIN_EXE_conlab")];
    args.extend(LONG_SLEEPS);
    hangup_mid_run("sh", &args);
}

/// Close the terminal (every copy of the pty's master) while worker processes run: conlab
/// cancels, reaps them and exits 129 (SIGHUP's code), neither hanging nor panicking.
fn hangup_mid_run(program: &str, args: &[&str]) {
    let mut run = MidRun::start(program, args);
    // The pump lets go of its copy after its next read: the running dashboard redraws
    // its elapsed time every 100 ms.
    run.close_terminal(true);
    let status = run.wait_exit("its terminal closing");
    assert_eq!(status.exit_code(), 129, "{status:?}");
    run.assert_no_worker_left();
}

#[test]
fn sigkill_mid_run_leaves_no_worker() {
    // No handler of conlab's runs. Under a shell that ignores SIGHUP (which its workers
    // inherit), so the hang-up the kernel sends when the session's leader dies is not what
    // ends them: their own tie to conlab must (the parent-death signal, their stdin).
    let script = "trap '' HUP; exec \"$0\" \"$@\"";
    let mut args = vec!["-c", script, env!("CARGO_BIN_EXE_conlab")];
    args.extend(LONG_SLEEPS);
    let mut run = MidRun::start("sh", &args);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL");
    let status = run.wait_exit("SIGKILL");
    assert!(!status.success(), "{status:?}");
    // Killed, they may take the kernel a moment to end (zombies left to whoever reaps
    // orphans do not count: they run nothing).
    let t = Instant::now();
    while run.workers.iter().any(|w| running(*w)) && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = run
        .workers
        .iter()
        .copied()
        .filter(|w| running(*w))
        .collect();
    assert!(left.is_empty(), "workers left running: {left:?}");
    run.close_terminal(true);
}

#[test]
fn without_a_terminal_it_points_to_run_and_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conlab"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run conlab");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(err.contains("conlab run"), "{err}");
}
