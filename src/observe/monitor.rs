//! The CPU sampler: a named thread that measures per-core usage and conlab's own process
//! tree (itself and its worker processes) every 250 ms and sends it on the one channel.

use std::collections::HashSet;
use std::time::Duration;

use sysinfo::{CpuRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// How often the sampler measures (never below sysinfo's minimum).
pub const INTERVAL: Duration = Duration::from_millis(250);

/// One measurement of the machine and of conlab's process tree (recorded as JSON).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CpuSample {
    /// Usage of each logical core, 0–100.
    pub cores: Vec<f32>,
    /// conlab and its descendants: CPU in % of one core (can exceed 100).
    pub tree_cpu: f32,
    /// conlab and its descendants: resident memory in bytes.
    pub tree_mem: u64,
    /// Processes in the tree (conlab included).
    pub tree_procs: usize,
}

/// The sampling interval actually used.
pub fn interval() -> Duration {
    INTERVAL.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
}

/// The pids of `root`'s descendants, read from `/proc/<pid>/task/<tid>/children`
/// (cheap: no scan of every process).
fn descendants(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![root];
    let mut seen = HashSet::new();
    while let Some(pid) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let Ok(s) = std::fs::read_to_string(t.path().join("children")) else {
                continue;
            };
            for c in s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
                if seen.insert(c) {
                    out.push(c);
                    todo.push(c);
                }
            }
        }
    }
    out
}

/// Measures; keeps the state sysinfo needs to compute usage between two refreshes.
pub struct Sampler {
    sys: System,
    me: u32,
}

impl Sampler {
    pub fn new() -> Option<Self> {
        let mut sys = System::new().ok()?;
        sys.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        Some(Sampler {
            sys,
            me: std::process::id(),
        })
    }

    /// Refresh only CPU usage and the process tree, and read them.
    pub fn sample(&mut self) -> CpuSample {
        self.sys
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        let mut pids: Vec<Pid> = vec![Pid::from_u32(self.me)];
        pids.extend(descendants(self.me).into_iter().map(Pid::from_u32));
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::Some(&pids),
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .without_tasks(),
        );
        let (mut cpu, mut mem, mut n) = (0.0f32, 0u64, 0usize);
        for p in &pids {
            if let Some(proc_) = self.sys.process(*p) {
                cpu += proc_.cpu_usage();
                mem += proc_.memory();
                n += 1;
            }
        }
        CpuSample {
            cores: self.sys.cpus().iter().map(|c| c.usage()).collect(),
            tree_cpu: cpu,
            tree_mem: mem,
            tree_procs: n,
        }
    }
}

/// Start the sampler thread: it sends `wrap(sample)` every [`interval`] and exits when
/// the send fails (the dashboard is gone). The first measurement is thrown away (sysinfo
/// needs two refreshes to compute a usage).
pub fn spawn<T: Send + 'static>(
    tx: crossbeam_channel::Sender<T>,
    wrap: fn(CpuSample) -> T,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("conlab-monitor".into())
        .spawn(move || {
            let Some(mut sampler) = Sampler::new() else {
                return;
            };
            let _ = sampler.sample();
            loop {
                std::thread::sleep(interval());
                if tx.send(wrap(sampler.sample())).is_err() {
                    return;
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_respects_sysinfo_minimum() {
        assert!(interval() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
    }

    #[test]
    fn a_sample_names_every_core_and_this_process() {
        let mut s = Sampler::new().expect("sysinfo works here");
        let sample = s.sample();
        assert!(!sample.cores.is_empty());
        assert!(sample.tree_procs >= 1);
        assert!(sample.tree_mem > 0);
    }

    #[test]
    fn sampler_thread_exits_when_the_channel_closes() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let h = spawn(tx, |s| s).expect("spawn");
        let first = rx.recv().expect("a sample");
        assert!(!first.cores.is_empty());
        drop(rx);
        h.join().expect("exits cleanly");
    }
}
