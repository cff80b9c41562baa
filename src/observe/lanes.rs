//! One lane per thread for drawing: the state of each of the last [`HISTORY`] samples (three
//! bytes a sample), so memory stays bounded however long the watch runs; lanes of threads
//! that exited are dropped once they scroll out, and at most [`MAX_LANES`] are kept.

use std::collections::{BTreeMap, VecDeque};

use super::{KernelSample, State, TreeEvent};

/// Samples kept per lane (about 10 s at 5 ms).
pub const HISTORY: usize = 2048;
/// Lanes kept at most (the first threads seen win; the rest are counted).
pub const MAX_LANES: usize = 256;

/// One sample of one thread: what it mostly did, its share on a CPU and its share blocked
/// on a lock, in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub state: State,
    pub cpu_pct: u8,
    pub lock_pct: u8,
}

/// The least share, in percent, of each of on a CPU and on a lock for a cell to count as
/// both ([`Cell::cpu_and_lock`]).
pub const MIXED_PCT: u8 = 20;

impl Cell {
    /// Part on a CPU, part blocked on a lock: a GIL turn inside this cell.
    pub fn cpu_and_lock(&self) -> bool {
        self.cpu_pct >= MIXED_PCT && self.lock_pct >= MIXED_PCT
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub pid: u32,
    pub tid: u32,
    pub name: String,
    /// Index of the sample of `cells[0]`.
    first: u64,
    cells: VecDeque<Cell>,
    pub exited: bool,
}

impl Lane {
    /// The cell of sample `i`, if the lane has it.
    pub fn at(&self, i: u64) -> Option<Cell> {
        let k = i.checked_sub(self.first)?;
        self.cells.get(usize::try_from(k).ok()?).copied()
    }

    /// The quota's share of a run-queue delay reported now (`throttled` ns, beyond this
    /// sample's own `interval`) was spent in the samples before, which showed the thread
    /// off a CPU and runnable: the newest of them, back to the first that was not, are
    /// relabelled throttled, one interval's worth each.
    fn held_back(&mut self, throttled: u64, interval: u64) {
        let mut rest = throttled.saturating_sub(interval);
        let newest = self.cells.len().saturating_sub(1);
        for c in self.cells.range_mut(..newest).rev() {
            if rest == 0 || c.state != State::Runnable {
                break;
            }
            c.state = State::Throttled;
            rest = rest.saturating_sub(interval.max(1));
        }
    }

    /// Samples `from..from + n` merged: the most frequent state (ties: busier first) and
    /// the mean shares on a CPU and on a lock; `None` if the lane has none of them.
    pub fn span(&self, from: u64, n: u64) -> Option<Cell> {
        let mut counts = [0u32; STATES.len()];
        let (mut cpu, mut lock, mut k) = (0u32, 0u32, 0u32);
        for i in from..from + n.max(1) {
            if let Some(c) = self.at(i) {
                counts[c.state as usize] += 1;
                cpu += c.cpu_pct as u32;
                lock += c.lock_pct as u32;
                k += 1;
            }
        }
        if k == 0 {
            return None;
        }
        let mut best = 0;
        for s in 1..STATES.len() {
            if counts[s] > counts[best] {
                best = s;
            }
        }
        Some(Cell {
            state: STATES[best],
            cpu_pct: (cpu / k) as u8,
            lock_pct: (lock / k) as u8,
        })
    }
}

/// In `State`'s order (`State as usize` indexes it).
const STATES: [State; 6] = [
    State::OnCpu,
    State::Runnable,
    State::Lock,
    State::Io,
    State::Sleep,
    State::Throttled,
];

/// Every thread's lane, aligned on the sample index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lanes {
    pub lanes: BTreeMap<u32, Lane>,
    /// Samples seen (the index of the next one).
    pub samples: u64,
    /// Threads not given a lane because [`MAX_LANES`] were taken.
    pub overflow: u64,
}

impl Lanes {
    pub fn apply(&mut self, s: &KernelSample) {
        let i = self.samples;
        self.samples += 1;
        for e in &s.events {
            match e {
                TreeEvent::ThreadBorn { pid, tid, name } => {
                    if self.lanes.len() >= MAX_LANES {
                        self.overflow += 1;
                        continue;
                    }
                    self.lanes.insert(
                        *tid,
                        Lane {
                            pid: *pid,
                            tid: *tid,
                            name: name.clone(),
                            first: i,
                            cells: VecDeque::new(),
                            exited: false,
                        },
                    );
                }
                TreeEvent::ThreadRenamed { tid, name, .. } => {
                    if let Some(l) = self.lanes.get_mut(tid) {
                        l.name = name.clone();
                    }
                }
                TreeEvent::ThreadExited { tid, .. } => {
                    if let Some(l) = self.lanes.get_mut(tid) {
                        l.exited = true;
                    }
                }
                _ => {}
            }
        }
        for t in &s.threads {
            let Some(l) = self.lanes.get_mut(&t.tid) else {
                continue;
            };
            // Keep the lane aligned: a thread missing from some samples gets gaps filled
            // with its next state (it was in it, as far as the kernel says, by then).
            let total = t.split.total().max(1) as f64;
            let cell = Cell {
                state: t.split.dominant(),
                cpu_pct: (t.split.cpu_fraction() * 100.0).round() as u8,
                lock_pct: (t.split.lock as f64 / total * 100.0).round() as u8,
            };
            while l.first + (l.cells.len() as u64) < i {
                l.cells.push_back(cell);
            }
            l.cells.push_back(cell);
            if t.split.throttled > 0 {
                l.held_back(t.split.throttled, s.interval_ns);
            }
            while l.cells.len() > HISTORY {
                l.cells.pop_front();
                l.first += 1;
            }
        }
        let horizon = self.samples.saturating_sub(HISTORY as u64);
        self.lanes
            .retain(|_, l| !(l.exited && l.first + l.cells.len() as u64 <= horizon));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Split, ThreadInterval};

