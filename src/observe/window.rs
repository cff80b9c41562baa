//! Watching conlab's own run one window at a time: [`Observer::begin`] before a run,
//! [`Observer::end`] after it gives what the kernel saw ([`Seen`]): the working threads'
//! [`KernelShare`] and how many of the run's threads were on a CPU at once
//! ([`Concurrency`]). The seam `compare` measures through ([`OwnTree`] samples `/proc`;
//! tests pass a fake).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::concurrency::Concurrency;
use super::run_threads::is_run_thread;
use super::sampler::Sampler;
use super::share::KernelShare;
use super::{KernelSample, Probe, TreeTotals};

/// What the kernel saw of one window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// The working threads' shares (`None`: no run thread was seen for any time).
    pub share: Option<KernelShare>,
    /// The run's threads on a CPU at once, sample by sample.
    pub concurrency: Concurrency,
}

impl Seen {
    /// Add the next window of the same model.
    pub fn merge(&mut self, other: Seen) {
        self.concurrency.merge(&other.concurrency);
        self.share = match (self.share.take(), other.share) {
            (Some(a), Some(b)) => Some(a.merged(&b)),
            (a, b) => a.or(b),
        };
    }
}

/// Watches a stretch of time (a model's runs) and says what the kernel saw.
pub trait Observer {
    /// Start watching; `Err` says why nothing can be seen (no `/proc`...).
    fn begin(&mut self) -> Result<(), String>;
    /// Stop watching: what the kernel saw since `begin` (`None` if watching failed).
    fn end(&mut self) -> Option<Seen>;
}

/// Samples conlab's own process tree (its threads, worker processes, the interpreter)
/// every `every` on the sampler thread; a fold thread adds the samples up as they come,
/// so memory stays bounded however long a model runs.
pub struct OwnTree {
    every: Duration,
    own_pid: u32,
    live: Option<(Sampler, JoinHandle<(TreeTotals, Concurrency)>)>,
}

impl OwnTree {
    pub fn new(every: Duration) -> Self {
        OwnTree {
            every,
            own_pid: std::process::id(),
            live: None,
        }
    }
}

impl Observer for OwnTree {
    fn begin(&mut self) -> Result<(), String> {
        self.end();
        // Attached (not from birth): the threads already running count from now.
        let probe = Probe::new(self.own_pid, false, Instant::now()).map_err(|e| e.to_string())?;
        let (tx, rx) = crossbeam_channel::bounded::<KernelSample>(256);
        let own_pid = self.own_pid;
        let fold = std::thread::Builder::new()
            .name("conlab-kernel-fold".into())
            .spawn(move || {
                let mut totals = TreeTotals::default();
                let mut at_once = Concurrency::default();
                for s in rx {
                    totals.apply(&s);
                    at_once.add(run_cpu_ns(&totals, &s, own_pid), s.interval_ns);
                }
                (totals, at_once)
            })
            .map_err(|e| format!("could not start the kernel sampler: {e}"))?;
        let sampler = Sampler::spawn(probe, self.every, tx, |k| k)
            .map_err(|e| format!("could not start the kernel sampler: {e}"))?;
        self.live = Some((sampler, fold));
        Ok(())
    }

    fn end(&mut self) -> Option<Seen> {
        let (mut sampler, fold) = self.live.take()?;
        // Its last sample sent, the sampler's thread exits and drops the sender: the fold
        // thread drains the channel and returns.
        sampler.finish();
        drop(sampler);
        let (totals, concurrency) = fold.join().ok()?;
        Some(Seen {
            share: KernelShare::of(&totals, self.own_pid),
            concurrency,
        })
    }
}

/// The run's threads' time on a CPU in sample `s` (names from `totals`, which has seen
/// the sample's births).
fn run_cpu_ns(totals: &TreeTotals, s: &KernelSample, own_pid: u32) -> u64 {
    s.threads
        .iter()
        .filter(|t| {
            totals
                .threads
                .get(&t.tid)
                .is_some_and(|tt| is_run_thread(own_pid, t.pid, &tt.name))
        })
        .map(|t| t.split.on_cpu)
        .sum()
}

impl Drop for OwnTree {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_busy_run_thread_is_seen_on_a_cpu() {
        if crate::observe::check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let mut o = OwnTree::new(Duration::from_millis(2));
        o.begin().expect("begin");
        // A pool thread that computes until the kernel has charged it 300 ms of CPU (other
        // tests may run threads of their own meanwhile: this one computes, so it counts):
        // long enough that a sampler stretched by a loaded machine (CI's) still finds it —
        // at 50 ms it was missed there now and then.
        std::thread::Builder::new()
            .name("conlab-thread-test".into())
            .spawn(|| {
                let t = cpu_time::ThreadTime::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(300) {
                    for i in 0..10_000u64 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                    }
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
        let seen = o.end().expect("watched");
        let s = seen.share.expect("the run thread was seen");
        assert!(s.threads_counted >= 1, "{s:?}");
        assert!(s.on_cpu > 0.0, "{s:?}");
        assert!(seen.concurrency.samples > 0);
        assert!(
            seen.concurrency.share_at_least(1) > 0.0,
            "{:?}",
            seen.concurrency
        );
        assert_eq!(o.end(), None, "ended once");
    }
}
