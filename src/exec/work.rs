//! The contract between the engine and what it runs: the [`Workload`] trait, the options
//! every workload reads, and the plan a workload hands the engine. Workloads implement it
//! (in `crate::workload`); the engine only ever sees a `&dyn Workload`, so `exec` never
//! depends on the catalog above it.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AsyncCtx, Engine, Fold, KeepOutputs, TaskCtx, TaskFuture, TaskResult, Tasks};
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

/// How a range of numbers is cut into tasks (`--split`): the articles' equal ranges,
/// equal work, or equal ranges that idle threads steal from each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Equal ranges of numbers, one per worker unless `--tasks` says otherwise (the
    /// articles' split): the upper range costs more, so a worker finishes late.
    Ranges,
    /// Many chunks of about equal work (more chunks than workers): balanced.
    #[default]
    Work,
    /// Many equal ranges on a work-stealing pool (rayon, threads model): each thread
    /// starts on its own contiguous block, as with `ranges`, and an idle one steals half
    /// of a busy one's remaining block.
    Steal,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Ranges => "ranges",
            Split::Work => "work",
            Split::Steal => "steal",
        }
    }
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
    /// How the numbers are cut into tasks (`None`: the default, equal work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// The most connections the model opens at once, when the runner knows better than
    /// `workers`: 1 for sequential, 0 for the native event loop (its client keeps within
    /// the open-files limit itself). Set by the runner for the plan; `None`: one per
    /// worker. The open-files check counts these.
    #[serde(skip)]
    pub at_once: Option<usize>,
}

impl WorkloadArgs {
    /// [`WorkloadArgs::at_once`] for `model` on the native engine.
    pub fn at_once_for(model: Model) -> Option<usize> {
        match model {
            Model::Sequential => Some(1),
            Model::Async => Some(0),
            Model::Threads | Model::Processes | Model::Interpreters => None,
        }
    }
}

/// What `plan` hands the engine: the tasks, plus anything that must stay alive while they
/// run (a loopback server, a temporary folder). Dropped when the run ends.
pub struct Plan {
    pub tasks: Tasks,
    pub keep_alive: Vec<Box<dyn Send>>,
}

impl Plan {
    pub fn new(tasks: Vec<Value>) -> Self {
        Plan {
            tasks: tasks.into(),
            keep_alive: Vec::new(),
        }
    }

