//! cgroup v2's files: `cpu.max` (`max 100000`, or `50000 100000`: quota and period in µs),
//! `cpuset.cpus.effective`, and `cpu.stat`'s `nr_periods`, `nr_throttled`,
//! `throttled_usec`.

use std::path::Path;

use super::{Throttle, read_capped};

/// `cpu.max` as CPUs; `None` for `max` or garbage.
pub fn parse_max(text: &str) -> Option<f64> {
    let mut it = text.split_ascii_whitespace();
    let q: u64 = it.next()?.parse().ok()?;
    let p: u64 = it.next().unwrap_or("100000").parse().ok()?;
    (q > 0 && p > 0).then(|| q as f64 / p as f64)
}

/// The quota at one cgroup folder, in CPUs.
pub fn quota(dir: &Path) -> Option<f64> {
    parse_max(&read_capped(&dir.join("cpu.max"))?)
}

/// The cpuset in effect at one cgroup folder.
pub fn cpuset(dir: &Path) -> Option<String> {
    read_capped(&dir.join("cpuset.cpus.effective")).map(|s| s.trim().to_string())
}

/// `cpu.stat`'s throttling counters (absent where the cpu controller is not enabled).
pub fn parse_stat(text: &str) -> Option<Throttle> {
    super::parse_throttle(text, "throttled_usec", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_numbers() {
        assert_eq!(parse_max("max 100000\n"), None);
        assert_eq!(parse_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_max("150000"), Some(1.5));
        assert_eq!(parse_max("0 100000"), None);
        assert_eq!(parse_max("x y"), None);
        assert_eq!(parse_max(""), None);
    }

    #[test]
    fn stat_counts_microseconds() {
        let t = parse_stat("usage_usec 9\nnr_periods 7\nnr_throttled 3\nthrottled_usec 420\n")
            .expect("parses");
        assert_eq!(
            (t.periods, t.throttled_periods, t.throttled_us),
            (7, 3, 420)
        );
        // Only usage (no cpu controller): no throttling counters.
        assert_eq!(parse_stat("usage_usec 9\nuser_usec 4\n"), None);
    }
}
