//! The CPython runtime against the real interpreter: the same answers as the native
//! runtime, cancel leaves no python process, exceptions and crashes fail cleanly. Every
//! test that needs Python is skipped, with the reason printed, when none is found.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use conlab::core::Runtime;
use conlab::exec::{CancelToken, Event, Model, RunEnd, RunReport, RunSpec, Runner, Sink, Stamped};
use conlab::runtime::{self, CpythonRunner, RuntimeChoice};

/// Tests that start interpreters take this, so process checks see only their own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The CPython runner, or `None` (and why, printed) when there is no usable python3.
fn cpython() -> Option<CpythonRunner> {
    match runtime::python::probe(Path::new(runtime::DEFAULT_PYTHON)) {
        Ok(info) => Some(CpythonRunner::new(info, None)),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn spec(workload: &str, model: Model, workers: usize, size: u64, tasks: usize) -> RunSpec {
    let mut s = RunSpec::new(workload, model, workers);
    s.args.size = size;
    s.args.tasks = tasks;
    s.worker_exe = Some(PathBuf::from(env!("CARGO_BIN_EXE_conlab")));
    s
}

fn events(runner: &dyn Runner, s: &RunSpec, cancel: &CancelToken) -> (RunReport, Vec<Stamped>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let report = runner
        .run(s, &Sink::channel(tx, |e| e), cancel)
        .expect("run starts");
    (report, rx.try_iter().collect())
}

/// Small sizes of every workload the CPython runtime runs.
const CASES: &[(&str, u64, usize)] = &[
    ("primes", 300_000, 8),
    ("naive-primes", 20_000, 3),
    ("squares", 100_000, 4),
    ("fib", 20_000, 3),
    ("sleep", 20, 4),
    ("tiny", 1, 100),
    ("files", 4, 3),
    ("http", 20, 3),
];

#[test]
fn every_workload_answers_as_the_native_runtime_does_in_every_model() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    for &(w, size, tasks) in CASES {
        let native = runtime::run(
            &spec(w, Model::Sequential, 2, size, tasks),
            &Sink::null(),
            &CancelToken::new(),
        )
        .expect("native runs");
        let want = native.answer.expect("native answers").value;
        let supported = conlab::workload::find(w).expect("in the catalog").models();
        for model in Model::ALL.into_iter().filter(|m| supported.contains(m)) {
            // Subinterpreters need Python 3.13+: an older python3 refuses the model, saying
            // so (tests/interpreters in the engine prove the native answers).
            if model == Model::Interpreters
                && let Err(e) = py.run(
                    &spec(w, model, 2, size, tasks),
                    &Sink::null(),
                    &CancelToken::new(),
                )
            {
                let e = e.to_string();
                assert!(e.contains("needs Python 3.13"), "{w} on {model}: {e}");
                eprintln!("skipped {w} on {model}: {e}");
                continue;
            }
            let (r, evs) = events(&py, &spec(w, model, 2, size, tasks), &CancelToken::new());
            assert!(r.failures.is_empty(), "{w} on {model}: {:?}", r.failures);
            assert_eq!(
                r.answer.map(|a| a.value),
                Some(want.clone()),
                "{w} on {model}"
            );
            let finished = evs
                .iter()
                .filter(|e| matches!(e.event, Event::TaskFinished { .. }))
                .count();
            assert_eq!(finished, tasks, "{w} on {model}: one TaskFinished per task");
            assert!(matches!(evs[0].event, Event::RunStarted(_)));
            assert!(matches!(
                evs.last().map(|e| &e.event),
                Some(Event::RunFinished(RunEnd {
                    cancelled: false,
                    ..
                }))
            ));
        }
    }
}

/// `async` is asyncio in the driver: one loop whose heartbeat is measured, coroutines for
/// the waits, CPU work on the loop or offloaded — the same answer each way.
#[test]
fn async_is_asyncio_in_the_driver_with_the_native_answer() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    for (w, size, tasks, offload) in [
        ("sleep", 100, 20, conlab::exec::Offload::None),
        ("primes", 300_000, 4, conlab::exec::Offload::None),
        ("primes", 300_000, 4, conlab::exec::Offload::Threads),
        ("primes", 300_000, 4, conlab::exec::Offload::Processes),
        ("http", 50, 20, conlab::exec::Offload::None),
    ] {
        let native = runtime::run(
            &spec(w, Model::Sequential, 2, size, tasks),
            &Sink::null(),
            &CancelToken::new(),
        )
        .expect("native runs");
        let mut s = spec(w, Model::Async, 2, size, tasks);
        s.asyncio.offload = offload;
        let (r, evs) = events(&py, &s, &CancelToken::new());
        assert!(r.failures.is_empty(), "{w} {offload:?}: {:?}", r.failures);
        assert_eq!(r.answer, native.answer, "{w} {offload:?}");
        let lag = r.loop_lag.expect("the driver's heartbeat was heard");
        assert!(lag.beats > 0, "{w} {offload:?}: {lag:?}");
        assert!(
            evs.iter().any(|e| matches!(e.event, Event::LoopLag { .. })),
            "{w} {offload:?}: LoopLag events"
        );
        if w == "sleep" {
            // Twenty 100 ms sleeps on one loop overlap: all in flight at once.
            assert_eq!(lag.peak_in_flight, 20, "{lag:?}");
        }
    }
}

