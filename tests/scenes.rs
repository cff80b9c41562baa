//! The lesson scenes through the real binary: `conlab run --workload SCENE --json` and
//! `conlab classify`. Assertions are on counts and structure, never on timings.

use std::process::{Command, Output};

use conlab::exec::worker::TaskMessage;
use conlab::workload::scenes::payload::payload;
use serde_json::{Value, json};

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .output()
        .expect("conlab runs")
}

/// `conlab run --json` with `args`; asserts success and returns the object.
fn run_json(args: &[&str]) -> Value {
    let mut all = vec!["run", "--json"];
    all.extend_from_slice(args);
    let out = conlab(&all);
    assert!(
        out.status.success(),
        "conlab {all:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn has_documented_keys(v: &Value) {
    for k in [
        "workload",
        "model",
        "workers",
        "gil",
        "tasks",
        "answer",
        "elapsed_s",
        "cpu_s",
        "failed",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert!(v["details"].is_object(), "scenes carry details: {v}");
}

#[test]
fn race_without_the_gil_loses_updates_and_the_lock_none() {
    // Updates are lost only while both threads run at once; on a busy machine (other
    // tests running beside this one) one thread can finish before the other is scheduled.
    // So up to five runs: the lock must never lose one, and some run must lose some.
    let mut lost_somewhere = Vec::new();
    for _ in 0..5 {
        let v = run_json(&[
            "-w", "race", "-m", "threads", "-n", "2", "--gil", "off", "--size", "200000",
        ]);
        has_documented_keys(&v);
        let d = &v["details"];
        assert_eq!(d["expected"], 400_000);
        assert_eq!(d["locked"]["lost_updates"], 0, "{d}");
        assert_eq!(v["answer"], d["unsynchronised"]["lost_updates"].to_string());
        let lost = d["unsynchronised"]["lost_updates"].as_u64().expect("n");
        lost_somewhere.push(lost);
        if lost > 0 {
            return;
        }
    }
    panic!("no run lost an update without the GIL: {lost_somewhere:?}");
}

#[test]
fn race_with_the_gil_keeps_the_lock_exact() {
    let v = run_json(&["-w", "race", "-m", "threads", "-n", "2", "--gil", "on"]);
    let d = &v["details"];
    assert_eq!(d["locked"]["got"], d["expected"]);
    // Unsynchronised with the GIL: whatever was measured, never more than expected.
    assert!(d["unsynchronised"]["got"].as_u64() <= d["expected"].as_u64());
}

#[test]
fn deadlock_is_detected_reported_and_recovered() {
    let v = run_json(&["-w", "deadlock", "-m", "threads", "--size", "50"]);
    has_documented_keys(&v);
    assert_eq!(v["answer"], "deadlock");
    assert_eq!(v["failed"], 0);
    let d = &v["details"];
    assert_eq!(d["deadlock_detected"], true);
    assert_eq!(d["recovered"], true);
    let cycle = d["cycle"].as_array().expect("cycle");
    assert_eq!(cycle.len(), 2);
    // Each holds the lock the other waits for.
    assert_eq!(cycle[0]["holds"], cycle[1]["waits_for"]);
    assert_eq!(cycle[1]["holds"], cycle[0]["waits_for"]);
}

#[test]
fn deadlock_fixed_order_completes() {
    let v = run_json(&[
        "-w",
        "deadlock",
        "-m",
        "threads",
        "--size",
        "20",
        "--variant",
        "fixed",
    ]);
    assert_eq!(v["answer"], "completed");
    assert_eq!(v["details"]["workers_completed"], 2);
    assert_eq!(v["details"]["deadlock_detected"], false);
}

#[test]
fn unknown_variant_is_a_usage_error_naming_the_flag() {
    let out = conlab(&["run", "-w", "deadlock", "--variant", "sideways"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--variant") && err.contains("fixed"), "{err}");
}

#[test]
fn queue_consumes_every_item_once_and_stops_every_consumer() {
    let v = run_json(&["-w", "queue", "-m", "threads", "-n", "3", "--size", "90"]);
    has_documented_keys(&v);
    let d = &v["details"];
    assert_eq!(v["answer"], "90");
    assert_eq!(d["consumed_exactly_once"], true);
    assert_eq!(d["sentinels_received"], 3);
    assert_eq!(
        d["per_consumer"]
            .as_array()
            .expect("per consumer")
            .iter()
            .map(|n| n.as_u64().expect("n"))
            .sum::<u64>(),
        90
    );
    assert!(
        d["fill_over_time"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
}

#[test]
fn payload_bytes_moved_are_exactly_the_messages() {
    let (p, tasks) = (50_000u64, 4usize);
    let v = run_json(&[
        "-w",
        "payload",
        "-m",
        "processes",
        "-n",
        "2",
        "--size",
        "50000",
        "--tasks",
        "4",
    ]);
    has_documented_keys(&v);
    let expected: u64 = (0..tasks)
        .map(|i| {
            let data = String::from_utf8(payload(i as u64, p)).expect("ascii");
            let msg = TaskMessage {
                id: i,
                workload: "payload".into(),
                task: json!({ "data": data }),
            };
            serde_json::to_string(&msg).expect("json").len() as u64 + 1
        })
        .sum();
    let d = &v["details"];
    assert_eq!(d["bytes_moved"], expected, "{d}");
    assert_eq!(d["payload_bytes"], p * tasks as u64);
    // The same answer in every model and variant.
    let threads = run_json(&[
        "-w", "payload", "-m", "threads", "--size", "50000", "--tasks", "4",
    ]);
    assert_eq!(threads["details"]["bytes_moved"], 0);
    assert_eq!(threads["answer"], v["answer"]);
    let shm = run_json(&[
        "-w",
        "payload",
        "-m",
        "processes",
        "--size",
        "50000",
        "--tasks",
        "4",
        "--variant",
        "shm",
    ]);
    assert_eq!(shm["answer"], v["answer"]);
    assert!(
        shm["details"]["bytes_moved"].as_u64().expect("n") < p,
        "{shm}"
    );
}

#[test]
fn recycle_counts_respawns() {
    let (tasks, k, workers) = (12u64, 3u64, 2u64);
    let v = run_json(&[
        "-w",
        "recycle",
        "-m",
        "processes",
        "-n",
        "2",
        "--tasks",
        "12",
        "--size",
        "1000",
        "--max-tasks-per-child",
        "3",
    ]);
    has_documented_keys(&v);
    let d = &v["details"];
    let respawns = d["respawns"].as_u64().expect("respawns");
    // At least T/K children must run (each does at most K); at most one spare per worker.
    let least = tasks.div_ceil(k) - workers;
    assert!(
        (least..=least + workers).contains(&respawns),
        "{respawns} respawns: {d}"
    );
    assert_eq!(d["keep_children"]["recycled"], 0);
    assert_eq!(d["recycle_children"]["spawns"], respawns + workers);
}

#[test]
fn tiny_chunking_keeps_the_answer_in_every_model() {
    let mut answers = Vec::new();
    for model in ["sequential", "threads", "processes"] {
        for chunk in ["1", "25"] {
            let v = run_json(&[
                "-w", "tiny", "-m", model, "--tasks", "200", "--chunk", chunk,
            ]);
            let d = &v["details"];
            assert_eq!(d["items"], 200);
            assert_eq!(d["messages"], if chunk == "1" { 200 } else { 8 });
            assert!(d["compute_ms"].is_number(), "compute_ms in {d}");
            // Steps a model does not have are null (shown as n/a), never a 0.0.
            let applies: &[&str] = match model {
                "sequential" => &[],
                "threads" => &["startup_ms"],
                _ => &["startup_ms", "serialise_ms", "transfer_ms"],
            };
            for k in ["startup_ms", "serialise_ms", "transfer_ms"] {
                assert_eq!(d[k].is_number(), applies.contains(&k), "{k} in {d}");
            }
            if model == "processes" {
                assert!(d["bytes_moved"].as_u64().expect("n") > 0);
            }
            answers.push(v["answer"].clone());
        }
    }
    assert!(answers.iter().all(|a| a == "20100"), "{answers:?}");
}

#[test]
fn oversubscribe_reports_one_point_per_worker_count() {
    let v = run_json(&["-w", "oversubscribe", "-m", "threads", "--size", "20000"]);
    has_documented_keys(&v);
    let curve = v["details"]["curve"].as_array().expect("curve").clone();
    let cores = v["details"]["cores"].as_u64().expect("cores");
    let workers: Vec<u64> = curve
        .iter()
        .map(|p| p["workers"].as_u64().expect("w"))
        .collect();
    assert_eq!(workers.first(), Some(&1));
    assert_eq!(workers.last(), Some(&(4 * cores)));
    assert_eq!(curve[0]["speedup"], 1.0);
    assert_eq!(v["details"]["passes_agree"], true);
}

#[test]
fn convoy_reports_wakeups() {
    let v = run_json(&["-w", "convoy", "-m", "threads", "--size", "100"]);
    has_documented_keys(&v);
    assert!(v["details"]["wakeups"].as_u64().expect("n") > 0);
}

/// The convoy lesson in numbers (timing-dependent: `cargo test -- --ignored`).
#[test]
#[ignore]
fn convoy_latency_with_the_gil_is_at_least_5x_without() {
    let median = |gil: &str| {
        run_json(&["-w", "convoy", "-m", "threads", "--gil", gil])["details"]["wake_latency_ms"]
            ["median"]
            .as_f64()
            .expect("median")
    };
    let (on, off) = (median("on"), median("off"));
    assert!(on >= 5.0 * off, "GIL on {on} ms, off {off} ms");
}

#[test]
fn rate_limit_holds_the_pool_to_the_limit() {
    let v = run_json(&[
        "-w",
        "rate-limit",
        "-m",
        "threads",
        "-n",
        "8",
        "--size",
        "25",
    ]);
    has_documented_keys(&v);
    let d = &v["details"];
    assert_eq!(d["requests"], 25);
    let limit = d["limit_per_s"].as_u64().expect("limit");
    assert!(
        d["max_started_in_any_second"].as_u64().expect("n") <= limit + 2,
        "{d}"
    );
    // The unlimited rate is computed (threads ÷ request time), and says so.
    assert!(
        d["unlimited_how"]
            .as_str()
            .expect("named")
            .starts_with("computed"),
        "{d}"
    );
}

#[test]
fn human_summary_shows_the_details() {
    let out = conlab(&["run", "-w", "deadlock", "-m", "threads", "--size", "20"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("details") && text.contains("deadlock_detected"),
        "{text}"
    );
}

#[test]
fn scenes_refuse_models_they_cannot_show() {
    // Refused before starting: one line naming the workload and its models, exit 2.
    let out = conlab(&["run", "-w", "race", "-m", "processes", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("race") && err.contains("sequential, threads"),
        "{err}"
    );
    let out = conlab(&["run", "-w", "recycle", "-m", "threads"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("processes"));
}

#[test]
fn classify_tells_waiting_from_computing() {
    let c = |w: &str| -> Value {
        let out = conlab(&["classify", "-w", w, "--budget-ms", "400", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let sleep = c("sleep");
    assert_eq!(sleep["verdict"], "waiting", "{sleep}");
    assert_eq!(sleep["recommended_model"], "threads");
    let primes = c("primes");
    assert_eq!(primes["verdict"], "computing", "{primes}");
    assert_eq!(primes["recommended_model"], "processes");
    let tiny = c("tiny");
    assert_eq!(tiny["recommended_model"], "sequential", "{tiny}");
}

#[test]
fn classify_text_names_the_verdict_and_the_model() {
    let out = conlab(&["classify", "-w", "sleep", "--budget-ms", "200"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("waiting") && text.contains("recommended: threads"),
        "{text}"
    );
}

/// Direct children of this test process that are `conlab worker`s.
fn worker_children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Field 4 (after the parenthesised name) is the parent pid.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            ppid == Some(me) && String::from_utf8_lossy(&cmd).contains("worker")
        })
        .collect()
}

#[test]
fn process_scenes_emit_each_task_once_and_reap_their_workers() {
    use conlab::exec::mock::each_task_once;
    use conlab::exec::{CancelToken, Event, GilConfig, Model, RunSpec, Sink};
    use conlab::workload::WorkloadArgs;
    let cases = [
        (
            "recycle",
            WorkloadArgs {
                workers: 2,
                tasks: 6,
                size: 1000,
                max_tasks_per_child: Some(2),
                ..Default::default()
            },
        ),
        (
            "payload",
            WorkloadArgs {
                workers: 2,
                tasks: 3,
                size: 1000,
                ..Default::default()
            },
        ),
        (
            "tiny",
            WorkloadArgs {
                workers: 2,
                tasks: 30,
                chunk: Some(4),
                ..Default::default()
            },
        ),
    ];
    for (name, args) in cases {
        let (tx, rx) = crossbeam_channel::unbounded();
        let spec = RunSpec {
            workload: name.into(),
            model: Model::Processes,
            args,
            gil: GilConfig::default(),
            asyncio: Default::default(),
            worker_exe: Some(env!("CARGO_BIN_EXE_conlab").into()),
        };
        let r = conlab::runtime::run(&spec, &Sink::channel(tx, |s| s), &CancelToken::new())
            .expect("runs");
        assert!(r.failures.is_empty(), "{name}: {:?}", r.failures);
        let events: Vec<Event> = rx.try_iter().map(|s| s.event).collect();
        assert_eq!(each_task_once(&events, r.tasks), Ok(()), "{name}");
        assert!(worker_children().is_empty(), "{name} left workers behind");
    }
}
