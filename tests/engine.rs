//! Integration tests of the engine with the real worker binary: answers agree across
//! models, the GIL changes timing but never answers, cancel and killed workers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conlab::exec::{self, CancelToken, Event, GilConfig, Model, RunReport, RunSpec, Sink};

/// Tests that spawn worker processes take this, so "no child left" checks see only their own.
static PROCESS_TESTS: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    PROCESS_TESTS.lock().unwrap_or_else(|e| e.into_inner())
}

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_conlab"))
}

fn spec(workload: &str, model: Model, workers: usize, size: u64, tasks: usize) -> RunSpec {
    let mut s = RunSpec::new(workload, model, workers);
    s.args.size = size;
    s.args.tasks = tasks;
    s.worker_exe = Some(exe());
    s
}

fn run(s: &RunSpec) -> RunReport {
    exec::run(s, &Sink::null(), &CancelToken::new()).expect("run starts")
}

/// Small sizes of every CPU/overhead workload, with the answer each must give.
const CASES: &[(&str, u64, usize, &str)] = &[
    ("primes", 2_000_000, 8, "148933"),
    ("naive-primes", 20_000, 3, "2262"),
    // 4 × Σ i² for i < 1000 = 4 × 332,833,500
    ("squares", 1000, 4, "1331334000"),
    // F(500) has 105 digits, F(750) 157, F(1000) 209.
    ("fib", 1000, 3, "471"),
    ("sleep", 5, 4, "20"),
    ("tiny", 1, 100, "5050"),
];

#[test]
fn every_model_gives_the_same_answer() {
    let _serial = serial();
    for &(w, size, tasks, expected) in CASES {
        for model in Model::ALL {
            let r = run(&spec(w, model, 2, size, tasks));
            assert!(r.failures.is_empty(), "{w} on {model}: {:?}", r.failures);
            let answer = r.answer.expect("an answer").value;
            assert_eq!(answer, expected, "{w} on {model}");
        }
    }
}

#[test]
fn gil_changes_timing_never_answers() {
    for gil in [true, false] {
        let mut s = spec("primes", Model::Threads, 3, 300_000, 12);
        s.gil = GilConfig {
            enabled: gil,
            switch_interval: Duration::from_micros(200),
        };
        let r = run(&s);
        assert_eq!(r.answer.expect("answer").value, "25997", "gil {gil}");
    }
}

#[test]
fn gil_serialises_cpu_bound_threads() {
    // With the GIL on, threads take turns: GIL waits appear on the timeline.
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut s = spec("primes", Model::Threads, 2, 3_000_000, 8);
    s.gil.switch_interval = Duration::from_millis(1);
    exec::run(&s, &Sink::channel(tx, |e| e), &CancelToken::new()).expect("runs");
    let waits = rx
        .try_iter()
        .filter(|e| matches!(e.event, Event::Span { .. }))
        .count();
    assert!(
        waits > 0,
        "two CPU-bound threads under one GIL must wait for it"
    );

    // Without it, nobody waits.
    let (tx, rx) = crossbeam_channel::unbounded();
    s.gil.enabled = false;
    exec::run(&s, &Sink::channel(tx, |e| e), &CancelToken::new()).expect("runs");
    assert_eq!(
        rx.try_iter()
            .filter(|e| matches!(e.event, Event::Span { .. }))
            .count(),
        0
    );
}

fn alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie still shows state Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

/// Pids of our own child processes still around.
fn children_of_this_process() -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                // Fields after the command name: state, ppid, ...
                s.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(|p| p == me))
                    .unwrap_or(false)
            })
        })
        .collect()
}

#[test]
fn cancel_kills_and_reaps_every_worker_process() {
    let _serial = serial();
    let (tx, rx) = crossbeam_channel::unbounded();
    let cancel = CancelToken::new();
    let s = spec("primes", Model::Processes, 2, 2_000_000_000, 64);
    let pids = std::thread::scope(|scope| {
        let c = cancel.clone();
        let handle = scope.spawn(move || exec::run(&s, &Sink::channel(tx, |e| e), &c));
        let mut pids = Vec::new();
        // Wait (on the channel, not a sleep) until both workers are computing.
        for ev in rx.iter() {
            if let Event::TaskStarted { pid, .. } = ev.event {
                pids.push(pid);
                if pids.len() == 2 {
                    break;
                }
            }
        }
        cancel.cancel();
        let report = handle.join().expect("run thread").expect("run");
        assert!(report.cancelled);
        assert!(report.answer.is_none());
        pids
    });
    for pid in pids {
        assert!(!alive(pid), "worker {pid} outlived the cancel");
    }
    let left: Vec<u32> = children_of_this_process()
        .into_iter()
        .filter(|&p| alive(p))
        .collect();
    assert!(left.is_empty(), "children left: {left:?}");
}

#[test]
fn a_killed_worker_fails_its_task_and_is_replaced() {
    let _serial = serial();
    let killed = Arc::new(Mutex::new(None::<u32>));
    let k = killed.clone();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev_log = events.clone();
    let sink = Sink::new(move |s| {
        if let Event::TaskStarted { pid, task: 2, .. } = s.event {
            let mut k = k.lock().expect("lock");
            if k.is_none() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                *k = Some(pid);
            }
        }
        ev_log.lock().expect("lock").push(s.event);
    });
    // Tasks long enough that the kill lands mid-task.
    let s = spec("primes", Model::Processes, 2, 60_000_000, 8);
    let r = exec::run(&s, &sink, &CancelToken::new()).expect("runs");
    let pid = killed.lock().expect("lock").expect("a worker was killed");
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let (task, reason) = &r.failures[0];
    assert_eq!(*task, 2);
    assert!(reason.contains(&pid.to_string()), "{reason}");
    assert!(reason.contains("SIGKILL"), "{reason}");
    assert!(r.answer.is_none(), "no answer from a partial run");
    let started = events
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| matches!(e, Event::WorkerStarted { .. }))
        .count();
    assert!(
        started >= 3,
        "a replacement worker started ({started} starts)"
    );
    let finished_ok = events
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| matches!(e, Event::TaskFinished { result: Ok(_), .. }))
        .count();
    assert_eq!(finished_ok, 7, "every other task finished");
}

#[test]
fn a_worker_writing_garbage_is_reported_not_hung() {
    let _serial = serial();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("bad-worker.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nread line\necho 'this is not json'\nsleep 30\n",
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let mut s = spec("sleep", Model::Processes, 2, 1, 4);
    s.worker_exe = Some(script);
    let r = run(&s);
    assert_eq!(r.failures.len(), 4, "{:?}", r.failures);
    assert!(
        r.failures.iter().any(|(_, e)| e.contains("garbage")),
        "{:?}",
        r.failures
    );
    assert!(r.answer.is_none());
    assert!(children_of_this_process().iter().all(|&p| !alive(p)));
}

#[test]
fn a_missing_worker_binary_fails_every_task_clearly() {
    let _serial = serial();
    let mut s = spec("sleep", Model::Processes, 2, 1, 3);
    s.worker_exe = Some(PathBuf::from("/nonexistent/conlab"));
    let r = run(&s);
    assert_eq!(r.failures.len(), 3);
    assert!(
        r.failures[0].1.contains("could not start worker process"),
        "{}",
        r.failures[0].1
    );
}
