//! HOW work runs: the execution models, the run loop around them, and what they emit.
//!
//! [`run_workload`] resolves a [`RunSpec`], plans the workload's tasks, runs them on the model's
//! pool through an [`Engine`] (or lets the workload orchestrate them with that engine),
//! and reports one [`RunReport`]; along the way every model emits the same [`Event`]s into
//! a [`Sink`]. [`Runner`] is the seam above: `runtime::NativeRunner` is this engine,
//! [`mock::MockRunner`] a fake that takes exact durations.

pub mod asyncio;
mod cancel;
mod child;
mod ctx;
mod engine;
pub mod gil;
pub mod memory;
pub mod mock;
mod pool_stats;
pub mod processes;
mod sequential;
mod sink;
pub mod threads;
pub mod work;
pub mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::core::{Event, GilConfig, Model, SpanKind, Stamped, TaskError};
pub use asyncio::{AsyncCtx, AsyncOpts, LoopStats, Offload, TaskFuture};
pub use cancel::CancelToken;
pub use ctx::TaskCtx;
pub use engine::Engine;
pub use gil::Gil;
pub use memory::MemoryStats;
pub use pool_stats::PoolStats;
pub use processes::ProcessPool;
pub use sink::Sink;
pub use threads::{ThreadPool, ThreadStats};

use crate::core::{Answer, TaskOutput};
pub use work::{ArgError, Plan, WorkKind, Workload, WorkloadArgs};

/// Everything needed to start one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub workload: String,
    pub model: Model,
    /// Size, tasks, workers and workload options (0 = the workload's default).
    pub args: WorkloadArgs,
    pub gil: GilConfig,
    /// The async model's options (offload, max in flight); other models ignore them.
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
    pub tasks: &'a [Value],
    pub workers: usize,
    pub gil: GilConfig,
    pub sink: &'a Sink,
    pub cancel: &'a CancelToken,
    pub worker_exe: Option<&'a std::path::Path>,
    /// The async model's options.
    pub asyncio: AsyncOpts,
}

/// Runs a whole [`RunSpec`] and reports it: the seam between what asks for runs (the
/// headless commands, `compare`, the dashboard) and what performs them (the native engine
/// here, another runtime, or a test's mock). Implementations emit the same [`Event`]s into
/// the sink, so nothing above this trait knows which one ran.
pub trait Runner: Send + Sync {
    fn run(&self, spec: &RunSpec, sink: &Sink, cancel: &CancelToken)
    -> Result<RunReport, RunError>;
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
    /// CPU time of this process and of the workers it reaped during the run.
    pub cpu: Duration,
    pub failures: Vec<(usize, String)>,
    pub cancelled: bool,
    /// A scene's measured numbers ([`Workload::details`]), when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// The async model's loop lag (its heartbeat), for async runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_lag: Option<LoopStats>,
    /// Peak memory and threads, sampled during the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryStats>,
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

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A name not in the catalog, and the names that are.
    #[error("unknown workload `{name}`; choose one of: {known}")]
    UnknownWorkload { name: String, known: String },
    #[error(transparent)]
    Arg(#[from] ArgError),
    #[error("{0:#}")]
    Plan(anyhow::Error),
}

/// CPU time used so far by this process plus its reaped children.
pub fn cpu_now() -> Duration {
    let own = cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration())
        .unwrap_or_default();
    own + children_cpu()
}

fn children_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
            };
            tv(u.user_time()) + tv(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// Run workload `w` with the spec's model, options and GIL (its name is not looked up).
pub fn run_workload(
    w: &dyn Workload,
    spec: &RunSpec,
    sink: &Sink,
    cancel: &CancelToken,
) -> Result<RunReport, RunError> {
    let args = spec.args.clone().resolve(w)?;
    let plan = w.plan(&args).map_err(RunError::Plan)?;
    let sink = sink.restarted();
    sink.emit(Event::RunStarted {
        workload: w.name().to_string(),
        model: spec.model,
        workers: args.workers,
        tasks: plan.tasks.len(),
        gil: spec.gil.enabled,
        switch_interval_ms: spec.gil.switch_interval.as_secs_f64() * 1e3,
        size: args.size,
    });
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
        asyncio: spec.asyncio,
    };
    let engine = Engine::new(&job);
    let mut loop_lag = None;
    let results = match w.orchestrate(&engine, spec.model) {
        Some(r) => r,
        None if spec.model == Model::Async => {
            let (r, stats) = asyncio::run(&job, spec.asyncio);
            loop_lag = Some(stats);
            r
        }
        None => engine.run_model(spec.model),
    };
    let elapsed = t0.elapsed();
    let cpu = cpu_now().saturating_sub(cpu0);
    let memory = sampler.finish();
    let tasks = job.tasks.len();
    drop(plan);

    let mut outputs = Vec::with_capacity(results.len());
    let mut failures = Vec::new();
    let mut never_ran = false;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(o)) => outputs.push(o),
            Some(Err(e)) => failures.push((i, e)),
            None => never_ran = true,
        }
    }
    let cancelled = cancel.is_cancelled() || never_ran;
    let answer = (failures.is_empty() && !cancelled).then(|| w.combine(&outputs, &args));
    let details = answer.as_ref().and_then(|_| w.details(&outputs, &args));
    sink.emit(Event::Measured { memory, loop_lag });
    sink.emit(Event::RunFinished {
        answer: answer.clone(),
        elapsed_us: elapsed.as_micros() as u64,
        cpu_us: cpu.as_micros() as u64,
        failed: failures.len(),
        cancelled,
    });
    Ok(RunReport {
        workload: w.name().to_string(),
        model: spec.model,
        workers: args.workers,
        gil: spec.gil.enabled,
        size: args.size,
        tasks,
        answer,
        elapsed,
        cpu,
        failures,
        cancelled,
        details,
        loop_lag,
        memory,
    })
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
        job.workload.run_task(&job.tasks[index], ctx)
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
    let mut ctx = TaskCtx::new(index, worker, gil, job.cancel, job.sink);
    if let Some((start, end)) = gil.acquire() {
        job.sink.emit(Event::Span {
            worker,
            kind: SpanKind::GilWait,
            start_us: job.sink.us_at(start),
            end_us: job.sink.us_at(end),
        });
    }
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut ctx)))
        .unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(TaskError::failed(format!("task panicked: {msg}")))
        });
    gil.release();
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
