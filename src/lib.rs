//! conlab: a terminal concurrency lab — workloads × execution models, measured live.

pub mod app;
pub mod capacity;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod core;
pub mod exec;
pub mod frame;
pub mod headless;
pub mod lesson;
pub mod monitor;
pub mod record;
pub mod replay;
pub mod report;
pub mod runtime;
pub mod server;
pub mod shot;
pub mod tui;
pub mod ui;
pub mod workload;
