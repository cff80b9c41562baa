//! The kernel's CPU lists (`0-3,8,10-11`): cpusets, `/sys/devices/system/cpu/online`.

/// The highest CPU number taken (a list asking for more is garbage).
const MAX_CPU: usize = 1 << 16;

/// The CPUs in a list, in order; `None` for anything that is not one. An empty list (a
/// cpuset not set yet) is empty.
pub fn parse(s: &str) -> Option<Vec<usize>> {
    let s = s.trim();
    let mut out = Vec::new();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let a: usize = part.trim().parse().ok()?;
                (a, a)
            }
        };
        if a > b || b > MAX_CPU || out.len() + (b - a) > MAX_CPU {
            return None;
        }
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// How many CPUs a list holds.
pub fn count(s: &str) -> Option<usize> {
    parse(s).map(|v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ranges_and_garbage() {
        assert_eq!(parse("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse("0,2-3,2"), Some(vec![0, 2, 3]));
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(count("0-3,8,10-11"), Some(7));
        for bad in ["x", "3-1", "0-99999999", "1,,2", "-", "0-", "ab-c"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
