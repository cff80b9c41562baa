//! Running totals per thread and per process: the seconds each spent on a CPU, runnable,
//! blocked on a lock, on I/O and asleep, with births and exits. Bounded: beyond
//! [`MAX_THREADS`] the oldest exited threads are dropped from the list (their process
//! keeps counting them).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{KernelSample, Split, TreeEvent};

/// Threads listed at most (live ones are always kept).
pub const MAX_THREADS: usize = 4096;

/// One thread's or one process's totals, in seconds (the JSON of `watch --json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    pub on_cpu_s: f64,
    pub runnable_s: f64,
    pub lock_s: f64,
    pub io_s: f64,
    pub sleep_s: f64,
    /// Runnable but held back by the CPU quota (out of the run-queue time; shared out
    /// from the cgroup's counter, [`super::throttle`]); only under a quota.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttled_s: Option<f64>,
}

impl From<&Split> for Totals {
    fn from(s: &Split) -> Self {
        Totals::of(s, false)
    }
}

impl Totals {
    /// `s` in seconds; `throttled_s` only under a CPU quota (`quota`).
    pub fn of(s: &Split, quota: bool) -> Self {
        let f = |ns: u64| ns as f64 / 1e9;
        Totals {
            on_cpu_s: f(s.on_cpu),
            runnable_s: f(s.runnable),
            lock_s: f(s.lock),
            io_s: f(s.io),
            sleep_s: f(s.sleep),
            throttled_s: quota.then(|| f(s.throttled)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ThreadTotal {
    pub pid: u32,
    pub tid: u32,
    pub name: String,
    pub split: Split,
    pub born_ns: u64,
    pub exited_ns: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProcessTotal {
    pub pid: u32,
    pub ppid: u32,
    pub cmd: String,
    pub split: Split,
    pub rss: u64,
    /// On-CPU nanoseconds in the last sample's interval, and that interval.
    pub last_on_cpu: u64,
    pub last_interval: u64,
    pub born_ns: u64,
    pub exited_ns: Option<u64>,
}

/// Why samples came less often than asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Longer {
    /// The sampler stretched its interval to keep to its budget.
    Budget,
    /// The sampler waited for a core (the machine is busy).
    Busy,
    Both,
    Unknown,
}

/// Everything a sample stream adds up to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeTotals {
    pub threads: BTreeMap<u32, ThreadTotal>,
    pub processes: BTreeMap<u32, ProcessTotal>,
    /// Time of the last sample.
    pub at_ns: u64,
    pub samples: u64,
    /// Exited threads dropped from `threads` to keep memory bounded.
    pub dropped_threads: u64,
    /// CPU time the sampler spent on all samples, in ns (0 where not measured).
    pub sampler_ns: u64,
    /// The last sample's interval, in ns.
    pub last_interval_ns: u64,
    /// The interval the sampler planned for the last sample, in multiples of the asked one
    /// (0: not known).
    pub last_planned_step: u32,
    /// Samples whose interval was stretched by the sampler's budget.
    pub stretched_samples: u64,
    /// A CPU quota bound the tree's cgroup: samples carried its throttled time.
    pub quota: bool,
    /// The cgroup's throttled time over all samples, summed over its CPUs, in ns.
    pub cgroup_throttled_ns: u64,
}

impl TreeTotals {
    /// The sampler's own CPU as a share of one core over the whole watch (`None` before
    /// any time passed or where the cost was not measured).
    pub fn sampler_share(&self) -> Option<f64> {
        (self.at_ns > 0 && self.sampler_ns > 0).then(|| self.sampler_ns as f64 / self.at_ns as f64)
    }

    /// The interval between samples now, in ms: the asked one, or the whole multiple of
    /// it the sampler stretched to keep to its budget (read off the last sample, so
    /// replays show it too).
    pub fn interval_ms(&self, asked_ms: u64) -> u64 {
        let asked = asked_ms.max(1);
        let last = self.last_interval_ns as f64 / 1e6;
        ((last / asked as f64).round() as u64).max(1) * asked
    }

    /// Why the last interval was longer than `asked_ms`: the budget stretched it, or the
    /// sampler waited for a core on a busy machine (or both); `None` if it was not.
    pub fn why_longer(&self, asked_ms: u64) -> Option<Longer> {
        let asked = asked_ms.max(1);
        let actual = self.interval_ms(asked);
        if actual <= asked {
            return None;
        }
        let planned = u64::from(self.last_planned_step.max(1)) * asked;
        let late = self.last_planned_step > 0 && actual as f64 > planned as f64 * 1.5;
        Some(match (self.last_planned_step > 1, late) {
            (true, false) => Longer::Budget,
            (false, true) => Longer::Busy,
            (true, true) => Longer::Both,
            // Not known (an older recording).
            (false, false) => Longer::Unknown,
        })
    }

    /// The mean time between samples, in ns.
    pub fn mean_interval_ns(&self) -> Option<u64> {
        (self.samples > 1).then(|| self.at_ns / (self.samples - 1))
    }

    pub fn apply(&mut self, s: &KernelSample) {
        self.at_ns = s.at_ns;
        self.samples += 1;
        self.sampler_ns += s.cost_ns;
        self.last_interval_ns = s.interval_ns;
        self.last_planned_step = s.planned_step;
        if s.planned_step > 1 {
            self.stretched_samples += 1;
        }
        if let Some(t) = s.throttled_ns {
            self.quota = true;
            self.cgroup_throttled_ns += t;
        }
        for e in &s.events {
            self.event(e, s.at_ns);
        }
        for p in self.processes.values_mut() {
            p.last_on_cpu = 0;
            p.last_interval = s.interval_ns;
        }
        for t in &s.threads {
            if let Some(tt) = self.threads.get_mut(&t.tid) {
                tt.split.add(&t.split);
            }
            if let Some(p) = self.processes.get_mut(&t.pid) {
                p.split.add(&t.split);
                p.last_on_cpu += t.split.on_cpu;
            }
        }
        self.bound();
    }

    fn event(&mut self, e: &TreeEvent, at: u64) {
        match e {
            TreeEvent::ProcessBorn { pid, ppid, cmd } => {
                self.processes.insert(
                    *pid,
                    ProcessTotal {
                        pid: *pid,
                        ppid: *ppid,
                        cmd: cmd.clone(),
                        split: Split::default(),
                        rss: 0,
                        last_on_cpu: 0,
                        last_interval: 0,
                        born_ns: at,
                        exited_ns: None,
                    },
                );
            }
            TreeEvent::ProcessExited { pid } => {
                if let Some(p) = self.processes.get_mut(pid) {
                    p.exited_ns.get_or_insert(at);
                }
            }
            TreeEvent::ProcessExec { pid, cmd } => {
                if let Some(p) = self.processes.get_mut(pid) {
                    p.cmd = cmd.clone();
                }
            }
            TreeEvent::ThreadBorn { pid, tid, name } => {
                self.threads.insert(
                    *tid,
                    ThreadTotal {
                        pid: *pid,
                        tid: *tid,
                        name: name.clone(),
                        split: Split::default(),
                        born_ns: at,
                        exited_ns: None,
                    },
                );
            }
            TreeEvent::ThreadRenamed { tid, name, .. } => {
                if let Some(t) = self.threads.get_mut(tid) {
                    t.name = name.clone();
                }
            }
            TreeEvent::ThreadExited { tid, .. } => {
                if let Some(t) = self.threads.get_mut(tid) {
                    t.exited_ns.get_or_insert(at);
                }
            }
            TreeEvent::Memory { pid, rss } => {
                if let Some(p) = self.processes.get_mut(pid) {
                    p.rss = *rss;
                }
            }
        }
    }

    /// Drop the earliest-exited threads beyond [`MAX_THREADS`].
    fn bound(&mut self) {
        if self.threads.len() <= MAX_THREADS {
            return;
        }
        let mut exited: Vec<(u64, u32)> = self
            .threads
            .values()
            .filter_map(|t| t.exited_ns.map(|x| (x, t.tid)))
            .collect();
        exited.sort_unstable();
        let excess = self.threads.len() - MAX_THREADS;
        for (_, tid) in exited.into_iter().take(excess) {
            self.threads.remove(&tid);
            self.dropped_threads += 1;
        }
    }

    /// On-CPU seconds of the whole tree.
    pub fn tree_on_cpu_s(&self) -> f64 {
        self.processes.values().map(|p| p.split.on_cpu).sum::<u64>() as f64 / 1e9
    }

    /// The `threads` and `processes` arrays of `watch --json`.
    pub fn to_json(&self) -> (serde_json::Value, serde_json::Value) {
        let secs = |ns: Option<u64>| ns.map(|n| n as f64 / 1e9);
        let threads = self
            .threads
            .values()
            .map(|t| {
                let mut v = serde_json::json!({
                    "pid": t.pid,
                    "tid": t.tid,
                    "name": t.name,
                    "born_s": secs(Some(t.born_ns)),
                    "exited_s": secs(t.exited_ns),
                });
                merge(&mut v, &Totals::of(&t.split.settled(), self.quota));
                v
            })
            .collect();
        let processes = self
            .processes
            .values()
            .map(|p| {
                let mut v = serde_json::json!({
                    "pid": p.pid,
                    "ppid": p.ppid,
                    "cmd": p.cmd,
                    "rss_bytes": p.rss,
                    "born_s": secs(Some(p.born_ns)),
                    "exited_s": secs(p.exited_ns),
                });
                merge(&mut v, &Totals::of(&p.split.settled(), self.quota));
                v
            })
            .collect();
        (
            serde_json::Value::Array(threads),
            serde_json::Value::Array(processes),
        )
    }
}

fn merge(v: &mut serde_json::Value, t: &Totals) {
    if let (Some(o), Ok(serde_json::Value::Object(m))) =
        (v.as_object_mut(), serde_json::to_value(t))
    {
        o.extend(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ThreadInterval;

    fn split(on_cpu: u64, lock: u64) -> Split {
        Split {
            on_cpu,
            lock,
            span: on_cpu + lock,
            ..Split::default()
        }
    }

    fn born(at: u64) -> KernelSample {
        KernelSample {
            planned_step: 0,
            throttled_ns: None,
            cost_ns: 0,
            at_ns: at,
            interval_ns: at,
            threads: vec![],
            events: vec![
                TreeEvent::ProcessBorn {
                    pid: 10,
                    ppid: 1,
                    cmd: "python3 x.py".into(),
                },
                TreeEvent::ThreadBorn {
                    pid: 10,
                    tid: 10,
                    name: "python3".into(),
                },
                TreeEvent::ThreadBorn {
                    pid: 10,
                    tid: 11,
                    name: "python3".into(),
                },
            ],
        }
    }

    #[test]
    fn threads_and_their_process_add_up() {
        let mut t = TreeTotals::default();
        t.apply(&born(1_000));
        for i in 0..4 {
            t.apply(&KernelSample {
                planned_step: 0,
                throttled_ns: None,
                cost_ns: 0,
                at_ns: 1_000 + (i + 1) * 5_000_000,
                interval_ns: 5_000_000,
                threads: vec![
                    ThreadInterval {
                        pid: 10,
                        tid: 10,
                        split: split(1_000_000, 4_000_000),
                    },
                    ThreadInterval {
                        pid: 10,
                        tid: 11,
                        split: split(5_000_000, 0),
                    },
                ],
                events: vec![],
            });
        }
        assert_eq!(t.threads[&10].split.on_cpu, 4_000_000);
        assert_eq!(t.threads[&10].split.lock, 16_000_000);
        assert_eq!(t.processes[&10].split.on_cpu, 24_000_000);
        assert_eq!(t.processes[&10].last_on_cpu, 6_000_000);
        assert!((t.tree_on_cpu_s() - 0.024).abs() < 1e-12);
        let (threads, procs) = t.to_json();
        assert_eq!(threads[1]["tid"], 11);
        assert!((threads[1]["on_cpu_s"].as_f64().expect("f64") - 0.02).abs() < 1e-12);
        assert_eq!(procs[0]["cmd"], "python3 x.py");
        assert!((procs[0]["lock_s"].as_f64().expect("f64") - 0.016).abs() < 1e-12);
    }

    #[test]
    fn exits_are_stamped_once() {
        let mut t = TreeTotals::default();
        t.apply(&born(0));
        let exit = |at| KernelSample {
            planned_step: 0,
            throttled_ns: None,
            cost_ns: 0,
            at_ns: at,
            interval_ns: 5,
            threads: vec![],
            events: vec![
                TreeEvent::ThreadExited { pid: 10, tid: 11 },
                TreeEvent::ProcessExited { pid: 10 },
            ],
        };
        t.apply(&exit(50));
        t.apply(&exit(90));
        assert_eq!(t.threads[&11].exited_ns, Some(50));
        assert_eq!(t.processes[&10].exited_ns, Some(50));
        assert_eq!(t.threads[&10].exited_ns, None);
    }

    #[test]
    fn exited_threads_beyond_the_cap_are_dropped_live_ones_kept() {
        let mut t = TreeTotals::default();
        t.apply(&born(0));
        let n = MAX_THREADS as u32 + 10;
        let births: Vec<TreeEvent> = (100..100 + n)
            .map(|tid| TreeEvent::ThreadBorn {
                pid: 10,
                tid,
                name: "w".into(),
            })
            .collect();
        let exits: Vec<TreeEvent> = (100..100 + n)
            .map(|tid| TreeEvent::ThreadExited { pid: 10, tid })
            .collect();
        t.apply(&KernelSample {
            events: births,
            ..KernelSample::default()
        });
        t.apply(&KernelSample {
            events: exits,
            ..KernelSample::default()
        });
        assert_eq!(t.threads.len(), MAX_THREADS);
        assert!(t.threads.contains_key(&10) && t.threads.contains_key(&11));
        assert_eq!(t.dropped_threads, 12);
    }

    #[test]
    fn the_samplers_cost_adds_up_to_a_share_of_a_core() {
        let mut t = TreeTotals::default();
        assert_eq!(t.sampler_share(), None);
        for i in 0..=100u64 {
            t.apply(&KernelSample {
                at_ns: i * 5_000_000,
                interval_ns: 5_000_000,
                cost_ns: 25_000,
                ..KernelSample::default()
            });
        }
        // 101 samples of 25 µs over 0.5 s: 0.505% of a core.
        let share = t.sampler_share().expect("measured");
        assert!((share - 101.0 * 25e3 / 5e8).abs() < 1e-12, "{share}");
        assert_eq!(t.mean_interval_ns(), Some(5_000_000));
        assert_eq!(t.last_interval_ns, 5_000_000);
        assert_eq!(t.interval_ms(5), 5);
        // A stretched sampler's interval, jitter and all, reads as its whole step.
        t.last_interval_ns = 40_300_000;
        assert_eq!(t.interval_ms(5), 40);
        // Planned 40 ms: the budget.
        t.last_planned_step = 8;
        assert_eq!(t.why_longer(5), Some(Longer::Budget));
        // Planned 5 ms, came at 40: waited for a core.
        t.last_planned_step = 1;
        assert_eq!(t.why_longer(5), Some(Longer::Busy));
        t.last_planned_step = 2;
        assert_eq!(t.why_longer(5), Some(Longer::Both));
        t.last_planned_step = 0;
        assert_eq!(t.why_longer(5), Some(Longer::Unknown));
        t.last_interval_ns = 0;
        assert_eq!(t.interval_ms(5), 5);
        assert_eq!(t.why_longer(5), None);
    }
}
