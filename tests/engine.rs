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
    conlab::runtime::run(s, &Sink::null(), &CancelToken::new()).expect("run starts")
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
    // Σ over 4 items of 100,000 bytes (the default --bytes) of zlib.adler32(item) plus
    // 1000 LCG rounds from the item's number, as CPython computes it.
    ("crossover", 1000, 4, "15634677630"),
];

#[test]
fn every_model_gives_the_same_answer() {
    let _serial = serial();
    // All five, subinterpreters included: a model added later joins this test by itself.
    assert_eq!(Model::ALL.len(), 5);
    assert!(Model::ALL.contains(&Model::Interpreters));
    for &(w, size, tasks, expected) in CASES {
        // tiny is about pools' dispatch cost: it refuses the event loop.
        let supported = conlab::workload::find(w).expect("in the catalog").models();
        for model in Model::ALL.into_iter().filter(|m| supported.contains(m)) {
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
    conlab::runtime::run(&s, &Sink::channel(tx, |e| e), &CancelToken::new()).expect("runs");
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
    conlab::runtime::run(&s, &Sink::channel(tx, |e| e), &CancelToken::new()).expect("runs");
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
        let handle = scope.spawn(move || conlab::runtime::run(&s, &Sink::channel(tx, |e| e), &c));
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
    let r = conlab::runtime::run(&s, &sink, &CancelToken::new()).expect("runs");
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
    assert_each_task_once(&events.lock().expect("lock"), 8, "killed worker");
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

fn assert_each_task_once(events: &[Event], tasks: usize, what: &str) {
    assert_eq!(exec::mock::each_task_once(events, tasks), Ok(()), "{what}");
}

fn collect(s: &RunSpec) -> (RunReport, Vec<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let r = conlab::runtime::run(s, &Sink::channel(tx, |s| s.event), &CancelToken::new())
        .expect("runs");
    (r, rx.try_iter().collect())
}

#[test]
fn every_task_starts_once_and_finishes_once_in_every_model() {
    let _serial = serial();
    for model in Model::ALL {
        for (workload, size, tasks) in [("squares", 1000, 9), ("tiny", 1, 40), ("sleep", 1, 5)] {
            let supported = conlab::workload::find(workload).expect("in the catalog");
            if !supported.models().contains(&model) {
                continue;
            }
            let (r, events) = collect(&spec(workload, model, 3, size, tasks));
            assert!(
                r.failures.is_empty(),
                "{workload} {model}: {:?}",
                r.failures
            );
            assert_each_task_once(&events, r.tasks, &format!("{workload} {model}"));
        }
    }
}

/// A fake worker: a shell script standing in for `conlab worker`.
fn fake_worker(dir: &std::path::Path, body: &str) -> PathBuf {
    let script = dir.join("fake-worker.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    script
}

const HELLO: &str = r#"echo '{"at_us":0,"event":{"type":"worker_started","worker":0,"pid":1}}'"#;

/// Runs `tasks` sleep tasks on a pool of `workers` fake workers, with a short hello timeout.
fn run_fake(body: &str, workers: usize, tasks: usize) -> (Vec<exec::TaskResult>, Vec<Event>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = fake_worker(dir.path(), body);
    let w = conlab::workload::find("sleep").expect("sleep");
    let plan: Vec<serde_json::Value> = (0..tasks).map(|_| serde_json::json!({ "ms": 1 })).collect();
    let (tx, rx) = crossbeam_channel::unbounded();
    let sink = Sink::channel(tx, |s| s.event);
    let cancel = CancelToken::new();
    let job = exec::Job {
        workload: w,
        tasks: &plan.into(),
        workers,
        gil: GilConfig::default(),
        sink: &sink,
        cancel: &cancel,
        worker_exe: Some(&exe),
    };
    let (results, _) = exec::Engine::new(&job)
        .processes()
        .hello_timeout(Duration::from_millis(200))
        .run();
    drop(sink);
    (results, rx.try_iter().collect())
}

fn reasons(results: &[exec::TaskResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            Some(Err(e)) => e.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_worker_that_never_says_hello_is_given_up_not_waited_for() {
    let _serial = serial();
    let (results, events) = run_fake("exec sleep 30", 2, 3);
    let why = reasons(&results);
    assert!(
        why.iter().all(|e| e.contains("did not say hello")),
        "{why:?}"
    );
    assert_each_task_once(&events, 3, "never hello");
    assert!(events.iter().any(|e| matches!(e, Event::WorkerDied { .. })));
    assert!(children_of_this_process().iter().all(|&p| !alive(p)));
}

#[test]
fn a_worker_sending_an_unexpected_event_is_dropped() {
    let _serial = serial();
    let body = format!(
        "{HELLO}\nread line\necho '{{\"at_us\":1,\"event\":{{\"type\":\"note\",\"key\":\"k\",\"value\":\"v\"}}}}'\necho '{{\"at_us\":2,\"event\":{{\"type\":\"worker_started\",\"worker\":0,\"pid\":1}}}}'\nexec sleep 30"
    );
    let (results, events) = run_fake(&body, 1, 2);
    let why = reasons(&results);
    assert!(
        why.iter().all(|e| e.contains("unexpected event")),
        "{why:?}"
    );
    assert_each_task_once(&events, 2, "unexpected event");
    assert!(children_of_this_process().iter().all(|&p| !alive(p)));
}

#[test]
fn a_worker_that_stops_reading_is_replaced_not_kept() {
    let _serial = serial();
    // Says hello, closes its stdin, fails task 0: the next send fails.
    let body = format!(
        "exec 0<&-\n{HELLO}\n{}\n{}\nexec sleep 30",
        r#"echo '{"at_us":1,"event":{"type":"task_started","task":0,"worker":0,"pid":1,"thread":"x"}}'"#,
        r#"echo '{"at_us":2,"event":{"type":"task_finished","task":0,"worker":0,"result":{"Err":"boom"},"wall_us":1,"cpu_us":1}}'"#
    );
    let (results, events) = run_fake(&body, 1, 3);
    let why = reasons(&results);
    assert!(
        why.iter().any(|e| e.contains("stopped reading its tasks")),
        "{why:?}"
    );
    assert!(why.iter().all(|e| !e.starts_with("None")), "{why:?}");
    assert_each_task_once(&events, 3, "stopped reading");
    assert!(children_of_this_process().iter().all(|&p| !alive(p)));
}
