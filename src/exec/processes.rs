//! The process pool: worker processes, each this binary re-run as `conlab worker`, fed one
//! task at a time as JSON lines. Start-up and serialisation are part
//! of the measured time, as with Python's process pools, and measured ([`PoolStats`]).
//! Optional recycling after K tasks per child (Python's `max_tasks_per_child`). A worker
//! that dies, writes garbage, sends an unexpected event, cannot be written to, or never
//! says hello is reported (`WorkerDied`), fails its task (`TaskFinished`) and is replaced;
//! cancel kills and reaps them all.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

pub use super::child::worker_args;
use super::child::{ChildMsg, FromChild, Worker, kill_and_reap, retire, spawn_worker};
use super::worker::TaskMessage;
use super::{Event, Job, PoolStats, Stamped, TaskResult, thread_label};

/// A process pool for one job: how wide, how long children live, how long to wait for
/// them. Built by [`super::Engine::processes`]; `run` it once.
#[derive(Clone)]
pub struct ProcessPool<'a, 'j> {
    job: &'a Job<'j>,
    workers: usize,
    max_tasks_per_child: Option<usize>,
    hello_timeout: Duration,
    /// Tasks arrive here (the async model's `run_in_executor`) instead of all at once.
    feed: Option<Receiver<usize>>,
}

impl<'a, 'j> ProcessPool<'a, 'j> {
    /// The job's own width, children live for the whole run, 10 s to say hello.
    pub fn new(job: &'a Job<'j>) -> Self {
        ProcessPool {
            job,
            workers: job.workers,
            max_tasks_per_child: None,
            hello_timeout: Duration::from_secs(10),
            feed: None,
        }
    }

    /// Run only the tasks whose indices arrive on `feed`, in that order, until it closes
    /// and they are done (tasks never fed stay `None`).
    pub fn fed(mut self, feed: Receiver<usize>) -> Self {
        self.feed = Some(feed);
        self
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
                let mut pool = Pool::new(self, PathBuf::new());
                for t in 0..n {
                    pool.fail_task(t, 0, msg.clone());
                }
                return (pool.results, pool.stats);
            }
        };
        let mut pool = Pool::new(self, exe);
        pool.run();
        if let Some(feed) = pool.feed.take()
            && !job.cancel.is_cancelled()
        {
            // No worker left: fail what is queued and whatever is still fed, so every
            // task the loop hands over finishes once.
            let reason = "no worker process left to run it".to_string();
            while let Some(t) = pool.queue.pop_front() {
                pool.fail_task(t, 0, reason.clone());
            }
            for t in feed.iter().filter(|&t| t < n) {
                pool.fail_task(t, 0, reason.clone());
            }
        }
        (pool.results, pool.stats)
    }
}

struct Pool<'a, 'j> {
    opts: ProcessPool<'a, 'j>,
    feed: Option<Receiver<usize>>,
    job: &'a Job<'j>,
    exe: PathBuf,
    tx: Sender<ChildMsg>,
    rx: Receiver<ChildMsg>,
    workers: Vec<Option<Worker>>,
    queue: VecDeque<usize>,
    results: Vec<TaskResult>,
    /// Whether the task's `TaskStarted` went out (so a failure can start it first).
    started: Vec<bool>,
    remaining: usize,
    respawns_left: usize,
    stats: PoolStats,
    t0: Instant,
    first_generation_ready: usize,
}

impl<'a, 'j> Pool<'a, 'j> {
    fn new(opts: ProcessPool<'a, 'j>, exe: PathBuf) -> Self {
        let n = opts.job.tasks.len();
        let width = opts.workers.clamp(1, n.max(1));
        let (tx, rx) = crossbeam_channel::unbounded();
        let feed = opts.feed.clone();
        let queue = if feed.is_some() {
            VecDeque::new()
        } else {
            (0..n).collect()
        };
        Pool {
            job: opts.job,
            opts,
            feed,
            exe,
            tx,
            rx,
            workers: (0..width).map(|_| None).collect(),
            queue,
            results: vec![None; n],
            started: vec![false; n],
            remaining: n,
            respawns_left: 2 * width + n,
            stats: PoolStats::default(),
            t0: Instant::now(),
            first_generation_ready: 0,
        }
    }

