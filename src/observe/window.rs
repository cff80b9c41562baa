//! Watching conlab's own run one window at a time: [`Observer::begin`] before a model's
//! runs, [`Observer::end`] after them gives the working threads' [`KernelShare`]. The
//! seam `compare` measures through ([`OwnTree`] samples `/proc`; tests pass a fake).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::sampler::Sampler;
use super::share::KernelShare;
use super::{KernelSample, Probe, TreeTotals};

/// Watches a stretch of time (a model's runs) and says what the kernel saw.
pub trait Observer {
    /// Start watching; `Err` says why nothing can be seen (no `/proc`...).
    fn begin(&mut self) -> Result<(), String>;
    /// Stop watching: the working threads' shares since `begin` (`None` if it failed or
    /// no run thread was seen).
    fn end(&mut self) -> Option<KernelShare>;
}

/// Samples conlab's own process tree (its threads, worker processes, the interpreter)
/// every `every` on the sampler thread; a fold thread adds the samples up as they come,
/// so memory stays bounded however long a model runs.
pub struct OwnTree {
    every: Duration,
    own_pid: u32,
    live: Option<(Sampler, JoinHandle<TreeTotals>)>,
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
        let fold = std::thread::Builder::new()
            .name("conlab-kernel-fold".into())
            .spawn(move || {
                let mut totals = TreeTotals::default();
                for s in rx {
                    totals.apply(&s);
                }
                totals
            })
            .map_err(|e| format!("could not start the kernel sampler: {e}"))?;
        let sampler = Sampler::spawn(probe, self.every, tx, |k| k)
            .map_err(|e| format!("could not start the kernel sampler: {e}"))?;
        self.live = Some((sampler, fold));
        Ok(())
    }

    fn end(&mut self) -> Option<KernelShare> {
        let (mut sampler, fold) = self.live.take()?;
        // Its last sample sent, the sampler's thread exits and drops the sender: the fold
        // thread drains the channel and returns.
        sampler.finish();
        drop(sampler);
        let totals = fold.join().ok()?;
        KernelShare::of(&totals, self.own_pid)
    }
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
        // A pool thread that computes until the kernel has charged it 50 ms of CPU (other
        // tests may run threads of their own meanwhile: this one computes, so it counts).
        std::thread::Builder::new()
            .name("conlab-thread-test".into())
            .spawn(|| {
                let t = cpu_time::ThreadTime::now();
                let mut x = 0u64;
                while t.elapsed() < Duration::from_millis(50) {
                    for i in 0..10_000u64 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                    }
                }
            })
            .expect("spawn")
            .join()
            .expect("join");
        let s = o.end().expect("the run thread was seen");
        assert!(s.threads_counted >= 1, "{s:?}");
        assert!(s.on_cpu > 0.0, "{s:?}");
        assert_eq!(o.end(), None, "ended once");
    }
}
