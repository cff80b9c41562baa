//! The threads model: a rayon pool built for the run (never the global pool), all its
//! threads sharing one simulated GIL.

use rayon::prelude::*;

use super::{Event, Executor, Gil, Job, TaskResult, run_one, to_result};

pub struct Threads;

impl Executor for Threads {
    fn execute(&self, job: &Job) -> Vec<TaskResult> {
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(job.workers)
            .thread_name(|i| format!("conlab-thread-{i}"))
            .build()
        {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("could not start {} threads: {e}", job.workers);
                return job.tasks.iter().map(|_| Some(Err(msg.clone()))).collect();
            }
        };
        let gil = Gil::new(job.gil);
        let pid = std::process::id();
        for worker in 0..job.workers {
            job.sink.emit(Event::WorkerStarted { worker, pid });
        }
        pool.install(|| {
            (0..job.tasks.len())
                .into_par_iter()
                .with_max_len(1)
                .map(|i| {
                    if job.cancel.is_cancelled() {
                        return None;
                    }
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    to_result(run_one(job, &gil, i, worker, pid))
                })
                .collect()
        })
    }
}
