//! Throttled time in the kernel's view: a thread the CPU quota holds back is runnable
//! (state R) and its wait lands in `schedstat`'s run-queue delay like any other, so on its
//! own it reads as "queue". Where a quota binds conlab's cgroup, the sampler also reads
//! the cgroup's `cpu.stat` each sample (one small file, kept open) and shares the growth
//! of its throttled time out to the threads that were waiting, as their own kind of
//! waiting: time the run was ready but the quota said no.
//!
//! The counter is the cgroup's, not a thread's: the kernel adds, for each CPU whose run
//! queue for the cgroup was throttled, how long it was held, when it is released. So each
//! waiting thread is credited at most that growth divided by the CPUs that can have been
//! held (the threads that waited, at most the CPUs the cgroup may use), and is charged at
//! most its own run-queue delay: the rest of its queue time (others holding the CPU, or
//! its siblings on the same CPU) stays "queue". A thread's queue delay reaches `schedstat`
//! only when it next runs, which can be a sample after the cgroup was released, so a
//! credit is kept for [`CREDIT_NS`]. An estimate, and said so on screen.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::KernelSample;
use crate::sys::cgroup::{self, Version};

/// How long a thread's unspent credit of throttled time is kept (two default periods of
/// the CFS bandwidth timer, 100 ms each).
pub const CREDIT_NS: u64 = 200_000_000;

/// The most of `cpu.stat` read (it is a few lines).
const STAT_CAP: usize = 4096;

/// One thread's throttled time not yet matched by its run-queue delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Credit {
    ns: u64,
    /// Kept until this sample time.
    until_ns: u64,
}

/// Shares a cgroup's throttled time out to the threads of each sample.
#[derive(Clone, Debug, Default)]
pub struct Charger {
    /// CPUs the cgroup may use (at least 1).
    cpus: usize,
    credits: BTreeMap<u32, Credit>,
}

impl Charger {
    pub fn new(cpus: usize) -> Charger {
        Charger {
            cpus: cpus.max(1),
            credits: BTreeMap::new(),
        }
    }

    /// Record that the cgroup was throttled `delta_ns` (summed over its CPUs) in `s`'s
    /// interval, and move each thread's share of it from `runnable` to `throttled`.
    pub fn charge(&mut self, s: &mut KernelSample, delta_ns: u64) {
        s.throttled_ns = Some(delta_ns);
        if !self.credits.is_empty() {
            let alive: std::collections::HashSet<u32> = s.threads.iter().map(|t| t.tid).collect();
            self.credits
                .retain(|tid, c| c.until_ns >= s.at_ns && alive.contains(tid));
        }
        if delta_ns > 0 {
            // Threads that waited in this interval: in the queue, or off a CPU and
            // runnable (their delay not reported yet).
            let held: Vec<u32> = s
                .threads
                .iter()
                .filter(|t| t.split.runnable + t.split.unknown > 0)
                .map(|t| t.tid)
                .collect();
            let per = delta_ns / held.len().clamp(1, self.cpus) as u64;
            for tid in held {
                let c = self
                    .credits
                    .entry(tid)
                    .or_insert(Credit { ns: 0, until_ns: 0 });
                c.ns = c.ns.saturating_add(per);
                c.until_ns = s.at_ns.saturating_add(CREDIT_NS);
            }
        }
        for t in &mut s.threads {
            let Some(c) = self.credits.get_mut(&t.tid) else {
                continue;
            };
            let take = c.ns.min(t.split.runnable);
            t.split.runnable -= take;
            t.split.throttled += take;
            c.ns -= take;
        }
        self.credits.retain(|_, c| c.ns > 0);
    }
}

/// The cgroup's `cpu.stat`, kept open, read once a sample.
pub struct QuotaCounter {
    file: File,
    version: Version,
    /// Throttled time at the last read, in µs.
    last_us: Option<u64>,
    charger: Charger,
    buf: Vec<u8>,
}

