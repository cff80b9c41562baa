//! The worker timeline's data: per worker, time downsampled into a fixed number of buckets.
//!
//! Each bucket accumulates how long the worker was inside a task ("busy"), waiting for the
//! GIL, waiting on I/O and holding the GIL in native code; when the run outgrows the buckets, neighbours merge and each
//! bucket covers twice the time, so memory stays bounded however long the run.

/// Buckets kept per lane.
pub const BUCKETS: usize = 256;
/// Lanes kept at most (more workers are counted, not drawn).
pub const MAX_LANES: usize = 256;
/// Initial time covered by one bucket, in µs.
const FIRST_BUCKET_US: u64 = 1_000;

/// What a worker was doing in one column of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    Idle,
    Compute,
    GilWait,
    Io,
    /// Computing in native code that holds the GIL and never hands it over.
    NativeHold,
}

/// Kinds of time a bucket counts: busy (inside a task), then each span kind.
const KINDS: usize = 4;

#[derive(Clone, Debug, Default)]
struct Lane {
    /// Per bucket: [busy, gil wait, io wait, native holding the GIL] in µs.
    buckets: Vec<[u64; KINDS]>,
    /// Inside a task since this time, already counted up to it.
    open: Option<u64>,
    /// Tasks open on this lane at once (more than one only on the async loop's lane,
    /// where the lane is busy while any task is in flight).
    depth: usize,
    /// A wait announced by its start and not yet closed by its span: (kind index, the
    /// wait's start, counted up to).
    wait: Option<(usize, u64, u64)>,
}

/// The timeline of one run.
#[derive(Clone, Debug)]
pub struct Timeline {
    bucket_us: u64,
    lanes: Vec<Lane>,
    /// Latest time seen (µs since the run started).
    pub end_us: u64,
    /// Workers in the run (may exceed the lanes kept).
    pub workers: usize,
    /// Everything before this is complete (open tasks counted up to it): what is drawn.
    advanced_us: u64,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new(0)
    }
}

impl Timeline {
    pub fn new(workers: usize) -> Self {
        let lanes = (0..workers.min(MAX_LANES))
            .map(|_| Lane {
                buckets: vec![[0; KINDS]; BUCKETS],
                open: None,
                depth: 0,
                wait: None,
            })
            .collect();
        Timeline {
            bucket_us: FIRST_BUCKET_US,
            lanes,
            end_us: 0,
            workers,
            advanced_us: 0,
        }
    }

    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Merge buckets until `t` fits. Checked: `bucket_us` doubles at most ~54 times before
    /// the span would overflow, and then the last bucket simply covers everything later.
    fn grow_to(&mut self, t: u64) {
        while self
            .bucket_us
            .checked_mul(BUCKETS as u64)
            .is_some_and(|span| t > span)
            && self.bucket_us.checked_mul(2 * BUCKETS as u64).is_some()
        {
            for lane in &mut self.lanes {
                for i in 0..BUCKETS / 2 {
                    let (a, b) = (lane.buckets[2 * i], lane.buckets[2 * i + 1]);
                    lane.buckets[i] = std::array::from_fn(|k| a[k].saturating_add(b[k]));
                }
                for b in &mut lane.buckets[BUCKETS / 2..] {
                    *b = [0; KINDS];
                }
            }
            self.bucket_us *= 2;
        }
    }

    fn add(&mut self, lane: usize, what: usize, start: u64, end: u64) {
        if lane >= self.lanes.len() || end <= start {
            return;
        }
        self.grow_to(end);
        self.end_us = self.end_us.max(end);
        let bu = self.bucket_us;
        let buckets = &mut self.lanes[lane].buckets;
        let mut t = start;
        while t < end {
            let i = ((t / bu) as usize).min(BUCKETS - 1);
            let edge = ((t / bu) + 1).saturating_mul(bu);
            // The last bucket takes whatever lies past the end of the others.
            let stop = if i == BUCKETS - 1 { end } else { edge.min(end) };
            buckets[i][what] = buckets[i][what].saturating_add(stop - t);
            t = stop;
        }
    }

    /// Count every open task, and every wait begun and not yet ended, up to `now_us` (a
    /// tick or any event).
    pub fn advance(&mut self, now_us: u64) {
        self.grow_to(now_us);
        for lane in 0..self.lanes.len() {
            if let Some(s) = self.lanes[lane].open
                && now_us > s
            {
                self.add(lane, 0, s, now_us);
                self.lanes[lane].open = Some(now_us);
            }
            if let Some((what, start, counted)) = self.lanes[lane].wait
                && now_us > counted
            {
                self.add(lane, what, counted, now_us);
                self.lanes[lane].wait = Some((what, start, now_us));
            }
        }
        self.end_us = self.end_us.max(now_us);
        self.advanced_us = self.advanced_us.max(now_us);
    }

