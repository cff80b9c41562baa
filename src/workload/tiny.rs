//! `tiny`: thousands of tasks of x + 1, so small that dispatching them is the real cost.
//! `--chunk C` batches C values per task message (Python's `chunksize`), and each run
//! reports where the time went: start-up, serialisation, transfer, compute.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use super::{
    Answer, Fold, Plan, SumValues, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64,
};
use crate::core::{Event, Model, TaskError, ms};
use crate::exec::{Engine, Gil, Job, Sink, TaskCtx, TaskResult};

pub struct Tiny;

/// Σ (x + 1) for x in x0..x0 + n.
fn sum_plus_one(x0: u64, n: u64) -> u128 {
    (u128::from(x0)..u128::from(x0) + u128::from(n))
        .map(|x| x + 1)
        .sum()
}

/// The items (x values) a task covers.
fn items_of(task: &Value) -> u64 {
    task.get("n").and_then(Value::as_u64).unwrap_or(1)
}

impl Workload for Tiny {
    fn models(&self) -> &'static [Model] {
        // About pools and dispatch: an event loop is not one of them.
        &[
            Model::Sequential,
            Model::Threads,
            Model::Processes,
            Model::Interpreters,
        ]
    }
    fn options(&self) -> &'static [&'static str] {
        &["--chunk"]
    }
    fn name(&self) -> &'static str {
        "tiny"
    }
    fn summary(&self) -> &'static str {
        "many tasks of x + 1: dispatch overhead dominates (--chunk batches them)"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Overhead
    }
    fn size_meaning(&self) -> &'static str {
        "tasks compute x + 1 for x in 0..N (N = tasks; --chunk C puts C values in each message)"
    }
    fn default_size(&self) -> u64 {
        1
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=1
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        1000
    }
    fn max_tasks(&self) -> usize {
        10_000_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        // Made on demand: ten million tasks hold no memory.
        let n = args.tasks as u64;
        let chunk = args.chunk.unwrap_or(1).max(1) as u64;
        if chunk == 1 {
            return Ok(Plan::made(args.tasks, |x| json!({ "x": x })));
        }
        let messages = n.div_ceil(chunk) as usize;
        Ok(Plan::made(messages, move |i| {
            let x0 = i as u64 * chunk;
            json!({ "x0": x0, "n": chunk.min(n - x0) })
        }))
    }
    fn run_task(&self, task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        if task.get("x0").is_some() {
            let (x0, n) = (task_u64(task, "x0")?, task_u64(task, "n")?);
            return Ok(TaskOutput::value(sum_plus_one(x0, n)));
        }
        Ok(TaskOutput::value(u128::from(task_u64(task, "x")?) + 1))
    }
    fn orchestrate_into(
        &self,
        engine: &Engine,
        model: Model,
        out: &(dyn Fn(usize, TaskResult) + Sync),
    ) -> Option<Option<Value>> {
        let job = engine.job();
        let items = items_total(job);
        let t0 = Instant::now();
        // Σ of every task's own wall time, from the TaskFinished events.
        let compute_us = Arc::new(AtomicU64::new(0));
        let counted = {
            let inner = job.sink.clone();
            let compute_us = compute_us.clone();
            Sink::new(move |s| {
                if let Event::TaskFinished { wall_us, .. } = &s.event {
                    compute_us.fetch_add(*wall_us, Ordering::Relaxed);
                }
                inner.emit_at(s.at_us, s.event);
            })
            .with_clock_of(job.sink)
        };
        let sub = Job {
            sink: &counted,
            ..*job
        };
        let compute = || json!(compute_us.load(Ordering::Relaxed) as f64 / 1e3);
        // What does not apply to a model (nothing to start, serialise or move) is null,
        // shown as "n/a": a 0.0 there would read as a measurement.
        let breakdown = match model {
            Model::Async => return None,
            Model::Interpreters => {
                let c = Engine::new(&sub)
                    .interpreters()
                    .workers(job.workers)
                    .run_into(out);
                // Each task's time includes its copying both ways: compute is the rest.
                let copy_ms = c.transfer_us.unwrap_or(0) as f64 / 1e3;
                let all_ms = compute_us.load(Ordering::Relaxed) as f64 / 1e3;
                json!({ "startup_ms": null, "serialise_ms": null, "transfer_ms": copy_ms,
                        "compute_ms": (all_ms - copy_ms).max(0.0), "bytes_moved": c.bytes,
                        "startup": "not simulated" })
            }
            Model::Sequential => {
                Engine::new(&sub).run_model_into(Model::Sequential, out);
                json!({ "startup_ms": null, "serialise_ms": null, "transfer_ms": null,
                        "compute_ms": compute(), "bytes_moved": null })
            }
            Model::Threads => {
                let gil = Gil::new(job.gil);
                let stats = Engine::new(&sub)
                    .threads()
                    .scene("tiny")
                    .workers(job.workers)
                    .run_into(&gil, out);
                json!({ "startup_ms": ms(stats.startup), "serialise_ms": null, "transfer_ms": null,
                        "compute_ms": compute(), "bytes_moved": null })
            }
            Model::Processes => {
                let stats = Engine::new(job)
                    .processes()
                    .workers(job.workers)
                    .max_tasks_per_child(None)
                    .run_into(out);
                json!({
                    "startup_ms": ms(stats.startup_wall),
                    "serialise_ms": ms(stats.serialise),
                    "transfer_ms": ms(stats.transfer()),
                    "compute_ms": ms(stats.compute),
                    "bytes_moved": stats.bytes_sent + stats.bytes_received,
                })
            }
        };
        let elapsed = t0.elapsed();
        let mut run = breakdown;
        if let Some(o) = run.as_object_mut() {
            o.insert("model".into(), json!(model));
            o.insert("items".into(), json!(items));
            o.insert("messages".into(), json!(job.tasks.len()));
            o.insert(
                "chunk".into(),
                json!(items.div_ceil(job.tasks.len().max(1) as u64)),
            );
            o.insert("elapsed_ms".into(), json!(ms(elapsed)));
            o.insert(
                "note".into(),
                json!(
                    "startup_ms is wall time; serialise, transfer and compute are sums \
                       over tasks, which overlap across workers; n/a: the model has no \
                       such step"
                ),
            );
            o.insert(
                "elapsed_us_per_item".into(),
                json!((elapsed.as_secs_f64() * 1e6 / items.max(1) as f64 * 1e3).round() / 1e3),
            );
        }
        let shown = |k: &str| match &run[k] {
            Value::Null if k == "startup_ms" && run.get("startup").is_some() => {
                "not simulated".to_string()
            }
            Value::Null => "n/a".to_string(),
            v => format!("{v} ms"),
        };
        job.sink.emit(Event::Note {
            key: "overhead".into(),
            value: format!(
                "start-up {}, serialise {}, transfer {}, compute {} of {:.1} ms",
                shown("startup_ms"),
                shown("serialise_ms"),
                shown("transfer_ms"),
                shown("compute_ms"),
                elapsed.as_secs_f64() * 1e3
            ),
        });
        Some(Some(run))
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let mut sum = SumValues::default();
        outputs.iter().for_each(|o| sum.push(o.value));
        answer(sum, None)
    }
    fn folder(&self, _args: &WorkloadArgs) -> Box<dyn Fold> {
        Box::<TinyFold>::default()
    }
}

