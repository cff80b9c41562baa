//! The threads model: a pool of named threads built for the run, pulling task indices
//! from one shared counter (like Python's `ThreadPoolExecutor` and its work queue), all
//! sharing one simulated GIL.
//!
//! Not rayon: its idle workers look for work by stealing from every other worker, which
//! costs O(threads²) and, at 1000 threads on 2 cores, seconds of CPU — the I/O lessons
//! need 1000 threads that only wait.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Event, Executor, Gil, Job, TaskResult, run_one, to_result};

pub struct Threads;

impl Executor for Threads {
    fn execute(&self, job: &Job) -> Vec<TaskResult> {
        let n = job.tasks.len();
        let gil = Gil::new(job.gil);
        let pid = std::process::id();
        let next = AtomicUsize::new(0);
        let work = |worker: usize| {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = if job.cancel.is_cancelled() {
                    None
                } else {
                    to_result(run_one(job, &gil, i, worker, pid))
                };
                done.push((i, r));
            }
            done
        };
        let mut results: Vec<TaskResult> = vec![None; n];
        let mut spawn_error = None;
        std::thread::scope(|s| {
            let mut handles = Vec::with_capacity(job.workers);
            for worker in 0..job.workers {
                let work = &work;
                match std::thread::Builder::new()
                    .name(format!("conlab-thread-{worker}"))
                    .spawn_scoped(s, move || work(worker))
                {
                    Ok(h) => {
                        job.sink.emit(Event::WorkerStarted { worker, pid });
                        handles.push(h);
                    }
                    Err(e) => {
                        // Run with the threads we have; fail only if there are none.
                        spawn_error = Some(format!("could not start {} threads: {e}", job.workers));
                        break;
                    }
                }
            }
            for h in handles {
                // run_one catches task panics, so a worker thread does not panic.
                for (i, r) in h.join().unwrap_or_default() {
                    results[i] = r;
                }
            }
        });
        if let Some(msg) = spawn_error
            && next.load(Ordering::Relaxed) == 0
        {
            return job.tasks.iter().map(|_| Some(Err(msg.clone()))).collect();
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{CancelToken, GilConfig, Sink};

    #[test]
    fn every_task_runs_once_in_order() {
        let w = crate::workload::find("squares").expect("squares");
        let tasks: Vec<serde_json::Value> = (0..50u64)
            .map(|i| serde_json::json!({ "n": 1000 + i }))
            .collect();
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
        let seq = super::super::executor(super::super::Model::Sequential).execute(&job);
        let thr = Threads.execute(&job);
        assert_eq!(thr.len(), 50);
        assert_eq!(thr, seq);
    }
}
