//! `primes`: count primes below N by 6k±1 trial division, the range split into tasks.

use std::ops::RangeInclusive;

use serde_json::{Value, json};

use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use crate::core::TaskError;
use crate::exec::{Split, TaskCtx};

pub struct Primes;

/// Trial division by 2, 3 and then 6k±1 up to √n.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n < 4 {
        return true;
    }
    if n.is_multiple_of(2) || n.is_multiple_of(3) {
        return false;
    }
    let mut i = 5;
    while i * i <= n {
        if n.is_multiple_of(i) || n.is_multiple_of(i + 2) {
            return false;
        }
        i += 6;
    }
    true
}

/// Split `0..n` into `k` ranges of about equal *work*: testing x costs about √x, so the
/// work below x grows like x^1.5 and the boundaries sit at n·(i/k)^(2/3). Equal ranges
/// would leave the last worker with the costliest chunk — lost efficiency that is ours,
/// not the model's.
pub fn equal_work_ranges(n: u64, k: usize) -> Vec<(u64, u64)> {
    let k = k.max(1);
    let edge = |i: usize| -> u64 {
        if i >= k {
            n
        } else {
            ((n as f64) * (i as f64 / k as f64).powf(2.0 / 3.0)) as u64
        }
    };
    (0..k)
        .map(|i| (edge(i), edge(i + 1).max(edge(i))))
        .collect()
}

/// Split `0..n` into `k` ranges of equal *length* (the articles' split): the last one
/// holds the largest numbers and costs the most.
pub fn equal_ranges(n: u64, k: usize) -> Vec<(u64, u64)> {
    let k = k.max(1) as u128;
    let edge = |i: u128| (n as u128 * i / k) as u64;
    (0..k).map(|i| (edge(i), edge(i + 1))).collect()
}

/// Count primes in `lo..hi`, ticking and reporting progress.
pub fn count_range(lo: u64, hi: u64, ctx: &mut TaskCtx) -> Result<u64, TaskError> {
    let total = hi.saturating_sub(lo);
    let mut count = 0;
    let mut n = lo;
    while n < hi {
        let end = (n + 32).min(hi);
        count += (n..end).filter(|&x| is_prime(x)).count() as u64;
        n = end;
        ctx.tick()?;
        if (n - lo) % 8192 < 32 {
            ctx.progress(n - lo, total);
        }
    }
    ctx.progress(total, total);
    Ok(count)
}

impl Workload for Primes {
    fn name(&self) -> &'static str {
        "primes"
    }
    fn summary(&self) -> &'static str {
        "count primes below N by trial division (CPU-bound)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Cpu
    }
    fn size_meaning(&self) -> &'static str {
        "count primes below N"
    }
    fn default_size(&self) -> u64 {
        20_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=2_000_000_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        // More chunks than workers so the costlier upper ranges balance out.
        (workers * 8).max(32)
    }
    fn options(&self) -> &'static [&'static str] {
        &["--split"]
    }
    fn default_tasks_for(&self, args: &WorkloadArgs) -> usize {
        match args.split.unwrap_or_default() {
            // The articles: one range per worker.
            Split::Ranges => args.workers.max(1),
            Split::Work | Split::Steal => self.default_tasks(args.workers),
        }
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let ranges = match args.split.unwrap_or_default() {
            Split::Work => equal_work_ranges(args.size, args.tasks),
            Split::Ranges | Split::Steal => equal_ranges(args.size, args.tasks),
        };
        Ok(Plan::new(
            ranges
                .into_iter()
                .map(|(lo, hi)| json!({ "lo": lo, "hi": hi }))
                .collect(),
        ))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let lo = task_u64(task, "lo")?;
        let hi = task_u64(task, "hi")?;
        Ok(TaskOutput::value(count_range(lo, hi, ctx)?.into()))
    }
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer {
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!("primes below {}", super::thousands(args.size.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_work_ranges_tile_the_interval() {
        for (n, k) in [(2_000_000u64, 32usize), (10, 3), (3, 8), (1, 1)] {
            let r = equal_work_ranges(n, k);
            assert_eq!(r.len(), k);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[k - 1].1, n);
            assert!(r.windows(2).all(|w| w[0].1 == w[1].0), "{r:?}");
        }
        // The upper ranges are narrower: they cost more per number.
        let r = equal_work_ranges(1_000_000, 4);
        assert!(r[3].1 - r[3].0 < r[0].1 - r[0].0);
    }

    #[test]
    fn equal_ranges_tile_the_interval_in_equal_lengths() {
        for (n, k) in [(2_000_000u64, 2usize), (10, 3), (3, 8), (1, 1)] {
            let r = equal_ranges(n, k);
            assert_eq!((r.len(), r[0].0, r[k - 1].1), (k, 0, n));
            assert!(r.windows(2).all(|w| w[0].1 == w[1].0), "{r:?}");
        }
        assert_eq!(
            equal_ranges(2_000_000, 2),
            vec![(0, 1_000_000), (1_000_000, 2_000_000)]
        );
    }

    /// Same answer whichever way the numbers are cut, and under the models each split runs
    /// on (148,933 primes below 2,000,000, the articles' figure).
    #[test]
    fn every_split_gives_the_same_answer() {
        use crate::exec::{CancelToken, Model, RunSpec, Sink};
        for split in [
            None,
            Some(Split::Ranges),
            Some(Split::Work),
            Some(Split::Steal),
        ] {
            for model in [Model::Sequential, Model::Threads] {
                let mut spec = RunSpec::new("primes", model, 3);
                spec.args.size = 2_000_000;
                spec.args.split = split;
                spec.gil.enabled = false;
                let r =
                    crate::exec::run_workload(&Primes, &spec, &Sink::null(), &CancelToken::new())
                        .expect("runs");
                let a = r.answer.expect("answer");
                assert_eq!(a.value, "148933", "{split:?} {model}");
                let want = if split == Some(Split::Ranges) { 3 } else { 32 };
                assert_eq!(r.tasks, want, "{split:?}");
                // Every worker that ran a task has its busy time.
                assert!(
                    !r.busy_us.is_empty() && r.busy_us.iter().any(|b| *b > 0),
                    "{split:?} {model}"
                );
            }
        }
    }

    #[test]
    fn small_primes() {
        let got: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(got, vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(!is_prime(25) && !is_prime(49) && is_prime(7919));
    }
}
