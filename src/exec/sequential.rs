//! The sequential model: every task in turn on the calling thread.

use super::{Executor, Gil, Job, TaskResult, run_one, to_result};

pub struct Sequential;

impl Executor for Sequential {
    fn execute(&self, job: &Job) -> Vec<TaskResult> {
        let gil = Gil::new(job.gil);
        let pid = std::process::id();
        job.sink
            .emit(super::Event::WorkerStarted { worker: 0, pid });
        (0..job.tasks.len())
            .map(|i| {
                if job.cancel.is_cancelled() {
                    None
                } else {
                    to_result(run_one(job, &gil, i, 0, pid))
                }
            })
            .collect()
    }
}
