//! Small text helpers shared by every screen and report: bars, sparklines, numbers, fitting.

/// A horizontal bar `width` cells wide, `frac` (0..=1) filled, with eighth-cell precision:
/// (filled part, empty part).
pub fn bar(width: usize, frac: f64) -> (String, String) {
    let frac = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (frac * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let rest = eighths % 8;
    let mut filled = "█".repeat(full);
    let mut used = full;
    if rest > 0 && used < width {
        filled.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉'][rest - 1]);
        used += 1;
    }
    (filled, "░".repeat(width.saturating_sub(used)))
}

/// A sparkline of the last `width` values (0–100), one block character each.
pub fn spark(
    values: impl DoubleEndedIterator<Item = u8> + ExactSizeIterator,
    width: usize,
) -> String {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let skip = values.len().saturating_sub(width);
    let mut s: String = values
        .skip(skip)
        .map(|v| LEVELS[((v.min(100) as usize * 8) + 50) / 100])
        .collect();
    let n = s.chars().count();
    if n < width {
        s = " ".repeat(width - n) + &s;
    }
    s
}

/// 20000000 → "20,000,000".
pub fn thousands(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds with three significant decimals: "3.102 s", "12.41 s", "0.052 s".
pub fn secs(us: u64) -> String {
    let s = us as f64 / 1e6;
    if s >= 100.0 {
        format!("{s:.1} s")
    } else if s >= 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.3} s")
    }
}

/// Bytes as "45.2 MB".
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

/// A cap in bytes as it was set: "16 MiB", "256 KiB", "1000 bytes".
pub fn cap_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Cut `s` to at most `width` characters, ending with "…" when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// Bytes as megabytes (10⁶), to 0.1 MB.
pub fn mb(bytes: u64) -> f64 {
    (bytes as f64 / 1e5).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_shown_in_binary_units() {
        assert_eq!(cap_bytes(1 << 30), "1 GiB");
        assert_eq!(cap_bytes(16 << 20), "16 MiB");
        assert_eq!(cap_bytes(256 << 10), "256 KiB");
        assert_eq!(cap_bytes(1000), "1000 bytes");
    }

    #[test]
    fn bars_fill_exactly() {
        assert_eq!(bar(4, 1.0), ("████".into(), "".into()));
        assert_eq!(bar(4, 0.0), ("".into(), "░░░░".into()));
        assert_eq!(bar(4, 0.5), ("██".into(), "░░".into()));
        assert_eq!(bar(2, 0.25 + 1.0 / 16.0), ("▋".into(), "░".into()));
        assert_eq!(bar(3, f64::NAN).1.chars().count(), 3);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(20_000_000), "20,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(u128::MAX / 10u128.pow(30)), "340,282,366");
        assert_eq!(secs(3_102_000), "3.102 s");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(spark([0u8, 100].into_iter(), 4), "   █");
    }
}