    /// Finish `task` as failed — starting it first if it never started — so every task
    /// starts once and finishes once whatever happened to its worker.
    fn fail_task(&mut self, task: usize, worker: usize, reason: String) {
        if self.results[task].is_some() {
            return;
        }
        if !self.started[task] {
            self.started[task] = true;
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
        self.results[task] = Some(Err(reason));
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
                while let Some(t) = self.queue.pop_front() {
                    self.fail_task(t, slot, reason.clone());
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
            self.fail_task(task, slot, reason);
        }
        let more = !self.queue.is_empty() || self.feed.is_some();
        if more && self.respawns_left > 0 && !self.job.cancel.is_cancelled() {
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
            let Some(task) = self.queue.pop_front() else {
                return;
            };
            let start = Instant::now();
            let msg = TaskMessage {
                id: task,
                workload: self.job.workload.name().to_string(),
                task: self.job.tasks[task].clone(),
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
            if let Err(e) = sent {
                self.lost(slot, &format!("stopped reading its tasks: {e}"));
            }
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
            } if w.busy.map(|b| b.0) == Some(task) && !self.started[task] => {
                self.started[task] = true;
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
            } if w.busy.map(|b| b.0) == Some(task) && self.started[task] => {
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
                self.results[task] = Some(result);
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
        if limit.is_none_or(|k| w.done < k) || self.queue.is_empty() {
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
        let mut feed_open = self.feed.is_some();
        while self.remaining > 0 && !self.job.cancel.is_cancelled() {
            if let Some(feed) = &self.feed {
                loop {
                    match feed.try_recv() {
                        Ok(t) if t < self.results.len() => self.queue.push_back(t),
                        Ok(_) => {}
                        Err(crossbeam_channel::TryRecvError::Empty) => break,
                        Err(crossbeam_channel::TryRecvError::Disconnected) => {
                            feed_open = false;
                            break;
                        }
                    }
                }
                let idle = self.workers.iter().flatten().all(|w| w.busy.is_none());
                if !feed_open && self.queue.is_empty() && idle {
                    break;
                }
            }
            self.dispatch();
            if self.workers.iter().all(Option::is_none) {
                break;
            }
            let got = match &self.feed {
                Some(feed) if feed_open => crossbeam_channel::select! {
                    recv(self.rx) -> m => m.map_err(|_| RecvTimeoutError::Disconnected),
                    recv(feed) -> t => {
                        match t {
                            Ok(t) if t < self.results.len() => self.queue.push_back(t),
                            Ok(_) => {}
                            Err(_) => feed_open = false,
                        }
                        Err(RecvTimeoutError::Timeout)
                    },
                    default(Duration::from_millis(20)) => Err(RecvTimeoutError::Timeout),
                },
                _ => self.rx.recv_timeout(Duration::from_millis(20)),
            };
            match got {
                Ok((slot, generation, msg)) => {
                    let current = self.workers[slot]
                        .as_ref()
                        .is_some_and(|w| w.generation == generation);
                    if current {
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
        }
        let cancelled = self.job.cancel.is_cancelled();
        for w in self.workers.iter_mut().flatten() {
            if cancelled {
                kill_and_reap(w);
            } else {
                retire(w, Duration::from_secs(2));
            }
        }
        self.workers.clear();
        // Anything not finished (every worker gone) never ran; on cancel it stays `None`.
        if !cancelled && self.feed.is_none() {
            for t in 0..self.results.len() {
                self.fail_task(t, 0, "no worker process left to run it".into());
            }
        }
    }
}
