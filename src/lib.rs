//! conlab: a terminal concurrency lab — workloads × execution models, measured live.

pub mod app;
pub mod capacity;
pub mod cli;
pub mod compare;
pub mod exec;
pub mod headless;
pub mod monitor;
pub mod record;
pub mod report;
pub mod server;
pub mod tui;
pub mod ui;
pub mod workload;
