//! The CPU panel's state: the latest sample and a short history per core; and a run's
//! own CPU trace, on the run's time axis.

use std::collections::VecDeque;

use crate::observe::monitor::CpuSample;

/// Samples kept per core (64 × 250 ms = 16 s).
pub const HISTORY: usize = 64;

#[derive(Clone, Debug, Default)]
pub struct CpuState {
    /// The latest sample (empty until the first one arrives).
    pub last: CpuSample,
    /// Per core, usage 0–100 oldest first.
    pub history: Vec<VecDeque<u8>>,
    /// conlab's tree CPU (% of one core), oldest first.
    pub tree_history: VecDeque<u16>,
    /// The CPU conlab is given (a cgroup's quota and cpuset), when it was read.
    pub given: Option<crate::core::CpusGiven>,
}

impl CpuState {
    pub fn push(&mut self, s: CpuSample) {
        if self.history.len() != s.cores.len() {
            self.history = vec![VecDeque::with_capacity(HISTORY); s.cores.len()];
        }
        for (h, &u) in self.history.iter_mut().zip(&s.cores) {
            if h.len() == HISTORY {
                h.pop_front();
            }
            h.push_back(u.clamp(0.0, 100.0).round() as u8);
        }
        if self.tree_history.len() == HISTORY {
            self.tree_history.pop_front();
        }
        self.tree_history
            .push_back(s.tree_cpu.clamp(0.0, 60_000.0).round() as u16);
        self.last = s;
    }

    pub fn cores(&self) -> usize {
        self.last.cores.len()
    }

    /// Average usage over every core, 0–100.
    pub fn average(&self) -> f32 {
        let c = &self.last.cores;
        if c.is_empty() {
            0.0
        } else {
            c.iter().sum::<f32>() / c.len() as f32
        }
    }
}

/// Samples a run's CPU trace keeps at most (then every other one is dropped: the trace
/// covers the whole run at half the resolution, memory stays bounded).
pub const TRACE_MAX: usize = 512;

/// The machine's CPU during one run: (µs since the run started, all cores' average busy
/// 0–100) per sample, oldest first. Each sample measures the interval that ends at it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CpuTrace {
    pub samples: Vec<(u64, u8)>,
}

impl CpuTrace {
    pub fn push(&mut self, at_us: u64, s: &CpuSample) {
        if s.cores.is_empty() {
            return;
        }
        if self.samples.len() == TRACE_MAX {
            let kept: Vec<_> = self.samples.iter().copied().skip(1).step_by(2).collect();
            self.samples = kept;
        }
        let avg = s.cores.iter().sum::<f32>() / s.cores.len() as f32;
        self.samples
            .push((at_us, avg.clamp(0.0, 100.0).round() as u8));
    }

    /// The busy % measured over the interval containing `t_us` (the first sample at or
    /// after it); `None` past the last sample.
    pub fn at(&self, t_us: u64) -> Option<u8> {
        let i = self.samples.partition_point(|&(at, _)| at < t_us);
        self.samples.get(i).map(|&(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_follows_core_count() {
        let mut c = CpuState::default();
        for i in 0..200 {
            c.push(CpuSample {
                cores: vec![i as f32 % 100.0, 50.0],
                ..CpuSample::default()
            });
        }
        assert_eq!(c.history.len(), 2);
        assert_eq!(c.history[0].len(), HISTORY);
        assert_eq!(c.average(), (199.0 % 100.0 + 50.0) / 2.0);
        c.push(CpuSample {
            cores: vec![10.0; 128],
            ..CpuSample::default()
        });
        assert_eq!(c.history.len(), 128);
        assert_eq!(c.history[5].len(), 1);
    }

    #[test]
    fn a_run_trace_stays_bounded_and_answers_by_interval() {
        let s = |v: f32| CpuSample {
            cores: vec![v, 0.0],
            ..CpuSample::default()
        };
        let mut t = CpuTrace::default();
        t.push(250, &s(100.0));
        t.push(500, &s(40.0));
        assert_eq!(t.at(0), Some(50));
        assert_eq!(t.at(250), Some(50));
        assert_eq!(t.at(251), Some(20));
        assert_eq!(t.at(501), None);
        for i in 0..10_000u64 {
            t.push(1_000 + i, &s(0.0));
        }
        assert!(t.samples.len() <= TRACE_MAX);
        assert_eq!(t.samples.last().map(|x| x.0), Some(10_999));
        assert!(t.samples.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
