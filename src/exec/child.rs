//! One worker process of the pool, seen from the parent: start it (`conlab worker`), read
//! its stdout on a named thread, retire it politely or kill it; always reap.

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::core::GilConfig;
use crate::core::lines::{Line, MAX_LINE, read_line_capped};

/// What a worker's stdout reader thread reports.
pub(super) enum FromChild {
    Line(String),
    Eof,
}

/// (slot, generation, message): the generation tells a replacement's lines from its
/// predecessor's.
pub(super) type ChildMsg = (usize, u64, FromChild);

pub(super) struct Worker {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub pid: u32,
    pub generation: u64,
    pub spawned: Instant,
    /// It said hello (its `WorkerStarted` line): tasks may be sent.
    pub ready: bool,
    /// The task in flight and when the parent started sending it.
    pub busy: Option<(usize, Instant)>,
    /// The busy task's `TaskStarted` went out (so a failure need not start it first).
    pub task_started: bool,
    /// Tasks this child finished (for recycling).
    pub done: usize,
    /// Parent clock minus child clock, in µs, learned from the child's first line.
    pub offset_us: i64,
    /// When it last wrote a line.
    pub last_heard: Instant,
    /// Reported as not responding (stopped) since this time.
    pub stalled_since: Option<Instant>,
    /// When that was last said (it is said again every few seconds).
    pub stall_said: Option<Instant>,
}

/// Whether the kernel has the process stopped (SIGSTOP, SIGTSTP, a debugger): the state
/// letter of `/proc/PID/stat` is `T` or `t`.
pub(super) fn is_stopped(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')' (comm may hold anything).
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|s| s == "T" || s == "t")
}

/// Arguments that make `exe` a worker with this GIL.
pub fn worker_args(gil: GilConfig) -> Vec<String> {
    vec![
        "worker".into(),
        "--gil".into(),
        if gil.enabled { "on" } else { "off" }.into(),
        "--switch-interval-us".into(),
        gil.switch_interval.as_micros().to_string(),
    ]
}

pub(super) fn spawn_worker(
    exe: &Path,
    gil: GilConfig,
    slot: usize,
    generation: u64,
    tx: &Sender<ChildMsg>,
) -> std::io::Result<Worker> {
    let spawned = Instant::now();
    let mut child = Command::new(exe)
        .args(worker_args(gil))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let Some(stdout) = child.stdout.take() else {
        kill_child(&mut child);
        return Err(std::io::Error::other("no stdout pipe"));
    };
    let tx = tx.clone();
    let reader = std::thread::Builder::new()
        .name(format!("conlab-pool-reader-{slot}"))
        .spawn(move || {
            let mut out = BufReader::new(stdout);
            loop {
                // Capped: a child writing an endless line is garbage, not an allocation abort.
                let (line, garbage) = match read_line_capped(&mut out, MAX_LINE) {
                    Ok(Line::Text(l)) => (l, false),
                    Ok(Line::TooLong) => {
                        (format!("(a line longer than {} MiB)", MAX_LINE >> 20), true)
                    }
                    Ok(Line::NotText) => ("(a line that is not UTF-8)".into(), true),
                    Ok(Line::Eof) | Err(_) => break,
                };
                // After garbage the pool drops this child: stop reading it.
                if tx.send((slot, generation, FromChild::Line(line))).is_err() || garbage {
                    return;
                }
            }
            let _ = tx.send((slot, generation, FromChild::Eof));
        });
    if let Err(e) = reader {
        kill_child(&mut child);
        return Err(e);
    }
    Ok(Worker {
        pid: child.id(),
        stdin: child.stdin.take(),
        child,
        generation,
        spawned,
        ready: false,
        busy: None,
        task_started: false,
        done: 0,
        offset_us: 0,
        last_heard: spawned,
        stalled_since: None,
        stall_said: None,
    })
}

fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Kill (if still running) and reap; returns how it ended.
pub(super) fn kill_and_reap(w: &mut Worker) -> String {
    drop(w.stdin.take());
    if let Ok(Some(status)) = w.child.try_wait() {
        return status.to_string();
    }
    let _ = w.child.kill();
    match w.child.wait() {
        Ok(status) => status.to_string(),
        Err(e) => format!("could not be reaped: {e}"),
    }
}

/// Close stdin so the worker exits by itself; kill it if it has not within `grace`.
pub(super) fn retire(w: &mut Worker, grace: Duration) {
    drop(w.stdin.take());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = w.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    kill_and_reap(w);
}
