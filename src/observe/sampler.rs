//! The kernel sampler thread: a [`Probe`] read every `every` on a named thread, each
//! sample sent on the one channel (like the CPU monitor). It stops when its send fails,
//! when the tree is gone, or when told to — then after one last sample, so nothing the
//! program did before it exited is lost. It keeps to a share of one core (see
//! [`super::budget`]): each sample says what it cost. Under a CPU quota it also reads the
//! cgroup's throttled time each sample ([`super::throttle`]).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Sender};

use super::budget::{self, Budget};
use super::throttle::QuotaCounter;
use super::{KernelSample, Probe};

/// The running sampler: [`Sampler::finish`] takes a last sample and stops it.
pub struct Sampler {
    stop: Option<Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Sample `probe` every `every` (stretched to stay within the default share of one
    /// core, [`budget::DEFAULT_SHARE`]), sending `wrap(sample)` on `tx`.
    pub fn spawn<T: Send + 'static>(
        probe: Probe,
        every: Duration,
        tx: Sender<T>,
        wrap: fn(KernelSample) -> T,
    ) -> std::io::Result<Sampler> {
        Sampler::spawn_within(probe, every, Some(budget::DEFAULT_SHARE), tx, wrap)
    }

    /// Sample `probe` every `every`, using at most `share` of one core (`None`: no
    /// limit); each sample carries its own CPU cost and its interval.
    pub fn spawn_within<T: Send + 'static>(
        mut probe: Probe,
        every: Duration,
        share: Option<f64>,
        tx: Sender<T>,
        wrap: fn(KernelSample) -> T,
    ) -> std::io::Result<Sampler> {
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
        let handle = std::thread::Builder::new()
            .name("conlab-observe".into())
            .spawn(move || {
                let mut budget = Budget::new(every.max(Duration::from_micros(100)), share);
                // Under a CPU quota, each sample also shares out the cgroup's throttled
                // time (one small file; its cost is in the first sample's).
                let mut quota = QuotaCounter::live_for(probe.root());
                let mut read = |probe: &mut Probe, last: bool| {
                    let now = Instant::now();
                    let mut s = if last {
                        probe.sample_last(now)
                    } else {
                        probe.sample(now)
                    };
                    if let Some(q) = quota.as_mut() {
                        q.apply(&mut s);
                    }
                    s
                };
                let mut cpu = budget::thread_cpu();
                // What this sample cost: the sampler's CPU since the last one (its wake-up,
                // the reads and the send).
                let mut costed = |mut s: KernelSample, budget: &mut Budget| {
                    let now = budget::thread_cpu();
                    let cost = match (cpu, now) {
                        (Some(a), Some(b)) => b.saturating_sub(a),
                        _ => Duration::ZERO,
                    };
                    cpu = now;
                    s.cost_ns = cost.as_nanos() as u64;
                    s.planned_step = budget.step();
                    budget.after(cost);
                    s
                };
                let mut next = Instant::now();
                loop {
                    let sample = costed(read(&mut probe, false), &mut budget);
                    if tx.send(wrap(sample)).is_err() || probe.is_empty() {
                        return;
                    }
                    let every = budget.interval();
                    next += every;
                    let now = Instant::now();
                    if next < now {
                        // Fell behind (a busy machine): skip the missed ticks, keep the phase.
                        let behind = (now - next).as_nanos() / every.as_nanos() + 1;
                        next += every * behind as u32;
                    }
                    match stop_rx.recv_timeout(next - now) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            let last = costed(read(&mut probe, true), &mut budget);
                            let _ = tx.send(wrap(last));
                            return;
                        }
                    }
                }
            })?;
        Ok(Sampler {
            stop: Some(stop_tx),
            handle: Some(handle),
        })
    }

    /// Take one last sample and stop; returns when the thread has exited (so every
    /// sample it sent is already in the channel).
    pub fn finish(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.try_send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::TreeEvent;

    #[test]
    fn samples_this_process_and_stops_on_finish() {
        if crate::observe::check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let me = std::process::id();
        let probe = Probe::new(me, false, Instant::now()).expect("probe of myself");
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut s = Sampler::spawn(probe, Duration::from_millis(1), tx, |k| k).expect("spawn");
        let first = rx.recv().expect("a sample");
        assert!(
            first
                .events
                .iter()
                .any(|e| matches!(e, TreeEvent::ProcessBorn { pid, .. } if *pid == me))
        );
        assert!(first.threads.iter().any(|t| t.tid == me));
        s.finish();
        // The thread has exited: the channel disconnects once drained.
        while rx.recv().is_ok() {}
    }

    #[test]
    fn stops_when_the_receiver_is_gone() {
        if crate::observe::check_proc().is_err() {
            eprintln!("skipped: /proc unreadable here");
            return;
        }
        let probe = Probe::new(std::process::id(), false, Instant::now()).expect("probe");
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut s = Sampler::spawn(probe, Duration::from_millis(1), tx, |k| k).expect("spawn");
        rx.recv().expect("a sample");
        drop(rx);
        s.finish();
        assert!(s.handle.is_none());
    }
}
