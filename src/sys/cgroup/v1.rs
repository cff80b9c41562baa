//! cgroup v1's files: `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: no quota),
//! `cpuset.cpus`, and `cpu.stat`'s `nr_periods`, `nr_throttled`, `throttled_time` (ns).

use std::path::Path;

use super::{Throttle, read_capped};

/// The quota at one cgroup folder, in CPUs; `None` for none, or unreadable files.
pub fn quota(dir: &Path) -> Option<f64> {
    let q: i64 = read_capped(&dir.join("cpu.cfs_quota_us"))?
        .trim()
        .parse()
        .ok()?;
    let p: i64 = read_capped(&dir.join("cpu.cfs_period_us"))?
        .trim()
        .parse()
        .ok()?;
    (q > 0 && p > 0).then(|| q as f64 / p as f64)
}

/// The cpuset at one cgroup folder (the effective one where the kernel has it).
pub fn cpuset(dir: &Path) -> Option<String> {
    ["cpuset.effective_cpus", "cpuset.cpus"]
        .iter()
        .find_map(|f| read_capped(&dir.join(f)))
        .map(|s| s.trim().to_string())
}

/// `cpu.stat`'s throttling counters.
pub fn parse_stat(text: &str) -> Option<Throttle> {
    super::parse_throttle(text, "throttled_time", 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_counts_nanoseconds() {
        let t = parse_stat("nr_periods 40\nnr_throttled 12\nthrottled_time 1500000000\n")
            .expect("parses");
        assert_eq!(
            (t.periods, t.throttled_periods, t.throttled_us),
            (40, 12, 1_500_000)
        );
        assert_eq!(parse_stat("garbage\nnr_periods x\n"), None);
    }
}
