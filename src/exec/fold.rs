//! Folding task outputs into the answer as they arrive, so a run's memory does not grow
//! with its task count.
//!
//! [`Workload::folder`] gives the engine a [`Fold`] per run. The default,
//! [`KeepOutputs`], keeps every output and calls the workload's `combine` at the end: its
//! size is bounded by the workload's `max_tasks` (100,000 by default, a few MB). A
//! workload that allows more tasks folds into constant space instead (`tiny`'s
//! [`SumValues`]); a test checks that every such workload does.

use serde_json::Value;

use super::{Workload, WorkloadArgs};
use crate::core::{Answer, TaskOutput};

/// Accumulates a run's successful outputs, in any order, into its answer.
pub trait Fold: Send {
    /// Task `index` finished with `out`.
    fn add(&mut self, index: usize, out: TaskOutput);
    /// The answer and the measured details. `run` is what a streaming orchestration
    /// measured about the whole run (see [`Workload::orchestrate_into`]).
    fn finish(
        self: Box<Self>,
        w: &dyn Workload,
        args: &WorkloadArgs,
        run: Option<Value>,
    ) -> (Answer, Option<Value>);
    /// Does this fold keep constant space however many tasks it sees?
    fn is_bounded(&self) -> bool {
        false
    }
}

/// The default fold: keep every output, then `combine` and `details` them in task order.
#[derive(Default)]
pub struct KeepOutputs {
    outputs: Vec<(usize, TaskOutput)>,
}

impl Fold for KeepOutputs {
    fn add(&mut self, index: usize, out: TaskOutput) {
        self.outputs.push((index, out));
    }

    fn finish(
        mut self: Box<Self>,
        w: &dyn Workload,
        args: &WorkloadArgs,
        _run: Option<Value>,
    ) -> (Answer, Option<Value>) {
        self.outputs.sort_by_key(|(i, _)| *i);
        let outputs: Vec<TaskOutput> = self.outputs.into_iter().map(|(_, o)| o).collect();
        (w.combine(&outputs, args), w.details(&outputs, args))
    }
}

/// A constant-space fold: the sum of the outputs' values and how many there were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SumValues {
    pub sum: u128,
    pub count: u64,
}

impl SumValues {
    /// Add one value (wrapping is impossible below 2^64 tasks of u64-sized values).
    pub fn push(&mut self, value: u128) {
        self.sum = self.sum.saturating_add(value);
        self.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_outputs_combines_in_task_order() {
        let w = crate::workload::find("squares").expect("squares");
        let mut f: Box<dyn Fold> = Box::<KeepOutputs>::default();
        // Out of order, as a pool delivers them.
        f.add(1, TaskOutput::value(5));
        f.add(0, TaskOutput::value(2));
        assert!(!f.is_bounded());
        let (answer, _) = f.finish(w, &WorkloadArgs::default(), None);
        assert_eq!(answer.value, "7");
    }

    #[test]
    fn sums_count_what_they_add() {
        let mut s = SumValues::default();
        s.push(3);
        s.push(4);
        assert_eq!(s, SumValues { sum: 7, count: 2 });
    }
}