    /// The time span to draw: up to the last [`Timeline::advance`] or [`Timeline::close`].
    pub fn shown_us(&self) -> u64 {
        self.advanced_us
    }

    pub fn task_started(&mut self, worker: usize, at_us: u64) {
        self.end_us = self.end_us.max(at_us);
        if let Some(l) = self.lanes.get_mut(worker) {
            l.depth += 1;
            if l.open.is_none() {
                l.open = Some(at_us);
            }
        }
    }

    pub fn task_finished(&mut self, worker: usize, at_us: u64) {
        let last = self.lanes.get(worker).is_some_and(|l| l.depth <= 1);
        if last {
            if let Some(s) = self.lanes.get(worker).and_then(|l| l.open) {
                self.add(worker, 0, s, at_us);
            }
            if let Some(l) = self.lanes.get_mut(worker) {
                l.open = None;
                // A wait never closed (its span lost with a dead worker) ends with the task.
                l.wait = None;
            }
        }
        if let Some(l) = self.lanes.get_mut(worker) {
            l.depth = l.depth.saturating_sub(1);
        }
        self.end_us = self.end_us.max(at_us);
    }

    /// The kind index a span of `activity` counts under (none for computing or idle).
    fn kind_of(activity: Activity) -> Option<usize> {
        match activity {
            Activity::GilWait => Some(1),
            Activity::Io => Some(2),
            Activity::NativeHold => Some(3),
            _ => None,
        }
    }

    /// `worker` began to wait (`activity`) at `start_us`: drawn as such from now on, as
    /// time advances, until its [`Timeline::span`] arrives.
    pub fn span_started(&mut self, worker: usize, activity: Activity, start_us: u64) {
        let Some(what) = Self::kind_of(activity) else {
            return;
        };
        self.end_us = self.end_us.max(start_us);
        if let Some(l) = self.lanes.get_mut(worker) {
            l.wait = Some((what, start_us, start_us));
        }
    }

    /// What `lane` is waiting for now, and since when (µs), if a wait's start was said
    /// and its span has not arrived yet.
    pub fn waiting(&self, lane: usize) -> Option<(Activity, u64)> {
        let (what, start, _) = self.lanes.get(lane)?.wait?;
        let a = match what {
            1 => Activity::GilWait,
            2 => Activity::Io,
            _ => Activity::NativeHold,
        };
        Some((a, start))
    }

    /// A span in which `worker` waited, or held the GIL in native code (inside a task).
    /// If its start was announced, only what [`Timeline::advance`] has not counted yet is
    /// added.
    pub fn span(&mut self, worker: usize, activity: Activity, start_us: u64, end_us: u64) {
        let Some(what) = Self::kind_of(activity) else {
            return;
        };
        let mut from = start_us;
        if let Some(l) = self.lanes.get_mut(worker)
            && let Some((w, start, counted)) = l.wait
            && w == what
            && start == start_us
        {
            l.wait = None;
            from = counted.max(start_us);
        }
        self.add(worker, what, from, end_us);
    }

    /// Close every open task (the run ended).
    pub fn close(&mut self, at_us: u64) {
        for lane in 0..self.lanes.len() {
            self.lanes[lane].wait = None;
            self.lanes[lane].depth = self.lanes[lane].depth.min(1);
            self.task_finished(lane, at_us);
        }
        self.advanced_us = at_us;
    }

    /// `lane` drawn in `columns` columns covering 0..`span_us`: each column's dominant
    /// activity.
    pub fn columns(&self, lane: usize, columns: usize, span_us: u64) -> Vec<Activity> {
        let Some(l) = self.lanes.get(lane) else {
            return vec![Activity::Idle; columns];
        };
        let span = span_us.max(1);
        let bu = self.bucket_us;
        (0..columns)
            .map(|c| {
                // In u128: a span near u64::MAX times a column index must not overflow.
                let at = |c: u64| (u128::from(span) * u128::from(c) / columns as u128) as u64;
                let t0 = at(c as u64);
                let t1 = at(c as u64 + 1).max(t0.saturating_add(1));
                let b0 = ((t0 / bu) as usize).min(BUCKETS - 1);
                let b1 = (t1.div_ceil(bu) as usize).clamp(b0 + 1, BUCKETS);
                let mut sum = [0u64; KINDS];
                for b in &l.buckets[b0..b1] {
                    for k in 0..KINDS {
                        sum[k] = sum[k].saturating_add(b[k]);
                    }
                }
                let covered = ((b1 - b0) as u64).saturating_mul(bu);
                let waits = sum[1].saturating_add(sum[2]);
                // Holding the GIL in native code is computing too: the part of busy time
                // that is neither a wait nor native-holding is plain computing.
                let compute = sum[0].saturating_sub(waits.saturating_add(sum[3]));
                let idle = covered.saturating_sub(sum[0].max(waits));
                let best = [
                    (idle, Activity::Idle),
                    (compute, Activity::Compute),
                    (sum[1], Activity::GilWait),
                    (sum[2], Activity::Io),
                    (sum[3], Activity::NativeHold),
                ];
                best.iter()
                    .copied()
                    .fold(
                        (0, Activity::Idle),
                        |acc, x| if x.0 > acc.0 { x } else { acc },
                    )
                    .1
            })
            .collect()
    }

