//! The sequential model: every task in turn on the calling thread.

use super::{Event, Gil, Job, TaskResult, run_one, to_result};

/// Run the job's tasks one after another on this thread, as worker 0.
pub fn run(job: &Job, gil: &Gil) -> Vec<TaskResult> {
    let pid = std::process::id();
    job.sink.emit(Event::WorkerStarted { worker: 0, pid });
    (0..job.tasks.len())
        .map(|i| {
            if job.cancel.is_cancelled() {
                None
            } else {
                to_result(run_one(job, gil, i, 0, pid))
            }
        })
        .collect()
}
