//! Reliability: the real binary under signals, cancel during long waits, stopped and
//! killed workers, hostile files and protocol lines, and flags that do not apply; plus
//! property tests of the recording reader, the lesson reader and the worker's checks.

mod common;
use common::{alive, descendants};

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proptest::prelude::*;

fn conlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
}

fn run_args(args: &[&str]) -> Output {
    conlab().args(args).output().expect("run conlab")
}

fn spawn(args: &[&str]) -> Child {
    conlab()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn conlab")
}

fn signal(pid: u32, sig: Signal) {
    kill(Pid::from_raw(pid as i32), sig).expect("signal");
}

/// Poll until `f` gives a value, or panic naming `what` after `deadline`.
fn wait_for<T>(what: &str, deadline: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait for `child` to exit within `deadline`; its output and how long it took.
fn finish(child: Child, deadline: Duration) -> (Output, Duration) {
    let t = Instant::now();
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().expect("wait"));
    while !waiter.is_finished() {
        if t.elapsed() > deadline {
            signal(pid, Signal::SIGKILL);
            panic!("conlab did not exit within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = waiter.join().expect("waiter");
    (out, t.elapsed())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A headless run of worker processes sleeping a minute, ended by `sig`: it exits
/// 128 + sig with its summary, says which signal, and leaves no worker.
fn headless_signal(sig: Signal, code: i32) {
    let child = spawn(&[
        "run",
        "--workload",
        "sleep",
        "--size",
        "60000",
        "--tasks",
        "4",
        "--workers",
        "2",
        "--model",
        "processes",
    ]);
    let pid = child.id();
    let workers = wait_for("two worker processes", Duration::from_secs(20), || {
        let d = descendants(pid);
        (d.len() >= 2).then_some(d)
    });
    signal(pid, sig);
    let (out, took) = finish(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(cancelled)"), "summary printed: {stdout}");
    assert!(
        text(&out.stderr).contains(sig.as_str()),
        "{}",
        text(&out.stderr)
    );
    for w in workers {
        assert!(!alive(w), "worker {w} left behind");
    }
}

#[test]
fn sigterm_ends_a_headless_run_like_ctrl_c_with_143() {
    headless_signal(Signal::SIGTERM, 143);
}

#[test]
fn sighup_ends_a_headless_run_like_ctrl_c_with_129() {
    headless_signal(Signal::SIGHUP, 129);
}

/// The issue's case: requests to an endpoint that answers after a minute, cancelled at
/// 1.5 s. Cancel must not wait for the server (the bound here is generous; the figure
/// measured on an idle machine is in the issue's note).
fn http_cancel(model: &str) {
    let child = spawn(&[
        "run",
        "--workload",
        "http",
        "--tasks",
        "8",
        "--delay-ms",
        "60000",
        "--model",
        model,
        "--workers",
        "8",
    ]);
    // The scenario's own timing: the signal lands while the requests are in flight.
    std::thread::sleep(Duration::from_millis(1500));
    signal(child.id(), Signal::SIGINT);
    let (out, took) = finish(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        took < Duration::from_secs(2),
        "{model}: cancel took {took:?}"
    );
    assert!(text(&out.stdout).contains("(cancelled)"));
}

#[test]
fn cancel_reaches_http_requests_in_flight_on_threads() {
    http_cancel("threads");
}

#[test]
fn cancel_reaches_http_requests_in_flight_sequentially() {
    http_cancel("sequential");
}

#[test]
fn cancel_reaches_http_requests_in_flight_on_processes() {
    http_cancel("processes");
}

#[test]
fn cancel_reaches_http_requests_in_flight_on_the_async_loop() {
    http_cancel("async");
}

#[test]
fn a_stopped_worker_is_reported_and_cancel_still_ends_the_run() {
    let mut child = spawn(&[
        "run",
        "--workload",
        "sleep",
        "--size",
        "60000",
        "--tasks",
        "2",
        "--workers",
        "1",
        "--model",
        "processes",
    ]);
    let pid = child.id();
    let worker = wait_for("a worker process", Duration::from_secs(20), || {
        descendants(pid).first().copied()
    });
    signal(worker, Signal::SIGSTOP);
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all += &line;
            all.push('\n');
        }
        all
    });
    let said = wait_for(
        "'not responding' on stderr",
        Duration::from_secs(15),
        || rx.try_recv().ok().filter(|l| l.contains("not responding")),
    );
    assert!(said.contains(&format!("pid {worker}")), "{said}");
    signal(pid, Signal::SIGTERM);
    let (out, took) = finish(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(143));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let _ = reader.join();
    assert!(!alive(worker), "the stopped worker was killed and reaped");
}

#[test]
fn a_killed_workers_reason_is_said_on_stderr() {
    let child = spawn(&[
        "run",
        "--workload",
        "sleep",
        "--size",
        "3000",
        "--tasks",
        "2",
        "--workers",
        "1",
        "--model",
        "processes",
    ]);
    let worker = wait_for("a worker process", Duration::from_secs(20), || {
        descendants(child.id()).first().copied()
    });
    signal(worker, Signal::SIGKILL);
    let (out, _) = finish(child, Duration::from_secs(30));
    let err = text(&out.stderr);
    assert!(err.contains("died") && err.contains("SIGKILL"), "{err}");
    assert_eq!(out.status.code(), Some(1));
}

fn shm_entries_of(pid: u32) -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("conlab") && n.contains(&pid.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn shared_memory_payload_leaves_nothing_in_dev_shm_even_after_sigkill() {
    let child = spawn(&[
        "run",
        "--workload",
        "payload",
        "--variant",
        "shm",
        "--model",
        "processes",
        "--workers",
        "2",
        "--size",
        "4000000",
        "--tasks",
        "60",
    ]);
    let pid = child.id();
    let workers = wait_for("worker processes", Duration::from_secs(20), || {
        let d = descendants(pid);
        (!d.is_empty()).then_some(d)
    });
    signal(pid, Signal::SIGKILL);
    let (_, _) = finish(child, Duration::from_secs(10));
    assert!(shm_entries_of(pid).is_empty(), "{:?}", shm_entries_of(pid));
    // Workers die with their parent (PR_SET_PDEATHSIG).
    wait_for("workers gone", Duration::from_secs(5), || {
        workers.iter().all(|w| !alive(*w)).then_some(())
    });
}

#[test]
fn hostile_files_are_refused_with_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An endless line.
    let out = run_args(&[
        "shot",
        "--from",
        "/dev/zero",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        out.status.code().is_some_and(|c| c <= 100),
        "no abort: {:?}",
        out.status
    );
    assert!(
        text(&out.stderr).contains("line 1"),
        "{}",
        text(&out.stderr)
    );
    // A time near u64::MAX.
    let rec = dir.path().join("huge.jsonl");
    std::fs::write(
        &rec,
        format!(
            "{}\n{{\"kind\":\"cpu\",\"t_us\":{},\"sample\":{{}}}}\n",
            r#"{"conlab_recording":1,"writer":"t","cores":2}"#,
            u64::MAX
        ),
    )
    .expect("write");
    let out = run_args(&[
        "shot",
        "--from",
        rec.to_str().expect("utf-8"),
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );
    // A lesson with an infinite switch interval.
    let lesson = dir.path().join("inf.toml");
    std::fs::write(
        &lesson,
        "title = \"t\"\nsummary = \"s\"\n\n[[step]]\ntitle = \"x\"\ntext = \"y\"\nworkload = \"primes\"\nswitch_interval_ms = inf\n",
    )
    .expect("write");
    let err = conlab::experiment::lesson::load(&lesson).expect_err("inf refused");
    assert_eq!(err.line, 8, "{err}");
    assert!(err.message.contains("switch_interval_ms"), "{err}");
    let err = conlab::experiment::lesson::load(std::path::Path::new("/dev/zero"))
        .expect_err("not a lesson");
    assert!(err.to_string().contains("/dev/zero"), "{err}");
}

/// The hidden worker with `lines` on stdin (then stdin closed).
fn worker_with(lines: &[String]) -> (Output, Duration) {
    let mut child = conlab()
        .args(["worker"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worker");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        for l in lines {
            let _ = writeln!(stdin, "{l}");
        }
    }
    finish(child, Duration::from_secs(20))
}

#[test]
fn the_worker_checks_every_message_and_exits_when_stdin_closes() {
    let (out, _) = worker_with(&[
        r#"{"id":0,"workload":"payload","task":{"task":0,"len":1000000000000000}}"#.into(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("`len`"), "{}", text(&out.stderr));
    let (out, _) = worker_with(&[format!(
        r#"{{"id":0,"workload":"primes","task":{{"lo":0,"hi":{}}}}}"#,
        u64::MAX
    )]);
    assert!(text(&out.stderr).contains("`hi`"), "{}", text(&out.stderr));
    // A minute's sleep, then stdin closes: the worker stops the task and exits.
    let (out, took) = worker_with(&[r#"{"id":0,"workload":"sleep","task":{"ms":60000}}"#.into()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn flags_that_do_not_apply_and_zero_counts_are_refused_naming_the_flag() {
    for (args, flag) in [
        (vec!["--tasks", "0"], "--tasks"),
        (vec!["--size", "0"], "--size"),
        (vec!["--url", "http://127.0.0.1:1/"], "--url"),
        (vec!["--dir", "/tmp"], "--dir"),
        (
            vec!["--model", "threads", "--max-tasks-per-child", "2"],
            "--max-tasks-per-child",
        ),
        (
            vec!["--workload", "http", "--url", "http://127.0.0.1:99999/"],
            "99999",
        ),
    ] {
        let mut all = vec!["run"];
        all.extend(args.iter().copied());
        let out = run_args(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(
            text(&out.stderr).contains(flag),
            "{all:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run_args(&[
        "run",
        "--workload",
        "http",
        "--delay-ms",
        "200",
        "--tasks",
        "2",
        "--workers",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["size"], 200);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any bytes after a valid header: a recording or an error naming a line, never a
    /// panic; and every accepted recording plays into the dashboard's state.
    #[test]
    fn recording_reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut text = br#"{"conlab_recording":1,"writer":"t","cores":2}"#.to_vec();
        text.push(b'\n');
        text.extend(&body);
        match conlab::recording::record::parse(&text[..], "p") {
            Ok(rec) => {
                let mut app = conlab::app::App::new(
                    conlab::app::Settings::new("primes", 0, 2, true, 5.0),
                    conlab::ui::theme::Theme::default(),
                );
                conlab::recording::replay::Player::new(rec).play_all(&mut app);
            }
            Err(e) => prop_assert!(e.to_string().contains("line "), "{}", e),
        }
    }

    /// Entries with arbitrary numbers: accepted only within the checked ranges, and then
    /// replayed without overflow.
    #[test]
    fn recorded_numbers_are_checked(t in any::<u64>(), at in any::<u64>(), end in any::<u64>(),
                                    worker in any::<u32>(), ms in any::<f64>(), workers in any::<u16>()) {
        let lines = format!(
            "{}\n{}\n{}\n",
            r#"{"conlab_recording":1,"writer":"t","cores":2}"#,
            format_args!(r#"{{"kind":"event","t_us":{t},"run":0,"event":{{"at_us":{at},"event":{{"type":"run_started","workload":"primes","model":"threads","workers":{workers},"tasks":4,"gil":true,"switch_interval_ms":{},"size":1000}}}}}}"#,
                serde_json::to_string(&ms).unwrap_or_else(|_| "null".into())),
            format_args!(r#"{{"kind":"event","t_us":{t},"run":0,"event":{{"at_us":{at},"event":{{"type":"span","worker":{worker},"kind":"io","start_us":{at},"end_us":{end}}}}}}}"#),
        );
        if let Ok(rec) = conlab::recording::record::parse(lines.as_bytes(), "p") {
            prop_assert!(t <= conlab::recording::record::MAX_T_US && end <= conlab::recording::record::MAX_T_US);
            prop_assert!(ms.is_finite() && ms >= 0.05);
            let mut app = conlab::app::App::new(
                conlab::app::Settings::new("primes", 0, 2, true, 5.0),
                conlab::ui::theme::Theme::default(),
            );
            conlab::recording::replay::Player::new(rec).play_all(&mut app);
        }
    }

    /// Lessons with arbitrary numbers: accepted only within the CLI's ranges, errors with
    /// a line.
    #[test]
    fn lesson_reader_applies_the_cli_ranges(ms in any::<f64>(), workers in any::<i64>(), size in any::<i64>()) {
        let ms_text = if ms.is_nan() { "nan".to_string() } else if ms.is_infinite() {
            if ms > 0.0 { "inf".into() } else { "-inf".into() }
        } else { format!("{ms:?}") };
        let text = format!(
            "title = \"t\"\nsummary = \"s\"\n[[step]]\ntitle = \"x\"\ntext = \"y\"\nworkload = \"sleep\"\nswitch_interval_ms = {ms_text}\nworkers = {workers}\nsize = {size}\n"
        );
        match conlab::experiment::lesson::parse(&text, "p.toml") {
            Ok(_) => {
                prop_assert!(conlab::core::GilConfig::interval_from_ms(ms).is_ok());
                prop_assert!((1..=4096).contains(&workers));
            }
            Err(e) => prop_assert!(e.line >= 1, "{}", e),
        }
    }

    /// Worker messages with arbitrary sizes: refused unless within the workload's limits.
    #[test]
    fn worker_messages_are_checked(n in any::<u64>(), id in any::<u32>(), name in prop::sample::select(vec!["primes", "sleep", "payload", "squares", "fib", "nope"])) {
        let msg = conlab::exec::worker::TaskMessage {
            id: id as usize,
            workload: name.into(),
            task: serde_json::json!({ "n": n, "ms": n, "len": n, "hi": n }),
        };
        match conlab::exec::worker::check_message(&msg, conlab::workload::find) {
            Ok(w) => prop_assert!(n <= (*w.size_range().end()).max(w.max_tasks() as u64)),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}
