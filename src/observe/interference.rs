//! Interference: what other programs took from a run. Two figures no root is needed for:
//! the run's working threads' time ready to run but not running (the kernel's run-queue
//! delay, `schedstat`'s second field, summed by the sampler), and the CPU other programs
//! used meanwhile (`/proc/stat`'s busy time minus conlab's own tree). A verdict reads
//! them to say whether a wall-time ratio can be trusted.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::KernelShare;
use crate::sys::cpu::{machine_busy_s, own_cpu};

/// What other programs took from one window of runs (one model's, or several merged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Interference {
    /// Wall time watched, in seconds.
    pub wall_s: f64,
    /// The run's working threads' time runnable but not on a CPU, in thread-seconds,
    /// throttled time included (`None`: the kernel's view was not sampled).
    pub runqueue_s: Option<f64>,
    /// That as a share of the working threads' time.
    pub runqueue_share: Option<f64>,
    /// CPU-seconds other programs used meanwhile (`None`: no `/proc/stat`).
    pub others_cpu_s: Option<f64>,
    /// That per wall-second: the cores other programs kept busy on average.
    pub others_cores: Option<f64>,
    /// Time conlab's cgroup was throttled by its CPU quota, in seconds: its threads were
    /// ready to run but the quota said no (`None`: no quota).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled_s: Option<f64>,
    /// Enforcement periods that ran out of quota, of `periods` with work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled_periods: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periods: Option<u64>,
    #[serde(skip)]
    thread_s: f64,
}

impl Interference {
    /// Fold a window's wall time, other programs' CPU and the kernel's view together.
    pub fn of(wall_s: f64, others_cpu_s: Option<f64>, share: Option<&KernelShare>) -> Self {
        let mut i = Interference {
            wall_s,
            others_cpu_s: others_cpu_s.map(|o| o.max(0.0)),
            ..Default::default()
        };
        if let Some(s) = share {
            i.thread_s = s.thread_s;
            // The quota's share too: a verdict takes the cgroup's throttled time off it.
            i.runqueue_s = Some((s.runnable + s.throttled.unwrap_or(0.0)) * s.thread_s);
        }
        i.derive();
        i
    }

    fn derive(&mut self) {
        self.runqueue_share = self
            .runqueue_s
            .filter(|_| self.thread_s > 0.0)
            .map(|r| r / self.thread_s);
        self.others_cores = self
            .others_cpu_s
            .filter(|_| self.wall_s > 0.0)
            .map(|o| o / self.wall_s);
    }

    /// With the quota's throttling over the same window (`cpu.stat`, before and after).
    pub fn with_throttle(mut self, t: Option<crate::sys::cgroup::Throttle>) -> Self {
        if let Some(t) = t {
            self.throttled_s = Some(t.throttled_us as f64 / 1e6);
            self.throttled_periods = Some(t.throttled_periods);
            self.periods = Some(t.periods);
        }
        self
    }

    /// Add another window (the same model's next repeat).
    pub fn merge(&mut self, other: &Interference) {
        let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.wall_s += other.wall_s;
        self.thread_s += other.thread_s;
        self.runqueue_s = add(self.runqueue_s, other.runqueue_s);
        self.others_cpu_s = add(self.others_cpu_s, other.others_cpu_s);
        self.throttled_s = add(self.throttled_s, other.throttled_s);
        let addn = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.throttled_periods = addn(self.throttled_periods, other.throttled_periods);
        self.periods = addn(self.periods, other.periods);
        self.derive();
    }
}

/// The machine's and conlab's CPU counters at the start of a window.
#[derive(Clone, Copy, Debug)]
pub struct MachineWatch {
    t0: Instant,
    machine0: Option<f64>,
    own0: Duration,
    /// The quota's throttling counters (`None`: no quota).
    throttle0: Option<crate::sys::cgroup::Throttle>,
}

impl MachineWatch {
    pub fn begin() -> Self {
        MachineWatch {
            t0: Instant::now(),
            machine0: machine_busy_s(),
            own0: own_cpu(),
            throttle0: crate::sys::cgroup::throttle(),
        }
    }

    /// How much the CPU quota throttled conlab's cgroup since `begin` (`None`: no quota).
    pub fn throttled(&self) -> Option<crate::sys::cgroup::Throttle> {
        let now = crate::sys::cgroup::throttle()?;
        Some(self.throttle0?.since(&now))
    }

    /// (wall seconds since `begin`, CPU-seconds other programs used meanwhile). conlab's
    /// own tree counts its reaped children: end a window after the run's workers are
    /// reaped. `unreaped` is the run's CPU that no `wait()` of conlab's collected (a
    /// forkserver's pool workers): conlab's too, not other programs'.
    pub fn end(&self, unreaped: Duration) -> (f64, Option<f64>) {
        let wall = self.t0.elapsed().as_secs_f64();
        let own = (own_cpu().saturating_sub(self.own0) + unreaped).as_secs_f64();
        let others = self
            .machine0
            .zip(machine_busy_s())
            .map(|(a, b)| (b - a - own).max(0.0));
        (wall, others)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share(runnable: f64, thread_s: f64) -> KernelShare {
        KernelShare {
            on_cpu: 1.0 - runnable,
            runnable,
            thread_s,
            ..Default::default()
        }
    }

    #[test]
    fn figures_and_shares() {
        let i = Interference::of(2.0, Some(3.0), Some(&share(0.25, 4.0)));
        assert_eq!(i.runqueue_s, Some(1.0));
        assert_eq!(i.runqueue_share, Some(0.25));
        assert_eq!(i.others_cores, Some(1.5));
        let none = Interference::of(2.0, None, None);
        assert_eq!((none.runqueue_share, none.others_cores), (None, None));
        assert_eq!(
            Interference::of(1.0, Some(-0.5), None).others_cpu_s,
            Some(0.0)
        );
    }

    #[test]
    fn repeats_merge_by_adding_time() {
        let mut a = Interference::of(1.0, Some(1.0), Some(&share(0.5, 1.0)));
        a.merge(&Interference::of(3.0, Some(0.0), Some(&share(0.0, 3.0))));
        assert_eq!(a.wall_s, 4.0);
        assert_eq!(a.runqueue_s, Some(0.5));
        assert_eq!(a.runqueue_share, Some(0.5 / 4.0));
        assert_eq!(a.others_cores, Some(0.25));
        assert_eq!(a.throttled_s, None, "no quota: no throttling figure");
    }

    #[test]
    fn throttling_adds_up_over_repeats() {
        let t = |us, n| crate::sys::cgroup::Throttle {
            periods: 10,
            throttled_periods: n,
            throttled_us: us,
        };
        let mut a = Interference::of(1.0, None, None).with_throttle(Some(t(250_000, 3)));
        a.merge(&Interference::of(1.0, None, None).with_throttle(Some(t(500_000, 5))));
        assert_eq!(a.throttled_s, Some(0.75));
        assert_eq!((a.throttled_periods, a.periods), (Some(8), Some(20)));
    }

    #[test]
    fn cpu_no_wait_of_ours_collected_is_not_other_programs() {
        let w = MachineWatch::begin();
        // A run whose unreaped workers used more CPU than the machine could have given
        // meanwhile: none of the window is left for other programs.
        if let (_, Some(others)) = w.end(Duration::from_secs(1_000_000)) {
            assert_eq!(others, 0.0);
        }
    }

    #[test]
    fn a_window_measures_wall_and_others() {
        let w = MachineWatch::begin();
        let (wall, others) = w.end(Duration::ZERO);
        assert!(wall >= 0.0);
        if let Some(o) = others {
            assert!(o >= 0.0);
        }
    }
}
