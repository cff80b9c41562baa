//! conlab: a terminal concurrency lab — workloads × execution models, measured live.

pub mod capacity;
pub mod cli;
pub mod compare;
pub mod exec;
pub mod headless;
pub mod record;
pub mod report;
pub mod workload;
