//! The threads that were already running when a run started (the dashboard's drawing,
//! input and sampling threads; a headless command's monitor): their CPU time during the
//! run is left out of the run's, so "cores busy" counts only the run's own threads and
//! worker processes. Read from `/proc/self/task/TID/schedstat` (on-CPU nanoseconds);
//! elsewhere nothing is left out.

use std::collections::HashMap;
use std::time::Duration;

/// On-CPU time of every thread of this process except the caller, when taken.
pub struct Bystanders {
    before: HashMap<u32, u64>,
}

/// `/proc/self/task/TID/schedstat`'s first field: nanoseconds on a CPU.
fn on_cpu_ns(tid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn tids() -> Vec<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

impl Bystanders {
    /// The other threads now, and their CPU so far.
    pub fn now() -> Self {
        let me = nix::unistd::gettid().as_raw() as u32;
        let before = tids()
            .into_iter()
            .filter(|t| *t != me)
            .filter_map(|t| Some((t, on_cpu_ns(t)?)))
            .collect();
        Bystanders { before }
    }

    /// CPU those threads used since [`Bystanders::now`] (a thread that ended meanwhile
    /// counts what it used until its last reading: nothing).
    pub fn cpu_since(&self) -> Duration {
        let ns: u64 = self
            .before
            .iter()
            .filter_map(|(tid, was)| Some(on_cpu_ns(*tid)?.saturating_sub(*was)))
            .sum();
        Duration::from_nanos(ns)
    }

    /// How many threads are left out.
    pub fn len(&self) -> usize {
        self.before.len()
    }

    pub fn is_empty(&self) -> bool {
        self.before.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A thread spinning before the snapshot is a bystander: its CPU is counted by
    /// `cpu_since`; the caller's own work is not.
    #[test]
    fn a_thread_that_was_already_running_is_left_out_and_the_caller_is_not() {
        if !std::path::Path::new("/proc/self/task").exists() {
            eprintln!("skipped: no /proc");
            return;
        }
        let stop = AtomicBool::new(false);
        let (tx, rx) = crossbeam_channel::bounded(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let _ = tx.send(());
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            rx.recv().expect("spinner started");
            let by = Bystanders::now();
            assert!(!by.is_empty());
            let me = nix::unistd::gettid().as_raw() as u32;
            assert!(!by.before.contains_key(&me), "the caller is the run");
            // The spinner burns CPU while the caller does until 20 ms of CPU went by.
            let t0 = cpu_time::ThreadTime::now();
            while t0.elapsed() < Duration::from_millis(20) {
                std::hint::spin_loop();
            }
            let got = by.cpu_since();
            stop.store(true, Ordering::Relaxed);
            assert!(got > Duration::ZERO, "the spinner's CPU is seen");
        });
    }
}
