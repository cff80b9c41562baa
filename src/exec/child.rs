//! One worker process of the pool, seen from the parent: start it (`conlab worker`), read
//! its stdout on a named thread, retire it politely or kill it; always reap.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::core::GilConfig;

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
    /// Tasks this child finished (for recycling).
    pub done: usize,
    /// Parent clock minus child clock, in µs, learned from the child's first line.
    pub offset_us: i64,
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
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((slot, generation, FromChild::Line(line))).is_err() {
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
        done: 0,
        offset_us: 0,
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
