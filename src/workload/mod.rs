//! WHAT runs: one file per workload, the scenes, and the catalog. The [`Workload`] trait and
//! the options every workload reads are the engine's contract (`exec::work`), re-exported here.
//!
//! A workload splits into tasks described as JSON values, so the same task can run on a
//! thread or be sent to a worker process; each task yields a [`TaskOutput`] and the
//! workload folds the outputs into one checkable [`Answer`].

mod catalog;
mod fib;
mod files;
pub mod http;
mod naive_primes;
mod pipeline;
mod primes;
pub mod scenes;
mod sleep;
mod squares;
mod tiny;
pub mod url_list;

use serde_json::Value;

pub use catalog::{all, find, names};

use crate::core::TaskError;
pub use crate::core::fmt::thousands;
pub use crate::core::{Answer, TaskOutput};
pub use crate::exec::work::{
    ArgError, MAX_ASYNC_WORKERS, MAX_WORKERS, Plan, WorkKind, Workload, WorkloadArgs,
};
pub use crate::exec::{Fold, KeepOutputs, SumValues, Tasks};

/// Read a `u64` field of a task, or fail the task naming the field.
pub fn task_u64(task: &Value, field: &str) -> Result<u64, TaskError> {
    task.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| TaskError::failed(format!("malformed task: no integer field `{field}`")))
}

/// Split `0..n` into `k` contiguous ranges of near-equal length (the last ones may be empty
/// when k > n).
pub fn split_ranges(n: u64, k: usize) -> Vec<(u64, u64)> {
    let k = k.max(1) as u64;
    (0..k).map(|i| (n * i / k, n * (i + 1) / k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_outputs_survive_a_tagged_event() {
        let ev = crate::exec::Event::TaskFinished {
            task: 1,
            worker: 0,
            result: Ok(TaskOutput::value(u128::MAX)),
            wall_us: 1,
            cpu_us: 1,
        };
        let line = serde_json::to_string(&ev).expect("serialises");
        let back: crate::exec::Event = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, ev);
    }

    #[test]
    fn ranges_cover_exactly() {
        let r = split_ranges(10, 3);
        assert_eq!(r, vec![(0, 3), (3, 6), (6, 10)]);
        assert_eq!(
            split_ranges(2, 4).iter().map(|(a, b)| b - a).sum::<u64>(),
            2
        );
    }

    #[test]
    fn many_task_workloads_fold_in_constant_space() {
        for w in all() {
            let args = WorkloadArgs {
                workers: 2,
                ..Default::default()
            };
            if w.max_tasks() > 100_000 {
                assert!(
                    w.folder(&args).is_bounded(),
                    "{} keeps every output",
                    w.name()
                );
            }
        }
    }

    #[test]
    fn resolve_names_the_flag() {
        let w = find("primes").expect("primes exists");
        let err = WorkloadArgs {
            workers: 0,
            ..Default::default()
        }
        .resolve(w)
        .expect_err("0 workers");
        assert_eq!(err.flag, "--workers");
        let err = WorkloadArgs {
            workers: 2,
            size: u64::MAX,
            ..Default::default()
        }
        .resolve(w)
        .expect_err("huge size");
        assert_eq!(err.flag, "--size");
        assert!(err.message.contains("allowed"), "{}", err.message);
    }
}