    fn sample(tid: u32, on_cpu: u64, lock: u64, events: Vec<TreeEvent>) -> KernelSample {
        KernelSample {
            planned_step: 0,
            throttled_ns: None,
            cost_ns: 0,
            at_ns: 0,
            interval_ns: on_cpu + lock,
            threads: vec![ThreadInterval {
                pid: 1,
                tid,
                split: Split {
                    on_cpu,
                    lock,
                    span: on_cpu + lock,
                    ..Split::default()
                },
            }],
            events,
        }
    }

    fn born(tid: u32) -> Vec<TreeEvent> {
        vec![TreeEvent::ThreadBorn {
            pid: 1,
            tid,
            name: "w".into(),
        }]
    }

    #[test]
    fn a_lane_records_each_samples_state() {
        let mut l = Lanes::default();
        l.apply(&sample(7, 4, 1, born(7)));
        l.apply(&sample(7, 1, 4, vec![]));
        let lane = &l.lanes[&7];
        assert_eq!(
            lane.at(0),
            Some(Cell {
                state: State::OnCpu,
                cpu_pct: 80,
                lock_pct: 20,
            })
        );
        assert_eq!(lane.at(1).map(|c| c.state), Some(State::Lock));
        assert_eq!(lane.at(2), None);
        let merged = lane.span(0, 2).expect("two samples");
        assert_eq!(merged.cpu_pct, 50);
        assert_eq!(merged.lock_pct, 50);
        assert_eq!(merged.state, State::OnCpu, "a tie goes to the busier state");
        assert!(merged.cpu_and_lock(), "half on a CPU, half on a lock: both");
        let mostly_cpu = Cell {
            state: State::OnCpu,
            cpu_pct: 95,
            lock_pct: 5,
        };
        assert!(!mostly_cpu.cpu_and_lock(), "a sliver of lock is not a turn");
    }

    #[test]
    fn history_is_bounded_and_exited_lanes_scroll_out() {
        let mut l = Lanes::default();
        l.apply(&sample(7, 1, 0, born(7)));
        for _ in 0..HISTORY + 10 {
            l.apply(&sample(7, 1, 0, vec![]));
        }
        assert_eq!(l.lanes[&7].cells.len(), HISTORY);
        assert_eq!(l.lanes[&7].at(0), None, "the oldest samples are gone");
        l.apply(&KernelSample {
            events: vec![TreeEvent::ThreadExited { pid: 1, tid: 7 }],
            ..KernelSample::default()
        });
        for _ in 0..HISTORY {
            l.apply(&KernelSample::default());
        }
        assert!(l.lanes.is_empty());
    }

    #[test]
    fn a_late_reported_hold_relabels_the_runnable_cells_before_it() {
        let mut l = Lanes::default();
        l.apply(&sample(7, 5, 0, born(7)));
        // Three samples off a CPU, runnable, delay not yet reported (unknown).
        for _ in 0..3 {
            l.apply(&KernelSample {
                interval_ns: 5,
                threads: vec![ThreadInterval {
                    pid: 1,
                    tid: 7,
                    split: Split::of_interval(0, 0, 5, None, true),
                }],
                ..KernelSample::default()
            });
        }
        // It runs again: 12 of its delay were the quota's (the sampler shared it out).
        l.apply(&KernelSample {
            interval_ns: 5,
            throttled_ns: Some(12),
            threads: vec![ThreadInterval {
                pid: 1,
                tid: 7,
                split: Split {
                    on_cpu: 2,
                    runnable: 3,
                    throttled: 12,
                    span: 5,
                    ..Split::default()
                },
            }],
            ..KernelSample::default()
        });
        let states: Vec<State> = (0..5)
            .filter_map(|i| l.lanes[&7].at(i))
            .map(|c| c.state)
            .collect();
        // 12 beyond its own 5: the two samples before it, not the third.
        assert_eq!(
            states,
            [
                State::OnCpu,
                State::Runnable,
                State::Throttled,
                State::Throttled,
                State::Throttled
            ]
        );
        // No throttled time: nothing relabelled.
        let mut m = Lanes::default();
        m.apply(&sample(7, 5, 0, born(7)));
        m.apply(&KernelSample {
            interval_ns: 5,
            threads: vec![ThreadInterval {
                pid: 1,
                tid: 7,
                split: Split::of_interval(0, 0, 5, None, true),
            }],
            ..KernelSample::default()
        });
        m.apply(&sample(7, 2, 0, vec![]));
        assert_eq!(m.lanes[&7].at(1).map(|c| c.state), Some(State::Runnable));
    }

    #[test]
    fn lanes_beyond_the_cap_are_counted_not_kept() {
        let mut l = Lanes::default();
        let births = (0..MAX_LANES as u32 + 3).flat_map(born).collect();
        l.apply(&KernelSample {
            events: births,
            ..KernelSample::default()
        });
        assert_eq!(l.lanes.len(), MAX_LANES);
        assert_eq!(l.overflow, 3);
    }
}
