//! End to end: the real binary in a pseudo-terminal. Press `a`, read three filled elapsed
//! panels off the screen, quit with `q`, and check the terminal was restored and no
//! process was left behind. Waits only by polling the screen with a deadline.

mod common;
use common::{alive, descendants};

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
        "three finished panels",
        Duration::from_secs(120),
        || {
            for c in descendants(pid) {
                if !seen.contains(&c) {
                    seen.push(c);
                }
            }
        },
        |s| s.matches('✓').count() == 3 && !s.contains("running") && elapsed_panels(s).len() == 3,
    );
    let times = elapsed_panels(&done);
    assert_eq!(times.len(), 3, "{done}");
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

/// `sig` while worker processes run: the dashboard cancels, reaps them, gives the
/// terminal back, says what was cancelled and exits 128 + sig.
fn signal_mid_run(sig: nix::sys::signal::Signal, code: u32) {
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_conlab"));
    // Long sleeps on worker processes: the run is still going when the signal arrives.
    cmd.args([
        "tui",
        "--workload",
        "sleep",
        "--size",
        "60000",
        "--workers",
        "2",
    ]);
    cmd.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn conlab");
    drop(pair.slave);
    let pid = child.process_id().expect("a pid");
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZeroU16::new(24).expect("rows"),
        std::num::NonZeroU16::new(80).expect("cols"),
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
        "the dashboard",
        Duration::from_secs(30),
        || {},
        |s| s.contains("timeline"),
    );
    // Enter runs the selected model; select processes first (two steps right).
    writer.write_all(b"ll\r").expect("keys");
    writer.flush().expect("flush");
    let mut seen: Vec<u32> = Vec::new();
    screen.wait_for(
        "worker processes",
        Duration::from_secs(30),
        || {
            for c in descendants(pid) {
                if !seen.contains(&c) {
                    seen.push(c);
                }
            }
        },
        |s| s.contains("pid ") && s.contains("running"),
    );
    for c in descendants(pid) {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    assert!(!seen.is_empty(), "workers started");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).expect("signal");
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "conlab did not quit on {sig}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.exit_code(), code, "{status:?}");
    drop(writer);
    drop(pair.master);
    let _ = pump.join();
    let p = parser.lock().expect("parser");
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
    for c in seen {
        assert!(!alive(c), "worker process {c} left behind");
    }
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