impl QuotaCounter {
    /// The counter of the cgroup whose quota binds conlab (see
    /// [`crate::sys::cgroup::throttle`]), for a tree grown from `root`: `None` without a
    /// quota or a readable `cpu.stat`, or when `root` is in another cgroup than conlab
    /// (a process `watch --pid` attached to: conlab's counter says nothing of it).
    pub fn live_for(root: u32) -> Option<QuotaCounter> {
        let cgroup_of = |pid: &str| cgroup::read_capped(Path::new(&format!("/proc/{pid}/cgroup")));
        if cgroup_of(&root.to_string())? != cgroup_of("self")? {
            return None;
        }
        let given = cgroup::given();
        let cpus = given
            .cpuset_cpus
            .into_iter()
            .chain(given.cpus_affinity)
            .fold(given.cpus_seen, usize::min);
        QuotaCounter::at(Path::new("/"), cpus)
    }

    /// The counter under `base` (a fixture folder, or `/`), for a cgroup that may use
    /// `cpus` CPUs.
    pub fn at(base: &Path, cpus: usize) -> Option<QuotaCounter> {
        let limit = cgroup::limit(cgroup::layout::read(base).cpu.as_ref()?)?;
        let file = File::open(limit.dir.join("cpu.stat")).ok()?;
        let mut q = QuotaCounter {
            file,
            version: limit.version,
            last_us: None,
            charger: Charger::new(cpus),
            buf: vec![0; STAT_CAP],
        };
        q.last_us = Some(q.read()?);
        Some(q)
    }

    /// The throttled time so far, in µs.
    fn read(&mut self) -> Option<u64> {
        let n = self.file.read_at(&mut self.buf, 0).ok()?;
        let text = std::str::from_utf8(&self.buf[..n]).ok()?;
        let t = match self.version {
            Version::V1 => cgroup::v1::parse_stat(text),
            Version::V2 => cgroup::v2::parse_stat(text),
        }?;
        Some(t.throttled_us)
    }

