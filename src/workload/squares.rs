//! `squares`: every task sums i·i for i below N (the classic "sum of squares" example).

use std::hint::black_box;
use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::TaskError;
use crate::exec::TaskCtx;

pub struct Squares;

/// Σ i² for i in 0..n, closed form, to check the loop.
#[cfg(test)]
pub fn sum_of_squares_formula(n: u64) -> u128 {
    if n == 0 {
        return 0;
    }
    let m = n as u128 - 1;
    m * (m + 1) * (2 * m + 1) / 6
}

impl Workload for Squares {
    fn name(&self) -> &'static str {
        "squares"
    }
    fn summary(&self) -> &'static str {
        "each task sums i*i for i below N, one by one (CPU-bound)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Cpu
    }
    fn size_meaning(&self) -> &'static str {
        "each task sums i*i for i below N"
    }
    fn default_size(&self) -> u64 {
        600_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=100_000_000_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        (workers * 2).max(8)
    }
    fn max_tasks(&self) -> usize {
        10_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        Ok(Plan::new(vec![json!({ "n": args.size }); args.tasks]))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let n = task_u64(task, "n")?;
        let mut sum: u128 = 0;
        let mut i = 0u64;
        while i < n {
            let end = (i + 4096).min(n);
            while i < end {
                // black_box keeps the compiler from folding the loop into the closed form:
                // the point is to do the work.
                let x = black_box(i) as u128;
                sum += x * x;
                i += 1;
            }
            ctx.tick()?;
            if i % (1 << 20) < 4096 {
                ctx.progress(i, n);
            }
        }
        ctx.progress(n, n);
        Ok(TaskOutput::value(sum))
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!(
                "{} × Σ i² for i below {}",
                outputs.len(),
                super::thousands(args.size.into())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_matches_small_sums() {
        for n in 0..50u64 {
            let direct: u128 = (0..n).map(|i| (i as u128) * (i as u128)).sum();
            assert_eq!(sum_of_squares_formula(n), direct);
        }
    }
}
