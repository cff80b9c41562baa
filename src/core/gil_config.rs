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
            switch_interval: Duration::from_millis(5),
        }
    }
}
