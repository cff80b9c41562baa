//! How many of a run's threads were on a CPU at the same moment — structure that another
//! program's load cannot fake. Wall-time ratios move with the machine's load; "with the
//! GIL on, never more than one thread computed at a time" holds on any machine. Per
//! sample, the run's threads' CPU time over the sample's interval (a thread on a CPU the
//! whole interval counts one) is rounded to the nearest whole thread and counted.

use serde::Serialize;

/// The most threads at once the histogram tells apart; more land in the last bucket.
pub const MAX_AT_ONCE: usize = 64;

/// A share of samples below this is noise (a GIL hand-off caught mid-way, a start-up).
pub const NOISE: f64 = 0.02;

/// The histogram: `at_once[n]` samples saw `n` of the run's threads on a CPU at once.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Concurrency {
    pub at_once: Vec<u64>,
    pub samples: u64,
    /// The run's threads' CPU time over the sampled time: CPU-seconds per wall-second.
    pub cpu_per_wall: f64,
    #[serde(skip)]
    cpu_ns: u128,
    #[serde(skip)]
    wall_ns: u128,
}

impl Concurrency {
    /// One sample: the run's threads were on a CPU `cpu_ns` in all over `interval_ns`.
    pub fn add(&mut self, cpu_ns: u64, interval_ns: u64) {
        if interval_ns == 0 {
            return;
        }
        let n = ((cpu_ns as f64 / interval_ns as f64).round() as usize).min(MAX_AT_ONCE);
        if self.at_once.len() <= n {
            self.at_once.resize(n + 1, 0);
        }
        self.at_once[n] += 1;
        self.samples += 1;
        self.cpu_ns += u128::from(cpu_ns);
        self.wall_ns += u128::from(interval_ns);
        self.cpu_per_wall = self.cpu_ns as f64 / self.wall_ns as f64;
    }

    /// Add another window's samples (a model's repeats, interleaved with others).
    pub fn merge(&mut self, other: &Concurrency) {
        if self.at_once.len() < other.at_once.len() {
            self.at_once.resize(other.at_once.len(), 0);
        }
        for (a, b) in self.at_once.iter_mut().zip(&other.at_once) {
            *a += b;
        }
        self.samples += other.samples;
        self.cpu_ns += other.cpu_ns;
        self.wall_ns += other.wall_ns;
        self.cpu_per_wall = if self.wall_ns > 0 {
            self.cpu_ns as f64 / self.wall_ns as f64
        } else {
            0.0
        };
    }

    /// The share of samples with at least `n` threads on a CPU at once.
    pub fn share_at_least(&self, n: usize) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        let k: u64 = self.at_once.iter().skip(n).sum();
        k as f64 / self.samples as f64
    }

    /// The most threads seen on a CPU at once in more than [`NOISE`] of the samples.
    pub fn most(&self) -> usize {
        (0..self.at_once.len())
            .rev()
            .find(|&n| n > 0 && self.share_at_least(n) > NOISE)
            .unwrap_or(0)
    }

    /// "1 at once in 97% of samples, 0 in 3%": the buckets that hold 1% or more.
    pub fn describe(&self) -> String {
        if self.samples == 0 {
            return "not sampled".into();
        }
        let mut parts: Vec<(u64, String)> = self
            .at_once
            .iter()
            .enumerate()
            .filter(|(_, k)| **k * 100 >= self.samples)
            .map(|(n, k)| {
                (
                    *k,
                    format!("{n} in {:.0}%", *k as f64 * 100.0 / self.samples as f64),
                )
            })
            .collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
        let mut s: Vec<String> = parts.into_iter().map(|(_, p)| p).collect();
        if let Some(first) = s.first_mut() {
            *first = first.replacen(" in ", " at once in ", 1);
        }
        format!("{} of {} samples", s.join(", "), self.samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_each_sample_to_whole_threads() {
        let mut c = Concurrency::default();
        c.add(5_000_000, 5_000_000); // one thread all the interval
        c.add(5_100_000, 5_000_000); // a GIL hand-off blip: still one
        c.add(9_800_000, 5_000_000); // two at once
        c.add(0, 5_000_000);
        c.add(1, 0); // no interval: not a sample
        assert_eq!(c.at_once, vec![1, 2, 1]);
        assert_eq!(c.samples, 4);
        assert!((c.share_at_least(2) - 0.25).abs() < 1e-9);
        assert_eq!(c.most(), 2);
        assert!((c.cpu_per_wall - 0.995).abs() < 1e-3, "{}", c.cpu_per_wall);
    }

    #[test]
    fn noise_does_not_count_as_parallel() {
        let mut c = Concurrency::default();
        for _ in 0..99 {
            c.add(5_000_000, 5_000_000);
        }
        c.add(10_000_000, 5_000_000);
        assert_eq!(c.most(), 1, "1% at two is noise");
        assert!(
            c.describe().starts_with("1 at once in 99%"),
            "{}",
            c.describe()
        );
    }

    #[test]
    fn merged_windows_add_up() {
        let mut a = Concurrency::default();
        a.add(5_000_000, 5_000_000);
        let mut b = Concurrency::default();
        b.add(10_000_000, 5_000_000);
        b.add(10_000_000, 5_000_000);
        a.merge(&b);
        assert_eq!(a.at_once, vec![0, 1, 2]);
        assert_eq!(a.samples, 3);
        assert!((a.cpu_per_wall - 25.0 / 15.0).abs() < 1e-9);
        assert_eq!(Concurrency::default().describe(), "not sampled");
        assert_eq!(Concurrency::default().most(), 0);
    }
}
