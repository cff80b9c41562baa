//! Bounds (issue 28): the real binary given inputs without end, outputs that cannot be
//! written, and programs that print; each must end with a clear error, not grow or hang.

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn conlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conlab"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run(args: &[&str]) -> Output {
    conlab()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("conlab runs")
}

#[test]
fn a_urls_file_without_end_is_refused_naming_the_cap() {
    let o = run(&["run", "--workload", "http", "--urls-file", "/dev/zero"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid --urls-file: /dev/zero"), "{err}");
    assert!(err.contains("bytes a line"), "{err}");
}

#[test]
fn ctrl_c_ends_a_urls_file_read_that_never_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("urls");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let mut child = conlab()
        .args(["run", "--workload", "http", "--urls-file"])
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("conlab starts");
    // Opening the write end waits until conlab opened the read end: it is reading now,
    // and no byte will ever come.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("opens");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("signal");
    let status = child.wait().expect("exits");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("reads");
    drop(writer);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("cancelled while reading --urls-file"), "{err}");
}

/// A `--python` that never answers: it starts a child (`sleep`) and waits for it. Returns
/// conlab, running its version check, and the pid of the check's child.
fn hanging_python_check(dir: &std::path::Path) -> (std::process::Child, u32) {
    let fifo = dir.join("pid");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let script = dir.join("python");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep 600 &\necho $! > '{}'\nwait\n",
            fifo.display()
        ),
    )
    .expect("writes");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let child = conlab()
        .args([
            "run",
            "--runtime",
            "cpython",
            "-w",
            "sleep",
            "--size",
            "1",
            "--python",
        ])
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("conlab starts");
    // Blocks until the check has started its child and said which it is.
    let mut pid = String::new();
    std::fs::File::open(&fifo)
        .expect("opens")
        .read_to_string(&mut pid)
        .expect("reads");
    (child, pid.trim().parse().expect("a pid"))
}

/// Wait (polling /proc) for `pid` to be gone; panic after a minute.
fn gone(pid: u32) {
    let t = std::time::Instant::now();
    while common::running(pid) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "the version check's child {pid} outlived conlab"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn ctrl_c_during_the_python_check_exits_130_and_stops_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, grandchild) = hanging_python_check(dir.path());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("signal");
    let out = child.wait_with_output().expect("exits");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("cancelled while checking the interpreter"),
        "{err}"
    );
    gone(grandchild);
}

#[test]
fn the_python_check_dies_with_a_killed_conlab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, grandchild) = hanging_python_check(dir.path());
    kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).expect("signal");
    let _ = child.wait();
    gone(grandchild);
}

/// conlab with `args`, its stdout `/dev/full` (every write fails: no space left).
fn to_dev_full(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    conlab()
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("conlab runs")
}

const QUICK_RUN: &[&str] = &[
    "run",
    "-w",
    "sleep",
    "--size",
    "1",
    "--tasks",
    "1",
    "-m",
    "sequential",
    "--json",
];

