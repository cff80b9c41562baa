//! A witness to one run: conlab's own tree sampled from `/proc` while the run goes (what
//! its threads waited for, how many were on a CPU at once) and the machine's counters
//! around it (what other programs took). The dashboard's run job and `compare` read the
//! same figures, so a verdict means the same everywhere.

use std::time::Duration;

use serde::Serialize;

use super::Interference;
use super::concurrency::Concurrency;
use super::interference::MachineWatch;
use super::window::{Observer, OwnTree};

/// What a witness saw of one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunWitness {
    pub interference: Interference,
    /// Empty (no samples) where the kernel's view could not be read.
    pub concurrency: Concurrency,
    /// The working threads' shares, where the kernel's view was read.
    pub share: Option<super::KernelShare>,
}

/// Watching a run: start it right before the run, end it right after.
pub struct Witness {
    tree: Option<OwnTree>,
    machine: MachineWatch,
}

impl Witness {
    /// Start watching, sampling the kernel's view every `every` (where `/proc` allows).
    pub fn begin(every: Duration) -> Self {
        let mut tree = OwnTree::new(every);
        let tree = tree.begin().is_ok().then_some(tree);
        Witness {
            tree,
            machine: MachineWatch::begin(),
        }
    }

    /// Stop watching a run that took `elapsed_s` of wall time, `unreaped` of its CPU never
    /// reaching conlab through `wait()` (see [`MachineWatch::end`]).
    pub fn end(mut self, elapsed_s: f64, unreaped: Duration) -> RunWitness {
        let seen = self.tree.as_mut().and_then(|t| t.end());
        let (wall, others) = self.machine.end(unreaped);
        let share = seen.as_ref().and_then(|s| s.share.as_ref());
        RunWitness {
            interference: Interference::of(elapsed_s.min(wall).max(0.0), others, share)
                .with_throttle(self.machine.throttled()),
            share: share.copied(),
            concurrency: seen.map(|s| s.concurrency).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witness_sees_a_computing_run_thread() {
        if crate::observe::check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let w = Witness::begin(Duration::from_millis(2));
        let t0 = std::time::Instant::now();
        // 300 ms of CPU: a sampler stretched by a loaded machine still finds the thread.
        std::thread::Builder::new()
            .name("conlab-run-test".into())
            .spawn(|| {
                let t = cpu_time::ThreadTime::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(300) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
        let seen = w.end(t0.elapsed().as_secs_f64(), Duration::ZERO);
        assert!(seen.interference.wall_s > 0.0);
        assert!(seen.concurrency.samples > 0, "{seen:?}");
        assert!(seen.interference.runqueue_s.is_some(), "{seen:?}");
    }
}
