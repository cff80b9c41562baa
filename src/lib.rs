//! conlab: a terminal concurrency lab — workloads × execution models, measured live.

pub mod cli;
pub mod compare;
pub mod exec;
pub mod headless;
pub mod server;
pub mod workload;
