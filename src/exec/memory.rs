//! Memory and threads per run, measured: a named sampler thread reads `/proc/self/status`
//! (VmRSS, Threads) every 10 ms during the run, plus the same of each child process (the
//! process pool's workers, found by scanning /proc for our children every 100 ms). The
//! peak is the largest sum seen. VmHWM is not used: it cannot be reset between runs of one
//! process, and getrusage's maxrss has the same problem. A peak shorter than 10 ms can be
//! missed; the sampler itself is one of the threads counted (in every model alike).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use crate::core::MemoryStats;

/// How often the sampler reads.
const EVERY: Duration = Duration::from_millis(10);
/// How often it looks for new child processes.
const CHILDREN_EVERY: Duration = Duration::from_millis(100);

/// Resident bytes and threads of one process, from its `status` file.
pub fn read_status(pid: Option<u32>) -> Option<(u64, u64)> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    parse_status(&std::fs::read_to_string(path).ok()?)
}

/// (VmRSS in bytes, Threads) from a `/proc/PID/status` text.
pub fn parse_status(text: &str) -> Option<(u64, u64)> {
    let mut rss = None;
    let mut threads = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("VmRSS:") {
            rss = v.trim().trim_end_matches("kB").trim().parse::<u64>().ok();
        } else if let Some(v) = line.strip_prefix("Threads:") {
            threads = v.trim().parse::<u64>().ok();
        }
    }
    // A zombie has no VmRSS: it holds no memory.
    Some((rss.unwrap_or(0) * 1024, threads?))
}

/// This process's descendants (its worker processes, and theirs: a Python driver's
/// pool), from /proc; not the guard, which is conlab's but no run's.
fn children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !crate::sys::guard::is_guard(*pid))
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parent_of(&stat)?))
        })
        .collect();
    descendants(me, &parents)
}

/// Every pid below `root` in a (pid, parent) list.
fn descendants(root: u32, parents: &[(u32, u32)]) -> Vec<u32> {
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

/// The parent pid from a `/proc/PID/stat` line (the field after the `(comm)`).
fn parent_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Samples until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<MemoryStats>>,
}

impl Sampler {
    /// Start sampling now (no sampler where /proc cannot be read).
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = read_status(None).and_then(|(start_rss, _)| {
            let flag = stop.clone();
            std::thread::Builder::new()
                .name("conlab-memory".into())
                .spawn(move || sample_until(&flag, start_rss))
                .ok()
        });
        Sampler { stop, handle }
    }

    /// Stop and report the peaks (`None` without /proc).
    pub fn finish(mut self) -> Option<MemoryStats> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take()?.join().ok()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn sample_until(stop: &AtomicBool, start_rss: u64) -> MemoryStats {
    let mut stats = MemoryStats {
        start_rss_bytes: start_rss,
        ..Default::default()
    };
    let mut kids = Vec::new();
    let mut kids_at: Option<Instant> = None;
    loop {
        let last = stop.load(Ordering::Relaxed);
        if kids_at.is_none_or(|t| t.elapsed() >= CHILDREN_EVERY) {
            kids = children();
            kids_at = Some(Instant::now());
        }
        if let Some((rss, threads)) = read_status(None) {
            let (mut rss, mut threads, mut procs) = (rss, threads, 0);
            for &k in &kids {
                if let Some((r, t)) = read_status(Some(k)) {
                    rss += r;
                    threads += t;
                    procs += 1;
                }
            }
            stats.peak_rss_bytes = stats.peak_rss_bytes.max(rss);
            stats.peak_threads = stats.peak_threads.max(threads);
            stats.peak_processes = stats.peak_processes.max(procs);
            stats.samples += 1;
        }
        if last {
            return stats;
        }
        std::thread::sleep(EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let text = "Name:\tconlab\nVmHWM:\t  9000 kB\nVmRSS:\t  2048 kB\nThreads:\t7\n";
        assert_eq!(parse_status(text), Some((2048 * 1024, 7)));
        assert_eq!(parse_status("Name:\tx\n"), None);
        assert_eq!(parent_of("42 (a (b) c) S 17 42 42 0"), Some(17));
        let tree = [(2, 1), (3, 2), (4, 9), (5, 3)];
        assert_eq!(descendants(1, &tree), vec![2, 3, 5]);
    }

    #[test]
    fn sees_a_thread_started_during_the_run() {
        let s = Sampler::start();
        let before = read_status(None).map(|(_, t)| t).unwrap_or(0);
        let (tx, rx) = crossbeam_channel::bounded::<()>(0);
        let (seen_tx, seen_rx) = crossbeam_channel::bounded::<()>(0);
        let h = std::thread::spawn(move || {
            let _ = seen_tx.send(());
            let _ = rx.recv();
        });
        seen_rx.recv().expect("thread up");
        // Hold the thread until the sampler has read at least once more.
        let extra = std::thread::spawn(move || {
            let t0 = Instant::now();
            while t0.elapsed() < EVERY * 5 {
                std::thread::yield_now();
            }
        });
        extra.join().expect("joins");
        drop(tx);
        h.join().expect("joins");
        let stats = s.finish().expect("linux has /proc");
        assert!(stats.peak_threads > before, "{stats:?} vs {before}");
        assert!(stats.peak_rss_bytes > 0 && stats.samples >= 2);
    }
}
