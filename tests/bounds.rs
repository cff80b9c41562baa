//! Bounds (issue 28): the real binary given inputs without end, outputs that cannot be
//! written, and programs that print; each must end with a clear error, not grow or hang.

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
