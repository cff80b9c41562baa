//! The thread pool: named threads built for the run, pulling task indices from one shared
//! counter (like Python's `ThreadPoolExecutor` and its work queue), all sharing one
//! simulated GIL. Also the "gang": one thread per task, all at once (Python's
//! `threading.Thread` per role), for scenes whose tasks must run side by side.
//!
//! Not rayon for this pool: its idle workers look for work by stealing from every other worker, which
//! costs O(threads²) and, at 1000 threads on 2 cores, seconds of CPU — the I/O lessons
//! need 1000 threads that only wait. Rayon runs `--split steal`
//! ([`ThreadPool::run_stealing_into`]), where work stealing is itself the lesson.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Event, Gil, Job, TaskCtx, TaskResult, run_with, to_result};
use crate::core::{TaskError, TaskOutput};

/// A thread pool for one job. Built by [`super::Engine::threads`].
#[derive(Clone)]
pub struct ThreadPool<'a, 'j> {
    job: &'a Job<'j>,
    workers: usize,
    /// Threads are named `{prefix}-{i}`.
    prefix: String,
}

/// What a thread pool measured about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThreadStats {
    /// From the first spawn until every thread was running.
    pub startup: Duration,
}

impl<'a, 'j> ThreadPool<'a, 'j> {
    /// The job's own width, threads named `conlab-thread-{i}`.
    pub fn new(job: &'a Job<'j>) -> Self {
        ThreadPool {
            job,
            workers: job.workers,
            prefix: "conlab-thread".into(),
        }
    }

    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// Name the threads `{prefix}-{i}`.
    pub fn named(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// Name the threads `conlab-scene-{scene}-{i}` (what the timeline shows).
    pub fn scene(mut self, scene: &str) -> Self {
        self.prefix = format!("conlab-scene-{scene}");
        self
    }

    /// Run the job's tasks through `workload.run_task`.
    pub fn run(self, gil: &Gil) -> (Vec<TaskResult>, ThreadStats) {
        let job = self.job;
        self.run_each(gil, |i, ctx| job.workload.run_task(&job.tasks.get(i), ctx))
    }

    /// [`ThreadPool::run`], handing each result to `out` as it finishes.
    pub fn run_into(self, gil: &Gil, out: &(dyn Fn(usize, TaskResult) + Sync)) -> ThreadStats {
        let job = self.job;
        self.run_each_into(
            gil,
            |i, ctx| job.workload.run_task(&job.tasks.get(i), ctx),
            out,
        )
    }

    /// Run the job's tasks on a work-stealing pool (rayon) of `workers` threads named
    /// `conlab-steal-{i}`, handing each result to `out`: the task indices are split in
    /// halves down to single tasks, each thread starts on its own contiguous block (the
    /// articles' equal ranges) and an idle thread steals half of another's remaining
    /// block. `--split steal`.
    pub fn run_stealing_into(self, gil: &Gil, out: &(dyn Fn(usize, TaskResult) + Sync)) {
        use rayon::prelude::*;
        let job = self.job;
        let n = job.tasks.len();
        let pid = std::process::id();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.workers.max(1))
            .thread_name(|i| format!("conlab-steal-{i}"))
            .build();
        let pool = match pool {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("could not start {} threads: {e}", self.workers);
                for t in 0..n {
                    out(t, fail_one(job, t, 0, msg.clone()));
                }
                return;
            }
        };
        for worker in 0..pool.current_num_threads() {
            job.sink.emit(Event::WorkerStarted { worker, pid });
        }
        pool.install(|| {
            (0..n).into_par_iter().with_max_len(1).for_each(|i| {
                let worker = rayon::current_thread_index().unwrap_or(0);
                let r = if job.cancel.is_cancelled() {
                    None
                } else {
                    to_result(run_with(job, gil, i, worker, pid, |ctx| {
                        job.workload.run_task(&job.tasks.get(i), ctx)
                    }))
                };
                out(i, r);
            });
        });
    }

    /// Run `f(i, ctx)` for every task index `i` of the job, `workers` at a time; results in
    /// task order. Every task starts once and finishes once (unless cancelled first).
    pub fn run_each<F>(self, gil: &Gil, f: F) -> (Vec<TaskResult>, ThreadStats)
    where
        F: Fn(usize, &mut TaskCtx) -> Result<TaskOutput, TaskError> + Sync,
    {
        let results = Mutex::new(vec![None; self.job.tasks.len()]);
        let stats = self.run_each_into(gil, f, &|i, r| {
            results.lock().unwrap_or_else(|e| e.into_inner())[i] = r;
        });
        (
            results.into_inner().unwrap_or_else(|e| e.into_inner()),
            stats,
        )
    }

    /// [`ThreadPool::run_each`], handing each result to `out` (from the worker that ran
    /// it) as soon as it finishes: nothing per task is kept.
    pub fn run_each_into<F>(
        self,
        gil: &Gil,
        f: F,
        out: &(dyn Fn(usize, TaskResult) + Sync),
    ) -> ThreadStats
    where
        F: Fn(usize, &mut TaskCtx) -> Result<TaskOutput, TaskError> + Sync,
    {
        let job = self.job;
        let n = job.tasks.len();
        let pid = std::process::id();
        let next = AtomicUsize::new(0);
        let ready_us = AtomicU64::new(0);
        let t0 = Instant::now();
        let work = |worker: usize| {
            ready_us.fetch_max(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = if job.cancel.is_cancelled() {
                    None
                } else {
                    to_result(run_with(job, gil, i, worker, pid, |ctx| f(i, ctx)))
                };
                out(i, r);
            }
        };
        let mut spawn_error = None;
        std::thread::scope(|s| {
            let mut handles = Vec::with_capacity(self.workers);
            for worker in 0..self.workers.max(1) {
                let work = &work;
                match std::thread::Builder::new()
                    .name(format!("{}-{worker}", self.prefix))
                    .spawn_scoped(s, move || work(worker))
                {
                    Ok(h) => {
                        job.sink.emit(Event::WorkerStarted { worker, pid });
                        handles.push(h);
                    }
                    Err(e) => {
                        // Run with the threads we have; fail only if there are none.
                        spawn_error =
                            Some(format!("could not start {} threads: {e}", self.workers));
                        break;
                    }
                }
            }
            for h in handles {
                // run_with catches task panics, so a worker thread does not panic.
                let _ = h.join();
            }
        });
        let stats = ThreadStats {
            startup: Duration::from_micros(ready_us.load(Ordering::Relaxed)),
        };
        if let Some(msg) = spawn_error
            && next.load(Ordering::Relaxed) == 0
        {
            for t in 0..n {
                out(t, fail_one(job, t, 0, msg.clone()));
            }
        }
        stats
    }

    /// One thread per task `first..first + count`, all running at once: thread `i` is
    /// task `first + i` and worker `i`. For scenes whose tasks wait on each other.
    pub fn gang<F>(self, gil: &Gil, first: usize, count: usize, f: F) -> Vec<TaskResult>
    where
        F: Fn(usize, &mut TaskCtx) -> Result<TaskOutput, TaskError> + Sync,
    {
        let job = self.job;
        let pid = std::process::id();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..count)
                .map(|i| {
                    let f = &f;
                    std::thread::Builder::new()
                        .name(format!("{}-{i}", self.prefix))
                        .spawn_scoped(scope, move || {
                            to_result(run_with(job, gil, first + i, i, pid, |ctx| f(i, ctx)))
                        })
                })
                .collect();
            handles
                .into_iter()
                .enumerate()
                .map(|(i, h)| match h {
                    // run_with catches task panics, so the thread does not panic.
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Some(Err("thread panicked".into()))),
                    Err(e) => fail_one(job, first + i, i, format!("could not start a thread: {e}")),
                })
                .collect()
        })
    }
}

/// Start and fail one task that could not run (so it still starts once and finishes once).
fn fail_one(job: &Job, task: usize, worker: usize, reason: String) -> TaskResult {
    to_result(run_with(
        job,
        &Gil::new(Default::default()),
        task,
        worker,
        0,
        |_| Err(TaskError::failed(reason)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, Engine, GilConfig, Model, Sink};

    #[test]
    fn every_task_runs_once_in_order() {
        let w = crate::workload::find("squares").expect("squares");
        let tasks: crate::workload::Tasks = (0..50u64)
            .map(|i| serde_json::json!({ "n": 1000 + i }))
            .collect::<Vec<_>>()
            .into();
        let sink = Sink::null();
        let cancel = CancelToken::new();
        let job = Job {
            workload: w,
            tasks: &tasks,
            workers: 7,
            gil: GilConfig::default(),
            sink: &sink,
            cancel: &cancel,
            worker_exe: None,
        };
        let engine = Engine::new(&job);
        let seq = engine.run_model(Model::Sequential);
        let (thr, _) = engine.threads().run(&engine.gil());
        assert_eq!(thr.len(), 50);
        assert_eq!(thr, seq);
    }
}