    /// `len` tasks made on demand from their index (nothing stored per task).
    pub fn made(len: usize, make: impl Fn(usize) -> Value + Send + Sync + 'static) -> Self {
        Plan {
            tasks: Tasks::made(len, make),
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
    /// The default task count for these arguments (`--split` may change it).
    fn default_tasks_for(&self, args: &WorkloadArgs) -> usize {
        self.default_tasks(args.workers)
    }
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
    fn run_task_async<'a>(&'a self, _task: Value, _ctx: AsyncCtx<'a>) -> Option<TaskFuture<'a>> {
        None
    }
    /// Workloads that stage their tasks (a pipeline, a lesson scene) run the whole job
    /// here with the engine's pools (`engine.threads()`, `engine.processes()`, ...)
    /// instead of `model`'s default pool; `None` means "use the model's pool" (the
    /// default). Must honour the cancel token and start and finish every task once.
    fn orchestrate(&self, _engine: &Engine, _model: Model) -> Option<Vec<TaskResult>> {
        None
    }
    /// [`Workload::orchestrate`] for workloads with millions of tasks: hand each result to
    /// `out` as it finishes instead of returning them all, and return what was measured
    /// about the whole run (given to [`Fold::finish`]). `None` (the default): not used.
    fn orchestrate_into(
        &self,
        _engine: &Engine,
        _model: Model,
        _out: &(dyn Fn(usize, TaskResult) + Sync),
    ) -> Option<Option<Value>> {
        None
    }
    /// How this workload folds its outputs as they arrive. The default keeps every output
    /// (bounded by [`Workload::max_tasks`]) and calls `combine`; a workload allowing more
    /// than 100,000 tasks must fold into constant space.
    fn folder(&self, _args: &WorkloadArgs) -> Box<dyn Fold> {
        Box::<KeepOutputs>::default()
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
    /// The optional flags this workload reads besides `--size`, `--tasks`, `--workers` and
    /// `--variant` (e.g. `--url`); any other one given is refused, naming the flag.
    fn options(&self) -> &'static [&'static str] {
        &[]
    }
    /// The size another flag already gave (http: `--delay-ms` is its size), if any.
    fn size_given(&self, _args: &WorkloadArgs) -> Option<u64> {
        None
    }
    /// The models this workload is for (a scene about worker processes means nothing on
    /// threads). Others are refused before the run starts. Default: every model.
    fn models(&self) -> &'static [Model] {
        &Model::ALL
    }
    /// [`Workload::models`] as words for a refusal: "sequential, threads, processes".
    fn model_names(&self) -> String {
        let names: Vec<_> = self.models().iter().map(|m| m.name()).collect();
        names.join(", ")
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
                format!("must be at least 1 (allowed 1..={MAX_WORKERS})"),
            ));
        }
        if self.workers > MAX_ASYNC_WORKERS {
            return Err(ArgError::new(
                "--workers",
                format!(
                    "must be at most {MAX_WORKERS} (threads, processes), {MAX_ASYNC_WORKERS} \
                     (tasks in flight on the async model's one loop)"
                ),
            ));
        }
        self.check_options(w)?;
        if let Some(given) = w.size_given(&self) {
            if self.size != 0 && self.size != given {
                return Err(ArgError::new(
                    "--size",
                    format!(
                        "{} and the {given} given by another flag disagree; for {} they are the same setting: give one",
                        self.size,
                        w.name()
                    ),
                ));
            }
            self.size = given;
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
            self.tasks = w.default_tasks_for(&self);
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

/// The optional flags and what each applies to (for the message when one is given to a
/// workload that does not read it).
const OPTION_USE: [(&str, &str); 7] = [
    (
        "--delay-ms",
        "the embedded server's replies (http, pipeline) and each sleep task's wait",
    ),
    (
        "--bytes",
        "the embedded server's replies (http, pipeline) and crossover's items",
    ),
    ("--url", "the workloads that fetch URLs (http, pipeline)"),
    ("--dir", "the files workload's folder"),
    ("--chunk", "batching tiny tasks into messages (tiny)"),
    (
        "--max-tasks-per-child",
        "recycling worker processes (the recycle scene)",
    ),
    ("--split", "cutting a range of numbers into tasks (primes)"),
];

impl WorkloadArgs {
    /// The optional flags given, each with its value as typed on the command line (for
    /// the dashboard's header), in `OPTION_USE` order.
    pub fn given_flags(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(d) = self.delay_ms {
            out.push(("--delay-ms", d.to_string()));
        }
        if let Some(b) = self.bytes {
            out.push(("--bytes", b.to_string()));
        }
        match self.urls.len() {
            0 => {}
            1 => out.push(("--url", self.urls[0].clone())),
            n => out.push(("--url", format!("{} (+{} more)", self.urls[0], n - 1))),
        }
        if self.httpbin_remote {
            out.push(("--httpbin", "remote".into()));
        }
        if let Some(d) = &self.dir {
            out.push(("--dir", d.display().to_string()));
        }
        if let Some(c) = self.chunk {
            out.push(("--chunk", c.to_string()));
        }
        if let Some(k) = self.max_tasks_per_child {
            out.push(("--max-tasks-per-child", k.to_string()));
        }
        if let Some(s) = self.split.filter(|s| *s != Split::default()) {
            out.push(("--split", s.name().to_string()));
        }
        out
    }

    /// These arguments with every optional flag `w` does not read cleared (the dashboard
    /// keeps the command line's flags while `w` cycles through workloads).
    pub fn only_options_of(mut self, w: &dyn Workload) -> Self {
        let reads = |flag: &str| w.options().contains(&flag);
        if !reads("--delay-ms") {
            self.delay_ms = None;
        }
        if !reads("--bytes") {
            self.bytes = None;
        }
        if !reads("--url") {
            self.urls.clear();
            self.httpbin_remote = false;
        }
        if !reads("--dir") {
            self.dir = None;
        }
        if !reads("--chunk") {
            self.chunk = None;
        }
        if !reads("--max-tasks-per-child") {
            self.max_tasks_per_child = None;
        }
        if !reads("--split") {
            self.split = None;
        }
        self
    }

    /// `--split steal` is stealing between the threads of one process: refused for a
    /// process pool, naming the flag.
    /// Refuse more workers than `model` can have: [`MAX_WORKERS`] threads or processes,
    /// [`MAX_ASYNC_WORKERS`] tasks in flight on the one event loop (what stops more is
    /// memory: each waiting task holds its future, its timer and its events).
    pub fn check_workers(&self, model: Model) -> Result<(), ArgError> {
        let most = match model {
            Model::Async => MAX_ASYNC_WORKERS,
            _ => MAX_WORKERS,
        };
        if self.workers > most {
            let why = match model {
                Model::Async => "tasks in flight on one event loop (the limit is memory)",
                Model::Sequential => "the sequential model uses one; more is a typo",
                _ => "each is a thread or a process",
            };
            return Err(ArgError::new(
                "--workers",
                format!(
                    "{} is over the most for --model {model}: {most}, {why}",
                    self.workers
                ),
            ));
        }
        Ok(())
    }

    pub fn check_split(&self, model: Model) -> Result<(), ArgError> {
        if self.split == Some(Split::Steal) && model == Model::Processes {
            return Err(ArgError::new(
                "--split",
                "steal is work stealing between the threads of one process (rayon): it \
                 applies to the threads model (sequential runs the same equal ranges in \
                 order). Worker processes share no memory to steal from; the process pool \
                 already hands out tasks one at a time from one queue. Use --split ranges \
                 or --split work with processes",
            ));
        }
        Ok(())
    }

    /// The optional flags given, by name.
    fn given(&self) -> Vec<&'static str> {
        let set = [
            self.delay_ms.is_some(),
            self.bytes.is_some(),
            !self.urls.is_empty(),
            self.dir.is_some(),
            self.chunk.is_some(),
            self.max_tasks_per_child.is_some(),
            self.split.is_some(),
        ];
        OPTION_USE
            .iter()
            .zip(set)
            .filter(|(_, s)| *s)
            .map(|((f, _), _)| *f)
            .collect()
    }

    /// Refuse a flag the workload does not read, saying what it applies to.
    fn check_options(&self, w: &dyn Workload) -> Result<(), ArgError> {
        for flag in self.given() {
            if w.options().contains(&flag) {
                continue;
            }
            let applies = OPTION_USE
                .iter()
                .find(|(f, _)| *f == flag)
                .map_or("other workloads", |(_, u)| u);
            return Err(ArgError::new(
                flag,
                format!("applies to {applies}; {} does not read it", w.name()),
            ));
        }
        Ok(())
    }
}

/// Most workers a run may have (`--workers`): threads or processes.
pub const MAX_WORKERS: usize = 4096;
/// Most tasks in flight on the async model's loop (its `--workers`): 100,000 concurrent
/// waits, what the articles promise for asyncio, in well under 300 MB.
pub const MAX_ASYNC_WORKERS: usize = 100_000;

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
