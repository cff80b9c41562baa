//! The processes model: a pool of worker processes, each this binary re-run as
//! `conlab worker`, fed one task at a time as JSON lines. Start-up and serialisation are
//! part of the measured time, as with Python's process pools. A worker that dies or writes
//! garbage fails its task with the reason and is replaced; cancel kills and reaps them all.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::worker::TaskMessage;
use super::{Event, Executor, GilConfig, Job, Sink, Stamped, TaskResult};

pub struct Processes;

/// What a worker's stdout reader thread reports.
enum FromChild {
    Line(String),
    Eof,
}

/// (slot, generation, message): the generation tells a replacement's lines from its
/// predecessor's.
type ChildMsg = (usize, u64, FromChild);

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    generation: u64,
    busy: Option<usize>,
    /// Parent clock minus child clock, in µs, learned from the child's first line.
    offset_us: i64,
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

fn spawn_worker(
    exe: &Path,
    gil: GilConfig,
    slot: usize,
    generation: u64,
    tx: &Sender<ChildMsg>,
) -> std::io::Result<Worker> {
    let mut child = Command::new(exe)
        .args(worker_args(gil))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    let tx = tx.clone();
    std::thread::Builder::new()
        .name(format!("conlab-pool-reader-{slot}"))
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((slot, generation, FromChild::Line(line))).is_err() {
                    return;
                }
            }
            let _ = tx.send((slot, generation, FromChild::Eof));
        })?;
    Ok(Worker {
        pid: child.id(),
        stdin: child.stdin.take(),
        child,
        generation,
        busy: None,
        offset_us: 0,
    })
}

