//! `naive-primes`: every task counts primes below n the slow, obvious way — the shape of
//! the well-known `count_primes(200_000)` benchmark, where each worker does the same job.

use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::TaskError;
use crate::exec::TaskCtx;

pub struct NaivePrimes;

/// `x` is prime when no d in 2..=isqrt(x) divides it.
pub fn is_prime_naive(x: u64) -> bool {
    x >= 2 && (2..=x.isqrt()).all(|d| !x.is_multiple_of(d))
}

impl Workload for NaivePrimes {
    fn name(&self) -> &'static str {
        "naive-primes"
    }
    fn summary(&self) -> &'static str {
        "each task counts primes below n by checking every divisor (CPU-bound)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Cpu
    }
    fn size_meaning(&self) -> &'static str {
        "each task counts primes below n"
    }
    fn default_size(&self) -> u64 {
        3_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=100_000_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        workers.max(4)
    }
    fn max_tasks(&self) -> usize {
        10_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        Ok(Plan::new(vec![json!({ "n": args.size }); args.tasks]))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let n = task_u64(task, "n")?;
        let mut count = 0u64;
        for x in 0..n {
            if is_prime_naive(x) {
                count += 1;
            }
            if x % 64 == 0 {
                ctx.tick()?;
                if x % 16384 == 0 {
                    ctx.progress(x, n);
                }
            }
        }
        ctx.progress(n, n);
        Ok(TaskOutput::value(count.into()))
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        let each: Vec<u128> = outputs.iter().map(|o| o.value).collect();
        let first = each.first().copied().unwrap_or(0);
        let value = if each.iter().all(|&v| v == first) {
            first.to_string()
        } else {
            format!("mismatch {each:?}")
        };
        Answer {
            value,
            meaning: format!(
                "primes below {}, counted by each of {} tasks",
                super::thousands(args.size.into()),
                outputs.len()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_6k_trial_division() {
        for x in 0..5000 {
            assert_eq!(
                is_prime_naive(x),
                super::super::primes::is_prime(x),
                "x = {x}"
            );
        }
    }
}
