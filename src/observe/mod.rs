//! The kernel's view: a process tree's threads sampled from `/proc` every few
//! milliseconds, each interval divided into on a CPU, runnable (waiting for a core), and
//! blocked on a lock, on I/O or asleep — what the scheduler saw, not what the program says.
//! Under a CPU quota, the runnable time the quota held back is its own kind of waiting,
//! throttled ([`throttle`]).

pub mod budget;
pub mod concurrency;
pub mod interference;
pub mod lanes;
pub mod monitor;
pub mod probe;
pub mod run_threads;
pub mod sampler;
pub mod share;
pub mod throttle;
pub mod totals;
pub mod window;
pub mod witness;

pub mod thread_state;
pub use concurrency::Concurrency;
pub use interference::Interference;
pub use probe::{Probe, ProbeError, check_proc};
pub use share::KernelShare;
pub use thread_state::{Split, State, Wait};
pub use totals::{Totals, TreeTotals};

/// Default sampling period, in ms (`watch`, the dashboard's `k` view, `compare`).
pub const SAMPLE_MS: u64 = 5;

/// One thread over one sampling interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreadInterval {
    pub pid: u32,
    pub tid: u32,
    pub split: Split,
}

/// What changed in the tree since the last sample.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TreeEvent {
    ProcessBorn {
        pid: u32,
        ppid: u32,
        cmd: String,
    },
    ProcessExited {
        pid: u32,
    },
    /// A process replaced its program (exec): its new command line.
    ProcessExec {
        pid: u32,
        cmd: String,
    },
    ThreadBorn {
        pid: u32,
        tid: u32,
        name: String,
    },
    ThreadRenamed {
        pid: u32,
        tid: u32,
        name: String,
    },
    ThreadExited {
        pid: u32,
        tid: u32,
    },
    /// Resident memory of a process, in bytes (refreshed every few hundred ms).
    Memory {
        pid: u32,
        rss: u64,
    },
}

/// One sample of the whole tree (what the sampler thread sends).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelSample {
    /// Nanoseconds since watching started.
    pub at_ns: u64,
    /// Length of the interval this sample closes.
    pub interval_ns: u64,
    /// Every thread alive at the sample.
    pub threads: Vec<ThreadInterval>,
    /// Births, exits, renames and memory, in the order noticed (before `threads`).
    pub events: Vec<TreeEvent>,
    /// CPU time the sampler spent on this sample (its wake-up, reads and send), in ns;
    /// 0 where not measured (older recordings).
    #[serde(default)]
    pub cost_ns: u64,
    /// The interval the sampler planned, in multiples of the asked one (1: as asked; more:
    /// stretched to keep to its budget); 0 where not known (older recordings). A longer
    /// `interval_ns` than planned means the sampler waited for a core.
    #[serde(default)]
    pub planned_step: u32,
    /// How long the cgroup's CPU quota held its run queues back in this interval, summed
    /// over its CPUs (`cpu.stat`'s throttled time), in ns, already shared out to the
    /// threads' `throttled` ([`throttle`]); `None` without a quota (and in older
    /// recordings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_ns: Option<u64>,
}
