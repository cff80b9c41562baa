//! The contract between the engine and what it runs: the [`Workload`] trait, the options
//! every workload reads, and the plan a workload hands the engine. Workloads implement it
//! (in `crate::workload`); the engine only ever sees a `&dyn Workload`, so `exec` never
//! depends on the catalog above it.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AsyncCtx, Engine, TaskCtx, TaskFuture, TaskResult};
use crate::core::{Answer, Model, TaskError, TaskOutput};

/// What kind of work it is: drives defaults, the dashboard's grouping and explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// Computing: the GIL serialises threads.
    Cpu,
    /// Waiting (sleep, network, disk): the GIL is released.
    Io,
    /// Both, in stages.
    Mixed,
    /// So little work that dispatch cost dominates.
    Overhead,
    /// A lesson scene (race, deadlock, ...).
    Scene,
}

/// Options a workload reads. Every field has a default; `size` and `tasks` are filled by
/// [`WorkloadArgs::resolve`] from the workload's own defaults when not given.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadArgs {
    pub size: u64,
    pub tasks: usize,
    pub workers: usize,
    /// HTTP: per-request delay of the embedded server, in ms.
    pub delay_ms: Option<u64>,
    /// HTTP: body size of the embedded server's responses.
    pub bytes: Option<u64>,
    /// HTTP: real URLs instead of the embedded server.
    pub urls: Vec<String>,
    /// HTTP: send httpbin.org URLs out as written (`--httpbin remote`) instead of to the
    /// embedded server.
    pub httpbin_remote: bool,
    /// Files: the folder to read instead of the generated corpus.
    pub dir: Option<PathBuf>,
    /// Tasks per message for process pools (the `chunksize` of Python's `map`).
    pub chunk: Option<usize>,
    /// A scene's variant, e.g. `fixed` for the deadlock scene, `shm` for payload.
    pub variant: Option<String>,
    /// Process pools: replace a worker process after this many tasks (Python's
    /// `max_tasks_per_child`); used by the `recycle` scene.
    pub max_tasks_per_child: Option<usize>,
}

/// What `plan` hands the engine: the tasks, plus anything that must stay alive while they
/// run (a loopback server, a temporary folder). Dropped when the run ends.
pub struct Plan {
    pub tasks: Vec<Value>,
    pub keep_alive: Vec<Box<dyn Send>>,
}

impl Plan {
    pub fn new(tasks: Vec<Value>) -> Self {
        Plan {
            tasks,
            keep_alive: Vec::new(),
        }
    }
}

/// One kind of work conlab can run under every model.
pub trait Workload: Send + Sync {
    fn name(&self) -> &'static str;
    /// One line for `--help`, the dashboard and the README.
    fn summary(&self) -> &'static str;
    fn kind(&self) -> WorkKind;
    /// What `--size` means for this workload, e.g. "count primes below N".
    fn size_meaning(&self) -> &'static str;
    /// A size that makes a sequential run take a few seconds on one core.
    fn default_size(&self) -> u64;
    /// Sizes that finish in sensible time and memory.
    fn size_range(&self) -> RangeInclusive<u64>;
    fn default_tasks(&self, workers: usize) -> usize;
    /// Most tasks allowed.
    fn max_tasks(&self) -> usize {
        100_000
    }
    /// Split the work into tasks (and start whatever the tasks need).
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan>;
    /// Run one task; call `ctx.tick()` often in compute loops.
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError>;
    /// The task as a future on the async model's loop (timers, sockets and file reads
    /// awaited). `None` (the default) means the workload has no async body: under `async`
    /// its synchronous [`Workload::run_task`] runs on the loop and blocks it while it runs
    /// — faithfully, as CPU work in a coroutine does — unless `--offload` hands it to a
    /// pool. Must be `Some` for every task or for none.
    fn run_task_async<'a>(
        &'a self,
        _task: &'a Value,
        _ctx: AsyncCtx<'a>,
    ) -> Option<TaskFuture<'a>> {
        None
    }
    /// Workloads that stage their tasks (a pipeline, a lesson scene) run the whole job
    /// here with the engine's pools (`engine.threads()`, `engine.processes()`, ...)
    /// instead of `model`'s default pool; `None` means "use the model's pool" (the
    /// default). Must honour the cancel token and start and finish every task once.
    fn orchestrate(&self, _engine: &Engine, _model: Model) -> Option<Vec<TaskResult>> {
        None
    }
    /// Is the answer itself a measurement (a speed-up, a latency, lost updates) that may
    /// differ from run to run and model to model? Then "answers agree" does not apply.
    fn answer_is_measured(&self) -> bool {
        false
    }
    /// Fold every task's output (in task order) into the answer.
    fn combine(&self, outputs: &[TaskOutput], args: &WorkloadArgs) -> Answer;
    /// The measured numbers behind the answer (a scene's lesson), for `run --json`'s
    /// `details` and the dashboard; `None` (the default) for plain workloads.
    fn details(&self, _outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        None
    }
    /// Variants this workload accepts for `--variant` (empty: none).
    fn variants(&self) -> &'static [&'static str] {
        &[]
    }
}

impl WorkloadArgs {
    /// Fill size/tasks from the workload's defaults and check every range, naming the flag.
    pub fn resolve(mut self, w: &dyn Workload) -> Result<Self, ArgError> {
        if self.workers == 0 {
            return Err(ArgError::new(
                "--workers",
                "must be at least 1 (allowed 1..=4096)",
            ));
        }
        if self.workers > 4096 {
            return Err(ArgError::new("--workers", "must be at most 4096"));
        }
        if self.size == 0 {
            self.size = w.default_size();
        }
        let range = w.size_range();
        if !range.contains(&self.size) {
            return Err(ArgError::new(
                "--size",
                format!(
                    "{} is out of range for {} ({}); allowed {}..={}",
                    self.size,
                    w.name(),
                    w.size_meaning(),
                    range.start(),
                    range.end()
                ),
            ));
        }
        if let Some(v) = &self.variant
            && !w.variants().contains(&v.as_str())
        {
            let allowed = if w.variants().is_empty() {
                format!("{} has no variants", w.name())
            } else {
                format!("allowed for {}: {}", w.name(), w.variants().join(", "))
            };
            return Err(ArgError::new(
                "--variant",
                format!("`{v}` is unknown; {allowed}"),
            ));
        }
        if self.chunk == Some(0) {
            return Err(ArgError::new("--chunk", "must be at least 1"));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(ArgError::new("--max-tasks-per-child", "must be at least 1"));
        }
        if self.tasks == 0 {
            self.tasks = w.default_tasks(self.workers);
        }
        if self.tasks > w.max_tasks() {
            return Err(ArgError::new(
                "--tasks",
                format!(
                    "{} is too many for {}; allowed 1..={}",
                    self.tasks,
                    w.name(),
                    w.max_tasks()
                ),
            ));
        }
        Ok(self)
    }
}

/// A bad option, naming the flag and the allowed range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid {flag}: {message}")]
pub struct ArgError {
    pub flag: &'static str,
    pub message: String,
}

impl ArgError {
    pub fn new(flag: &'static str, message: impl Into<String>) -> Self {
        ArgError {
            flag,
            message: message.into(),
        }
    }
}
