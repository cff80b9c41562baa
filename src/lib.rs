//! conlab: a terminal concurrency lab — workloads × execution models, measured live.
//!
//! The modules from the bottom layer up; a module imports only from the layers below it
//! (`tests/layers.rs` keeps it so). `ARCHITECTURE.md` is the map.

// The types every layer shares (models, events, answers, formatting); depends on nothing of ours.
pub mod core;
// OS plumbing: the guard, signals, open-file limits, /proc text, the terminal, stdout.
pub mod sys;
// A drawn frame → SVG, text, ANSI, animation, asciicast.
pub mod frame;
// Measuring the machine: the CPU monitor and the kernel's view of every thread.
pub mod observe;
// The embedded loopback HTTP server the I/O workloads talk to.
pub mod server;
// HOW work runs: the execution models, the simulated GIL, the Runner seam.
pub mod exec;
// WHAT runs: the workloads and the scenes.
pub mod workload;
// Who runs it: the native engine or a real CPython interpreter.
pub mod runtime;
// Measuring to a verdict: compare, classify, fidelity, lessons.
pub mod experiment;
// Exporters: a comparison or fidelity result as table, JSON, CSV, markdown.
pub mod report;
// The dashboard's state machine (Elm's model and update).
pub mod app;
// Drawing the dashboard from an App (Elm's view): pure.
pub mod ui;
// Recordings and what is made from them: record, replay, capture, trace, screenshots.
pub mod recording;
// The dashboard's terminal side: the event loop and its producers.
pub mod tui;
// `conlab watch`: any program's threads as the kernel saw them.
pub mod watch;
// The command line (clap): imported by main and commands alone.
pub mod cli;
// One file per subcommand, the command error type, exit codes, Ctrl-C.
pub mod commands;
