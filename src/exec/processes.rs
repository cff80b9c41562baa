//! The process pool: worker processes, each this binary re-run as `conlab worker`, fed one
//! task at a time as JSON lines. Start-up and serialisation are part
//! of the measured time, as with Python's process pools, and measured ([`PoolStats`]).
//! Optional recycling after K tasks per child (Python's `max_tasks_per_child`). A worker
//! that dies, writes garbage, sends an unexpected event, cannot be written to, or never
//! says hello is reported (`WorkerDied`), fails its task (`TaskFinished`) and is replaced;
//! cancel kills and reaps them all.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

pub use super::child::worker_args;
use super::child::{ChildMsg, FromChild, Worker, is_stopped, kill_and_reap, retire, spawn_worker};
use super::worker::TaskMessage;
use super::{Event, Job, PoolStats, Stamped, TaskResult, thread_label};

/// `Note` key: a worker is stopped and not responding (the value says which and how long).
pub const NOT_RESPONDING: &str = "not_responding";
/// `Note` key: a worker reported as not responding was continued.
pub const RESPONDING: &str = "responding";
/// A busy worker silent this long is checked for being stopped.
const STALL_CHECK: Duration = Duration::from_secs(1);
/// How often "not responding" is said again while it lasts.
const STALL_REPEAT: Duration = Duration::from_secs(2);

/// A process pool for one job: how wide, how long children live, how long to wait for
/// them. Built by [`super::Engine::processes`]; `run` it once.
#[derive(Clone, Copy)]
pub struct ProcessPool<'a, 'j> {
    job: &'a Job<'j>,
    workers: usize,
    max_tasks_per_child: Option<usize>,
    hello_timeout: Duration,
}

impl<'a, 'j> ProcessPool<'a, 'j> {
    /// The job's own width, children live for the whole run, 10 s to say hello.
    pub fn new(job: &'a Job<'j>) -> Self {
        ProcessPool {
            job,
            workers: job.workers,
            max_tasks_per_child: None,
            hello_timeout: Duration::from_secs(10),
        }
    }

    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Retire a child after this many tasks and start a fresh one (`None`: never).
    pub fn max_tasks_per_child(mut self, k: Option<usize>) -> Self {
        self.max_tasks_per_child = k;
        self
    }

    /// A child that has not said hello this long after its spawn is given up.
    pub fn hello_timeout(mut self, d: Duration) -> Self {
        self.hello_timeout = d;
        self
    }

    /// Run every task of the job; one result per task, in task order, and the costs.
    pub fn run(self) -> (Vec<TaskResult>, PoolStats) {
        let results = std::sync::Mutex::new(vec![None; self.job.tasks.len()]);
        let stats = self.run_into(&|i, r| {
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = r;
        });
        (
            results.into_inner().unwrap_or_else(|e| e.into_inner()),
            stats,
        )
    }

    /// [`ProcessPool::run`], handing each result to `out` as it arrives (nothing per task
    /// is kept but two flags), and the costs. Tasks that never ran (cancelled) get `None`.
    pub fn run_into(self, out: &(dyn Fn(usize, TaskResult) + Sync)) -> PoolStats {
        let job = self.job;
        let n = job.tasks.len();
        let exe = match job
            .worker_exe
            .map(|p| Ok(p.to_path_buf()))
            .unwrap_or_else(std::env::current_exe)
        {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("cannot find conlab's own executable to start workers: {e}");
                let mut pool = Pool::new(self, PathBuf::new(), out);
                for t in 0..n {
                    pool.fail_task(t, 0, false, msg.clone());
                }
                return pool.stats;
            }
        };
        let mut pool = Pool::new(self, exe, out);
        pool.run();
        pool.stats
    }
}

struct Pool<'a, 'j> {
    opts: ProcessPool<'a, 'j>,
    job: &'a Job<'j>,
    exe: PathBuf,
    tx: Sender<ChildMsg>,
    rx: Receiver<ChildMsg>,
    workers: Vec<Option<Worker>>,
    /// Tasks `next..` have not been sent yet. Tasks go out in order and are never
    /// re-queued (a lost worker's task fails), so nothing per task is kept: a task below
    /// `next` is either some worker's `busy` or finished. Memory stays flat in the count.
    next: usize,
    /// Where each result goes as it arrives.
    out: &'a (dyn Fn(usize, TaskResult) + Sync),
    remaining: usize,
    respawns_left: usize,
    stats: PoolStats,
    t0: Instant,
    first_generation_ready: usize,
}

