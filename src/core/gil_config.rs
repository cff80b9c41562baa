//! How a run's simulated GIL behaves: on or off, and its switch interval.

use std::time::Duration;

/// How a run's GIL behaves.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GilConfig {
    pub enabled: bool,
    /// CPython's `sys.getswitchinterval()`, 5 ms by default.
    pub switch_interval: Duration,
}

impl Default for GilConfig {
    fn default() -> Self {
        GilConfig {
            enabled: true,
            switch_interval: Duration::from_secs_f64(DEFAULT_SWITCH_INTERVAL_MS / 1e3),
        }
    }
}

/// The switch interval when none is given, in ms: CPython's `sys.getswitchinterval()`
/// default (the `--switch-interval-ms` default; `conlab --version` prints it).
pub const DEFAULT_SWITCH_INTERVAL_MS: f64 = 5.0;

/// Switch intervals allowed anywhere (flag, lesson, recording, worker), in ms.
pub const SWITCH_INTERVAL_MS: std::ops::RangeInclusive<f64> = 0.05..=1000.0;

impl GilConfig {
    /// A switch interval in ms, checked against [`SWITCH_INTERVAL_MS`] (NaN, infinities,
    /// zero and negatives are refused with the allowed range).
    pub fn interval_from_ms(ms: f64) -> Result<Duration, String> {
        if !(ms.is_finite() && SWITCH_INTERVAL_MS.contains(&ms)) {
            return Err(format!(
                "{ms} ms is out of range (allowed {}..={})",
                SWITCH_INTERVAL_MS.start(),
                SWITCH_INTERVAL_MS.end()
            ));
        }
        Ok(Duration::from_secs_f64(ms / 1e3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_intervals_are_refused() {
        for bad in [
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
            0.0,
            -1.0,
            0.01,
        ] {
            assert!(GilConfig::interval_from_ms(bad).is_err(), "{bad}");
        }
        assert_eq!(
            GilConfig::interval_from_ms(5.0),
            Ok(Duration::from_millis(5))
        );
        assert_eq!(
            GilConfig::default().switch_interval,
            Duration::from_millis(5)
        );
    }
}
