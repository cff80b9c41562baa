//! The CPU conlab is given, not the CPU it sees: its own cgroup found from
//! `/proc/self/cgroup` and `/proc/self/mountinfo` (`layout.rs`), the quota of it and every
//! ancestor up to the mount (the tightest wins; `v1.rs`, `v2.rs`), its cpuset, the affinity
//! mask (`affinity.rs`), the throttling counters a run is measured by, and the child cgroup
//! `--cpu-quota` / `--cpuset` run in (`child.rs`). Every reader takes a root folder, so
//! tests read fixture trees; bad or missing files mean "not known", never a panic.

mod affinity;
pub mod child;
pub mod cpulist;
pub mod layout;
pub mod v1;
pub mod v2;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::core::CpusGiven;
pub use layout::{Layout, Place, Version};

/// The most read of any one file (cgroup files are a few lines; mountinfo can be long).
const READ_CAP: u64 = 1 << 20;

/// A file's text, at most [`READ_CAP`] bytes of it; `None` when unreadable.
pub(crate) fn read_capped(path: &Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    let mut s = String::new();
    f.take(READ_CAP).read_to_string(&mut s).ok()?;
    Some(s)
}

/// `cpu.stat`'s throttling counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Throttle {
    /// Enforcement periods that had runnable work.
    pub periods: u64,
    /// Periods that ran out of quota.
    pub throttled_periods: u64,
    /// Time the cgroup's threads were held back, in µs.
    pub throttled_us: u64,
}

impl Throttle {
    /// What happened between `self` (before) and `later`.
    pub fn since(&self, later: &Throttle) -> Throttle {
        Throttle {
            periods: later.periods.saturating_sub(self.periods),
            throttled_periods: later
                .throttled_periods
                .saturating_sub(self.throttled_periods),
            throttled_us: later.throttled_us.saturating_sub(self.throttled_us),
        }
    }
}

/// The tightest quota over conlab's cgroup and its ancestors, and the folder it is set at.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub cpus: f64,
    pub dir: PathBuf,
    pub version: Version,
}

/// The tightest quota on the way from `place` up to its mount.
pub fn limit(place: &Place) -> Option<Limit> {
    place
        .ancestors()
        .into_iter()
        .filter_map(|dir| {
            let q = match place.version {
                Version::V1 => v1::quota(&dir),
                Version::V2 => v2::quota(&dir),
            }?;
            Some(Limit {
                cpus: q,
                dir,
                version: place.version,
            })
        })
        .min_by(|a, b| a.cpus.total_cmp(&b.cpus))
}

/// The online cores under `base`: `sys/devices/system/cpu/online`, else the `cpuN` lines
/// of `proc/stat`.
fn cpus_seen(base: &Path) -> Option<usize> {
    if let Some(n) = read_capped(&base.join("sys/devices/system/cpu/online"))
        .and_then(|s| cpulist::count(&s))
        .filter(|&n| n > 0)
    {
        return Some(n);
    }
    let stat = read_capped(&base.join("proc/stat"))?;
    let n = stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_ascii_digit())
        })
        .count();
    (n > 0).then_some(n)
}

/// The CPU given under `base` (a fixture folder, or `/`), with `affinity` as measured.
pub fn given_at(base: &Path, affinity: Option<usize>) -> CpusGiven {
    let layout = layout::read(base);
    let seen = cpus_seen(base).unwrap_or_else(crate::core::default_workers);
    let quota = layout.cpu.as_ref().and_then(limit).map(|l| l.cpus);
    let cpuset = layout.cpuset.as_ref().and_then(|p| match p.version {
        Version::V1 => v1::cpuset(&p.dir),
        Version::V2 => v2::cpuset(&p.dir),
    });
    let cpuset = cpuset.filter(|s| cpulist::count(s).is_some_and(|n| n > 0));
    CpusGiven {
        cpus_seen: seen,
        cpus_affinity: affinity,
        cpu_quota: quota,
        cpuset_cpus: cpuset.as_deref().and_then(cpulist::count),
        cpuset,
    }
}

/// The CPU conlab is given, now.
pub fn given() -> CpusGiven {
    given_at(Path::new("/"), affinity::count())
}

/// `cpu.stat`'s throttling counters, v1's and v2's alike but for the throttled time's
/// key and unit: `time_key`'s value divided by `per_us` gives microseconds.
fn parse_throttle(text: &str, time_key: &str, per_us: u64) -> Option<Throttle> {
    let mut t = Throttle::default();
    let mut any = false;
    for line in text.lines() {
        let mut it = line.split_ascii_whitespace();
        let (Some(k), Some(v)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(v) = v.parse::<u64>() else { continue };
        match k {
            "nr_periods" => t.periods = v,
            "nr_throttled" => t.throttled_periods = v,
            k if k == time_key => t.throttled_us = v / per_us,
            _ => continue,
        }
        any = true;
    }
    any.then_some(t)
}

/// The throttling counters of the cgroup whose quota binds conlab (under `base`); `None`
/// without a quota or a readable `cpu.stat`.
pub fn throttle_at(base: &Path) -> Option<Throttle> {
    let l = limit(layout::read(base).cpu.as_ref()?)?;
    let text = read_capped(&l.dir.join("cpu.stat"))?;
    match l.version {
        Version::V1 => v1::parse_stat(&text),
        Version::V2 => v2::parse_stat(&text),
    }
}

/// [`throttle_at`] the live root.
pub fn throttle() -> Option<Throttle> {
    throttle_at(Path::new("/"))
}

#[cfg(test)]
mod tests;
