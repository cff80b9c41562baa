//! Machine capacity: the speed-up N fully independent single-threaded spinners get over
//! one, right now — the ceiling any model can reach on a shared or virtual machine.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::exec::CancelToken;

/// A fixed amount of pure computation, nothing shared.
fn spin(iterations: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15u64);
    for i in 0..iterations {
        x = x.rotate_left(7) ^ black_box(i).wrapping_mul(0x2545_F491_4F6C_DD1D);
    }
    x
}

/// Iterations that take about `target` on one core.
fn calibrate(target: Duration) -> u64 {
    let mut n = 100_000u64;
    loop {
        let t0 = Instant::now();
        black_box(spin(n));
        let took = t0.elapsed();
        if took >= Duration::from_millis(10) || n >= 1 << 40 {
            let per_iter = took.as_secs_f64() / n as f64;
            return ((target.as_secs_f64() / per_iter.max(1e-12)) as u64).max(1);
        }
        n *= 4;
    }
}

/// Time `spinners` threads each doing `iterations` at once.
fn together(spinners: usize, iterations: u64) -> Duration {
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for i in 0..spinners {
            let _ = std::thread::Builder::new()
                .name(format!("conlab-spinner-{i}"))
                .spawn_scoped(s, move || black_box(spin(iterations)));
        }
    });
    t0.elapsed()
}

/// The speed-up `spinners` independent spinners got: each did the work one did alone in
/// `one` seconds, all together took `all`; at most `spinners` (timer noise can show more).
fn capacity_of(spinners: usize, one: f64, all: f64) -> f64 {
    (spinners as f64 * one / all).min(spinners as f64)
}

/// Measure the capacity for `spinners` independent workers: median of three rounds of
/// (one alone, all together), about 0.8 s in all. 1.0 for one spinner.
pub fn measure(spinners: usize, cancel: &CancelToken) -> f64 {
    if spinners <= 1 {
        return 1.0;
    }
    let iterations = calibrate(Duration::from_millis(130));
    let mut ratios = Vec::new();
    for _ in 0..3 {
        if cancel.is_cancelled() {
            break;
        }
        let one = together(1, iterations).as_secs_f64();
        let all = together(spinners, iterations).as_secs_f64();
        if all > 0.0 {
            ratios.push(capacity_of(spinners, one, all));
        }
    }
    ratios.sort_by(f64::total_cmp);
    ratios.get(ratios.len() / 2).copied().unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spinner_is_the_unit() {
        assert_eq!(measure(1, &CancelToken::new()), 1.0);
    }

    #[test]
    fn capacity_is_work_done_over_time_taken() {
        assert_eq!(
            capacity_of(2, 1.0, 1.0),
            2.0,
            "two cores: twice the work in the time"
        );
        assert_eq!(capacity_of(2, 1.0, 2.0), 1.0, "one core: twice the time");
        assert_eq!(
            capacity_of(4, 1.0, 0.5),
            4.0,
            "noise above the ideal is clamped"
        );
    }

    #[test]
    fn a_measured_capacity_is_a_real_number() {
        // Not a range check on a clamped value: a measurement that went wrong (a zero or
        // NaN ratio) would show here.
        let c = measure(2, &CancelToken::new());
        assert!(c.is_finite() && c > 0.0, "{c}");
    }
}
