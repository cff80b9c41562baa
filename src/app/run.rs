//! One model's run as the dashboard sees it: its settings, live progress per worker,
//! its timeline, and the final measurements from `RunFinished`.

use std::time::Duration;

use super::timeline::{Activity, Timeline};
use crate::exec::{Event, Model, Offload, SpanKind, Stamped};
use crate::observe::monitor::CpuSample;
use crate::workload::Answer;

/// Where a model's run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// Never ran with the current workload and size.
    Idle,
    /// Waiting for the run before it (`a` runs every model in turn).
    Queued,
    Running,
    Finished,
    Cancelled,
    /// It could not start or tasks failed: the reason.
    Failed(String),
}

/// The settings a run was started with (shown beside its numbers).
#[derive(Clone, Debug, PartialEq)]
pub struct RunConfig {
    pub workers: usize,
    pub gil: bool,
    pub switch_interval_ms: f64,
    pub tasks: usize,
    pub size: u64,
}

/// What one worker is doing now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerState {
    pub pid: u32,
    /// The task it is running, if any.
    pub task: Option<usize>,
    /// That task's progress (done, total).
    pub progress: (u64, u64),
    pub tasks_done: usize,
}

/// One model's panel.
#[derive(Clone, Debug)]
pub struct ModelRun {
    pub model: Model,
    pub state: RunState,
    pub config: Option<RunConfig>,
    pub tasks_done: usize,
    pub failed: usize,
    /// Elapsed µs: live while running, final once finished.
    pub elapsed_us: u64,
    /// CPU µs of the whole run (from `RunFinished`).
    pub cpu_us: Option<u64>,
    pub answer: Option<Answer>,
    /// The loop's clock when the run started (maps ticks to run time).
    pub origin: Option<Duration>,
    pub workers: Vec<WorkerState>,
    pub timeline: Timeline,
    /// CPU samples taken during the run: sum of cores kept busy by other programs.
    pub others_sum: f64,
    /// What the run's witness saw (interference, concurrency), when one watched.
    pub witness: Option<crate::observe::witness::RunWitness>,
    pub samples: u32,
    /// The machine's CPU during the run, on the run's own time axis.
    pub cpu_trace: super::cpu::CpuTrace,
    /// The interpreter that ran it (the CPython runtime's note); `None` for native runs.
    pub runtime: Option<String>,
    /// Each worker's busy time so far: the sum of its finished tasks' spans, µs.
    pub busy_us: Vec<u64>,
    /// Peak memory and threads (from `Measured`, once finished).
    pub memory: Option<crate::core::MemoryStats>,
    /// Async: the loop's lag over the whole run (from `Measured`).
    pub loop_lag: Option<crate::core::LoopStats>,
    /// What the pool paid to start its workers and to copy tasks across (a `crossing`
    /// note: interpreters, and every pool on CPython).
    pub crossing: Option<crate::core::Crossing>,
    /// Async, live: the latest heartbeat lag, the worst so far (µs), tasks in flight.
    pub lag: Option<LiveLag>,
    /// CPython's own GIL per worker thread, from its sampler (the `cpython gil` note).
    pub cpython_gil: Option<crate::runtime::gecko::GilNote>,
    /// Async: where CPU work runs (from the run's spec; kept across [`ModelRun::reset`],
    /// set before the run starts). Without offload the run is the loop alone.
    pub offload: Offload,
}

/// The async loop's health as the last `LoopLag` events said.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveLag {
    pub lag_us: u64,
    pub max_us: u64,
    pub in_flight: u64,
}

/// Workers whose live state is kept (the rest are counted).
pub const MAX_WORKERS_SHOWN: usize = 512;

impl ModelRun {
    pub fn new(model: Model) -> Self {
        ModelRun {
            model,
            state: RunState::Idle,
            config: None,
            tasks_done: 0,
            failed: 0,
            elapsed_us: 0,
            cpu_us: None,
            answer: None,
            origin: None,
            workers: Vec::new(),
            timeline: Timeline::default(),
            others_sum: 0.0,
            witness: None,
            samples: 0,
            cpu_trace: Default::default(),
            runtime: None,
            busy_us: Vec::new(),
            memory: None,
            loop_lag: None,
            crossing: None,
            lag: None,
            cpython_gil: None,
            offload: Offload::None,
        }
    }

