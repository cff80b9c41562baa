//! `--cpu-quota` end to end, where this machine allows a child cgroup (root with a
//! writable cgroup cpu controller; skipped with the reason otherwise): the run reports the
//! quota and its throttling, and no `conlab-<pid>` cgroup is left — after a normal end,
//! and after a SIGKILL once the next conlab has started.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn conlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
}

/// Every `conlab-<pid>` folder in the cgroup mounts, three levels deep (as a pre-stop
/// check greps them).
fn left_for(pid: u32) -> Vec<PathBuf> {
    let name = format!("conlab-{pid}");
    let mut found = Vec::new();
    let mut dirs = vec![(PathBuf::from("/sys/fs/cgroup"), 0)];
    while let Some((d, depth)) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name().to_string_lossy() == name {
                found.push(e.path());
            }
            if depth < 3 {
                dirs.push((e.path(), depth + 1));
            }
        }
    }
    found
}

/// Why this machine cannot run the test, if it cannot.
fn cannot() -> Option<String> {
    if !Path::new("/sys/fs/cgroup").is_dir() {
        return Some("no /sys/fs/cgroup".into());
    }
    let out = conlab()
        .args([
            "run",
            "--cpu-quota",
            "0.5",
            "--workload",
            "sleep",
            "--size",
            "1",
        ])
        .args(["--model", "sequential", "--tasks", "1"])
        .output()
        .ok()?;
    (!out.status.success()).then(|| String::from_utf8_lossy(&out.stderr).trim().to_string())
}

#[test]
fn a_quota_run_is_throttled_and_leaves_no_cgroup_even_after_sigkill() {
    if let Some(why) = cannot() {
        eprintln!("skipped: conlab may not make a child cgroup here: {why}");
        return;
    }
    let child = conlab()
        .args([
            "run",
            "--cpu-quota",
            "0.2",
            "--workload",
            "primes",
            "--size",
            "600000",
        ])
        .args(["--model", "processes", "--workers", "2", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start conlab");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["cpu_quota"], 0.2);
    assert!(v["throttled"]["periods"].as_u64().is_some(), "{v}");
    assert_eq!(v["workers_why"], "2 workers: --workers 2");
    assert!(left_for(pid).is_empty(), "{:?}", left_for(pid));

    // SIGKILL: nothing of conlab's runs to clean up; the next start does.
    let mut child = conlab()
        .args([
            "run",
            "--cpu-quota",
            "0.2",
            "--workload",
            "sleep",
            "--size",
            "20000",
        ])
        .args(["--model", "threads", "--tasks", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start conlab");
    let pid = child.id();
    // Until its cgroup exists (a run of 20 s: long enough to be killed inside it).
    let mut waited = 0;
    while left_for(pid).is_empty() && waited < 1000 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        waited += 1;
    }
    assert!(!left_for(pid).is_empty(), "conlab-{pid} never appeared");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(
        !left_for(pid).is_empty(),
        "a SIGKILLed conlab cannot clean up"
    );
    let next = conlab()
        .args(["lesson", "--list"])
        .output()
        .expect("next conlab");
    assert!(next.status.success());
    assert!(
        left_for(pid).is_empty(),
        "the next start removes {:?}",
        left_for(pid)
    );
}

#[test]
fn watch_under_a_quota_shows_throttled_time_as_its_own_wait() {
    if let Some(why) = cannot() {
        eprintln!("skipped: conlab may not make a child cgroup here: {why}");
        return;
    }
    // About 0.3 s of CPU in one shell thread: at 0.2 CPU, held back in most periods.
    let child = conlab()
        .args(["watch", "--json", "--cpu-quota", "0.2", "--"])
        .args([
            "sh",
            "-c",
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start conlab");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let cgroup = v["cgroup_throttled_s"]
        .as_f64()
        .expect("the cgroup's counter");
    assert!(cgroup > 0.0, "{v}");
    let threads = v["threads"].as_array().expect("threads");
    let held: f64 = threads
        .iter()
        .map(|t| {
            t["throttled_s"]
                .as_f64()
                .expect("throttled_s under a quota")
        })
        .sum();
    assert!(held > 0.0, "the shell's wait is the quota's: {v}");
    assert!(left_for(pid).is_empty(), "{:?}", left_for(pid));
    // --pid keeps its own cgroup: refused.
    let out = conlab()
        .args(["watch", "--pid", "1", "--cpu-quota", "0.5"])
        .output()
        .expect("conlab");
    assert_eq!(out.status.code(), Some(2));
}