#[test]
fn output_that_cannot_be_written_is_an_error() {
    for args in [
        QUICK_RUN,
        &["lesson", "--list"],
        &["--help"],
        &["run", "--help"],
        &["step", "race", "--schedule", "A,B"],
        &["step", "race", "--schedule", "A,B", "--json"],
        &[
            "compare",
            "-w",
            "sleep",
            "--size",
            "1",
            "--tasks",
            "1",
            "--models",
            "sequential",
            "--format",
            "json",
        ],
        &["watch", "--headless", "--json", "--", "sh", "-c", "exit 0"],
        &["completions", "bash"],
        &["man"],
        &["serve", "--port", "0"],
    ] {
        let o = to_dev_full(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output"),
            "{args:?}: {err}"
        );
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn a_screenshot_on_a_full_disk_leaves_no_truncated_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("rec.jsonl");
    let mut args: Vec<&str> = QUICK_RUN[..QUICK_RUN.len() - 1].to_vec();
    args.push("--record");
    let o = conlab()
        .args(&args)
        .arg(&rec)
        .stdin(Stdio::null())
        .output()
        .expect("conlab runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A file-size limit of a few KiB (SIGXFSZ ignored, so writes past it fail with
    // EFBIG): the SVG is larger than that.
    let shots = dir.path().join("shots");
    let o = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_conlab"))
        .args(["shot", "--name", "s", "--from"])
        .arg(&rec)
        .arg("--out")
        .arg(&shots)
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    let err = text(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("cannot write") && err.contains("s.svg"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&shots)
        .expect("the folder was made")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "a truncated or temporary file was left: {left:?}"
    );
}

#[test]
fn watch_json_is_not_mixed_with_the_programs_output() {
    let o = run(&[
        "watch",
        "--headless",
        "--json",
        "--",
        "sh",
        "-c",
        "echo hello from the program",
    ]);
    let err = text(&o.stderr);
    assert!(o.status.success(), "{err}");
    let out = text(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("stdout is JSON alone");
    assert!(v.is_object(), "{out}");
    assert!(err.contains("hello from the program"), "{err}");
}

#[test]
fn watch_refuses_its_own_pid() {
    let o = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" watch --headless --pid $$")
        .arg(env!("CARGO_BIN_EXE_conlab"))
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("this conlab itself"), "{err}");
}

#[test]
fn a_watch_recording_is_not_exported_as_an_empty_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("w.jsonl");
    let o = conlab()
        .args(["watch", "--headless", "--record"])
        .arg(&rec)
        .args(["--", "sh", "-c", "exit 0"])
        .stdin(Stdio::null())
        .output()
        .expect("conlab runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let trace = dir.path().join("t.json");
    let o = conlab()
        .arg("replay")
        .arg(&rec)
        .arg("--trace")
        .arg(&trace)
        .stdin(Stdio::null())
        .output()
        .expect("conlab runs");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("`conlab watch` recording"), "{err}");
    assert!(!trace.exists(), "an empty trace was written");
}

#[test]
fn watch_without_a_terminal_says_so_and_what_to_use() {
    let o = run(&["watch", "--", "sh", "-c", "exit 0"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("terminal") && err.contains("--headless") && err.contains("--json"),
        "{err}"
    );
}

#[test]
fn sequential_and_async_runs_fit_in_1024_open_files_with_1000_workers() {
    // They open one connection at a time, or keep within the limit themselves: 1,000
    // workers must not be refused for 2,000 open files they never hold.
    for model in ["sequential", "async"] {
        let o = Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_conlab"))
            .args(["run", "-w", "http", "--delay-ms", "0", "--tasks", "1000"])
            .args(["--workers", "1000", "--json", "-m", model])
            .stdin(Stdio::null())
            .output()
            .expect("sh runs");
        let err = text(&o.stderr);
        assert!(o.status.success(), "{model}: {err}");
        assert!(!err.contains("open-files limit"), "{model}: {err}");
    }
    // Threads hold one connection per worker: refused up front, naming the limit.
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_conlab"))
        .args(["run", "-w", "http", "--delay-ms", "0", "--tasks", "1000"])
        .args(["--workers", "1000", "--json", "-m", "threads"])
        .stdin(Stdio::null())
        .output()
        .expect("sh runs");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("open-files limit"), "{err}");
}

#[test]
fn async_workers_go_past_the_thread_cap_and_the_most_is_said() {
    // 5,000 waits at once on the loop (over the 4,096 threads or processes allowed).
    let o = run(&[
        "run",
        "-w",
        "sleep",
        "-m",
        "async",
        "--size",
        "1",
        "--tasks",
        "5000",
        "--workers",
        "5000",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (model, most) in [("threads", "4096"), ("async", "100000")] {
        let o = run(&[
            "run",
            "-w",
            "sleep",
            "-m",
            model,
            "--size",
            "1",
            "--tasks",
            "10",
            "--workers",
            "100001",
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{model}: {err}");
        assert!(err.contains(most), "{model}: {err}");
    }
}