/// Items over every task: from the plan's shape, without making each task.
fn items_total(job: &Job) -> u64 {
    let n = job.tasks.len();
    match (job.tasks.first(), n) {
        (None, _) => 0,
        (Some(first), 1) => items_of(&first),
        (Some(first), n) => items_of(&first) * (n as u64 - 1) + items_of(&job.tasks.get(n - 1)),
    }
}

fn answer(sum: SumValues, items: Option<u64>) -> Answer {
    Answer {
        value: sum.sum.to_string(),
        meaning: format!(
            "Σ (x + 1) over {} tiny items in {} tasks",
            items.unwrap_or(sum.count),
            sum.count
        ),
    }
}

/// Tiny's constant-space fold: the running sum; the details are the run's breakdown.
#[derive(Default)]
struct TinyFold(SumValues);

impl Fold for TinyFold {
    fn add(&mut self, _index: usize, out: TaskOutput) {
        self.0.push(out.value);
    }
    fn finish(
        self: Box<Self>,
        _w: &dyn Workload,
        _args: &WorkloadArgs,
        run: Option<Value>,
    ) -> (Answer, Option<Value>) {
        let items = run.as_ref().and_then(|r| r["items"].as_u64());
        (answer(self.0, items), run)
    }
    fn is_bounded(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::scenes::testing::run_scene;
    use super::*;

    #[test]
    fn chunking_keeps_the_answer_and_cuts_the_messages() {
        let one = |chunk| {
            run_scene(
                "tiny",
                Model::Threads,
                true,
                WorkloadArgs {
                    workers: 2,
                    tasks: 1000,
                    chunk,
                    ..Default::default()
                },
            )
            .0
        };
        let (a, b) = (one(None), one(Some(64)));
        assert_eq!(
            a.answer.as_ref().map(|a| &a.value),
            b.answer.as_ref().map(|a| &a.value)
        );
        assert_eq!(a.answer.expect("answer").value, "500500");
        assert_eq!(a.tasks, 1000);
        assert_eq!(b.tasks, 16, "1000 items in chunks of 64");
        let d = b.details.expect("details");
        assert_eq!(d["items"], 1000);
        assert_eq!(d["messages"], 16);
        assert_eq!(d["serialise_ms"], Value::Null, "threads serialise nothing");
    }

    #[test]
    fn sequential_startup_and_transfer_do_not_apply() {
        let (r, _) = run_scene(
            "tiny",
            Model::Sequential,
            true,
            WorkloadArgs {
                workers: 1,
                tasks: 10,
                ..Default::default()
            },
        );
        let d = r.details.expect("details");
        assert_eq!(d["startup_ms"], Value::Null);
        assert_eq!(d["transfer_ms"], Value::Null);
        assert_eq!(r.answer.expect("answer").value, "55");
    }

    #[test]
    fn chunk_sums() {
        assert_eq!(sum_plus_one(0, 3), 6);
        assert_eq!(sum_plus_one(10, 1), 11);
    }
}
