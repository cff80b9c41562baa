//! The execution models a run can use.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An execution model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// The tasks one after another on one thread.
    Sequential,
    /// A thread pool built for the run, sharing one simulated GIL.
    Threads,
    /// A pool of worker processes (this binary re-run), each with its own GIL.
    Processes,
    /// One thread running an event loop (a single-threaded tokio runtime): every task a
    /// future, waits overlapped by the loop, CPU work blocking it unless offloaded.
    Async,
    /// Subinterpreters: a pool of workers in one process, each its own interpreter with its
    /// own GIL; arguments and results cross between interpreters by copy (serialised).
    Interpreters,
}

impl Model {
    pub const ALL: [Model; 5] = [
        Model::Sequential,
        Model::Threads,
        Model::Processes,
        Model::Async,
        Model::Interpreters,
    ];

    /// The three models without an event loop (workloads about pools and dispatch).
    pub const POOLS: [Model; 3] = [Model::Sequential, Model::Threads, Model::Processes];

    pub fn name(self) -> &'static str {
        match self {
            Model::Sequential => "sequential",
            Model::Threads => "threads",
            Model::Processes => "processes",
            Model::Async => "async",
            Model::Interpreters => "interpreters",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
