//! Lesson scenes: workloads that stage one of the classic threads-vs-processes lessons
//! (races, deadlocks, back-pressure, payload cost, ...) and measure it.
//!
//! Most scenes orchestrate their own threads through [`Workload::run_whole`]; the helpers
//! here give such a thread the same [`TaskCtx`] and the same events `run_one` gives a pool
//! task, so the dashboard can draw them.

pub mod convoy;
pub mod deadlock;
pub mod oversubscribe;
pub mod payload;
pub mod pool;
pub mod queue;
pub mod race;
pub mod rate_limit;
pub mod recycle;

use std::time::Instant;

use serde_json::Value;

use super::TaskOutput;
use crate::exec::{Event, Gil, Job, TaskCtx, TaskError, TaskResult};

/// Run `f` as task `index` on the calling thread as `worker`, holding `gil` as a CPython
/// thread would (taken at the start, released at the end and inside `without_gil`), and
/// emit `TaskStarted`/`TaskFinished` as `run_one` does.
pub fn scene_task(
    job: &Job,
    gil: &Gil,
    index: usize,
    worker: usize,
    f: impl FnOnce(&mut TaskCtx) -> Result<TaskOutput, TaskError>,
) -> TaskResult {
    crate::exec::to_result(crate::exec::run_with(
        job,
        gil,
        index,
        worker,
        std::process::id(),
        f,
    ))
}

/// Run `count` scene threads (named `conlab-scene-{name}-{i}`) side by side, thread `i`
/// being task `first + i` and worker `i`, and collect their results in order.
pub fn run_threads<F>(
    job: &Job,
    gil: &Gil,
    name: &str,
    first: usize,
    count: usize,
    f: F,
) -> Vec<TaskResult>
where
    F: Fn(usize, &mut TaskCtx) -> Result<TaskOutput, TaskError> + Sync,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|i| {
                let f = &f;
                std::thread::Builder::new()
                    .name(format!("conlab-scene-{name}-{i}"))
                    .spawn_scoped(scope, move || {
                        scene_task(job, gil, first + i, i, |ctx| f(i, ctx))
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Some(Err("scene thread panicked".into()))),
                Err(e) => Some(Err(format!("could not start a scene thread: {e}"))),
            })
            .collect()
    })
}

/// A thread pool for scenes: `workers` named threads pull task indices `0..tasks` from a
/// shared counter and run `f` on each (as [`scene_task`]). Returns the results in task
/// order and the start-up time (from the first spawn until every thread was running).
pub fn run_pool_threads<F>(
    job: &Job,
    gil: &Gil,
    name: &str,
    workers: usize,
    f: F,
) -> (Vec<TaskResult>, std::time::Duration)
where
    F: Fn(usize, &mut TaskCtx) -> Result<TaskOutput, TaskError> + Sync,
{
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = job.tasks.len();
    let workers = workers.clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; n]);
    // The latest thread start (µs after t0), and how many threads are running.
    let ready = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (f, next, results, ready, running) = (&f, &next, &results, &ready, &running);
            let spawned = std::thread::Builder::new()
                .name(format!("conlab-scene-{name}-{w}"))
                .spawn_scoped(scope, move || {
                    // Start-up as this thread saw it: from the first spawn to running here.
                    let up = t0.elapsed().as_micros() as usize;
                    ready.fetch_max(up, Ordering::SeqCst);
                    running.fetch_add(1, Ordering::SeqCst);
                    job.sink.emit(Event::WorkerStarted {
                        worker: w,
                        pid: std::process::id(),
                    });
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= n || job.cancel.is_cancelled() {
                            break;
                        }
                        let r = scene_task(job, gil, i, w, |ctx| f(i, ctx));
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = r;
                    }
                });
            if let Err(e) = spawned {
                job.sink.emit(Event::Note {
                    key: "thread".into(),
                    value: format!("could not start scene thread {w}: {e}"),
                });
            }
        }
    });
    let startup = std::time::Duration::from_micros(ready.load(Ordering::SeqCst) as u64);
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    if !job.cancel.is_cancelled() {
        for r in results.iter_mut().filter(|r| r.is_none()) {
            *r = Some(Err("no scene thread ran it".into()));
        }
    }
    (results, startup)
}

