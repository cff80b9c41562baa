//! Runtimes: what performs a run behind the [`crate::exec::Runner`] seam. The native one
//! looks the workload up in the catalog and hands it to the engine; nothing above this
//! module knows which runtime ran.
//!
//! Beside it, a real CPython interpreter runs the same workloads under the same models
//! and reports the same events ([`CpythonRunner`]): the Rust side plans the tasks (the same
//! task values the native workloads plan) and folds the outputs with the workload's own
//! `combine`, so both runtimes give the same answer.

pub(crate) mod child;
pub mod cpython;
mod events;
pub mod gecko;
pub mod gil_sampled;
pub mod locate;
mod native;
pub mod protocol;
pub mod python;
pub mod sizes;

use std::path::PathBuf;

pub use cpython::CpythonRunner;
pub use events::{run_with_events, run_with_events_on};
pub use native::{NativeRunner, run};
pub use python::{PythonError, PythonInfo};

use crate::core::Runtime;
use crate::exec::Runner;

/// `multiprocessing` start methods for `--start-method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    Fork,
    Spawn,
    Forkserver,
}

impl StartMethod {
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }
}

/// Which runtime, and for CPython which interpreter and start method.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeChoice {
    pub runtime: Runtime,
    /// `--python` (default `python3` on PATH).
    pub python: PathBuf,
    pub start_method: Option<StartMethod>,
}

impl Default for RuntimeChoice {
    fn default() -> Self {
        RuntimeChoice {
            runtime: Runtime::Native,
            python: PathBuf::from(DEFAULT_PYTHON),
            start_method: None,
        }
    }
}

/// The interpreter used when `--python` is not given.
pub const DEFAULT_PYTHON: &str = "python3";

/// A ready runner and what to call it.
pub struct Prepared {
    pub runner: Box<dyn Runner>,
    /// "native · simulated GIL" or e.g. "CPython 3.11.7 · GIL".
    pub label: String,
    pub python: Option<PythonInfo>,
}

/// The runner for `choice`; CPython is probed first (no Python, or too old: an error
/// naming `--python`). The native runtime never looks for Python.
pub fn prepare(choice: &RuntimeChoice) -> Result<Prepared, PythonError> {
    prepare_cancellable(choice, &crate::exec::CancelToken::new())
}

/// [`prepare`], the interpreter's check given up the moment `cancel` is cancelled.
pub fn prepare_cancellable(
    choice: &RuntimeChoice,
    cancel: &crate::exec::CancelToken,
) -> Result<Prepared, PythonError> {
    match choice.runtime {
        Runtime::Native => Ok(Prepared {
            runner: Box::new(NativeRunner),
            label: "native · simulated GIL".into(),
            python: None,
        }),
        Runtime::Cpython => {
            let info = python::probe_cancellable(&choice.python, cancel)?;
            Ok(Prepared {
                label: info.label(),
                runner: Box::new(CpythonRunner::new(info.clone(), choice.start_method)),
                python: Some(info),
            })
        }
    }
}

/// The size a run uses when none is given, per runtime (CPython's compute workloads are
/// smaller so a sequential run still takes a few seconds).
pub fn default_size(runtime: Runtime, workload: &dyn crate::workload::Workload) -> u64 {
    match runtime {
        Runtime::Native => workload.default_size(),
        Runtime::Cpython => {
            sizes::default_size(workload.name()).unwrap_or_else(|| workload.default_size())
        }
    }
}
