//! `conlab watch` end to end: real Python scripts under the kernel's eye (shares of time on
//! a CPU and blocked on a lock, the tree's CPU against the kernel's own count), exit codes,
//! bad input, and stopping without strays. Skips, saying why, without python3 or /proc.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Python tests each keep two cores busy: one at a time.
static PYTHON: Mutex<()> = Mutex::new(());

const KINDS: [&str; 5] = ["on_cpu_s", "runnable_s", "lock_s", "io_s", "sleep_s"];

fn conlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
}

fn proc_readable() -> bool {
    let me = std::process::id();
    std::fs::read_to_string(format!("/proc/{me}/task/{me}/schedstat")).is_ok()
}

/// The interpreter itself (not a shim such as pyenv's), or why not.
fn python() -> Result<String, String> {
    if !proc_readable() {
        return Err("/proc/PID/task/TID/schedstat is not readable here".into());
    }
    common::python3()
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `conlab watch --headless --json -- python3 SCRIPT 1.0`: its JSON summary.
fn watch_python(py: &str, script: &str) -> Value {
    let out = conlab()
        .args([
            "watch",
            "--headless",
            "--json",
            "--",
            py,
            &fixture(script),
            "1.0",
        ])
        .output()
        .expect("conlab runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(last).expect("valid JSON")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"))
}

/// Each state's share of the time the thread (or process) was watched.
fn shares(v: &Value) -> [f64; 5] {
    let total: f64 = KINDS.iter().map(|k| f(v, k)).sum();
    assert!(total > 0.0, "watched for some time: {v}");
    KINDS.map(|k| f(v, k) / total)
}

/// The tree's on-CPU seconds agree with the kernel's utime+stime within 5%.
fn assert_tree_cpu_matches_the_kernel(v: &Value) {
    let ours = f(v, "tree_on_cpu_s");
    let kernel = f(v, "kernel_cpu_s");
    // They spin for a second of wall time: on a busy machine they get less CPU than that.
    assert!(kernel > 0.05, "the scripts burn some CPU: {kernel}");
    let off = (ours - kernel).abs() / kernel;
    println!(
        "tree on CPU {ours:.3} s, kernel utime+stime {kernel:.3} s ({:.1}% apart)",
        off * 100.0
    );
    assert!(off <= 0.05, "{ours} vs {kernel}");
}

#[test]
fn two_cpu_bound_threads_take_turns_on_the_gil() {
    let py = match python() {
        Ok(p) => p,
        Err(why) => return println!("skipped: {why}"),
    };
    let _one = PYTHON.lock().unwrap_or_else(|e| e.into_inner());
    let v = watch_python(&py, "two_threads.py");
    assert_eq!(v["exit_code"], 0);
    let root = v["processes"][0]["pid"].as_u64().expect("root pid");
    let threads = v["threads"].as_array().expect("threads");
    let workers: Vec<&Value> = threads
        .iter()
        .filter(|t| t["pid"].as_u64() == Some(root) && t["tid"].as_u64() != Some(root))
        .collect();
    assert_eq!(workers.len(), 2, "two worker threads: {threads:?}");
    for w in workers {
        let [cpu, queued, lock, ..] = shares(w);
        println!(
            "worker {}: on a CPU {:.0}%, waiting for a core {:.0}%, blocked on a lock {:.0}%",
            w["tid"],
            cpu * 100.0,
            queued * 100.0,
            lock * 100.0
        );
        if queued < 0.10 {
            // A quiet machine: the bounds.
            assert!((0.35..=0.65).contains(&cpu), "on a CPU {cpu}");
            // Usually 30-50%; 14% was seen once in a clean-clone CI run whose other test
            // binaries ran beside it, with the run queue still under 10%.
            assert!(lock >= 0.10, "blocked on a lock {lock}");
        } else {
            // A busy machine (other builds, other tests) delays whoever wakes: the shares
            // shift to the run queue, but the GIL still keeps each thread from a CPU at
            // least about half the time.
            println!(
                "  (busy machine: {:.0}% waiting for a core; weaker bounds)",
                queued * 100.0
            );
            assert!(cpu <= 0.65, "on a CPU {cpu}");
            if queued < 0.5 {
                assert!(lock > 0.02, "blocked on a lock {lock}");
            } else {
                println!("  (mostly in the run queue: too busy to judge the lock share)");
            }
        }
    }
    assert_tree_cpu_matches_the_kernel(&v);
}

