//! The CPU panel's state: the latest sample and a short history per core.

use std::collections::VecDeque;

use crate::monitor::CpuSample;

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
}
