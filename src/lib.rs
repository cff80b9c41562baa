//! conlab: a terminal concurrency lab — workloads × execution models, measured live.

pub mod classify;
pub mod cli;
pub mod compare;
pub mod exec;
pub mod headless;
pub mod workload;
