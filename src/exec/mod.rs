//! HOW work runs: the execution models, the run loop around them, and what they emit.
//!
//! [`run_workload`] resolves a [`RunSpec`], plans the workload's tasks, runs them on the model's
//! pool through an [`Engine`] (or lets the workload orchestrate them with that engine),
//! and reports one [`RunReport`]; along the way every model emits the same [`Event`]s into
//! a [`Sink`]. [`Runner`] is the seam above: `runtime::NativeRunner` is this engine,
//! [`mock::MockRunner`] a fake that takes exact durations.

pub mod asyncio;
mod bystanders;
mod cancel;
pub mod capacity;
mod child;
mod ctx;
mod engine;
pub mod fold;
pub mod gil;
pub mod interpreters;
pub mod memory;
pub mod mock;
mod pool_stats;
pub mod processes;
mod sequential;
mod sink;
mod tasks;
pub mod threads;
pub mod work;
pub mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::core::{Event, GilConfig, Model, RunEnd, RunStart, SpanKind, Stamped, TaskError};
pub use asyncio::{AsyncCtx, AsyncOpts, Offload, TaskFuture};
pub use bystanders::Bystanders;
pub use cancel::{CancelToken, HookGuard};
pub use ctx::TaskCtx;
pub use engine::Engine;
pub use gil::Gil;
pub use interpreters::InterpreterPool;
pub use pool_stats::PoolStats;
pub use processes::ProcessPool;
pub use sink::Sink;
pub use threads::{ThreadPool, ThreadStats};

use crate::core::{Answer, Crossing, LoopStats, MemoryStats, TaskOutput};
pub use fold::{Fold, KeepOutputs, SumValues};
pub use tasks::Tasks;
pub use work::{ArgError, Plan, Split, WorkKind, Workload, WorkloadArgs};

/// Everything needed to start one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub workload: String,
    pub model: Model,
    /// Size, tasks, workers and workload options (0 = the workload's default).
    pub args: WorkloadArgs,
    pub gil: GilConfig,
    /// The async model's options (offload, most in flight); other models ignore them.
    #[serde(default)]
    pub asyncio: AsyncOpts,
    /// The binary to re-run as a worker process (default: this executable).
    #[serde(skip)]
    pub worker_exe: Option<PathBuf>,
}

impl RunSpec {
    pub fn new(workload: &str, model: Model, workers: usize) -> Self {
        RunSpec {
            workload: workload.to_string(),
            model,
            args: WorkloadArgs {
                workers,
                ..WorkloadArgs::default()
            },
            gil: GilConfig::default(),
            asyncio: AsyncOpts::default(),
            worker_exe: None,
        }
    }
}

/// One task's fate: `None` when it never ran (cancelled first).
pub type TaskResult = Option<Result<TaskOutput, String>>;

/// What a run's pools are given.
pub struct Job<'a> {
    pub workload: &'a dyn Workload,
    pub tasks: &'a Tasks,
    pub workers: usize,
    pub gil: GilConfig,
    pub sink: &'a Sink,
    pub cancel: &'a CancelToken,
    pub worker_exe: Option<&'a std::path::Path>,
}

/// Runs a whole [`RunSpec`] and reports it: the seam between what asks for runs (the
/// headless commands, `compare`, the dashboard) and what performs them (the native engine
/// here, another runtime, or a test's mock). Implementations emit the same [`Event`]s into
/// the sink, so nothing above this trait knows which one ran.
pub trait Runner: Send + Sync {
    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken) -> RunResult;

    /// Whether the runs happen on this machine, so that watching the machine during one
    /// (other programs' CPU, the run queue) says something about it. A mock's runs do not:
    /// the dashboard leaves them unwitnessed.
    fn on_this_machine(&self) -> bool {
        true
    }
}

