//! Lesson scenes: workloads that stage one of the classic threads-vs-processes lessons
//! (races, deadlocks, back-pressure, payload cost, ...) and measure it.
//!
//! Scenes orchestrate their tasks through [`crate::exec::Engine`] (its thread pool, its
//! gang of threads, its process pool), so every scene task is reported the way a pool
//! task is; the helpers here carry a scene's run-level measurements in its outputs.

pub mod convoy;
pub mod crossover;
pub mod deadlock;
pub mod native;
pub mod oversubscribe;
pub mod payload;
pub mod queue;
pub mod race;
pub mod rate_limit;
pub mod recycle;
pub mod stepper;

use serde_json::Value;

use super::TaskOutput;
use crate::exec::TaskResult;

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
    use crate::exec::{CancelToken, GilConfig, Model, RunReport, RunSpec, Sink, Stamped};
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
            asyncio: Default::default(),
            worker_exe: None,
        };
        let report = crate::runtime::run(&spec, &sink, &CancelToken::new()).expect("scene runs");
        drop(sink);
        (report, rx.try_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_nearest_rank() {
        assert_eq!(quantile(&mut [5.0, 1.0, 3.0], 1.0), 5.0);
        assert_eq!(quantile(&mut [5.0, 1.0, 3.0], 0.0), 1.0);
    }

    /// The dashboard's contract: every task of a scene starts once and finishes once.
    #[test]
    fn every_scene_task_starts_and_finishes_exactly_once() {
        use crate::core::Model;
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
            ("native", Model::Threads, small(1, 0)),
            ("oversubscribe", Model::Threads, small(1000, 0)),
            ("payload", Model::Threads, small(1000, 5)),
            ("tiny", Model::Threads, small(1, 50)),
            ("rate-limit", Model::Threads, small(3, 0)),
        ];
        for (name, model, args) in cases {
            let (r, events) = testing::run_scene(name, model, false, args);
            assert!(r.failures.is_empty(), "{name}: {:?}", r.failures);
            let once = crate::exec::mock::each_task_once(events.iter().map(|s| &s.event), r.tasks);
            assert_eq!(once, Ok(()), "{name}");
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
