//! A small, instrumented process pool for the scenes that measure what processes cost:
//! start-up, serialisation, bytes through the pipes, and recycling after K tasks per child
//! (Python's `max_tasks_per_child`). It speaks the engine's worker protocol (`conlab
//! worker`, JSON lines) and forwards the workers' events; the engine's own pool
//! (`exec/processes.rs`) is left untouched.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use serde_json::{Value, json};

use super::ms;
use crate::exec::processes::worker_args;
use crate::exec::worker::TaskMessage;
use crate::exec::{Event, Job, Stamped, TaskResult};

/// Measured costs of one pool run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolStats {
    /// Processes started (the first ones and every replacement).
    pub spawns: usize,
    /// Replacements started because a child reached its task limit.
    pub recycled: usize,
    /// Per spawn: from `spawn()` to the child's first line (it is up and listening).
    pub startup: Vec<Duration>,
    /// From the first spawn until every first-generation worker was ready.
    pub startup_wall: Duration,
    /// Time retiring children (closing stdin, reaping) when recycling.
    pub retire: Duration,
    /// Parent-side serialisation of task messages (`serde_json::to_string`).
    pub serialise: Duration,
    /// Writing the messages into the children's stdin pipes.
    pub write: Duration,
    /// Bytes written to the children (task messages, newline included).
    pub bytes_sent: u64,
    /// Bytes read back from them (events and results).
    pub bytes_received: u64,
    /// Σ per task: from starting to serialise its message to reading its result.
    pub roundtrip: Duration,
    /// Σ per task: the task's own wall time, as the child measured it.
    pub compute: Duration,
    /// Tasks done.
    pub tasks: usize,
}

impl PoolStats {
    /// Everything a task cost besides computing: Σ(round trip − compute) − serialise.
    /// That is the pipe transfer both ways plus the child's parsing and reply.
    pub fn transfer(&self) -> Duration {
        self.roundtrip
            .saturating_sub(self.compute)
            .saturating_sub(self.serialise)
    }

    pub fn to_json(&self) -> Value {
        let startup_total: Duration = self.startup.iter().sum();
        json!({
            "spawns": self.spawns,
            "recycled": self.recycled,
            "startup_ms_total": ms(startup_total),
            "startup_ms_mean": if self.startup.is_empty() { 0.0 } else {
                ms(startup_total / self.startup.len() as u32)
            },
            "startup_wall_ms": ms(self.startup_wall),
            "retire_ms": ms(self.retire),
            "serialise_ms": ms(self.serialise),
            "write_ms": ms(self.write),
            "transfer_ms": ms(self.transfer()),
            "compute_ms": ms(self.compute),
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "tasks": self.tasks,
        })
    }
}

/// How to run the pool.
#[derive(Clone, Copy, Debug)]
pub struct PoolOpts {
    pub workers: usize,
    /// Retire a child after this many tasks and start a fresh one (None: never).
    pub max_tasks_per_child: Option<usize>,
}

enum FromChild {
    Line(String),
    Eof,
}

struct Child1 {
    child: Child,
    stdin: Option<ChildStdin>,
    generation: u64,
    spawned: Instant,
    ready: bool,
    busy: Option<(usize, Instant)>,
    done: usize,
    /// Parent clock minus child clock (µs), learned from the child's first line.
    offset_us: i64,
}