impl<'a, 'j> Pool<'a, 'j> {
    fn new(
        opts: ProcessPool<'a, 'j>,
        exe: PathBuf,
        out: &'a (dyn Fn(usize, TaskResult) + Sync),
    ) -> Self {
        let n = opts.job.tasks.len();
        let width = opts.workers.clamp(1, n.max(1));
        // Bounded: a worker flooding its stdout waits for the pool, not in memory.
        let (tx, rx) = crossbeam_channel::bounded(1024);
        Pool {
            opts,
            job: opts.job,
            exe,
            tx,
            rx,
            workers: (0..width).map(|_| None).collect(),
            next: 0,
            out,
            remaining: n,
            respawns_left: 2 * width + n,
            stats: PoolStats::default(),
            t0: Instant::now(),
            first_generation_ready: 0,
        }
    }

    /// The next task not yet sent, taken off the queue.
    fn pop_task(&mut self) -> Option<usize> {
        (self.next < self.job.tasks.len()).then(|| {
            self.next += 1;
            self.next - 1
        })
    }

    fn queue_is_empty(&self) -> bool {
        self.next >= self.job.tasks.len()
    }

    /// Finish `task` (not finished before) as failed — starting it first if its
    /// `TaskStarted` never went out — so every task starts once and finishes once
    /// whatever happened to its worker.
    fn fail_task(&mut self, task: usize, worker: usize, started: bool, reason: String) {
        if !started {
            self.job.sink.emit(Event::TaskStarted {
                task,
                worker,
                pid: 0,
                thread: thread_label(),
            });
        }
        self.remaining -= 1;
        self.job.sink.emit(Event::TaskFinished {
            task,
            worker,
            result: Err(reason.clone()),
            wall_us: 0,
            cpu_us: 0,
        });
        (self.out)(task, Some(Err(reason)));
    }

    fn start(&mut self, slot: usize, generation: u64) -> bool {
        match spawn_worker(&self.exe, self.job.gil, slot, generation, &self.tx) {
            Ok(w) => {
                self.stats.spawns += 1;
                self.workers[slot] = Some(w);
                true
            }
            Err(e) => {
                let reason = format!("could not start worker process {}: {e}", self.exe.display());
                while let Some(t) = self.pop_task() {
                    self.fail_task(t, slot, false, reason.clone());
                }
                false
            }
        }
    }

    /// A worker died or misbehaved: report it, fail its task, reap it, start a
    /// replacement while work remains.
    fn lost(&mut self, slot: usize, what: &str) {
        let Some(mut w) = self.workers[slot].take() else {
            return;
        };
        let status = kill_and_reap(&mut w);
        let reason = format!("worker {slot} (pid {}) {what} ({status})", w.pid);
        self.job.sink.emit(Event::WorkerDied {
            worker: slot,
            pid: w.pid,
            reason: reason.clone(),
        });
        if let Some((task, _)) = w.busy {
            self.fail_task(task, slot, w.task_started, reason);
        }
        if !self.queue_is_empty() && self.respawns_left > 0 && !self.job.cancel.is_cancelled() {
            self.respawns_left -= 1;
            self.start(slot, w.generation + 1);
        }
    }

