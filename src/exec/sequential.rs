//! The sequential model: every task in turn on the calling thread.

use super::{Event, Gil, Job, TaskResult, run_one, to_result};

/// Run the job's tasks one after another on this thread, as worker 0; results in task order.
pub fn run(job: &Job, gil: &Gil) -> Vec<TaskResult> {
    let mut results = Vec::with_capacity(job.tasks.len());
    run_into(job, gil, &mut |_, r| results.push(r));
    results
}

/// [`run`], handing each result to `out` as it finishes (nothing kept).
pub fn run_into(job: &Job, gil: &Gil, out: &mut dyn FnMut(usize, TaskResult)) {
    let pid = std::process::id();
    job.sink.emit(Event::WorkerStarted { worker: 0, pid });
    for i in 0..job.tasks.len() {
        let r = if job.cancel.is_cancelled() {
            None
        } else {
            to_result(run_one(job, gil, i, 0, pid))
        };
        out(i, r);
    }
}