#[test]
fn two_worker_processes_each_keep_a_cpu() {
    let py = match python() {
        Ok(p) => p,
        Err(why) => return println!("skipped: {why}"),
    };
    let _one = PYTHON.lock().unwrap_or_else(|e| e.into_inner());
    let v = watch_python(&py, "two_processes.py");
    let root = v["processes"][0]["pid"].as_u64().expect("root pid");
    let procs = v["processes"].as_array().expect("processes");
    let workers: Vec<&Value> = procs
        .iter()
        .filter(|p| p["ppid"].as_u64() == Some(root))
        .collect();
    assert_eq!(workers.len(), 2, "two worker processes: {procs:?}");
    for w in workers {
        assert!(
            w["cmd"]
                .as_str()
                .is_some_and(|c| c.contains("two_processes.py"))
        );
        let [cpu, queued, ..] = shares(w);
        println!(
            "process {}: on a CPU {:.0}%, waiting for a core {:.0}%",
            w["pid"],
            cpu * 100.0,
            queued * 100.0
        );
        if queued < 0.10 {
            assert!(cpu >= 0.80, "on a CPU {cpu}");
        } else {
            println!("  (busy machine: weaker bound, on a CPU or waiting for one)");
            assert!(cpu + queued >= 0.80, "wanting a CPU {}", cpu + queued);
        }
    }
    assert_tree_cpu_matches_the_kernel(&v);
}

#[test]
fn the_programs_exit_code_passes_through() {
    if !proc_readable() {
        return println!("skipped: /proc unreadable");
    }
    let out = conlab()
        .args(["watch", "--headless", "--json", "--", "sh", "-c", "exit 3"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["exit_code"], 3);
    for k in ["elapsed_s", "threads", "processes"] {
        assert!(!v[k].is_null(), "{k}");
    }
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["watch", "--headless", "--", "conlab-no-such-program"],
            "command not found",
        ),
        (
            &["watch", "--headless", "--pid", "4194303"],
            "no process with pid 4194303",
        ),
        (&["watch", "--headless"], "nothing to watch"),
        (&["watch", "--sample-ms", "0", "--", "true"], "--sample-ms"),
    ];
    for (args, needle) in cases {
        let out = conlab().args(*args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}");
    }
}

/// Processes whose process group is `pgid` (zombies aside).
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.first() != Some(&"Z") && f.get(2).and_then(|g| g.parse().ok()) == Some(pgid) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn sigterm_stops_the_program_and_leaves_no_stray() {
    if !proc_readable() {
        return println!("skipped: /proc unreadable");
    }
    // A shell that starts a background sleep (which ignores SIGINT) and waits on another.
    let mut w = conlab()
        .args([
            "watch",
            "--headless",
            "--json",
            "--",
            "sh",
            "-c",
            "sleep 60 & exec sleep 61",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // watch says on stderr when it has taken its first sample (signals are handled from
    // before that).
    let mut err = BufReader::new(w.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("a line");
    let pid: u32 = line
        .split_whitespace()
        .skip_while(|x| *x != "pid")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("pid in {line:?}"));
    // Wait until the background sleep exists (it is started by the shell, not by us).
    let t0 = Instant::now();
    while group_members(pid).len() < 2 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::yield_now();
    }
    assert_eq!(group_members(pid).len(), 2, "the shell's two sleeps");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(w.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal");
    let out = w.wait_with_output().expect("exits");
    // The exec'd sleep died of the first signal of the stop (SIGINT): 128 + 2.
    assert_eq!(out.status.code(), Some(130));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["exit_code"], 130);
    // The background sleep is gone too (it may take the init process a moment to reap it,
    // but it is no longer running: zombies are not counted).
    let t0 = Instant::now();
    while !group_members(pid).is_empty() && t0.elapsed() < Duration::from_secs(5) {
        std::thread::yield_now();
    }
    assert_eq!(group_members(pid), Vec::<u32>::new(), "no stray process");
}

#[test]
fn attaching_to_a_pid_follows_it_until_it_exits() {
    if !proc_readable() {
        return println!("skipped: /proc unreadable");
    }
    // A process blocked reading a pipe: it exits when we close its stdin.
    let mut target = Command::new("sh")
        .args(["-c", "read x"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh");
    let pid = target.id();
    let mut w = conlab()
        .args(["watch", "--headless", "--json", "--pid", &pid.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut err = BufReader::new(w.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("a line");
    assert!(line.contains(&format!("pid {pid}")), "{line}");
    drop(target.stdin.take());
    target.wait().expect("sh exits");
    let out = w.wait_with_output().expect("watch ends with it");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["exit_code"].is_null(), "not ours to report");
    let p = &v["processes"][0];
    assert_eq!(p["pid"].as_u64(), Some(pid as u64));
    assert!(
        p["exited_s"].as_f64().is_some(),
        "its exit was noticed: {p}"
    );
    assert_eq!(v["threads"][0]["tid"].as_u64(), Some(pid as u64));
}
