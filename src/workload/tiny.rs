//! `tiny`: thousands of tasks of x + 1, so small that dispatching them is the real cost.

use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::exec::{TaskCtx, TaskError};

pub struct Tiny;

impl Workload for Tiny {
    fn name(&self) -> &'static str {
        "tiny"
    }
    fn summary(&self) -> &'static str {
        "many tasks of x + 1: dispatch overhead dominates"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Overhead
    }
    fn size_meaning(&self) -> &'static str {
        "tasks compute x + 1 for x in 0..N (N = tasks)"
    }
    fn default_size(&self) -> u64 {
        1
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=1
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        1000
    }
    fn max_tasks(&self) -> usize {
        1_000_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        Ok(Plan::new(
            (0..args.tasks).map(|x| json!({ "x": x })).collect(),
        ))
    }
    fn run_task(&self, task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Ok(TaskOutput::value(u128::from(task_u64(task, "x")?) + 1))
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!("Σ (x + 1) over {} tiny tasks", outputs.len()),
        }
    }
}
