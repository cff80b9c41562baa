//! A fake executor that "takes" exact durations without running anything, for testing
//! what consumes runs (compare, reports) without timing noise (hyperfine's MockExecutor).

use std::time::Duration;

use super::{Event, Executor, Job, TaskResult};
use crate::workload::TaskOutput;

/// Reports every task finished with `value`, each having taken `per_task` of wall and CPU.
pub struct MockExecutor {
    pub per_task: Duration,
    pub value: u128,
}

impl Executor for MockExecutor {
    fn execute(&self, job: &Job) -> Vec<TaskResult> {
        (0..job.tasks.len())
            .map(|task| {
                let worker = task % job.workers.max(1);
                job.sink.emit(Event::TaskFinished {
                    task,
                    worker,
                    result: Ok(TaskOutput::value(self.value)),
                    wall_us: self.per_task.as_micros() as u64,
                    cpu_us: self.per_task.as_micros() as u64,
                });
                Some(Ok(TaskOutput::value(self.value)))
            })
            .collect()
    }
}