/// The measured outcome of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub workload: String,
    pub model: Model,
    pub workers: usize,
    pub gil: bool,
    pub size: u64,
    pub tasks: usize,
    /// `None` when a task failed or the run was cancelled.
    pub answer: Option<Answer>,
    pub elapsed: Duration,
    /// CPU time of the run's threads (this process's, less those already running when it
    /// started: the dashboard's own) and of the workers it reaped during the run.
    pub cpu: Duration,
    pub failures: Vec<(usize, String)>,
    pub cancelled: bool,
    /// A scene's measured numbers ([`Workload::details`]), when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Each worker's busy time: the sum of its tasks' spans, in µs, by worker number
    /// (empty when the runtime did not measure it). Unequal = imbalance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busy_us: Vec<u64>,
    /// The async model's loop lag (its heartbeat), for async runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_lag: Option<LoopStats>,
    /// Peak memory and threads of the process tree, sampled during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
    /// What the pool paid to start its workers and to copy tasks across to them
    /// (threads, processes, interpreters; `None` where not measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing: Option<Crossing>,
    /// CPU time in `cpu` that never reached conlab through `wait()`: processes another
    /// process reaped (a CPython forkserver's pool workers, which the driver reports). A
    /// window over the machine's counters must not count it as other programs'.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub unreaped_cpu: Duration,
}

impl RunReport {
    /// Average number of cores busy during the run.
    pub fn cpu_utilisation(&self) -> f64 {
        let e = self.elapsed.as_secs_f64();
        if e > 0.0 {
            self.cpu.as_secs_f64() / e
        } else {
            0.0
        }
    }
}

/// What a run ends with: its report, or why it could not start.
pub type RunResult = Result<RunReport, RunError>;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A name not in the catalog, and the names that are.
    #[error("unknown workload `{name}`; choose one of: {known}")]
    UnknownWorkload { name: String, known: String },
    #[error(transparent)]
    Arg(#[from] ArgError),
    #[error("{workload} is not for the {model} model; it runs under: {supported}")]
    Unsupported {
        workload: String,
        model: Model,
        supported: String,
    },
    #[error("{0:#}")]
    Plan(anyhow::Error),
}

/// A run that could not start was refused as asked (a command exits 2).
impl From<RunError> for crate::core::LabError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Plan(e) => crate::core::LabError::Refused(format!("{e:#}")),
            other => crate::core::LabError::Refused(other.to_string()),
        }
    }
}

/// CPU time used so far by this process plus its reaped children.
pub fn cpu_now() -> Duration {
    crate::sys::cpu::own_cpu()
}

/// Run workload `w` with the spec's model, options and GIL (its name is not looked up).
pub fn run_workload(
    w: &dyn Workload,
    spec: &RunSpec,
    sink: &Sink,
    cancel: &CancelToken,
) -> RunResult {
    if !w.models().contains(&spec.model) {
        return Err(unsupported(w, spec.model));
    }
    let mut args = spec.args.clone().resolve(w)?;
    args.check_split(spec.model)?;
    args.check_workers(spec.model)?;
    args.at_once = WorkloadArgs::at_once_for(spec.model);
    let plan = w.plan(&args).map_err(RunError::Plan)?;
    let busy = BusyTally::default();
    let sink = busy.wrap(&sink.restarted());
    sink.emit(Event::RunStarted(RunStart {
        workload: w.name().to_string(),
        model: spec.model,
        workers: args.workers,
        tasks: plan.tasks.len(),
        gil: spec.gil.enabled,
        switch_interval_ms: spec.gil.switch_interval.as_secs_f64() * 1e3,
        size: args.size,
    }));
    // Threads already running (the dashboard's own) are not the run's: their CPU is left out.
    let bystanders = Bystanders::now();
    let sampler = memory::Sampler::start();
    let cpu0 = cpu_now();
    let t0 = Instant::now();
    let job = Job {
        workload: w,
        tasks: &plan.tasks,
        workers: args.workers,
        gil: spec.gil,
        sink: &sink,
        cancel,
        worker_exe: spec.worker_exe.as_deref(),
    };
    let engine = Engine::new(&job);
    let collected = Collected::shared(w.folder(&args));
    let put = |i: usize, r: TaskResult| collected.put(i, r);
    let mut loop_lag = None;
    let mut crossing = None;
    let run_extra = match w.orchestrate_into(&engine, spec.model, &put) {
        Some(extra) => extra,
        None => {
            match w.orchestrate(&engine, spec.model) {
                Some(results) => results.into_iter().enumerate().for_each(|(i, r)| put(i, r)),
                None if spec.model == Model::Threads && args.split == Some(Split::Steal) => {
                    engine.threads().run_stealing_into(&engine.gil(), &put);
                }
                None if spec.model == Model::Async => {
                    loop_lag = Some(asyncio::run_into(&job, spec.asyncio, &put));
                }
                None if spec.model == Model::Interpreters => {
                    crossing = Some(engine.interpreters().run_into(&put));
                }
                None if spec.model == Model::Processes => {
                    crossing = Some(engine.processes().run_into(&put).crossing());
                }
                None if spec.model == Model::Threads => {
                    crossing = Some(threads_crossing(
                        engine.threads().run_into(&engine.gil(), &put),
                        args.workers,
                        job.tasks.len(),
                    ));
                }
                None => engine.run_model_into(spec.model, &put),
            }
            None
        }
    };
    let elapsed = t0.elapsed();
    let cpu = cpu_now()
        .saturating_sub(cpu0)
        .saturating_sub(bystanders.cpu_since());
    let memory = sampler.finish();
    let tasks = job.tasks.len();
    drop(plan);

    let Collected {
        fold,
        failures,
        never_ran,
    } = collected.into_inner();
    let mut report = finish_run(
        &sink,
        w,
        spec.model,
        &args,
        spec.gil.enabled,
        Ended {
            tasks,
            fold,
            run_extra,
            failures,
            cancelled: cancel.is_cancelled() || never_ran,
            elapsed,
            cpu,
            memory,
            loop_lag,
        },
    );
    report.busy_us = busy.take();
    report.crossing = crossing;
    if spec.model == Model::Async {
        // Tasks overlap on the loop: their spans summed are no one's busy time.
        report.busy_us.clear();
        if spec.asyncio.offload == Offload::None {
            // One thread runs everything: efficiency and capacity are against one core.
            report.workers = 1;
        }
    }
    Ok(report)
}

