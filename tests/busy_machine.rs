//! Verdicts on a busy machine: the tests start the competition themselves — bounded
//! busy loops of another program, one per core, reaped at the end — and check that
//! conlab measures it and never turns it into a confident, wrong verdict.

use std::process::{Child, Command, Stdio};

/// Busy loops of another program (a shell counting), one per core; each stops by itself
/// after a bounded count and is killed and reaped when dropped.
struct Competition(Vec<Child>);

impl Competition {
    fn start() -> Competition {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let loops = (0..cores)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "i=0; while [ $i -lt 400000000 ]; do i=$((i+1)); done"])
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("a busy loop starts")
            })
            .collect();
        Competition(loops)
    }
}

impl Drop for Competition {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn conlab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_conlab"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("conlab runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn proc_readable() -> bool {
    std::fs::read_to_string("/proc/stat").is_ok()
        && std::fs::read_to_string("/proc/self/schedstat").is_ok()
}

#[test]
fn compare_measures_the_competition_and_never_crowns_gil_threads() {
    if !proc_readable() {
        eprintln!("skipped: /proc/stat or schedstat unreadable here");
        return;
    }
    let competition = Competition::start();
    let (code, out, err) = conlab(&[
        "compare",
        "--workload",
        "primes",
        "--size",
        "3000000",
        "--workers",
        "2",
        "--models",
        "sequential,threads",
        "--repeat",
        "2",
        "--format",
        "json",
    ]);
    drop(competition);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("JSON rows");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    for r in rows {
        let others = r["interference"]["others_cores"]
            .as_f64()
            .expect("others measured");
        assert!(others >= 0.3, "the busy loops were seen: {r}");
        assert!(
            r["concurrency"]["samples"].as_u64().is_some_and(|n| n > 0),
            "{r}"
        );
        let state = r["verdict"]["state"].as_str().expect("a verdict state");
        assert!(state == "conclusive" || state == "inconclusive", "{r}");
        if state == "inconclusive" {
            assert!(
                r["verdict"]["reason"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())
            );
        }
        // With the GIL on, threads never computed two at once, however busy.
        if r["model"] == "threads" {
            let at_once = r["concurrency"]["at_once"].as_array().expect("a histogram");
            let samples = r["concurrency"]["samples"].as_u64().unwrap_or(1) as f64;
            let two = at_once
                .iter()
                .skip(2)
                .filter_map(|v| v.as_u64())
                .sum::<u64>() as f64;
            assert!(two / samples <= 0.05, "GIL threads ran two at once: {r}");
        }
    }
}

#[test]
fn a_rehearsed_gil_lesson_is_never_wrong_under_competition() {
    if !proc_readable() {
        eprintln!("skipped: /proc/stat or schedstat unreadable here");
        return;
    }
    let competition = Competition::start();
    let (code, out, err) = conlab(&["lesson", "02-computing-with-the-gil", "--auto", "--json"]);
    drop(competition);
    let steps: serde_json::Value = serde_json::from_str(&out).expect("JSON steps");
    let steps = steps.as_array().expect("an array");
    assert_eq!(steps.len(), 2, "{err}");
    for s in steps {
        for key in [
            "lesson", "step", "question", "expected", "measured", "verdict", "reason",
        ] {
            assert!(s.get(key).is_some(), "{key} missing: {s}");
        }
        let v = s["verdict"].as_str().expect("a verdict");
        assert_ne!(v, "wrong", "a busy machine made a wrong verdict: {s}");
        if v == "inconclusive" {
            assert!(s["reason"].as_str().is_some_and(|r| !r.is_empty()), "{s}");
        }
    }
    assert_eq!(code, 0, "no wrong verdict, exit 0: {err}");
}