    /// Who ran it, in a few characters for titles: "2w" (threads, processes), "1 loop"
    /// or "1 loop + 2w" (async, with offloaded work), nothing for sequential. Every panel
    /// that titles a run says it with this.
    pub fn workers_label(&self) -> Option<String> {
        let c = self.config.as_ref()?;
        match self.model {
            Model::Sequential => None,
            Model::Async if self.offload == Offload::None => Some("1 loop".to_string()),
            Model::Async => Some(format!("1 loop + {}w", c.workers)),
            Model::Threads | Model::Processes | Model::Interpreters => {
                Some(format!("{}w", c.workers))
            }
        }
    }

    /// The run's title tags: [`ModelRun::workers_label`], and the GIL for threads.
    pub fn title_tags(&self) -> Vec<String> {
        let mut v: Vec<String> = self.workers_label().into_iter().collect();
        if let Some(c) = &self.config
            && self.model == Model::Threads
        {
            v.push(if c.gil { "GIL on" } else { "GIL off" }.to_string());
        }
        v
    }

    /// The least and most busy workers' time (µs) and the busiest ÷ the mean, over the
    /// workers that ran tasks; `None` before any task finished.
    pub fn busy_spread(&self) -> Option<(u64, u64, f64)> {
        let busy: Vec<u64> = self.busy_us.iter().copied().filter(|b| *b > 0).collect();
        let min = *busy.iter().min()?;
        let max = *busy.iter().max()?;
        let mean = busy.iter().sum::<u64>() as f64 / busy.len() as f64;
        Some((min, max, max as f64 / mean.max(1.0)))
    }

    /// Back to a fresh state, ready for a new run (of the same spec: the offload stays).
    pub fn reset(&mut self) {
        let offload = self.offload;
        *self = ModelRun::new(self.model);
        self.offload = offload;
    }

    pub fn is_active(&self) -> bool {
        matches!(self.state, RunState::Running | RunState::Queued)
    }

    pub fn is_finished(&self) -> bool {
        self.state == RunState::Finished
    }

    pub fn elapsed_s(&self) -> f64 {
        self.elapsed_us as f64 / 1e6
    }

    /// Cores busy on average (CPU time / elapsed), once finished.
    pub fn utilisation(&self) -> Option<f64> {
        let cpu = self.cpu_us?;
        (self.elapsed_us > 0).then(|| cpu as f64 / self.elapsed_us as f64)
    }

    /// Overall progress 0..=1: finished tasks plus the running tasks' fractions.
    pub fn progress(&self) -> f64 {
        let Some(c) = &self.config else { return 0.0 };
        if c.tasks == 0 {
            return 0.0;
        }
        if self.is_finished() {
            return 1.0;
        }
        let partial: f64 = self
            .workers
            .iter()
            .filter(|w| w.task.is_some() && w.progress.1 > 0)
            .map(|w| w.progress.0 as f64 / w.progress.1 as f64)
            .sum();
        ((self.tasks_done as f64 + partial) / c.tasks as f64).clamp(0.0, 1.0)
    }

    /// A CPU sample arrived during the run: count what other programs used.
    pub fn sample(&mut self, s: &CpuSample) {
        if self.state != RunState::Running {
            return;
        }
        let all: f32 = s.cores.iter().sum();
        self.others_sum += f64::from((all - s.tree_cpu).max(0.0)) / 100.0;
        self.samples += 1;
        self.cpu_trace.push(self.elapsed_us, s);
    }

    /// Cores other programs kept busy on average during the run (needs two samples).
    pub fn others_busy(&self) -> Option<f64> {
        (self.samples >= 2).then(|| self.others_sum / f64::from(self.samples))
    }

    /// Time passes (a tick): live elapsed and open timeline intervals follow.
    pub fn tick(&mut self, now: Duration) {
        if self.state != RunState::Running {
            return;
        }
        if let Some(o) = self.origin {
            let us = now.saturating_sub(o).as_micros() as u64;
            self.elapsed_us = self.elapsed_us.max(us);
            self.timeline.advance(self.elapsed_us);
        }
    }