    /// Read the counter and share its growth since the last sample out to `s`'s threads.
    /// An unreadable counter leaves `s` as it was (no throttled time claimed).
    pub fn apply(&mut self, s: &mut KernelSample) {
        let Some(now) = self.read() else { return };
        let delta_us = self.last_us.map_or(0, |l| now.saturating_sub(l));
        self.last_us = Some(now);
        self.charger.charge(s, delta_us.saturating_mul(1000));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::{Split, ThreadInterval, Wait};

    const MS: u64 = 1_000_000;

    fn thread(tid: u32, split: Split) -> ThreadInterval {
        ThreadInterval { pid: 1, tid, split }
    }

    fn sample(at_ms: u64, threads: Vec<ThreadInterval>) -> KernelSample {
        KernelSample {
            at_ns: at_ms * MS,
            interval_ns: 5 * MS,
            threads,
            ..KernelSample::default()
        }
    }

    /// `run` ms on a CPU and `queued` ms in the queue (as schedstat reported them) in a
    /// 5 ms interval.
    fn busy(run: u64, queued: u64) -> Split {
        Split::of_interval(run * MS, queued * MS, 5 * MS, None, true)
    }

    #[test]
    fn four_workers_on_two_cpus_each_held_for_what_a_cpu_was_held() {
        // Both CPUs' queues held 50 ms: the counter grows 100 ms. Each worker waited 50 ms
        // for the quota and, sharing its CPU with another, 25 ms more.
        let mut c = Charger::new(2);
        let mut s = sample(100, (1..=4).map(|tid| thread(tid, busy(2, 75))).collect());
        c.charge(&mut s, 100 * MS);
        assert_eq!(s.throttled_ns, Some(100 * MS));
        for t in &s.threads {
            assert_eq!(t.split.throttled, 50 * MS, "{t:?}");
            assert_eq!(t.split.runnable, 25 * MS, "{t:?}");
            assert_eq!(t.split.on_cpu, 2 * MS);
        }
    }

    #[test]
    fn one_busy_thread_gets_the_whole_of_its_cpus_hold() {
        let mut c = Charger::new(2);
        let mut s = sample(
            100,
            vec![
                thread(1, busy(1, 50)),
                thread(2, Split::of_interval(0, 0, 5 * MS, Some(Wait::Sleep), true)),
            ],
        );
        c.charge(&mut s, 50 * MS);
        assert_eq!(s.threads[0].split.throttled, 50 * MS);
        assert_eq!(s.threads[0].split.runnable, 0);
        assert_eq!(s.threads[1].split.throttled, 0, "asleep: not held");
    }

    #[test]
    fn never_more_than_the_threads_own_queue_time() {
        let mut c = Charger::new(2);
        let mut s = sample(100, vec![thread(1, busy(3, 2))]);
        c.charge(&mut s, 80 * MS);
        assert_eq!(s.threads[0].split.throttled, 2 * MS);
        assert_eq!(s.threads[0].split.runnable, 0);
        // Splitting moves time between kinds of waiting: the total is the same.
        assert_eq!(s.threads[0].split.total(), busy(3, 2).total());
    }

    #[test]
    fn a_delay_reported_a_sample_late_is_still_charged_then_credit_expires() {
        let mut c = Charger::new(1);
        // Released at 100 ms: the thread is runnable but has not run yet (unknown).
        let mut s = sample(100, vec![thread(1, busy(0, 0))]);
        c.charge(&mut s, 40 * MS);
        assert_eq!(s.threads[0].split.throttled, 0);
        // It runs: its 42 ms delay arrives; 40 of it were the quota's.
        let mut s = sample(105, vec![thread(1, busy(3, 42))]);
        c.charge(&mut s, 0);
        assert_eq!(s.threads[0].split.throttled, 40 * MS);
        assert_eq!(s.threads[0].split.runnable, 2 * MS);
        // Spent: later queue time is the queue's.
        let mut s = sample(110, vec![thread(1, busy(3, 2))]);
        c.charge(&mut s, 0);
        assert_eq!(s.threads[0].split.throttled, 0);
        // Unspent credit goes after CREDIT_NS.
        let mut s = sample(200, vec![thread(1, busy(0, 0))]);
        c.charge(&mut s, 10 * MS);
        let late = 200 + CREDIT_NS / MS + 5;
        let mut s2 = sample(late, vec![thread(1, busy(0, 9))]);
        c.charge(&mut s, 0);
        c.charge(&mut s2, 0);
        assert_eq!(s2.threads[0].split.throttled, 0);
    }

    #[test]
    fn no_throttling_changes_nothing() {
        let mut c = Charger::new(2);
        let before = sample(100, vec![thread(1, busy(1, 4))]);
        let mut s = before.clone();
        c.charge(&mut s, 0);
        assert_eq!(s.threads, before.threads);
        assert_eq!(s.throttled_ns, Some(0));
    }

    #[test]
    fn reads_a_fixture_cgroups_counter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path();
        let cg = base.join("sys/fs/cgroup/cpu,cpuacct/conlab-1");
        std::fs::create_dir_all(&cg).expect("mkdir");
        std::fs::create_dir_all(base.join("proc/self")).expect("mkdir");
        std::fs::write(base.join("proc/self/cgroup"), "4:cpu,cpuacct:/conlab-1\n").expect("write");
        std::fs::write(
            base.join("proc/self/mountinfo"),
            "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n",
        )
        .expect("write");
        std::fs::write(cg.join("cpu.cfs_quota_us"), "50000\n").expect("write");
        std::fs::write(cg.join("cpu.cfs_period_us"), "100000\n").expect("write");
        let stat = |ns: u64| format!("nr_periods 10\nnr_throttled 4\nthrottled_time {ns}\n");
        std::fs::write(cg.join("cpu.stat"), stat(1_000_000_000)).expect("write");
        let Some(mut q) = QuotaCounter::at(base, 2) else {
            panic!("a quota and a counter in the fixture");
        };
        std::fs::write(cg.join("cpu.stat"), stat(1_030_000_000)).expect("write");
        let mut s = sample(100, vec![thread(1, busy(1, 40))]);
        q.apply(&mut s);
        assert_eq!(s.throttled_ns, Some(30 * MS));
        assert_eq!(s.threads[0].split.throttled, 30 * MS);
        // No quota: no counter.
        std::fs::write(cg.join("cpu.cfs_quota_us"), "-1\n").expect("write");
        assert!(QuotaCounter::at(base, 2).is_none());
    }
}
