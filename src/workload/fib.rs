//! `fib`: the n-th Fibonacci number by plain iteration on big integers; each task's answer
//! is its count of decimal digits (inputs from N/2 to N, like the classic 500k…1M example).

use std::ops::RangeInclusive;

use num_bigint::BigUint;
use num_traits::{One, Zero};
use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::TaskError;
use crate::exec::TaskCtx;

pub struct Fib;

/// Decimal digits of `x` (≥ 1), from its bit length and at most one power of ten.
pub fn decimal_digits(x: &BigUint) -> u64 {
    if x.is_zero() {
        return 1;
    }
    // 2^(bits-1) ≤ x < 2^bits, so floor(log10 x) is lo or lo + 1.
    let lo = ((x.bits() - 1) as f64 * std::f64::consts::LOG10_2).floor() as u32;
    if *x >= BigUint::from(10u32).pow(lo + 1) {
        u64::from(lo) + 2
    } else {
        u64::from(lo) + 1
    }
}

/// The inputs: `tasks` values spread evenly from n/2 to n.
pub fn inputs(n: u64, tasks: usize) -> Vec<u64> {
    let lo = n / 2;
    match tasks {
        0 => vec![],
        1 => vec![n],
        k => (0..k as u64)
            .map(|i| lo + (n - lo) * i / (k as u64 - 1))
            .collect(),
    }
}

impl Workload for Fib {
    fn name(&self) -> &'static str {
        "fib"
    }
    fn summary(&self) -> &'static str {
        "big Fibonacci numbers by iteration, counting their digits (CPU-bound)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Cpu
    }
    fn size_meaning(&self) -> &'static str {
        "largest n; tasks compute F(n/2) … F(n)"
    }
    fn default_size(&self) -> u64 {
        560_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        2..=3_000_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        workers.max(6)
    }
    fn max_tasks(&self) -> usize {
        1_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        Ok(Plan::new(
            inputs(args.size, args.tasks)
                .into_iter()
                .map(|n| json!({ "n": n }))
                .collect(),
        ))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let n = task_u64(task, "n")?;
        let (mut a, mut b) = (BigUint::zero(), BigUint::one());
        for i in 0..n {
            a += &b;
            std::mem::swap(&mut a, &mut b);
            if i % 64 == 0 {
                ctx.tick()?;
                ctx.progress(i, n);
            }
        }
        ctx.progress(n, n);
        Ok(TaskOutput {
            value: decimal_digits(&a).into(),
            extra: json!({ "n": n }),
        })
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        let digits: Vec<String> = outputs.iter().map(|o| o.value.to_string()).collect();
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!(
                "total digits of F(n), n = {}…{} ({})",
                super::thousands((args.size / 2).into()),
                super::thousands(args.size.into()),
                digits.join(" + ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent value: Binet's formula gives digits = ⌊n·log10 φ − log10 √5⌋ + 1.
    fn binet_digits(n: u64) -> u64 {
        let phi = (1.0 + 5f64.sqrt()) / 2.0;
        (n as f64 * phi.log10() - 5f64.sqrt().log10()).floor() as u64 + 1
    }

    fn fib(n: u64) -> BigUint {
        let (mut a, mut b) = (BigUint::zero(), BigUint::one());
        for _ in 0..n {
            a += &b;
            std::mem::swap(&mut a, &mut b);
        }
        a
    }

    #[test]
    fn digits_match_binet() {
        for n in [10u64, 100, 1000, 4782, 10_000, 50_000] {
            assert_eq!(decimal_digits(&fib(n)), binet_digits(n), "F({n})");
        }
        // F(4782) is the first Fibonacci number with 1000 digits.
        assert_eq!(decimal_digits(&fib(4782)), 1000);
        assert_eq!(decimal_digits(&fib(4781)), 999);
    }

    #[test]
    fn digits_at_powers_of_ten() {
        assert_eq!(decimal_digits(&BigUint::from(9u32)), 1);
        assert_eq!(decimal_digits(&BigUint::from(10u32)), 2);
        assert_eq!(decimal_digits(&BigUint::from(10u32).pow(50)), 51);
        assert_eq!(decimal_digits(&(BigUint::from(10u32).pow(50) - 1u32)), 50);
    }

    #[test]
    fn inputs_span_half_to_full() {
        assert_eq!(
            inputs(1_000_000, 6),
            vec![500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000]
        );
    }
}