#[test]
fn pids_and_threads_are_the_interpreters() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    let pids = |model| {
        let (_, evs) = events(
            &py,
            &spec("squares", model, 2, 200_000, 4),
            &CancelToken::new(),
        );
        let mut pids: Vec<u32> = evs
            .iter()
            .filter_map(|e| match &e.event {
                Event::TaskStarted { pid, .. } => Some(*pid),
                _ => None,
            })
            .collect();
        pids.sort();
        pids.dedup();
        assert!(!pids.contains(&std::process::id()), "not conlab's own pid");
        pids
    };
    assert_eq!(
        pids(Model::Threads).len(),
        1,
        "threads share one interpreter"
    );
    assert_eq!(pids(Model::Processes).len(), 2, "two pool children");
}

/// The process group id and state of every process, from /proc.
fn groups() -> Vec<(i32, i32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp …; comm may hold spaces, so split after ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let pid = head.split_whitespace().next().and_then(|p| p.parse().ok());
        let f: Vec<&str> = rest.split_whitespace().collect();
        if let (Some(pid), Some(state), Some(pgrp)) = (
            pid,
            f.first().and_then(|s| s.chars().next()),
            f.get(2).and_then(|g| g.parse().ok()),
        ) {
            out.push((pid, pgrp, state));
        }
    }
    out
}

fn pgrp_of(pid: u32) -> Option<i32> {
    groups()
        .into_iter()
        .find(|(p, _, _)| *p == pid as i32)
        .map(|(_, g, _)| g)
}

#[test]
fn cancel_stops_the_interpreter_and_every_pool_child() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    // Long enough that it is still running when cancelled.
    let s = spec("squares", Model::Processes, 2, 2_000_000_000, 4);
    let cancel = CancelToken::new();
    let seen = Arc::new(Mutex::new(Vec::<u32>::new()));
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
    let sink = Sink::channel(tx, |e| e);
    let (report, group, took) = std::thread::scope(|scope| {
        let run = scope.spawn(|| py.run(&s, &sink, &cancel).expect("starts"));
        // Wait (on the event channel) until both pool children run a task.
        let mut group = None;
        for ev in rx.iter() {
            if let Event::TaskStarted { pid, .. } = ev.event {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                if !seen.contains(&pid) {
                    seen.push(pid);
                }
                group = group.or_else(|| pgrp_of(pid));
                if seen.len() == 2 {
                    break;
                }
            }
        }
        let t0 = Instant::now();
        cancel.cancel();
        let report = run.join().expect("run thread");
        (report, group, t0.elapsed())
    });
    eprintln!("cancel returned after {took:?}");
    assert!(report.cancelled);
    assert!(report.answer.is_none());
    let group = group.expect("the pool children's process group");
    assert_ne!(
        group,
        nix::unistd::getpgrp().as_raw(),
        "its own group, not ours"
    );
    let alive: Vec<_> = groups()
        .into_iter()
        .filter(|(_, g, state)| *g == group && *state != 'Z')
        .collect();
    assert!(alive.is_empty(), "left running: {alive:?}");
}

#[test]
fn a_python_exception_fails_its_task_with_its_last_line() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    // A port that was free a moment ago: nothing listens there now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr").port()
    };
    let mut s = spec("http", Model::Threads, 2, 10, 2);
    s.args.urls = vec![format!("http://127.0.0.1:{port}/")];
    let (r, _) = events(&py, &s, &CancelToken::new());
    assert_eq!(r.failures.len(), 2, "{:?}", r.failures);
    let msg = &r.failures[0].1;
    assert!(msg.starts_with("RuntimeError: GET"), "{msg}");
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn an_interpreter_that_dies_fails_the_run_with_its_stderr() {
    let _s = serial();
    let Some(py) = cpython() else { return };
    let s = spec("squares", Model::Sequential, 1, 2_000_000_000, 2);
    let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
    let sink = Sink::channel(tx, |e| e);
    let cancel = CancelToken::new();
    let report = std::thread::scope(|scope| {
        let run = scope.spawn(|| py.run(&s, &sink, &cancel).expect("starts"));
        // Sequential tasks run in the interpreter itself: kill it mid-task.
        for ev in rx.iter() {
            if let Event::TaskStarted { pid, .. } = ev.event {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGSEGV,
                );
                break;
            }
        }
        run.join().expect("run thread")
    });
    assert!(!report.cancelled);
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    let msg = &report.failures[0].1;
    assert!(msg.contains("python exited"), "{msg}");
    assert!(
        msg.contains("signal: 11") || msg.contains("SIGSEGV"),
        "{msg}"
    );
    assert!(report.answer.is_none());
}

#[test]
fn scenes_say_they_are_native_only() {
    let Some(py) = cpython() else { return };
    let err = py
        .run(
            &spec("race", Model::Threads, 2, 0, 0),
            &Sink::null(),
            &CancelToken::new(),
        )
        .expect_err("race is native-only");
    assert!(err.to_string().contains("--runtime native"), "{err}");
}

#[test]
fn a_missing_python_exits_2_naming_the_flag_and_native_never_looks() {
    let out = Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args([
            "run",
            "--runtime",
            "cpython",
            "--python",
            "/nonexistent/python3",
        ])
        .args(["--workload", "sleep", "--size", "1", "--tasks", "1"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--python"), "{err}");
    // The native runtime with no Python anywhere on PATH.
    let out = Command::new(env!("CARGO_BIN_EXE_conlab"))
        .env("PATH", "")
        .args([
            "run",
            "--runtime",
            "native",
            "--python",
            "/nonexistent/python3",
        ])
        .args([
            "--workload",
            "sleep",
            "--size",
            "1",
            "--tasks",
            "1",
            "--json",
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        runtime::prepare(&RuntimeChoice {
            runtime: Runtime::Native,
            python: PathBuf::from("/nonexistent"),
            start_method: None,
        })
        .is_ok()
    );
}
