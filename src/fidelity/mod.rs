//! `conlab fidelity`: how far the simulation is from the real thing. Each workload runs
//! under every model in both runtimes, interleaved (native, CPython, native, CPython, …)
//! so a drifting machine hits both alike; per model it compares each runtime's speed-up
//! over its own sequential run, with the machine's capacity measured in the same run. It
//! also measures the convoy effect in both.

mod export;
mod measure;

use serde::Serialize;

pub use export::{FidelityExporter, exporter};
pub use measure::fidelity_command;

use crate::core::Model;

/// The verdict's tolerance: speed-ups within ±10% of each other agree.
pub const TOLERANCE_PCT: f64 = 10.0;

/// One workload under one model in both runtimes: the keys of `--format json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub workload: String,
    pub model: Model,
    pub workers: usize,
    pub native_size: u64,
    pub cpython_size: u64,
    /// Median elapsed over the repeats.
    pub native_elapsed_s: f64,
    pub cpython_elapsed_s: f64,
    /// Over the same runtime's own sequential median.
    pub native_speedup: f64,
    pub cpython_speedup: f64,
    /// (native ÷ CPython − 1) × 100.
    pub diff_pct: f64,
    pub within_10pct: bool,
    /// Cores busy on average (CPU ÷ elapsed), median.
    pub native_cores_busy: f64,
    pub cpython_cores_busy: f64,
    pub native_answer: Option<String>,
    pub cpython_answer: Option<String>,
    /// Every run of this workload in this runtime gave the same answer (and, at the same
    /// size, both runtimes gave the same one).
    pub answers_agree: bool,
    /// The interpreter, e.g. "CPython 3.11.7 · GIL".
    pub python: String,
    /// Machine capacity measured right before this model's runs (mean over repeats).
    pub capacity: f64,
    pub repeat: usize,
}

/// The convoy effect in both runtimes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvoyRow {
    /// Native, simulated GIL on: median wait for the GIL after a 1 ms nap.
    pub native_median_ms: f64,
    pub native_wakeups: u64,
    /// CPython: median time past each 1 ms nap before the thread ran again.
    pub cpython_median_ms: f64,
    /// CPython with no CPU-bound thread beside it: the timer's slack alone.
    pub cpython_alone_median_ms: f64,
    pub cpython_wakeups: u64,
    pub switch_interval_ms: f64,
}

/// The `native` scene, one variant, in both runtimes: the threads' speed-up over the
/// same calls made one after another, and how long a bystander napping 1 ms waited.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NativeRow {
    /// interpreted, releasing or holding.
    pub variant: String,
    pub native_speedup: f64,
    pub cpython_speedup: f64,
    /// Median length of one call (native: sha256 of the size in MiB; CPython: calibrated).
    pub native_call_ms: f64,
    pub cpython_call_ms: f64,
    /// The bystander's worst and median wait after a nap, during the threads phase.
    pub native_worst_ms: f64,
    pub cpython_worst_ms: f64,
    pub native_median_ms: f64,
    pub cpython_median_ms: f64,
}

/// A whole fidelity report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fidelity {
    pub python: String,
    pub workers: usize,
    pub repeat: usize,
    /// Spinners used to measure capacity (min(workers, cores)).
    pub capacity_spinners: usize,
    /// The 1-minute load average before and after (other programs on the machine).
    pub load_before: Option<f64>,
    pub load_after: Option<f64>,
    pub rows: Vec<Row>,
    pub convoy: Option<ConvoyRow>,
    /// The `native` scene's three variants (when `native` is among the workloads).
    pub native: Vec<NativeRow>,
}

/// Speed-ups and verdict of one row from both runtimes' medians.
pub fn compare(
    native_seq: f64,
    native: f64,
    cpython_seq: f64,
    cpython: f64,
) -> (f64, f64, f64, bool) {
    let speedup = |seq: f64, x: f64| if x > 0.0 { seq / x } else { 0.0 };
    let (n, c) = (speedup(native_seq, native), speedup(cpython_seq, cpython));
    let diff = if c > 0.0 {
        (n / c - 1.0) * 100.0
    } else {
        f64::INFINITY
    };
    (n, c, diff, diff.abs() <= TOLERANCE_PCT)
}

/// The 1-minute load average, from /proc/loadavg.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speedups_and_the_verdict() {
        // Native 4 s → 4.2 s (0.952×); CPython 3 s → 3 s (1.0×): 4.8% apart.
        let (n, c, d, ok) = compare(4.0, 4.2, 3.0, 3.0);
        assert!((n - 0.952).abs() < 0.001);
        assert_eq!(c, 1.0);
        assert!((d + 4.76).abs() < 0.01, "{d}");
        assert!(ok);
        // 1.9× vs 1.6×: 18.75% apart.
        let (_, _, d, ok) = compare(3.8, 2.0, 3.2, 2.0);
        assert!((d - 18.75).abs() < 0.01, "{d}");
        assert!(!ok);
        // A run that took no time never divides by zero.
        let (n, _, d, ok) = compare(1.0, 0.0, 1.0, 1.0);
        assert_eq!(n, 0.0);
        assert!(!ok && d.is_finite());
        let (_, _, d, ok) = compare(1.0, 1.0, 1.0, 0.0);
        assert!(!ok && d.is_infinite());
    }

    #[test]
    fn load_is_read_on_linux() {
        assert!(load_average().is_some_and(|l| l >= 0.0));
    }
}