/// Kill (if still running) and reap; returns how it ended.
fn kill_and_reap(w: &mut Worker) -> String {
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
fn shut_down(w: &mut Worker, grace: Duration) {
    drop(w.stdin.take());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = w.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    kill_and_reap(w);
}

struct Pool<'a, 'j> {
    job: &'a Job<'j>,
    exe: PathBuf,
    tx: Sender<ChildMsg>,
    rx: Receiver<ChildMsg>,
    workers: Vec<Option<Worker>>,
    queue: VecDeque<usize>,
    results: Vec<TaskResult>,
    remaining: usize,
    respawns_left: usize,
}

impl Pool<'_, '_> {
    fn sink(&self) -> &Sink {
        self.job.sink
    }

    fn fail_task(&mut self, task: usize, worker: usize, reason: String) {
        if self.results[task].is_none() {
            self.remaining -= 1;
        }
        self.sink().emit(Event::TaskFinished {
            task,
            worker,
            result: Err(reason.clone()),
            wall_us: 0,
            cpu_us: 0,
        });
        self.results[task] = Some(Err(reason));
    }

    fn start(&mut self, slot: usize, generation: u64) {
        match spawn_worker(&self.exe, self.job.gil, slot, generation, &self.tx) {
            Ok(w) => self.workers[slot] = Some(w),
            Err(e) => {
                let reason = format!("could not start worker process {}: {e}", self.exe.display());
                while let Some(t) = self.queue.pop_front() {
                    self.fail_task(t, slot, reason.clone());
                }
            }
        }
    }

    /// A worker died or misbehaved: fail its task, reap it, start a replacement if needed.
    fn lost(&mut self, slot: usize, what: &str) {
        let Some(mut w) = self.workers[slot].take() else {
            return;
        };
        let status = kill_and_reap(&mut w);
        let reason = format!("worker {slot} (pid {}) {what} ({status})", w.pid);
        self.sink().emit(Event::WorkerDied {
            worker: slot,
            pid: w.pid,
            reason: reason.clone(),
        });
        if let Some(task) = w.busy {
            self.fail_task(task, slot, reason);
        }
        if !self.queue.is_empty() && self.respawns_left > 0 && !self.job.cancel.is_cancelled() {
            self.respawns_left -= 1;
            self.start(slot, w.generation + 1);
        }
    }

    fn dispatch(&mut self) {
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_mut() else {
                continue;
            };
            if w.busy.is_some() {
                continue;
            }
            let Some(task) = self.queue.pop_front() else {
                return;
            };
            let msg = TaskMessage {
                id: task,
                workload: self.job.workload.name().to_string(),
                task: self.job.tasks[task].clone(),
            };
            w.busy = Some(task);
            let sent = match (serde_json::to_string(&msg), w.stdin.as_mut()) {
                (Ok(line), Some(stdin)) => writeln!(stdin, "{line}").and_then(|_| stdin.flush()),
                _ => Err(std::io::Error::other("no stdin")),
            };
            if sent.is_err() {
                self.lost(slot, "stopped reading its tasks");
            }
        }
    }

    fn on_line(&mut self, slot: usize, line: &str) {
        let Ok(Stamped { at_us, event }) = serde_json::from_str::<Stamped>(line) else {
            let shown: String = line.chars().take(60).collect();
            self.lost(slot, &format!("wrote garbage on stdout: {shown:?}"));
            return;
        };
        let Some(w) = self.workers[slot].as_mut() else {
            return;
        };
        let now = self.job.sink.now_us() as i64;
        let at = |offset: i64, t: u64| (t as i64 + offset).max(0) as u64;
        match event {
            Event::WorkerStarted { pid, .. } => {
                w.offset_us = now - at_us as i64;
                self.job
                    .sink
                    .emit(Event::WorkerStarted { worker: slot, pid });
            }
            Event::TaskFinished {
                task,
                result,
                wall_us,
                cpu_us,
                ..
            } if task < self.results.len() && w.busy == Some(task) => {
                w.busy = None;
                let off = w.offset_us;
                self.job.sink.emit_at(
                    at(off, at_us),
                    Event::TaskFinished {
                        task,
                        worker: slot,
                        result: result.clone(),
                        wall_us,
                        cpu_us,
                    },
                );
                self.results[task] = Some(result);
                self.remaining -= 1;
            }
            Event::TaskStarted {
                task, pid, thread, ..
            } => {
                let off = w.offset_us;
                self.job.sink.emit_at(
                    at(off, at_us),
                    Event::TaskStarted {
                        task,
                        worker: slot,
                        pid,
                        thread,
                    },
                );
            }
            Event::Progress {
                task, done, total, ..
            } => {
                let off = w.offset_us;
                self.job.sink.emit_at(
                    at(off, at_us),
                    Event::Progress {
                        task,
                        worker: slot,
                        done,
                        total,
                    },
                );
            }
            Event::Span {
                kind,
                start_us,
                end_us,
                ..
            } => {
                let off = w.offset_us;
                self.job.sink.emit_at(
                    at(off, at_us),
                    Event::Span {
                        worker: slot,
                        kind,
                        start_us: at(off, start_us),
                        end_us: at(off, end_us),
                    },
                );
            }
            Event::Note { key, value } => self.job.sink.emit(Event::Note { key, value }),
            other => {
                let shown = format!("{other:?}");
                self.lost(slot, &format!("sent an unexpected event: {shown:.60}"));
            }
        }
    }

    fn run(&mut self) {
        let n = self.workers.len();
        for slot in 0..n {
            self.start(slot, 0);
        }
        while self.remaining > 0 {
            if self.job.cancel.is_cancelled() {
                break;
            }
            self.dispatch();
            if self.workers.iter().all(Option::is_none) {
                break;
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok((slot, generation, msg)) => {
                    let current = self.workers[slot]
                        .as_ref()
                        .is_some_and(|w| w.generation == generation);
                    if !current {
                        continue;
                    }
                    match msg {
                        FromChild::Line(line) => self.on_line(slot, &line),
                        FromChild::Eof => self.lost(slot, "died"),
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let cancelled = self.job.cancel.is_cancelled();
        for w in self.workers.iter_mut().flatten() {
            if cancelled {
                kill_and_reap(w);
            } else {
                shut_down(w, Duration::from_secs(2));
            }
        }
        self.workers.clear();
        // Anything not finished (cancel, or every worker gone) never ran.
        if !cancelled {
            let never: Vec<usize> = (0..self.results.len())
                .filter(|&t| self.results[t].is_none())
                .collect();
            for t in never {
                self.fail_task(t, 0, "no worker process left to run it".into());
            }
        }
    }
}

impl Executor for Processes {
    fn execute(&self, job: &Job) -> Vec<TaskResult> {
        let n = job.tasks.len();
        let exe = match job
            .worker_exe
            .map(Path::to_path_buf)
            .map(Ok)
            .unwrap_or_else(std::env::current_exe)
        {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("cannot find conlab's own executable to start workers: {e}");
                return (0..n).map(|_| Some(Err(msg.clone()))).collect();
            }
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let workers = job.workers.min(n);
        let mut pool = Pool {
            job,
            exe,
            tx,
            rx,
            workers: (0..workers).map(|_| None).collect(),
            queue: (0..n).collect(),
            results: vec![None; n],
            remaining: n,
            respawns_left: 2 * workers + n,
        };
        pool.run();
        pool.results
    }
}