/// Each worker's busy time, summed from the `TaskFinished` events as they pass.
#[derive(Clone, Default)]
struct BusyTally(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

impl BusyTally {
    /// A sink that tallies, then hands every event on to `inner` (same clock).
    fn wrap(&self, inner: &Sink) -> Sink {
        let tally = self.clone();
        let to = inner.clone();
        Sink::new(move |s| {
            if let Event::TaskFinished {
                worker, wall_us, ..
            } = &s.event
            {
                let mut b = tally.0.lock().unwrap_or_else(|e| e.into_inner());
                // Worker numbers are pool slots; a stray large one is not tallied.
                if *worker < 1 << 16 {
                    if b.len() <= *worker {
                        b.resize(*worker + 1, 0);
                    }
                    b[*worker] += wall_us;
                }
            }
            to.emit_at(s.at_us, s.event);
        })
        .with_clock_of(inner)
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// How a run ended, as every runtime measures it.
pub struct Ended {
    pub tasks: usize,
    /// The finished tasks' outputs, folded as they arrived.
    pub fold: Box<dyn Fold>,
    /// What an orchestrating workload measured about the whole run.
    pub run_extra: Option<Value>,
    pub failures: Vec<(usize, String)>,
    pub cancelled: bool,
    pub elapsed: Duration,
    pub cpu: Duration,
    /// Peak memory and threads sampled during the run (`None` where /proc is unreadable).
    pub memory: Option<MemoryStats>,
    /// The event loop's lag, for async runs.
    pub loop_lag: Option<LoopStats>,
}

/// The end of every run, whichever runtime ran it: the answer (only when no task failed
/// and nothing was cancelled), the `RunFinished` event, and the report.
pub fn finish_run(
    sink: &Sink,
    w: &dyn Workload,
    model: Model,
    args: &WorkloadArgs,
    gil: bool,
    end: Ended,
) -> RunReport {
    let (answer, details) = if end.failures.is_empty() && !end.cancelled {
        let (a, d) = end.fold.finish(w, args, end.run_extra);
        (Some(a), d)
    } else {
        (None, None)
    };
    sink.emit(Event::Measured {
        memory: end.memory,
        loop_lag: end.loop_lag,
    });
    sink.emit(Event::RunFinished(RunEnd {
        answer: answer.clone(),
        elapsed_us: end.elapsed.as_micros() as u64,
        cpu_us: end.cpu.as_micros() as u64,
        failed: end.failures.len(),
        cancelled: end.cancelled,
    }));
    RunReport {
        workload: w.name().to_string(),
        model,
        workers: args.workers,
        gil,
        size: args.size,
        tasks: end.tasks,
        answer,
        elapsed: end.elapsed,
        cpu: end.cpu,
        failures: end.failures,
        cancelled: end.cancelled,
        details,
        busy_us: Vec::new(),
        loop_lag: end.loop_lag,
        memory: end.memory,
        crossing: None,
        unreaped_cpu: Duration::ZERO,
    }
}

/// A thread pool's crossing: its threads' start-up, and nothing copied (shared memory).
fn threads_crossing(stats: ThreadStats, workers: usize, tasks: usize) -> Crossing {
    let workers = workers.max(1);
    Crossing {
        workers,
        // The pool measures from the first spawn until every thread ran: per thread, the mean.
        startup_us: Some(stats.startup.as_micros() as u64 / workers as u64),
        startup_note: None,
        items: tasks as u64,
        bytes: Some(0),
        transfer_us: Some(0),
        how: "shared memory".into(),
    }
}

/// The refusal for running `w` under a model it is not for.
pub fn unsupported(w: &dyn Workload, model: Model) -> RunError {
    RunError::Unsupported {
        workload: w.name().to_string(),
        model,
        supported: w.model_names(),
    }
}

/// Task results as they arrive: outputs folded at once by the workload's [`Fold`],
/// failures kept with their task, tasks that never ran noted.
struct Collected {
    fold: Box<dyn Fold>,
    failures: Vec<(usize, String)>,
    never_ran: bool,
}

/// [`Collected`] shared by a pool's workers.
struct SharedCollected(std::sync::Mutex<Collected>);

impl Collected {
    fn shared(fold: Box<dyn Fold>) -> SharedCollected {
        SharedCollected(std::sync::Mutex::new(Collected {
            fold,
            failures: Vec::new(),
            never_ran: false,
        }))
    }
}

impl SharedCollected {
    fn put(&self, index: usize, r: TaskResult) {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match r {
            Some(Ok(o)) => c.fold.add(index, o),
            Some(Err(e)) => c.failures.push((index, e)),
            None => c.never_ran = true,
        }
    }

    fn into_inner(self) -> Collected {
        let mut c = self.0.into_inner().unwrap_or_else(|e| e.into_inner());
        c.failures.sort_by_key(|(i, _)| *i);
        c
    }
}

/// The name this thread shows on the timeline and in `TaskStarted`.
pub fn thread_label() -> String {
    let t = std::thread::current();
    t.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:?}", t.id()))
}

/// Run task `index` on the calling thread as `worker`, holding `gil` while computing,
/// and emit its start and finish. Shared by every model (and by worker processes).
pub fn run_one(
    job: &Job,
    gil: &Gil,
    index: usize,
    worker: usize,
    pid: u32,
) -> Result<TaskOutput, TaskError> {
    run_with(job, gil, index, worker, pid, |ctx| {
        job.workload.run_task(&job.tasks.get(index), ctx)
    })
}

/// [`run_one`] with the work given as a closure (scenes that orchestrate their own
/// threads run their bodies through here, so every task is reported the same way).
pub fn run_with(
    job: &Job,
    gil: &Gil,
    index: usize,
    worker: usize,
    pid: u32,
    f: impl FnOnce(&mut TaskCtx) -> Result<TaskOutput, TaskError>,
) -> Result<TaskOutput, TaskError> {
    job.sink.emit(Event::TaskStarted {
        task: index,
        worker,
        pid,
        thread: thread_label(),
    });
    let t0 = Instant::now();
    let cpu0 = cpu_time::ThreadTime::try_now().ok();
    // Takes the GIL (drawing the wait); dropping the context releases it, whether the
    // task returned or panicked.
    let mut ctx = TaskCtx::new(index, worker, gil, job.cancel, job.sink);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut ctx)))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(TaskError::failed(format!("task panicked: {msg}")))
        });
    drop(ctx);
    let wall_us = t0.elapsed().as_micros() as u64;
    let cpu_us = cpu0.map(|c| c.elapsed().as_micros() as u64).unwrap_or(0);
    if out != Err(TaskError::Cancelled) {
        job.sink.emit(Event::TaskFinished {
            task: index,
            worker,
            result: out.clone().map_err(|e| e.to_string()),
            wall_us,
            cpu_us,
        });
    }
    out
}

/// Map a task's outcome to what executors return.
pub fn to_result(r: Result<TaskOutput, TaskError>) -> TaskResult {
    match r {
        Ok(o) => Some(Ok(o)),
        Err(TaskError::Cancelled) => None,
        Err(TaskError::Failed(e)) => Some(Err(e)),
    }
}
