//! What the machine offers: its logical cores, the default width of every pool, and the
//! CPU a container (a cgroup) gives conlab — the cores seen, the affinity mask, the quota,
//! the cpuset — with the pool size that follows from them and why.

use serde::{Deserialize, Serialize};

/// This machine's logical cores.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The CPU conlab is given, as `sys::cgroup` read it: what `os.cpu_count()` sees beside
/// what the kernel will let conlab use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpusGiven {
    /// Online logical cores: what `os.cpu_count()` and `nproc --all` count.
    pub cpus_seen: usize,
    /// Cores in the affinity mask (`sched_getaffinity`); `None` where unreadable.
    pub cpus_affinity: Option<usize>,
    /// The tightest CPU quota of conlab's cgroup and its ancestors, in CPUs (0.5: half a
    /// core's time every period); `None` without a quota.
    pub cpu_quota: Option<f64>,
    /// The cgroup's cpuset as the kernel writes it (`0-1,4`); `None` where not read.
    pub cpuset: Option<String>,
    /// Cores in that cpuset.
    pub cpuset_cpus: Option<usize>,
}

impl CpusGiven {
    /// Only the cores seen, nothing else known (a test, a machine without cgroups).
    pub fn seen(cpus_seen: usize) -> Self {
        CpusGiven {
            cpus_seen,
            ..Default::default()
        }
    }

    /// The affinity mask has fewer cores than are seen.
    fn pinned(&self) -> Option<usize> {
        self.cpus_affinity.filter(|&a| a > 0 && a < self.cpus_seen)
    }

    /// The cpuset has fewer cores than are seen.
    fn narrowed(&self) -> Option<&str> {
        match (self.cpuset.as_deref(), self.cpuset_cpus) {
            (Some(s), Some(n)) if n < self.cpus_seen => Some(s),
            _ => None,
        }
    }

    /// A quota, a smaller affinity mask or a smaller cpuset applies.
    pub fn limited(&self) -> bool {
        self.cpu_quota.is_some() || self.pinned().is_some() || self.narrowed().is_some()
    }

    /// The pool size that follows: the quota rounded up (at least 1) and the affinity
    /// mask, the smaller; the cores seen when neither applies.
    pub fn default_workers(&self) -> usize {
        let mut n = self.cpus_seen.max(1);
        if let Some(a) = self.cpus_affinity.filter(|&a| a > 0) {
            n = n.min(a);
        }
        if let Some(q) = self.cpu_quota {
            n = n.min(quota_workers(q));
        }
        n
    }

    /// Why [`default_workers`](Self::default_workers) is what it is, in words.
    pub fn workers_why(&self) -> String {
        let n = self.default_workers();
        let w = if n == 1 { "worker" } else { "workers" };
        match (self.cpu_quota, self.pinned()) {
            (Some(q), _) if quota_workers(q) == n => format!(
                "{n} {w}: the CPU quota is {} CPU, though {} cores are seen",
                cpus(q),
                self.cpus_seen
            ),
            (_, Some(a)) if a == n => format!(
                "{n} {w}: the affinity mask allows {a} of the {} cores seen",
                self.cpus_seen
            ),
            _ => format!("{n} {w}: one per core, {} cores seen", self.cpus_seen),
        }
    }

    /// "2 cores seen · quota 0.5 CPU · cpuset 0" (only the parts that apply); "2 cores"
    /// when nothing limits them.
    pub fn describe(&self) -> String {
        let n = self.cpus_seen;
        let cores = if n == 1 { "core" } else { "cores" };
        if !self.limited() {
            return format!("{n} {cores}");
        }
        let mut parts = vec![format!("{n} {cores} seen")];
        if let Some(q) = self.cpu_quota {
            parts.push(format!("quota {} CPU", cpus(q)));
        }
        if let Some(s) = self.narrowed() {
            parts.push(format!("cpuset {s}"));
        } else if let Some(a) = self.pinned() {
            parts.push(format!("affinity {a}"));
        }
        parts.join(" · ")
    }

    /// The speed-up a pool can reach over one thread under the quota: the quota's CPUs,
    /// but never below one (a single thread is throttled too). `None` without a quota.
    pub fn quota_ceiling(&self) -> Option<f64> {
        self.cpu_quota.map(|q| q.max(1.0))
    }
}

/// Workers a quota of `q` CPUs keeps busy: rounded up, at least one.
fn quota_workers(q: f64) -> usize {
    if q.is_finite() && q > 0.0 {
        (q - 1e-9).ceil().max(1.0) as usize
    } else {
        1
    }
}

/// A number of CPUs as people write it: `0.5`, `2`, `1.25`.
pub fn cpus(q: f64) -> String {
    let s = format!("{q:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(seen: usize, affinity: usize, quota: Option<f64>) -> CpusGiven {
        CpusGiven {
            cpus_seen: seen,
            cpus_affinity: Some(affinity),
            cpu_quota: quota,
            ..Default::default()
        }
    }

    #[test]
    fn the_quota_rounded_up_and_the_affinity_size_the_pool() {
        assert_eq!(given(2, 2, Some(0.5)).default_workers(), 1);
        assert_eq!(given(8, 8, Some(1.5)).default_workers(), 2);
        assert_eq!(given(8, 8, Some(2.0)).default_workers(), 2);
        assert_eq!(given(8, 3, Some(6.0)).default_workers(), 3);
        assert_eq!(given(4, 4, None).default_workers(), 4);
        assert_eq!(CpusGiven::seen(0).default_workers(), 1);
        assert_eq!(given(2, 2, Some(f64::NAN)).default_workers(), 1);
    }

    #[test]
    fn the_reason_names_what_decided() {
        let q = given(2, 2, Some(0.5));
        assert_eq!(
            q.workers_why(),
            "1 worker: the CPU quota is 0.5 CPU, though 2 cores are seen"
        );
        assert!(given(8, 3, None).workers_why().contains("affinity mask"));
        assert_eq!(
            given(2, 2, None).workers_why(),
            "2 workers: one per core, 2 cores seen"
        );
    }

    #[test]
    fn the_description_says_only_what_applies() {
        assert_eq!(given(2, 2, None).describe(), "2 cores");
        assert_eq!(
            given(2, 2, Some(0.5)).describe(),
            "2 cores seen · quota 0.5 CPU"
        );
        let set = CpusGiven {
            cpuset: Some("0".into()),
            cpuset_cpus: Some(1),
            ..given(2, 1, Some(1.25))
        };
        assert_eq!(set.describe(), "2 cores seen · quota 1.25 CPU · cpuset 0");
        // A cpuset of every core is no limit.
        let all = CpusGiven {
            cpuset: Some("0-1".into()),
            cpuset_cpus: Some(2),
            ..given(2, 2, None)
        };
        assert!(!all.limited());
    }

    #[test]
    fn the_ceiling_under_a_quota_is_never_below_one_thread() {
        assert_eq!(given(2, 2, Some(0.5)).quota_ceiling(), Some(1.0));
        assert_eq!(given(8, 8, Some(3.0)).quota_ceiling(), Some(3.0));
        assert_eq!(given(8, 8, None).quota_ceiling(), None);
    }
}
