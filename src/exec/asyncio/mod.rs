//! The async model: one thread running one event loop (a single-threaded tokio runtime),
//! every task a future on it — asyncio's shape. Waits (timers, sockets, file reads) are
//! overlapped by the loop; CPU work runs on the loop and blocks it, which the heartbeat
//! measures as loop lag, unless `--offload` moves it to the engine's thread or process
//! pool (asyncio's `to_thread` / `run_in_executor`). `--max-in-flight` bounds how many
//! tasks are in flight at once (an `asyncio.Semaphore`).
//!
//! One role per file: [`event_loop`] drives the tasks, [`heartbeat`] measures the loop's
//! lag, [`ctx`] is what an async task body may ask of the loop, [`client`] the HTTP
//! client, [`offload`] hands CPU work to a pool, [`timed`] measures a future's CPU time.

mod client;
mod ctx;
mod event_loop;
mod heartbeat;
mod offload;
mod timed;

use serde::{Deserialize, Serialize};

pub use crate::core::LoopStats;
pub use client::{Fetched, HttpClient};
pub use ctx::{AsyncCtx, TaskFuture};
pub use event_loop::{DEFAULT_MAX_IN_FLIGHT, run_into};
pub use heartbeat::{HEARTBEAT, LagHistogram};

/// Where the async model runs a task that has no async body (CPU work).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Offload {
    /// On the loop itself: it blocks the loop (the lesson).
    #[default]
    None,
    /// On the engine's thread pool (asyncio's `to_thread`), sharing the simulated GIL.
    Threads,
    /// On the engine's process pool (`loop.run_in_executor(ProcessPoolExecutor())`).
    Processes,
}

impl Offload {
    pub fn name(self) -> &'static str {
        match self {
            Offload::None => "none",
            Offload::Threads => "threads",
            Offload::Processes => "processes",
        }
    }
}

/// The async model's options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AsyncOpts {
    /// Where CPU work (tasks without an async body) runs.
    pub offload: Offload,
    /// At most this many tasks in flight at once (`None`: all of them).
    pub max_in_flight: Option<usize>,
}

impl AsyncOpts {
    /// A few words for headers and reports, e.g. "offload processes · ≤100 in flight".
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.offload {
            Offload::None => "CPU on the loop".to_string(),
            o => format!("offload {}", o.name()),
        }];
        if let Some(n) = self.max_in_flight {
            parts.push(format!("≤{n} in flight"));
        }
        parts.join(" · ")
    }
}
