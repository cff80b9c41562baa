//! `sleep`: tasks that only wait — the stand-in for I/O. The GIL is released while waiting.

use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::TaskError;
use crate::exec::{AsyncCtx, TaskCtx, TaskFuture};

pub struct Sleep;

impl Workload for Sleep {
    fn name(&self) -> &'static str {
        "sleep"
    }
    fn summary(&self) -> &'static str {
        "tasks that each wait D ms, the stand-in for I/O (waiting)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Io
    }
    fn size_meaning(&self) -> &'static str {
        "each task waits D ms"
    }
    fn default_size(&self) -> u64 {
        500
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=60_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        (workers * 2).max(8)
    }
    fn max_tasks(&self) -> usize {
        // 100,000 concurrent waits on the async loop (`--workers 100000`).
        crate::workload::MAX_ASYNC_WORKERS
    }
    fn options(&self) -> &'static [&'static str] {
        &["--delay-ms"]
    }
    fn size_given(&self, args: &WorkloadArgs) -> Option<u64> {
        // Each task's wait is the size; --delay-ms says the same in the I/O workloads' words.
        args.delay_ms
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        // Made on demand: 100,000 tasks hold no JSON.
        let ms = args.size;
        Ok(Plan::made(args.tasks, move |_| json!({ "ms": ms })))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let ms = task_u64(task, "ms")?;
        ctx.progress(0, 1);
        ctx.sleep(Duration::from_millis(ms))?;
        ctx.progress(1, 1);
        Ok(TaskOutput::value(ms.into()))
    }
    fn run_task_async<'a>(&'a self, task: Value, mut ctx: AsyncCtx<'a>) -> Option<TaskFuture<'a>> {
        Some(Box::pin(async move {
            let ms = task_u64(&task, "ms")?;
            ctx.progress(0, 1);
            ctx.sleep(Duration::from_millis(ms)).await;
            ctx.progress(1, 1);
            Ok(TaskOutput::value(ms.into()))
        }))
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!("ms waited in total by {} tasks", outputs.len()),
        }
    }
}