    /// Send the next queued task to every ready, idle worker.
    fn dispatch(&mut self) {
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_mut() else {
                continue;
            };
            // Sent before its hello, a task waits in the pipe while the child starts.
            if w.busy.is_some() {
                continue;
            }
            if self.next >= self.job.tasks.len() {
                return;
            }
            let task = self.next;
            self.next += 1;
            let start = Instant::now();
            let msg = TaskMessage {
                id: task,
                workload: self.job.workload.name().to_string(),
                task: self.job.tasks.get(task).into_owned(),
            };
            let line = serde_json::to_string(&msg);
            self.stats.serialise += start.elapsed();
            let w0 = Instant::now();
            let sent = match (line, w.stdin.as_mut()) {
                (Ok(mut line), Some(stdin)) => {
                    line.push('\n');
                    self.stats.bytes_sent += line.len() as u64;
                    stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush())
                }
                (Err(e), _) => Err(std::io::Error::other(e)),
                (_, None) => Err(std::io::Error::other("no stdin")),
            };
            self.stats.write += w0.elapsed();
            w.busy = Some((task, start));
            w.task_started = false;
            if let Err(e) = sent {
                self.lost(slot, &format!("stopped reading its tasks: {e}"));
            }
        }
    }

    /// Say so when a busy worker is stopped (SIGSTOP, Ctrl-Z): it will not answer until it
    /// is continued, and the run waits for it. A `Note` with key [`NOT_RESPONDING`] for the
    /// dashboard and stderr, repeated every few seconds with the time so far; `responding`
    /// when it is continued. Cancel still ends the run: SIGKILL ends a stopped process.
    fn check_stopped(&mut self) {
        let now = Instant::now();
        for slot in 0..self.workers.len() {
            let Some(w) = self.workers[slot].as_mut() else {
                continue;
            };
            if w.busy.is_none() || now.duration_since(w.last_heard) < STALL_CHECK {
                if w.stalled_since.take().is_some() {
                    w.stall_said = None;
                    self.job.sink.emit(Event::Note {
                        key: RESPONDING.into(),
                        value: format!("worker {slot} (pid {}) is responding again", w.pid),
                    });
                }
                continue;
            }
            let due = w
                .stall_said
                .is_none_or(|t| now.duration_since(t) >= STALL_REPEAT);
            if !due {
                continue;
            }
            if !is_stopped(w.pid) {
                w.stall_said = Some(now);
                continue;
            }
            let since = *w.stalled_since.get_or_insert(w.last_heard);
            w.stall_said = Some(now);
            self.job.sink.emit(Event::Note {
                key: NOT_RESPONDING.into(),
                value: format!(
                    "worker {slot} (pid {}) not responding for {:.0} s: the process is stopped (SIGSTOP?); send SIGCONT, or cancel",
                    w.pid,
                    now.duration_since(since).as_secs_f64()
                ),
            });
        }
    }

    /// Give up on workers that have not said hello in time.
    fn check_hello(&mut self) {
        let timeout = self.opts.hello_timeout;
        for slot in 0..self.workers.len() {
            let late = self.workers[slot]
                .as_ref()
                .is_some_and(|w| !w.ready && w.spawned.elapsed() > timeout);
            if late {
                self.lost(
                    slot,
                    &format!("did not say hello within {:.1} s", timeout.as_secs_f64()),
                );
            }
        }
    }

    fn on_line(&mut self, slot: usize, line: &str) {
        self.stats.bytes_received += line.len() as u64 + 1;
        let Ok(Stamped { at_us, event }) = serde_json::from_str::<Stamped>(line) else {
            let shown: String = line.chars().take(60).collect();
            self.lost(slot, &format!("wrote garbage on stdout: {shown:?}"));
            return;
        };
        let now = self.job.sink.now_us() as i64;
        let Some(w) = self.workers[slot].as_mut() else {
            return;
        };
        let off = w.offset_us;
        // The child's timestamps, on the run's clock.
        let at = |t: u64| (t as i64 + off).max(0) as u64;
        let sink = self.job.sink;
        match event {
            Event::WorkerStarted { pid, .. } if !w.ready => {
                w.offset_us = now - at_us as i64;
                w.ready = true;
                // A task sent before the hello waited for start-up, not for the pipe.
                if let Some((task, _)) = w.busy {
                    w.busy = Some((task, Instant::now()));
                }
                self.stats.startup.push(w.spawned.elapsed());
                if w.generation == 0 {
                    self.first_generation_ready += 1;
                    if self.first_generation_ready == self.workers.len() {
                        self.stats.startup_wall = self.t0.elapsed();
                    }
                }
                sink.emit(Event::WorkerStarted { worker: slot, pid });
            }
            Event::TaskStarted {
                task, pid, thread, ..
            } if w.busy.map(|b| b.0) == Some(task) && !w.task_started => {
                w.task_started = true;
                sink.emit_at(
                    at(at_us),
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
            } if w.busy.map(|b| b.0) == Some(task) => sink.emit_at(
                at(at_us),
                Event::Progress {
                    task,
                    worker: slot,
                    done,
                    total,
                },
            ),
            Event::SpanStarted { kind, start_us, .. } => sink.emit_at(
                at(at_us),
                Event::SpanStarted {
                    worker: slot,
                    kind,
                    start_us: at(start_us),
                },
            ),
            Event::Span {
                kind,
                start_us,
                end_us,
                ..
            } => sink.emit_at(
                at(at_us),
                Event::Span {
                    worker: slot,
                    kind,
                    start_us: at(start_us),
                    end_us: at(end_us),
                },
            ),
            Event::Note { key, value } => sink.emit(Event::Note { key, value }),
            Event::TaskFinished {
                task,
                result,
                wall_us,
                cpu_us,
                ..
            } if w.busy.map(|b| b.0) == Some(task) && w.task_started => {
                let started = w.busy.take().map_or_else(Instant::now, |b| b.1);
                w.done += 1;
                self.stats.roundtrip += started.elapsed();
                self.stats.compute += Duration::from_micros(wall_us);
                self.stats.tasks += 1;
                sink.emit_at(
                    at(at_us),
                    Event::TaskFinished {
                        task,
                        worker: slot,
                        result: result.clone(),
                        wall_us,
                        cpu_us,
                    },
                );
                (self.out)(task, Some(result));
                self.remaining -= 1;
                self.maybe_recycle(slot);
            }
            other => {
                let shown = format!("{other:?}");
                self.lost(slot, &format!("sent an unexpected event: {shown:.60}"));
            }
        }
    }

    /// Retire a child that reached its task limit and start a fresh one.
    fn maybe_recycle(&mut self, slot: usize) {
        let limit = self.opts.max_tasks_per_child;
        let Some(w) = self.workers[slot].as_mut() else {
            return;
        };
        if limit.is_none_or(|k| w.done < k) || self.next >= self.job.tasks.len() {
            return;
        }
        let r0 = Instant::now();
        retire(w, Duration::from_secs(2));
        self.stats.retire += r0.elapsed();
        let (generation, done) = (w.generation + 1, w.done);
        self.workers[slot] = None;
        self.job.sink.emit(Event::Note {
            key: "recycled".into(),
            value: format!("worker {slot} retired after {done} tasks"),
        });
        if self.start(slot, generation) {
            self.stats.recycled += 1;
        }
    }

    fn run(&mut self) {
        for slot in 0..self.workers.len() {
            self.start(slot, 0);
        }
        while self.remaining > 0 && !self.job.cancel.is_cancelled() {
            self.dispatch();
            if self.workers.iter().all(Option::is_none) {
                break;
            }
            match self.rx.recv_timeout(Duration::from_millis(20)) {
                Ok((slot, generation, msg)) => {
                    let current = self.workers[slot]
                        .as_ref()
                        .is_some_and(|w| w.generation == generation);
                    if current {
                        if let Some(w) = self.workers[slot].as_mut() {
                            w.last_heard = Instant::now();
                        }
                        match msg {
                            FromChild::Line(line) => self.on_line(slot, &line),
                            FromChild::Eof => self.lost(slot, "died"),
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.check_hello();
            self.check_stopped();
        }
        let cancelled = self.job.cancel.is_cancelled();
        let mut in_flight = Vec::new();
        for w in self.workers.iter_mut().flatten() {
            if cancelled {
                kill_and_reap(w);
            } else {
                retire(w, Duration::from_secs(2));
            }
            // Only a cancel leaves a busy worker here (otherwise the loop ended with
            // every task finished or every worker lost, its task failed).
            in_flight.extend(w.busy.take().map(|(t, _)| (t, w.task_started)));
        }
        self.workers.clear();
        // Anything not finished (every worker gone) never ran; on cancel it stays `None`.
        if cancelled {
            for (t, _) in in_flight {
                (self.out)(t, None);
            }
            while let Some(t) = self.pop_task() {
                (self.out)(t, None);
            }
        } else {
            for (t, started) in in_flight {
                self.fail_task(t, 0, started, "its worker process was retired".into());
            }
            while let Some(t) = self.pop_task() {
                self.fail_task(t, 0, false, "no worker process left to run it".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, GilConfig, Sink, Tasks};

    impl Pool<'_, '_> {
        /// Heap bytes the pool's bookkeeping holds: its one table, a slot per worker
        /// (the task queue is the `next` cursor).
        fn bookkeeping_bytes(&self) -> usize {
            self.workers.capacity() * std::mem::size_of::<Option<Worker>>()
        }
    }

    #[test]
    fn bookkeeping_does_not_grow_with_the_task_count() {
        // Ten million made tasks: before, the pool queued every index and kept two flags
        // per task (about 100 MB); now it keeps a cursor and one entry per worker slot.
        let w = crate::workload::find("tiny").expect("tiny");
        let tasks = Tasks::made(10_000_000, |i| serde_json::json!({ "x": i }));
        let (sink, cancel) = (Sink::null(), CancelToken::new());
        let job = Job {
            workload: w,
            tasks: &tasks,
            workers: 2,
            gil: GilConfig::default(),
            sink: &sink,
            cancel: &cancel,
            worker_exe: None,
        };
        let out = |_: usize, _: TaskResult| {};
        let pool = Pool::new(ProcessPool::new(&job), PathBuf::new(), &out);
        assert!(
            pool.bookkeeping_bytes() < 4096,
            "{} bytes of bookkeeping for 10,000,000 tasks",
            pool.bookkeeping_bytes()
        );
    }
}
