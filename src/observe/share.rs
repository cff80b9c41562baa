//! A run's time as the kernel saw it, in one line: the share of its working threads' time
//! on a CPU, runnable (waiting for a core), blocked on a lock, on I/O and asleep — and,
//! under a CPU quota, throttled (runnable, but the quota said no) — what `compare`
//! reports per model.
//!
//! Which threads count: of the run's threads ([`super::run_threads`]), those that did its
//! work — not a thread that hands out tasks and waits in `join` (a futex, which would read
//! as "blocked on a lock"), nor one that waits for the results or feeds a pipe:
//! 1. conlab's own plumbing ([`PLUMBING`]: the thread a model runs on, which feeds a pool
//!    and waits or reads the interpreter's pipe; a worker process's and the Python
//!    driver's stdin readers) counts only when it is all there is (a sequential run
//!    computes on the run thread).
//! 2. **Computing work** (the busiest of the rest was on a CPU at least [`COMPUTING`] of
//!    its time): the threads on a CPU at least [`WORKING`] as much as the busiest, as a
//!    share of their own time (so a short-lived worker process counts like a long one).
//!    Threads waiting their turn for a GIL count — a fair GIL gives each about the same
//!    share — while a main thread waiting for its pool is on a CPU a few hundredths as
//!    much (its start-up).
//! 3. **Waiting work** (sleeps, HTTP; or many threads taking turns for one GIL): a CPU
//!    share tells nothing (an interpreter's start-up costs its main thread more CPU than
//!    a sleeping worker uses), so the threads not blocked on a lock most of their time:
//!    sleeping or waiting for I/O is the work, waiting in `join` is not. Should that
//!    leave none (every thread takes turns for a lock), the rule for computing work.

use serde::Serialize;

use super::run_threads::is_run_thread;
use super::{Split, TreeTotals};

/// Computing work: a thread counts when its share of time on a CPU is at least this
/// fraction of the busiest thread's.
pub const WORKING: f64 = 0.25;

/// Work computes when its busiest thread was on a CPU at least this share of its time
/// (two threads sharing a GIL each are about half of it; a sleeping worker well under a
/// hundredth, an interpreter's main thread waiting for its pool a few hundredths).
pub const COMPUTING: f64 = 0.2;

/// Name prefixes of conlab's plumbing among the run's threads: the thread a model runs on
/// (`conlab-run-MODEL`; it feeds the pools and waits, or reads the interpreter's events),
/// a worker process's stdin reader (`conlab-worker-stdin`, 15 bytes kept) and the Python
/// driver's (`conlab-stdin`, named by the driver).
pub const PLUMBING: [&str; 3] = ["conlab-run", "conlab-worker-s", "conlab-stdin"];

/// The working threads' time, as fractions of it (they add up to 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KernelShare {
    pub on_cpu: f64,
    pub runnable: f64,
    pub lock: f64,
    pub io: f64,
    pub sleep: f64,
    /// Runnable, but the CPU quota held them back (taken out of `runnable`; shared out
    /// from the cgroup's counter, [`super::throttle`]: an estimate); `None` without a
    /// quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled: Option<f64>,
    /// Threads counted (see the module's rule).
    pub threads_counted: usize,
    /// The run's threads seen in the window.
    pub threads_seen: usize,
    /// The counted threads' time in all, in thread-seconds.
    pub thread_s: f64,
    /// The mean time between samples, in ms (the asked interval, or longer where the
    /// sampler kept to its budget or the machine was busy); `None` with one sample.
    pub sample_ms: Option<f64>,
    /// What sampling cost: the sampler's CPU time as a share of one core.
    pub sampler_cpu: Option<f64>,
}

impl KernelShare {
    /// Fold what a window saw of conlab's own tree (`own_pid`) into the working threads'
    /// shares; `None` when no run thread was seen for any time.
    pub fn of(totals: &TreeTotals, own_pid: u32) -> Option<KernelShare> {
        let run: Vec<(bool, Split)> = totals
            .threads
            .values()
            .filter(|t| is_run_thread(own_pid, t.pid, &t.name))
            .map(|t| {
                let plumbing = PLUMBING.iter().any(|p| t.name.starts_with(p));
                (plumbing, t.split.settled())
            })
            .filter(|(_, s)| s.span > 0)
            .collect();
        let only_plumbing = run.iter().all(|(plumbing, _)| *plumbing);
        let candidates: Vec<&Split> = run
            .iter()
            .filter(|(plumbing, _)| only_plumbing || !plumbing)
            .map(|(_, s)| s)
            .collect();
        let working = working(&candidates);
        let mut sum = Split::default();
        for s in &working {
            sum.add(s);
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
            throttled: totals.quota.then(|| f(sum.throttled)),
            threads_counted: working.len(),
            threads_seen: run.len(),
            thread_s: total as f64 / 1e9,
            sample_ms: totals.mean_interval_ns().map(|ns| ns as f64 / 1e6),
            sampler_cpu: totals.sampler_share(),
        })
    }
}

