//! The sampler's cost budget: the sampler measures its own CPU time for every sample and,
//! when reading a large, busy tree would cost more than its share of one core, samples
//! less often — in whole multiples of the asked interval — instead of disturbing what it
//! measures. Every change is visible: samples carry their cost and their interval, and
//! the screens say when the interval was stretched and why.

use std::time::Duration;

/// The default share of one core the sampler may use (1%).
pub const DEFAULT_SHARE: f64 = 0.01;
/// The interval never grows past this many times the asked one (1 s at 5 ms): enough
/// for the costliest tree seen (100 threads waking every 2 ms, about 8% of a core at
/// 200 Hz) to keep to 1%. Past that the cost is shown as it is.
pub const MAX_STRETCH: u32 = 200;
/// Weight of the newest sample's cost in the running average.
const NEW_WEIGHT: f64 = 0.2;
/// The interval shrinks again only when one step shorter would stay this far under the
/// share (so it does not flap between two steps).
const SHRINK_BELOW: f64 = 0.85;

/// Decides the interval until the next sample from what samples have cost.
#[derive(Clone, Debug)]
pub struct Budget {
    asked: Duration,
    /// Share of one core, `None`: no limit (always the asked interval).
    share: Option<f64>,
    /// Running average of one sample's CPU time, in ns.
    cost_ns: Option<f64>,
    /// The current interval, in multiples of `asked`.
    step: u32,
}

impl Budget {
    /// Sample every `asked`, using at most `share` of one core (`None`: no limit).
    pub fn new(asked: Duration, share: Option<f64>) -> Budget {
        Budget {
            asked,
            share: share.filter(|s| *s > 0.0),
            cost_ns: None,
            step: 1,
        }
    }

    /// A sample cost `cost` of the sampler's CPU (its wake-up included): the interval
    /// until the next one.
    pub fn after(&mut self, cost: Duration) -> Duration {
        let c = cost.as_nanos() as f64;
        let avg = match self.cost_ns {
            None => c,
            Some(a) => a + NEW_WEIGHT * (c - a),
        };
        self.cost_ns = Some(avg);
        if let Some(share) = self.share {
            let asked = self.asked.as_nanos().max(1) as f64;
            let share_at = |step: u32| avg / (asked * step as f64);
            while self.step < MAX_STRETCH && share_at(self.step) > share {
                self.step += 1;
            }
            while self.step > 1 && share_at(self.step - 1) < share * SHRINK_BELOW {
                self.step -= 1;
            }
        }
        self.interval()
    }

    /// The interval now.
    pub fn interval(&self) -> Duration {
        self.asked * self.step
    }

    /// The interval now, in multiples of the asked one.
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Whether the interval is longer than asked.
    pub fn stretched(&self) -> bool {
        self.step > 1
    }
}

/// CPU time the calling thread has used so far (`None` where the clock is unavailable).
pub fn thread_cpu() -> Option<Duration> {
    use nix::time::{ClockId, clock_gettime};
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(5);

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn a_cheap_tree_keeps_the_asked_interval() {
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        for _ in 0..50 {
            // 40 µs a sample every 5 ms is 0.8% of a core.
            assert_eq!(b.after(us(40)), MS);
        }
        assert!(!b.stretched());
    }

    #[test]
    fn a_costly_tree_stretches_to_the_share_in_whole_steps() {
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        let mut last = MS;
        for _ in 0..50 {
            last = b.after(us(400));
        }
        // 400 µs at 1% needs 40 ms: eight steps of 5 ms.
        assert_eq!(last, Duration::from_millis(40));
        assert!(b.stretched());
        // The cost per unit of time is now at or under the share.
        assert!(400e-6 / last.as_secs_f64() <= DEFAULT_SHARE);
    }

    #[test]
    fn it_shrinks_back_when_the_tree_quiets_without_flapping() {
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        for _ in 0..50 {
            b.after(us(400));
        }
        for _ in 0..100 {
            b.after(us(30));
        }
        assert_eq!(b.interval(), MS);
        // A cost right at the share of one step stays on that step.
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        let steps: Vec<Duration> = (0..100).map(|_| b.after(us(98))).collect();
        assert!(steps[20..].iter().all(|s| *s == Duration::from_millis(10)));
    }

    #[test]
    fn even_a_sample_costing_2_ms_keeps_to_the_share() {
        // A large tree read every 5 ms at 2 ms a sample is 40% of a core: the interval
        // must reach 200 ms. (Capped at 20 steps, 100 ms, it stayed at 2% — over.)
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        let mut last = MS;
        for _ in 0..100 {
            last = b.after(Duration::from_millis(2));
        }
        assert!(
            0.002 / last.as_secs_f64() <= DEFAULT_SHARE,
            "{last:?}: over the share"
        );
        assert_eq!(last, Duration::from_millis(200));
    }

    #[test]
    fn the_stretch_is_bounded_and_no_limit_means_no_stretch() {
        let mut b = Budget::new(MS, Some(DEFAULT_SHARE));
        for _ in 0..50 {
            b.after(Duration::from_millis(50));
        }
        assert_eq!(b.interval(), MS * MAX_STRETCH);
        let mut free = Budget::new(MS, None);
        assert_eq!(free.after(Duration::from_millis(50)), MS);
        let mut zero = Budget::new(MS, Some(0.0));
        assert_eq!(zero.after(Duration::from_millis(50)), MS);
    }

    #[test]
    fn the_thread_clock_moves_with_work() {
        let a = thread_cpu().expect("thread clock");
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x ^ i);
        }
        assert!(thread_cpu().expect("thread clock") > a);
    }
}