fn spawn(
    exe: &PathBuf,
    job: &Job,
    slot: usize,
    generation: u64,
    tx: &Sender<(usize, u64, FromChild)>,
) -> std::io::Result<Child1> {
    let spawned = Instant::now();
    let mut child = Command::new(exe)
        .args(worker_args(job.gil))
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
        .name(format!("conlab-scene-pool-reader-{slot}"))
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((slot, generation, FromChild::Line(line))).is_err() {
                    return;
                }
            }
            let _ = tx.send((slot, generation, FromChild::Eof));
        })?;
    Ok(Child1 {
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

/// Close stdin so the child exits, give it `grace`, then kill; always reap.
fn retire(c: &mut Child1, grace: Duration) {
    drop(c.stdin.take());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = c.child.kill();
    let _ = c.child.wait();
}

/// Run every task of `job` on a fresh pool of `conlab worker` processes, one task in
/// flight per child, forwarding their events. Returns one result per task and the costs.
pub fn run_pool(job: &Job, opts: PoolOpts) -> (Vec<TaskResult>, PoolStats) {
    let n = job.tasks.len();
    let mut stats = PoolStats::default();
    let exe = match job
        .worker_exe
        .map(|p| Ok(p.to_path_buf()))
        .unwrap_or_else(std::env::current_exe)
    {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("cannot find conlab's own executable to start workers: {e}");
            return ((0..n).map(|_| Some(Err(msg.clone()))).collect(), stats);
        }
    };
    let (tx, rx): (_, Receiver<(usize, u64, FromChild)>) = crossbeam_channel::unbounded();
    let mut results: Vec<TaskResult> = vec![None; n];
    let mut next = 0usize;
    let mut remaining = n;
    let mut respawns_left = 2 * opts.workers + n;
    let t0 = Instant::now();
    let mut first_gen_ready = 0usize;
    let width = opts.workers.clamp(1, n.max(1));
    let mut slots: Vec<Option<Child1>> = Vec::with_capacity(width);
    for slot in 0..width {
        match spawn(&exe, job, slot, 0, &tx) {
            Ok(c) => {
                stats.spawns += 1;
                slots.push(Some(c));
            }
            Err(e) => {
                let msg = format!("could not start worker process {}: {e}", exe.display());
                for r in results.iter_mut().filter(|r| r.is_none()) {
                    *r = Some(Err(msg.clone()));
                }
                for c in slots.iter_mut().flatten() {
                    retire(c, Duration::ZERO);
                }
                return (results, stats);
            }
        }
    }

    while remaining > 0 && !job.cancel.is_cancelled() {
        // Dispatch to every ready, idle child.
        for (slot, c) in slots.iter_mut().enumerate() {
            let Some(c) = c.as_mut() else {
                continue;
            };
            if !c.ready || c.busy.is_some() || next >= n {
                continue;
            }
            let task = next;
            next += 1;
            let start = Instant::now();
            let msg = TaskMessage {
                id: task,
                workload: job.workload.name().to_string(),
                task: job.tasks[task].clone(),
            };
            let line = serde_json::to_string(&msg);
            stats.serialise += start.elapsed();
            let w0 = Instant::now();
            let sent = match (line, c.stdin.as_mut()) {
                (Ok(line), Some(stdin)) => {
                    stats.bytes_sent += line.len() as u64 + 1;
                    stdin
                        .write_all(line.as_bytes())
                        .and_then(|_| stdin.write_all(b"\n"))
                        .and_then(|_| stdin.flush())
                }
                (Err(e), _) => Err(std::io::Error::other(e)),
                (_, None) => Err(std::io::Error::other("no stdin")),
            };
            stats.write += w0.elapsed();
            c.busy = Some((task, start));
            if let Err(e) = sent {
                results[task] = Some(Err(format!(
                    "could not send the task to worker {slot}: {e}"
                )));
                remaining -= 1;
                c.busy = None;
            }
        }
        let (slot, generation, msg) = match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let Some(c) = slots.get_mut(slot).and_then(Option::as_mut) else {
            continue;
        };
        if c.generation != generation {
            continue;
        }
        let parsed = match msg {
            FromChild::Line(l) => {
                stats.bytes_received += l.len() as u64 + 1;
                serde_json::from_str::<Stamped>(&l).map_err(|_| "wrote garbage on stdout")
            }
            FromChild::Eof => Err("died"),
        };
        let Stamped { at_us, event } = match parsed {
            Ok(s) => s,
            Err(why) => {
                // Died or misbehaved: fail its task, replace it while work remains.
                let died = slots[slot].take();
                if let Some(mut d) = died {
                    retire(&mut d, Duration::ZERO);
                    if let Some((task, _)) = d.busy {
                        results[task] = Some(Err(format!("worker {slot} {why}")));
                        remaining -= 1;
                    }
                    if next < n && respawns_left > 0 {
                        respawns_left -= 1;
                        if let Ok(c) = spawn(&exe, job, slot, d.generation + 1, &tx) {
                            stats.spawns += 1;
                            slots[slot] = Some(c);
                        }
                    }
                }
                if slots.iter().all(Option::is_none) {
                    break;
                }
                continue;
            }
        };
        let Some(c) = slots.get_mut(slot).and_then(Option::as_mut) else {
            continue;
        };
        // The child's timestamps, on the run's clock.
        let off = c.offset_us;
        let at = |t: u64| (t as i64 + off).max(0) as u64;
        match event {
            Event::WorkerStarted { pid, .. } => {
                c.offset_us = job.sink.now_us() as i64 - at_us as i64;
                c.ready = true;
                stats.startup.push(c.spawned.elapsed());
                if c.generation == 0 {
                    first_gen_ready += 1;
                    if first_gen_ready == slots.len() {
                        stats.startup_wall = t0.elapsed();
                    }
                }
                job.sink.emit(Event::WorkerStarted { worker: slot, pid });
            }
            Event::TaskStarted {
                task, pid, thread, ..
            } => job.sink.emit_at(
                at(at_us),
                Event::TaskStarted {
                    task,
                    worker: slot,
                    pid,
                    thread,
                },
            ),
            Event::Progress {
                task, done, total, ..
            } => job.sink.emit_at(
                at(at_us),
                Event::Progress {
                    task,
                    worker: slot,
                    done,
                    total,
                },
            ),
            Event::Span {
                kind,
                start_us,
                end_us,
                ..
            } => job.sink.emit_at(
                at(at_us),
                Event::Span {
                    worker: slot,
                    kind,
                    start_us: at(start_us),
                    end_us: at(end_us),
                },
            ),
            Event::Note { key, value } => job.sink.emit(Event::Note { key, value }),
            Event::TaskFinished {
                task,
                result,
                wall_us,
                cpu_us,
                ..
            } if task < n && c.busy.map(|b| b.0) == Some(task) => {
                let (_, started) = c.busy.take().unwrap_or((task, Instant::now()));
                stats.roundtrip += started.elapsed();
                stats.compute += Duration::from_micros(wall_us);
                stats.tasks += 1;
                c.done += 1;
                job.sink.emit(Event::TaskFinished {
                    task,
                    worker: slot,
                    result: result.clone(),
                    wall_us,
                    cpu_us,
                });
                results[task] = Some(result);
                remaining -= 1;
                // Recycling: retire a child that reached its limit, start a fresh one.
                if opts.max_tasks_per_child.is_some_and(|k| c.done >= k) && next < n {
                    let r0 = Instant::now();
                    let generation = c.generation + 1;
                    retire(c, Duration::from_secs(2));
                    stats.retire += r0.elapsed();
                    job.sink.emit(Event::Note {
                        key: "recycled".into(),
                        value: format!("worker {slot} retired after {} tasks", c.done),
                    });
                    slots[slot] = None;
                    match spawn(&exe, job, slot, generation, &tx) {
                        Ok(fresh) => {
                            stats.spawns += 1;
                            stats.recycled += 1;
                            slots[slot] = Some(fresh);
                        }
                        Err(_) if slots.iter().all(Option::is_none) => break,
                        Err(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    let cancelled = job.cancel.is_cancelled();
    for c in slots.iter_mut().flatten() {
        retire(
            c,
            if cancelled {
                Duration::ZERO
            } else {
                Duration::from_secs(2)
            },
        );
    }
    if !cancelled {
        for r in results.iter_mut().filter(|r| r.is_none()) {
            *r = Some(Err("no worker process left to run it".into()));
        }
    }
    (results, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_is_roundtrip_minus_compute_and_serialisation() {
        let s = PoolStats {
            roundtrip: Duration::from_millis(10),
            compute: Duration::from_millis(6),
            serialise: Duration::from_millis(1),
            ..Default::default()
        };
        assert_eq!(s.transfer(), Duration::from_millis(3));
        let j = s.to_json();
        assert_eq!(j["transfer_ms"], 3.0);
        assert_eq!(j["startup_ms_mean"], 0.0);
    }
}