    /// Apply one engine event sent at loop time `at`.
    pub fn apply(&mut self, at: Duration, s: &Stamped) {
        if !matches!(s.event, Event::RunStarted(_)) && self.state != RunState::Running {
            return;
        }
        if !matches!(s.event, Event::RunFinished(_)) {
            self.elapsed_us = self.elapsed_us.max(s.at_us);
        }
        match &s.event {
            Event::RunStarted(r) => {
                self.reset();
                self.state = RunState::Running;
                self.origin = Some(at.saturating_sub(Duration::from_micros(s.at_us)));
                self.config = Some(RunConfig {
                    workers: r.workers,
                    gil: r.gil,
                    switch_interval_ms: r.switch_interval_ms,
                    tasks: r.tasks,
                    size: r.size,
                });
                // Sequential runs every task on one thread, whatever `--workers` says; async
                // runs them on its loop (lane 0), and offloaded work on the pool's workers
                // (lanes 1..; none without offload).
                let lanes = match self.model {
                    Model::Sequential => 1,
                    Model::Async if self.offload == Offload::None => 1,
                    Model::Async => r.workers + 1,
                    _ => r.workers,
                };
                self.workers = vec![WorkerState::default(); lanes.min(MAX_WORKERS_SHOWN)];
                self.timeline = Timeline::new(lanes);
                self.elapsed_us = s.at_us;
            }
            Event::WorkerStarted { worker, pid } => {
                if let Some(w) = self.workers.get_mut(*worker) {
                    w.pid = *pid;
                }
            }
            Event::TaskStarted {
                task, worker, pid, ..
            } => {
                if let Some(w) = self.workers.get_mut(*worker) {
                    w.pid = *pid;
                    w.task = Some(*task);
                    w.progress = (0, 0);
                }
                self.timeline.task_started(*worker, s.at_us);
            }
            Event::Progress {
                worker,
                done,
                total,
                task,
            } => {
                if let Some(w) = self.workers.get_mut(*worker)
                    && w.task == Some(*task)
                {
                    w.progress = (*done, *total);
                }
            }
            Event::SpanStarted {
                worker,
                kind,
                start_us,
            } => {
                self.timeline
                    .span_started(*worker, activity(*kind), *start_us);
            }
            Event::Span {
                worker,
                kind,
                start_us,
                end_us,
            } => {
                self.timeline
                    .span(*worker, activity(*kind), *start_us, *end_us);
            }
            Event::TaskFinished {
                worker,
                result,
                wall_us,
                ..
            } => {
                self.tasks_done += 1;
                if *worker < MAX_WORKERS_SHOWN {
                    if self.busy_us.len() <= *worker {
                        self.busy_us.resize(*worker + 1, 0);
                    }
                    self.busy_us[*worker] += wall_us;
                }
                if result.is_err() {
                    self.failed += 1;
                }
                if let Some(w) = self.workers.get_mut(*worker) {
                    w.task = None;
                    w.progress = (0, 0);
                    w.tasks_done += 1;
                }
                self.timeline.task_finished(*worker, s.at_us);
            }
            Event::WorkerDied { worker, .. } => {
                if let Some(w) = self.workers.get_mut(*worker) {
                    w.task = None;
                }
                self.timeline.task_finished(*worker, s.at_us);
            }
            Event::Note { key, value } if key == crate::runtime::cpython::RUNTIME_NOTE => {
                self.runtime = Some(value.clone());
            }
            Event::Note { key, value } if key == crate::runtime::cpython::GIL_NOTE => {
                self.cpython_gil = Some(serde_json::from_str(value).unwrap_or_else(|e| {
                    crate::runtime::gecko::GilNote {
                        threads: Vec::new(),
                        error: Some(format!("unreadable note: {e}")),
                    }
                }));
            }
            Event::Note { key, value } if key == crate::core::CROSSING_NOTE => {
                self.crossing = serde_json::from_str(value).ok();
            }
            Event::Note { .. } => {}
            Event::LoopLag {
                lag_us,
                max_us,
                in_flight,
                ..
            } => {
                let before = self.lag.unwrap_or_default();
                self.lag = Some(LiveLag {
                    lag_us: *lag_us,
                    max_us: before.max_us.max(*max_us),
                    in_flight: *in_flight,
                });
            }
            Event::Measured { memory, loop_lag } => {
                self.memory = *memory;
                self.loop_lag = *loop_lag;
            }
            Event::RunFinished(end) => {
                self.elapsed_us = end.elapsed_us;
                self.cpu_us = Some(end.cpu_us);
                self.answer = end.answer.clone();
                self.failed = self.failed.max(end.failed);
                self.timeline.close(end.elapsed_us);
                for w in &mut self.workers {
                    w.task = None;
                }
                self.state = if end.cancelled {
                    RunState::Cancelled
                } else if end.failed > 0 || end.answer.is_none() {
                    RunState::Failed(format!("{} task(s) failed", end.failed))
                } else {
                    RunState::Finished
                };
            }
        }
    }
}

/// How the timeline draws a span of `kind`.
fn activity(kind: SpanKind) -> Activity {
    match kind {
        SpanKind::GilWait => Activity::GilWait,
        SpanKind::Io => Activity::Io,
        SpanKind::NativeHolding => Activity::NativeHold,
        // Native code with the GIL released is computing, drawn as such.
        SpanKind::NativeReleased => Activity::Compute,
    }
}
