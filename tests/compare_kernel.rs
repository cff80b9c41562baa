//! `compare`'s kernel view, on the real binary: the shares of the working threads' time
//! the kernel saw per model have the shape each model must have — threads under the GIL
//! blocked on a lock far more than without it, worker processes on a CPU, one async loop
//! thread — in the native runtime and with the real CPython interpreter. Shapes, not
//! timings: every assertion is a contrast no busy machine blurs. Where /proc cannot be read,
//! compare must still work and say why.

use std::process::{Command, Output};

use serde_json::Value;

mod common;

/// A compare over in a blink (the kernel shares' absence is what is checked).
const TINY: [&str; 5] = ["compare", "--workload", "tiny", "--tasks", "8"];

fn conlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("run conlab")
}

/// Whether this machine shows per-thread scheduler statistics (else why, printed).
fn proc_readable() -> bool {
    let me = std::process::id();
    match std::fs::read_to_string(format!("/proc/{me}/task/{me}/schedstat")) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("no kernel shares to check here (/proc unreadable: {e})");
            false
        }
    }
}

/// `compare --format json` with `args`: the rows by model name.
fn compare(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["compare", "--format", "json"];
    all.extend_from_slice(args);
    let out = conlab(&all);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON array")
}

fn row<'a>(rows: &'a [Value], model: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["model"] == model)
        .unwrap_or_else(|| panic!("no {model} row in {rows:?}"))
}

/// A row's kernel share of `what` (on_cpu, runnable, lock, io, sleep).
fn share(r: &Value, what: &str) -> f64 {
    r["kernel"][what]
        .as_f64()
        .unwrap_or_else(|| panic!("no kernel.{what} in {r}"))
}

fn counted(r: &Value) -> u64 {
    r["kernel"]["threads_counted"].as_u64().expect("counted")
}

const PRIMES: [&str; 6] = [
    "--workload",
    "primes",
    "--size",
    "4000000",
    "--workers",
    "2",
];

#[test]
fn native_models_have_their_shapes() {
    if !proc_readable() {
        // Then compare works without the columns and says why, once.
        let out = conlab(&[
            "compare",
            "--workload",
            "tiny",
            "--tasks",
            "8",
            "--format",
            "json",
        ]);
        assert!(out.status.success());
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(rows.iter().all(|r| r["kernel"].is_null()));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("no kernel shares").count(), 1, "{err}");
        return;
    }
    let on = compare(&[&PRIMES[..], &["--gil", "on"]].concat());
    let off = compare(&[&PRIMES[..], &["--gil", "off", "--models", "threads"]].concat());
    let (t_on, t_off) = (row(&on, "threads"), row(&off, "threads"));
    // Both pool threads count (each waits its turn, the GIL's holder computes), and not
    // the thread that feeds them and waits in join.
    assert_eq!(counted(t_on), 2, "{t_on}");
    assert_eq!(counted(t_off), 2, "{t_off}");
    let (lock_on, lock_off) = (share(t_on, "lock"), share(t_off, "lock"));
    assert!(
        lock_on > 0.05 && lock_on > 3.0 * lock_off,
        "GIL on: {lock_on:.3} blocked on a lock, off: {lock_off:.3}"
    );
    let p = row(&on, "processes");
    assert_eq!(counted(p), 2, "one thread per worker process: {p}");
    // Mostly computing or waiting for a core (between tasks a worker waits for the next
    // on a channel from its stdin reader: a futex, which reads as a lock).
    assert!(
        share(p, "on_cpu") + share(p, "runnable") > 0.5,
        "worker processes compute: {p}"
    );
    let s = row(&on, "sequential");
    assert_eq!(counted(s), 1, "{s}");
    assert!(share(s, "lock") < lock_on / 3.0, "{s}");
    assert_eq!(counted(row(&on, "async")), 1, "one loop thread");
    for r in &on {
        let k = &r["kernel"];
        let sum: f64 = ["on_cpu", "runnable", "lock", "io", "sleep"]
            .iter()
            .map(|w| share(r, w))
            .sum();
        assert!((sum - 1.0).abs() < 1e-6, "shares add up: {k}");
    }
}

#[test]
fn waiting_work_counts_the_sleepers_not_the_thread_in_join() {
    if !proc_readable() {
        return;
    }
    let rows = compare(&[
        "--workload",
        "sleep",
        "--size",
        "200",
        "--tasks",
        "8",
        "--workers",
        "4",
        "--models",
        "threads,processes",
    ]);
    for model in ["threads", "processes"] {
        let r = row(&rows, model);
        // The four workers, sleeping: not the thread that waits for them on a lock, nor a
        // worker process's stdin reader waiting for I/O.
        assert_eq!(counted(r), 4, "{r}");
        assert!(
            share(r, "sleep") > 4.0 * (share(r, "lock") + share(r, "io")),
            "{r}"
        );
    }
}

#[test]
fn the_real_interpreters_threads_wait_on_its_gil() {
    if !proc_readable() {
        return;
    }
    if let Err(e) = common::python3() {
        eprintln!("skipped: {e}");
        return;
    }
    let rows = compare(&[
        "--runtime",
        "cpython",
        "--workload",
        "primes",
        "--size",
        "1000000",
        "--workers",
        "2",
        "--models",
        "sequential,threads",
    ]);
    let (s, t) = (row(&rows, "sequential"), row(&rows, "threads"));
    // Two interpreter threads take turns on the real GIL (a futex): the waiting one is
    // blocked on a lock. The main thread waiting in join does not count.
    assert_eq!(counted(t), 2, "{t}");
    let lock = share(t, "lock");
    assert!(
        lock > 0.1 && lock > 3.0 * share(s, "lock"),
        "threads: {lock:.3} blocked on a lock, sequential: {s}"
    );
}

#[test]
fn kernel_off_runs_no_sampler_and_says_nothing() {
    let out = conlab(&[&TINY[..], &["--models", "sequential", "--kernel", "off"]].concat());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("kernel"), "{text}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("kernel"));
}