/// Run-level measurements a scene stores in its first output's `extra` under `"run"`.
pub fn run_extra(outputs: &[TaskOutput]) -> Option<&Value> {
    outputs.first().and_then(|o| o.extra.get("run"))
}

/// Put run-level measurements into the first successful result's `extra["run"]`.
pub fn attach_run_extra(results: &mut [TaskResult], run: Value) {
    if let Some(Some(Ok(o))) = results.first_mut() {
        if !o.extra.is_object() {
            o.extra = Value::Object(Default::default());
        }
        if let Some(obj) = o.extra.as_object_mut() {
            obj.insert("run".into(), run);
        }
    }
}

/// Milliseconds, rounded to µs, for JSON.
pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The median of `xs` (0 when empty); sorts in place.
pub fn median(xs: &mut [f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// The `q`-quantile (0..=1) of `xs`, nearest rank; sorts in place.
pub fn quantile(xs: &mut [f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let i = ((xs.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    xs[i]
}

#[cfg(test)]
pub(crate) mod testing {
    //! Running a scene in-process for unit tests.
    use crate::exec::{self, CancelToken, GilConfig, Model, RunReport, RunSpec, Sink, Stamped};
    use crate::workload::WorkloadArgs;

    /// Run `workload` under `model` and collect the report and every event.
    pub fn run_scene(
        workload: &str,
        model: Model,
        gil: bool,
        args: WorkloadArgs,
    ) -> (RunReport, Vec<Stamped>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Sink::channel(tx, |s| s);
        let spec = RunSpec {
            workload: workload.into(),
            model,
            args,
            gil: GilConfig {
                enabled: gil,
                ..GilConfig::default()
            },
            worker_exe: None,
        };
        let report = exec::run(&spec, &sink, &CancelToken::new()).expect("scene runs");
        drop(sink);
        (report, rx.try_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantile() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(quantile(&mut [5.0, 1.0, 3.0], 1.0), 5.0);
        assert_eq!(quantile(&mut [5.0, 1.0, 3.0], 0.0), 1.0);
    }

    /// The dashboard's contract: every task of a scene starts once and finishes once.
    #[test]
    fn every_scene_task_starts_and_finishes_exactly_once() {
        use crate::exec::{Event, Model};
        use crate::workload::WorkloadArgs;
        let small = |size, tasks| WorkloadArgs {
            workers: 2,
            size,
            tasks,
            ..Default::default()
        };
        let cases = [
            ("race", Model::Threads, small(1000, 0)),
            ("deadlock", Model::Threads, small(5, 0)),
            ("queue", Model::Threads, small(20, 0)),
            ("convoy", Model::Threads, small(20, 0)),
            ("oversubscribe", Model::Threads, small(1000, 0)),
            ("payload", Model::Threads, small(1000, 5)),
            ("tiny", Model::Threads, small(1, 50)),
            ("rate-limit", Model::Threads, small(3, 0)),
        ];
        for (name, model, args) in cases {
            let (r, events) = testing::run_scene(name, model, false, args);
            assert!(r.failures.is_empty(), "{name}: {:?}", r.failures);
            let mut started = vec![0; r.tasks];
            let mut finished = vec![0; r.tasks];
            for e in &events {
                match e.event {
                    Event::TaskStarted { task, .. } => started[task] += 1,
                    Event::TaskFinished { task, .. } => finished[task] += 1,
                    _ => {}
                }
            }
            assert!(
                started.iter().all(|&n| n == 1),
                "{name}: started {started:?}"
            );
            assert!(
                finished.iter().all(|&n| n == 1),
                "{name}: finished {finished:?}"
            );
            assert!(r.details.is_some(), "{name} has details");
        }
    }

    #[test]
    fn run_extra_round_trips() {
        let mut results: Vec<TaskResult> = vec![Some(Ok(TaskOutput::value(1)))];
        attach_run_extra(&mut results, serde_json::json!({"x": 1}));
        let outs: Vec<TaskOutput> = results.into_iter().flatten().flatten().collect();
        assert_eq!(run_extra(&outs), Some(&serde_json::json!({"x": 1})));
    }
}