impl KernelShare {
    /// Two windows of the same model together: each share weighted by its thread time.
    pub fn merged(&self, other: &KernelShare) -> KernelShare {
        let (a, b) = (self.thread_s, other.thread_s);
        let total = a + b;
        let mix = |x: f64, y: f64| {
            if total > 0.0 {
                (x * a + y * b) / total
            } else {
                (x + y) / 2.0
            }
        };
        let opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => Some(mix(x, y)),
            (x, y) => x.or(y),
        };
        KernelShare {
            on_cpu: mix(self.on_cpu, other.on_cpu),
            runnable: mix(self.runnable, other.runnable),
            lock: mix(self.lock, other.lock),
            io: mix(self.io, other.io),
            sleep: mix(self.sleep, other.sleep),
            throttled: match (self.throttled, other.throttled) {
                (None, None) => None,
                (x, y) => Some(mix(x.unwrap_or(0.0), y.unwrap_or(0.0))),
            },
            threads_counted: self.threads_counted.max(other.threads_counted),
            threads_seen: self.threads_seen.max(other.threads_seen),
            thread_s: total,
            sample_ms: opt(self.sample_ms, other.sample_ms),
            sampler_cpu: opt(self.sampler_cpu, other.sampler_cpu),
        }
    }
}

/// Rules 2 and 3 of the module's: the threads among `candidates` that did the work.
fn working<'a>(candidates: &[&'a Split]) -> Vec<&'a Split> {
    let cpu_share = |s: &Split| s.on_cpu as f64 / s.span as f64;
    let busiest = candidates.iter().map(|s| cpu_share(s)).fold(0.0, f64::max);
    let computing = |s: &&&Split| cpu_share(s) >= WORKING * busiest;
    let not_locked = |s: &&&Split| 2 * s.lock < s.span;
    let pick = |keep: &dyn Fn(&&&Split) -> bool| -> Vec<&'a Split> {
        candidates.iter().filter(|s| keep(s)).copied().collect()
    };
    if busiest < COMPUTING {
        let waiting = pick(&not_locked);
        if !waiting.is_empty() {
            return waiting;
        }
    }
    pick(&computing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Wait;
    use crate::observe::totals::ThreadTotal;

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
            thread(10, 11, "conlab-run-proce", split(2, Wait::Lock)),
            thread(20, 20, "conlab", split(97, Wait::Io)),
            thread(20, 21, "conlab-worker-s", split(0, Wait::Io)),
            thread(20, 22, "ctrl-c", split(0, Wait::Lock)),
            thread(30, 30, "python3", split(90, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 5));
        assert!((s.on_cpu - 0.935).abs() < 1e-9, "{s:?}");
        assert!((s.io - 0.015).abs() < 1e-9 && (s.sleep - 0.05).abs() < 1e-9);
    }

    #[test]
    fn a_sequential_run_computes_on_the_run_thread() {
        let t = tree(vec![
            thread(10, 10, "conlab", split(0, Wait::Lock)),
            thread(10, 11, "conlab-run-seque", split(99, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (1, 1));
        assert!((s.on_cpu - 0.99).abs() < 1e-9, "{s:?}");
        // Waiting work too.
        let t = tree(vec![thread(
            10,
            11,
            "conlab-run-seque",
            idle(30, Wait::Sleep),
        )]);
        assert_eq!(KernelShare::of(&t, 10).expect("a share").threads_counted, 1);
    }

    #[test]
    fn the_interpreters_main_thread_waiting_for_its_threads_does_not_count() {
        // Computing: its start-up is a few hundredths of its time, the workers' half.
        let t = tree(vec![
            thread(10, 11, "conlab-run-threa", idle(300, Wait::Io)),
            thread(30, 30, "python3", split(4, Wait::Lock)),
            thread(30, 31, "python3", split(50, Wait::Lock)),
            thread(30, 32, "python3", split(47, Wait::Lock)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 4));
        assert!((s.lock - 0.515).abs() < 1e-9, "{s:?}");
        // Waiting: its start-up is more CPU than the sleeping workers used, but it waits
        // on a lock all the rest of the time.
        let t = tree(vec![
            thread(10, 11, "conlab-run-threa", idle(300, Wait::Io)),
            thread(30, 30, "python3", split(6, Wait::Lock)),
            thread(30, 31, "python3", idle(40, Wait::Sleep)),
            thread(30, 32, "python3", idle(40, Wait::Sleep)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 4));
        assert!(s.sleep > 0.99 && s.lock == 0.0, "{s:?}");
    }

    /// `cpu` µs on a CPU of 100 ms, the rest waiting on `wait`.
    fn idle(cpu_us: u64, wait: Wait) -> Split {
        Split::of_interval(cpu_us * 1_000, 0, 100 * MS, Some(wait), true)
    }

    #[test]
    fn waiting_work_counts_the_waiting_workers_not_the_one_in_join() {
        // Nothing computes, and the coordinator used more CPU than the sleepers: the CPU
        // tells nothing; the lock it waits on does.
        let t = tree(vec![
            thread(10, 11, "conlab-run-threa", idle(60, Wait::Lock)),
            thread(10, 12, "conlab-thread-0", idle(50, Wait::Sleep)),
            thread(10, 13, "conlab-thread-1", idle(10, Wait::Io)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (2, 3));
        assert_eq!(s.lock, 0.0);
        assert!((s.sleep - 0.49975).abs() < 1e-9, "{s:?}");
        assert!((s.io - 0.49995).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn many_threads_taking_turns_for_a_gil_still_compute() {
        // 40 threads on one GIL: each on a CPU 2.5% of its time, the rest on the lock.
        let mut threads: Vec<ThreadTotal> = (0..40)
            .map(|i| {
                let s = Split::of_interval(2_500_000, 0, 100 * MS, Some(Wait::Lock), true);
                thread(10, 100 + i, "conlab-thread", s)
            })
            .collect();
        threads.push(thread(10, 11, "conlab-run-threa", idle(20, Wait::Lock)));
        let s = KernelShare::of(&tree(threads), 10).expect("a share");
        assert_eq!((s.threads_counted, s.threads_seen), (40, 41));
        assert!((s.lock - 0.975).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn waiting_work_where_everything_waits_on_locks_falls_back_to_the_cpu() {
        let t = tree(vec![
            thread(10, 11, "conlab-run-threa", idle(1, Wait::Lock)),
            thread(10, 12, "conlab-thread-0", idle(500, Wait::Lock)),
        ]);
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!(s.threads_counted, 1);
    }

    #[test]
    fn no_run_thread_no_share() {
        let t = tree(vec![thread(10, 10, "conlab", split(100, Wait::Lock))]);
        assert_eq!(KernelShare::of(&t, 10), None);
        assert_eq!(KernelShare::of(&TreeTotals::default(), 10), None);
    }

    #[test]
    fn under_a_quota_throttled_time_is_its_own_share() {
        let mut held = split(30, Wait::Lock);
        // 60 ms of queue time, 40 of them the quota's.
        held.lock -= 60 * MS;
        held.runnable = 20 * MS;
        held.throttled = 40 * MS;
        let mut t = tree(vec![thread(10, 11, "conlab-run-seque", held)]);
        // Without a quota seen, no throttled share (and the JSON has no key).
        let s = KernelShare::of(&t, 10).expect("a share");
        assert_eq!(s.throttled, None);
        assert!(
            serde_json::to_value(s)
                .expect("json")
                .get("throttled")
                .is_none()
        );
        t.quota = true;
        let s = KernelShare::of(&t, 10).expect("a share");
        assert!(s.throttled.is_some_and(|t| (t - 0.4).abs() < 1e-9), "{s:?}");
        assert!((s.runnable - 0.2).abs() < 1e-9, "{s:?}");
        let sum = s.on_cpu + s.runnable + s.throttled.unwrap_or(0.0) + s.lock + s.io + s.sleep;
        assert!((sum - 1.0).abs() < 1e-9);
        // Merged with a window without a quota: its throttled share counts as none.
        let m = s.merged(&KernelShare {
            thread_s: s.thread_s,
            on_cpu: 1.0,
            ..Default::default()
        });
        assert!(m.throttled.is_some_and(|t| (t - 0.2).abs() < 1e-9), "{m:?}");
    }

    #[test]
    fn windows_merge_weighted_by_thread_time() {
        let a = KernelShare {
            on_cpu: 1.0,
            thread_s: 3.0,
            threads_counted: 2,
            ..Default::default()
        };
        let b = KernelShare {
            runnable: 1.0,
            thread_s: 1.0,
            threads_counted: 1,
            ..Default::default()
        };
        let m = a.merged(&b);
        assert_eq!((m.on_cpu, m.runnable, m.thread_s), (0.75, 0.25, 4.0));
        assert_eq!(m.threads_counted, 2);
    }
}
