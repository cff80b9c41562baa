//! The dashboard's kernel view (`k`): what the scheduler saw the run's threads do, sampled
//! from `/proc` beside the engine's own timeline, so the simulated GIL can be checked
//! against the kernel (threads waiting for it show as blocked on a lock).
//!
//! conlab samples its own process tree; the lanes keep only the run's threads
//! ([`crate::observe::run_threads`]: the pools' workers, the thread that runs a sequential
//! run or feeds a pool, the async loop, every thread of a worker process or of the Python
//! interpreter).

use crate::observe::lanes::{Lane, Lanes};
use crate::observe::{KernelSample, TreeTotals};

/// Sampling period of the kernel view (the watch command's default).
pub const SAMPLE_MS: u64 = crate::observe::SAMPLE_MS;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelView {
    /// Shown in place of the engine's timeline (and sampled) while on.
    pub on: bool,
    pub lanes: Lanes,
    pub totals: TreeTotals,
    /// conlab's own pid: its threads are kept only when they do the run's work.
    pub own_pid: u32,
    /// Why the view cannot be shown (no /proc), once tried.
    pub unavailable: Option<String>,
}

impl KernelView {
    pub fn new(own_pid: u32) -> Self {
        KernelView {
            own_pid,
            ..KernelView::default()
        }
    }

    /// Turn on or off; a fresh view each time it is turned on. Returns the new state.
    pub fn toggle(&mut self) -> bool {
        self.on = !self.on;
        if self.on {
            *self = KernelView {
                on: true,
                own_pid: self.own_pid,
                ..KernelView::default()
            };
        }
        self.on
    }

    pub fn apply(&mut self, s: &KernelSample) {
        if !self.on {
            return;
        }
        self.totals.apply(s);
        self.lanes.apply(s);
    }

    /// Whether `lane` is one of the run's threads.
    pub fn keep(&self, lane: &Lane) -> bool {
        crate::observe::run_threads::is_run_thread(self.own_pid, lane.pid, &lane.name)
    }

    /// Samples a column must hold for the whole kept history to fit `cols` columns.
    pub fn per_column(&self, cols: usize) -> u64 {
        let kept = self
            .lanes
            .samples
            .min(crate::observe::lanes::HISTORY as u64);
        kept.div_ceil(cols.max(1) as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Split, ThreadInterval, TreeEvent};

    fn born(pid: u32, tid: u32, name: &str) -> TreeEvent {
        TreeEvent::ThreadBorn {
            pid,
            tid,
            name: name.into(),
        }
    }

    fn sample(events: Vec<TreeEvent>, tids: &[(u32, u32)]) -> KernelSample {
        KernelSample {
            planned_step: 0,
            cost_ns: 0,
            at_ns: 5_000_000,
            interval_ns: 5_000_000,
            threads: tids
                .iter()
                .map(|&(pid, tid)| ThreadInterval {
                    pid,
                    tid,
                    split: Split::of_interval(5_000_000, 0, 5_000_000, None, true),
                })
                .collect(),
            events,
        }
    }

    #[test]
    fn keeps_the_runs_threads_and_every_child_thread_only() {
        let mut v = KernelView::new(100);
        assert!(v.toggle());
        v.apply(&sample(
            vec![
                born(100, 100, "conlab"),
                born(100, 101, "conlab-input"),
                born(100, 102, "conlab-thread-0"),
                born(100, 103, "conlab-run-threads"),
                born(100, 104, "conlab-async-lo"),
                born(200, 200, "python3"),
            ],
            &[
                (100, 100),
                (100, 101),
                (100, 102),
                (100, 103),
                (100, 104),
                (200, 200),
            ],
        ));
        let kept: Vec<u32> = v
            .lanes
            .lanes
            .values()
            .filter(|l| v.keep(l))
            .map(|l| l.tid)
            .collect();
        assert_eq!(kept, vec![102, 103, 104, 200]);
    }

    #[test]
    fn off_ignores_samples_and_on_again_starts_fresh() {
        let mut v = KernelView::new(100);
        v.apply(&sample(vec![born(200, 200, "python3")], &[(200, 200)]));
        assert_eq!(v.lanes.samples, 0, "off: nothing kept");
        v.toggle();
        v.apply(&sample(vec![born(200, 200, "python3")], &[(200, 200)]));
        assert_eq!(v.lanes.samples, 1);
        assert!(!v.toggle());
        assert!(v.toggle());
        assert_eq!(v.lanes.samples, 0, "on again: a fresh view");
    }

    #[test]
    fn the_whole_history_fits_the_width() {
        let mut v = KernelView::new(1);
        v.toggle();
        for _ in 0..250 {
            v.apply(&sample(vec![], &[]));
        }
        assert_eq!(v.per_column(100), 3);
        assert_eq!(v.per_column(250), 1);
        assert_eq!(v.per_column(0), 250);
    }
}
