//! What a run measured about itself beside its time: peak memory and threads (every
//! model), and the event loop's lag (the async model).

use serde::{Deserialize, Serialize};

/// Peak memory and threads of conlab's process tree during one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Largest resident set seen: this process plus its worker processes, in bytes.
    pub peak_rss_bytes: u64,
    /// This process's resident set when the run started (what was there before).
    pub start_rss_bytes: u64,
    /// Most threads seen at once, across this process and its worker processes.
    pub peak_threads: u64,
    /// Most worker processes seen at once.
    pub peak_processes: u64,
    /// Samples taken.
    pub samples: u64,
}

/// Loop lag over a run: heartbeats and how late they fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopStats {
    pub beats: u64,
    /// The latest heartbeat, µs after it was due.
    pub max_lag_us: u64,
    /// 99% of heartbeats were at most this late (µs, to the histogram's ~3% resolution).
    pub p99_lag_us: u64,
    pub mean_lag_us: u64,
    /// Tasks in flight on the loop at once, at most.
    pub peak_in_flight: u64,
}
