//! The dashboard's kernel view (`k`): what the scheduler saw the run's threads do, sampled
//! from `/proc` beside the engine's own timeline, so the simulated GIL can be checked
//! against the kernel (threads waiting for it show as blocked on a lock).
//!
//! conlab samples its own process tree; the lanes keep only the run's threads
//! ([`crate::observe::run_threads`]: the pools' workers, the thread that runs a sequential
//! run or feeds a pool, the async loop, every thread of a worker process or of the Python
//! interpreter).
//!
//! Columns have a fixed width in time (one sample, 5 ms, unless zoomed out), so a GIL turn
//! stays visible however long the run; once every thread of a run has exited the view
//! stops taking samples and keeps that run until the next run's threads appear.

use crate::observe::lanes::{Lane, Lanes};
use crate::observe::{KernelSample, TreeEvent, TreeTotals};

/// Sampling period of the kernel view (the watch command's default).
pub const SAMPLE_MS: u64 = crate::observe::SAMPLE_MS;

/// Samples per column at each zoom level (`z` in, `Z` out), as `conlab watch` has them.
pub const ZOOMS: [u64; 8] = [1, 2, 4, 10, 20, 50, 100, 200];

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
    /// Index into [`ZOOMS`].
    pub zoom: usize,
    /// Columns scrolled back in time from the newest sample (`<`, `>`).
    pub back: u64,
    /// First lane shown (`{`, `}`).
    pub lane_scroll: usize,
}

impl KernelView {
    pub fn new(own_pid: u32) -> Self {
        KernelView {
            own_pid,
            ..KernelView::default()
        }
    }

    /// Turn on or off; a fresh view (at the same zoom) each time it is turned on. Returns
    /// the new state.
    pub fn toggle(&mut self) -> bool {
        self.on = !self.on;
        if self.on {
            *self = KernelView {
                on: true,
                own_pid: self.own_pid,
                zoom: self.zoom,
                ..KernelView::default()
            };
        }
        self.on
    }

    pub fn apply(&mut self, s: &KernelSample) {
        if !self.on {
            return;
        }
        if self.finished() {
            // The last run stays on screen until a thread of the next one is born.
            let next_run = s.events.iter().any(|e| match e {
                TreeEvent::ThreadBorn { pid, name, .. } => {
                    crate::observe::run_threads::is_run_thread(self.own_pid, *pid, name)
                }
                _ => false,
            });
            if !next_run {
                return;
            }
            self.lanes = Lanes::default();
            self.totals = TreeTotals::default();
            self.back = 0;
            self.lane_scroll = 0;
        }
        self.totals.apply(s);
        self.lanes.apply(s);
    }

    /// Every thread of the run has exited (and there was one): the view is kept as is.
    pub fn finished(&self) -> bool {
        let mut kept = self
            .lanes
            .lanes
            .values()
            .filter(|l| self.keep(l))
            .peekable();
        kept.peek().is_some() && kept.all(|l| l.exited)
    }

    /// Samples per column at the current zoom.
    pub fn per_column(&self) -> u64 {
        ZOOMS[self.zoom.min(ZOOMS.len() - 1)]
    }

    /// `z`: finer columns.
    pub fn zoom_in(&mut self) {
        self.zoom = self.zoom.saturating_sub(1);
    }

    /// `Z`: coarser columns.
    pub fn zoom_out(&mut self) {
        self.zoom = (self.zoom + 1).min(ZOOMS.len() - 1);
    }

    /// `<` (`columns` > 0) back in time, `>` forward; never past the oldest kept sample
    /// or the newest.
    pub fn scroll_time(&mut self, columns: i64) {
        let kept = self
            .lanes
            .samples
            .min(crate::observe::lanes::HISTORY as u64);
        let max = kept / self.per_column();
        self.back = self.back.saturating_add_signed(columns).min(max);
    }

    /// `}` (`lanes` > 0) down the lanes, `{` up.
    pub fn scroll_lanes(&mut self, lanes: i64) {
        let n = self.lanes.lanes.values().filter(|l| self.keep(l)).count();
        self.lane_scroll = self
            .lane_scroll
            .saturating_add_signed(lanes as isize)
            .min(n.saturating_sub(1));
    }

    /// The sample index just past the right edge of the view.
    pub fn end(&self) -> u64 {
        self.lanes
            .samples
            .saturating_sub(self.back * self.per_column())
    }

    /// Whether `lane` is one of the run's threads.
    pub fn keep(&self, lane: &Lane) -> bool {
        crate::observe::run_threads::is_run_thread(self.own_pid, lane.pid, &lane.name)
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
            throttled_ns: None,
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
    fn columns_stay_fine_and_zoom_and_scroll_move_them() {
        let mut v = KernelView::new(1);
        v.toggle();
        for _ in 0..250 {
            v.apply(&sample(vec![], &[]));
        }
        assert_eq!(v.per_column(), 1, "5 ms a column however long the run");
        v.zoom_out();
        v.zoom_out();
        assert_eq!(v.per_column(), 4);
        v.zoom_in();
        assert_eq!(v.per_column(), 2);
        v.scroll_time(10);
        assert_eq!(v.end(), 230);
        v.scroll_time(1000);
        assert_eq!(v.end(), 0, "no further back than the oldest sample");
        v.scroll_time(-1000);
        assert_eq!(v.end(), 250);
        v.toggle();
        v.toggle();
        assert_eq!(v.per_column(), 2, "the zoom outlives a fresh view");
    }

    #[test]
    fn the_last_run_stays_until_the_next_one_starts() {
        let mut v = KernelView::new(100);
        v.toggle();
        v.apply(&sample(
            vec![born(100, 102, "conlab-thread-0")],
            &[(100, 102)],
        ));
        v.apply(&sample(vec![], &[(100, 102)]));
        v.apply(&sample(
            vec![TreeEvent::ThreadExited { pid: 100, tid: 102 }],
            &[],
        ));
        assert!(v.finished());
        let kept = v.lanes.samples;
        for _ in 0..5000 {
            v.apply(&sample(vec![born(100, 101, "conlab-input")], &[]));
        }
        assert_eq!(
            v.lanes.samples, kept,
            "idle samples after the run are not taken"
        );
        assert!(
            v.lanes.lanes.contains_key(&102),
            "the run's lane is still there"
        );
        v.apply(&sample(
            vec![born(100, 103, "conlab-run-threads")],
            &[(100, 103)],
        ));
        assert!(!v.finished());
        assert_eq!(v.lanes.samples, 1, "the next run starts a fresh view");
        assert!(!v.lanes.lanes.contains_key(&102));
    }
}
