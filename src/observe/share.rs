//! A run's time as the kernel saw it, in one line: the share of its working threads' time
//! on a CPU, runnable (waiting for a core), blocked on a lock, on I/O and asleep — what
//! `compare` reports per model.
//!
//! Which threads count: the run's threads ([`super::run_threads`]) that did the work —
//! those whose time on a CPU, as a share of their own time in the window, is at least
//! [`WORKING`] of the busiest one's. Shares, not seconds, so a short-lived worker
//! process counts like a long one. This leaves out the thread that hands out tasks and
//! waits in `join` (a futex, which would read as "blocked on a lock"), a worker process's
//! pipe reader and the interpreter's main thread waiting for its pool, while threads that
//! wait their turn for the GIL still count: under a fair GIL each gets about the same
//! share, far above a quarter of the busiest.

use serde::Serialize;

use super::TreeTotals;
use super::run_threads::is_run_thread;

/// A thread counts when its share of time on a CPU is at least this fraction of the
/// busiest run thread's.
pub const WORKING: f64 = 0.25;

/// The working threads' time, as fractions of it (they add up to 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KernelShare {
    pub on_cpu: f64,
    pub runnable: f64,
    pub lock: f64,
    pub io: f64,
    pub sleep: f64,
    /// Threads counted (see the module's rule).
    pub threads_counted: usize,
    /// The run's threads seen in the window.
    pub threads_seen: usize,
    /// The counted threads' time in all, in thread-seconds.
    pub thread_s: f64,
}

impl KernelShare {
    /// Fold what a window saw of conlab's own tree (`own_pid`) into the working threads'
    /// shares; `None` when no run thread was seen for any time.
    pub fn of(totals: &TreeTotals, own_pid: u32) -> Option<KernelShare> {
        let run: Vec<_> = totals
            .threads
            .values()
            .filter(|t| is_run_thread(own_pid, t.pid, &t.name))
            .map(|t| t.split.settled())
            .filter(|s| s.span > 0)
            .collect();
        let cpu_share = |s: &super::Split| s.on_cpu as f64 / s.span as f64;
        let busiest = run.iter().map(cpu_share).fold(0.0, f64::max);
        let mut sum = super::Split::default();
        let mut counted = 0;
        for s in &run {
            if cpu_share(s) >= WORKING * busiest {
                sum.add(s);
                counted += 1;
            }
        }
        let total = sum.total();
        if total == 0 {
            return None;
        }
        let f = |ns: u64| ns as f64 / total as f64;
        Some(KernelShare {
            on_cpu: f(sum.on_cpu),
            runnable: f(sum.runnable),
            lock: f(sum.lock),
            io: f(sum.io),
            sleep: f(sum.sleep),
            threads_counted: counted,
            threads_seen: run.len(),
            thread_s: total as f64 / 1e9,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::totals::ThreadTotal;
    use crate::observe::{Split, Wait};

    const MS: u64 = 1_000_000;

    fn thread(pid: u32, tid: u32, name: &str, split: Split) -> ThreadTotal {
        ThreadTotal {
            pid,
            tid,
            name: name.into(),
            split,
            born_ns: 0,
            exited_ns: None,
        }
    }

    fn tree(threads: Vec<ThreadTotal>) -> TreeTotals {
        TreeTotals {
            threads: threads.into_iter().map(|t| (t.tid, t)).collect(),
            ..TreeTotals::default()
        }
    }

    /// `cpu` ms on a CPU of 100 ms, the rest waiting on `wait`.
    fn split(cpu: u64, wait: Wait) -> Split {
        Split::of_interval(cpu * MS, 0, 100 * MS, Some(wait), true)
    }

    #[test]
    fn gil_waiters_count_the_coordinator_in_join_does_not() {
        let t = tree(vec![
            thread(10, 10, "conlab", split(100, Wait::Lock)),
            thread(10, 11, "conlab-run-threa", split(1, Wait::Lock)),
            thread(10, 12, "conlab-thread-0", split(50, Wait::Lock)),
            thread(10, 13, "conlab-thread-1", split(48, Wait::Lock)),
            thread(10, 14, "conlab-memory", split(2, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 3));
        assert!((s.on_cpu - 0.49).abs() < 1e-9, "{s:?}");
        assert!((s.lock - 0.51).abs() < 1e-9, "{s:?}");
        assert!((s.thread_s - 0.2).abs() < 1e-9);
        let sum = s.on_cpu + s.runnable + s.lock + s.io + s.sleep;
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_thread_of_a_child_process_is_the_runs() {
        let t = tree(vec![
            thread(20, 20, "conlab", split(97, Wait::Io)),
            thread(20, 21, "conlab-worker-s", split(0, Wait::Io)),
            thread(30, 30, "python3", split(90, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 3));
        assert!((s.on_cpu - 0.935).abs() < 1e-9, "{s:?}");
        assert!((s.io - 0.015).abs() < 1e-9 && (s.sleep - 0.05).abs() < 1e-9);
    }

    #[test]
    fn waiting_work_still_has_a_share() {
        // Nothing computes: every thread's share of a CPU is tiny, and the busiest sets
        // the bar.
        let t = tree(vec![
            thread(10, 12, "conlab-thread-0", split(1, Wait::Sleep)),
            thread(10, 13, "conlab-thread-1", split(1, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!(s.threads_counted, 2);
        assert!((s.sleep - 0.99).abs() < 1e-9);
    }

    #[test]
    fn no_run_thread_no_share() {
        let t = tree(vec![thread(10, 10, "conlab", split(100, Wait::Lock))]);
        assert_eq!(KernelShare::of(&t, 10), None);
        assert_eq!(KernelShare::of(&TreeTotals::default(), 10), None);
    }
}