    /// Total µs per activity in `lane` ([compute, gil wait, io]); computing includes
    /// native code holding the GIL ([`Timeline::native_hold_total`] tells it apart).
    pub fn totals(&self, lane: usize) -> [u64; 3] {
        let sum = self.sums(lane);
        [
            sum[0].saturating_sub(sum[1].saturating_add(sum[2])),
            sum[1],
            sum[2],
        ]
    }

    /// Total µs `lane` spent holding the GIL in native code.
    pub fn native_hold_total(&self, lane: usize) -> u64 {
        self.sums(lane)[3]
    }

    fn sums(&self, lane: usize) -> [u64; KINDS] {
        let mut sum = [0u64; KINDS];
        if let Some(l) = self.lanes.get(lane) {
            for b in &l.buckets {
                for k in 0..KINDS {
                    sum[k] = sum[k].saturating_add(b[k]);
                }
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Activity::*;

    #[test]
    fn compute_then_gil_wait_then_idle() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.task_finished(0, 2_000);
        t.task_started(0, 2_000);
        t.span(0, GilWait, 2_000, 4_000);
        t.task_finished(0, 4_000);
        t.advance(6_000);
        assert_eq!(t.columns(0, 3, 6_000), vec![Compute, GilWait, Idle]);
    }

    #[test]
    fn long_runs_merge_buckets_and_keep_memory_bounded() {
        let mut t = Timeline::new(2);
        t.task_started(1, 0);
        t.advance(10_000_000_000);
        assert_eq!(t.lanes[1].buckets.len(), BUCKETS);
        assert!(
            t.columns(1, 10, 10_000_000_000)
                .iter()
                .all(|a| *a == Compute)
        );
        assert!(t.columns(0, 10, 10_000_000_000).iter().all(|a| *a == Idle));
        assert_eq!(t.totals(1)[0], 10_000_000_000);
    }

    #[test]
    fn io_inside_a_task_shows_as_io() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.span(0, Io, 100, 9_900);
        t.task_finished(0, 10_000);
        assert_eq!(t.columns(0, 1, 10_000), vec![Io]);
    }

    #[test]
    fn times_near_u64_max_end_without_overflow_or_spinning() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.span(0, Io, 10, u64::MAX - 1);
        t.advance(u64::MAX);
        t.task_finished(0, u64::MAX);
        assert_eq!(t.columns(0, 80, u64::MAX).len(), 80);
        assert!(t.totals(0)[2] > 0);
    }

    #[test]
    fn native_code_holding_the_gil_shows_as_its_own_activity() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.span(0, NativeHold, 3_000, 6_000);
        t.task_finished(0, 6_000);
        assert_eq!(t.columns(0, 2, 6_000), vec![Compute, NativeHold]);
        assert_eq!(t.native_hold_total(0), 3_000);
        assert_eq!(t.totals(0), [6_000, 0, 0], "still computing in the totals");
    }

    #[test]
    fn a_wait_shows_as_waiting_while_it_lasts_and_is_counted_once() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.span_started(0, Io, 1_000);
        // Ticks while the worker sleeps: the lane is waiting, live, not computing.
        t.advance(5_000);
        t.advance(9_000);
        assert_eq!(t.waiting(0), Some((Io, 1_000)));
        assert_eq!(t.columns(0, 9, 9_000)[1..], [Io; 8]);
        assert_eq!(t.totals(0), [1_000, 0, 8_000]);
        // The span arrives at its end: only the rest is added.
        t.span(0, Io, 1_000, 10_000);
        assert_eq!(t.waiting(0), None);
        t.task_finished(0, 10_500);
        t.advance(10_500);
        assert_eq!(t.totals(0), [1_500, 0, 9_000]);
        // Computing after the wait is computing again.
        t.task_started(0, 10_500);
        t.advance(20_000);
        assert_eq!(t.columns(0, 2, 20_000), vec![Io, Compute]);
    }

    #[test]
    fn an_unclosed_wait_ends_with_its_task() {
        let mut t = Timeline::new(1);
        t.task_started(0, 0);
        t.span_started(0, Io, 0);
        t.advance(4_000);
        t.task_finished(0, 4_000);
        t.advance(8_000);
        assert_eq!(t.totals(0), [0, 0, 4_000]);
        assert_eq!(t.columns(0, 2, 8_000), vec![Io, Idle]);
    }

    #[test]
    fn lanes_are_capped() {
        let t = Timeline::new(5_000);
        assert_eq!(t.lanes(), MAX_LANES);
        assert_eq!(t.workers, 5_000);
    }
}
