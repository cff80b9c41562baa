//! The types both sides share — the engine that runs work and everything that reads runs:
//! models, runtimes, task outputs and errors, answers, events, the GIL's settings. Depends on nothing
//! else of conlab's, so `exec`, `workload`, `app` and `report` all build on it without cycles.

mod code_kind;
mod crossing;
mod error;
mod event;
pub mod fmt;
mod gil_config;
pub mod lines;
mod machine;
mod measures;
mod model;
mod output;
mod runtime;
mod units;

pub use code_kind::CodeKind;
pub use crossing::{CROSSING_NOTE, Crossing};
pub use error::{LabError, TaskError};
pub use event::{Event, RunEnd, RunStart, SpanKind, Stamped};
pub use gil_config::{DEFAULT_SWITCH_INTERVAL_MS, GilConfig, SWITCH_INTERVAL_MS};
pub use machine::{CpusGiven, cpus as cpus_text, default_workers};
pub use measures::{LoopStats, MemoryStats};
pub use model::Model;
pub use output::{Answer, TaskOutput};
pub use runtime::Runtime;
pub use units::{median, ms};
