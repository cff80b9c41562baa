//! `tiny`: thousands of tasks of x + 1, so small that dispatching them is the real cost.
//! `--chunk C` batches C values per task message (Python's `chunksize`), and each run
//! reports where the time went: start-up, serialisation, transfer, compute.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use super::scenes::{attach_run_extra, run_extra};
use super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
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
        1_000_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let n = args.tasks as u64;
        let chunk = args.chunk.unwrap_or(1).max(1) as u64;
        if chunk == 1 {
            return Ok(Plan::new((0..n).map(|x| json!({ "x": x })).collect()));
        }
        Ok(Plan::new(
            (0..n.div_ceil(chunk))
                .map(|i| {
                    let x0 = i * chunk;
                    json!({ "x0": x0, "n": chunk.min(n - x0) })
                })
                .collect(),
        ))
    }
    fn run_task(&self, task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        if task.get("x0").is_some() {
            let (x0, n) = (task_u64(task, "x0")?, task_u64(task, "n")?);
            return Ok(TaskOutput::value(sum_plus_one(x0, n)));
        }
        Ok(TaskOutput::value(u128::from(task_u64(task, "x")?) + 1))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let items: u64 = job.tasks.iter().map(items_of).sum();
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
        let (mut results, breakdown) = match model {
            Model::Sequential | Model::Async => {
                let sub = Job {
                    sink: &counted,
                    ..*job
                };
                let r = Engine::new(&sub).run_model(model);
                let compute = compute_us.load(Ordering::Relaxed) as f64 / 1e3;
                (
                    r,
                    json!({ "startup_ms": 0.0, "serialise_ms": 0.0, "transfer_ms": 0.0,
                            "compute_ms": compute, "bytes_moved": 0 }),
                )
            }
            Model::Threads => {
                let sub = Job {
                    sink: &counted,
                    ..*job
                };
                let gil = Gil::new(job.gil);
                let (r, startup) = Engine::new(&sub)
                    .threads()
                    .scene("tiny")
                    .workers(job.workers)
                    .run_each(&gil, |i, ctx| self.run_task(&job.tasks[i], ctx));
                let compute = compute_us.load(Ordering::Relaxed) as f64 / 1e3;
                (
                    r,
                    json!({ "startup_ms": ms(startup.startup), "serialise_ms": 0.0, "transfer_ms": 0.0,
                            "compute_ms": compute, "bytes_moved": 0 }),
                )
            }
            Model::Processes => {
                let (r, stats) = Engine::new(job)
                    .processes()
                    .workers(job.workers)
                    .max_tasks_per_child(None)
                    .run();
                (
                    r,
                    json!({
                        "startup_ms": ms(stats.startup_wall),
                        "serialise_ms": ms(stats.serialise),
                        "transfer_ms": ms(stats.transfer()),
                        "compute_ms": ms(stats.compute),
                        "bytes_moved": stats.bytes_sent + stats.bytes_received,
                    }),
                )
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
                       over tasks, which overlap across workers"
                ),
            );
            o.insert(
                "elapsed_us_per_item".into(),
                json!((elapsed.as_secs_f64() * 1e6 / items.max(1) as f64 * 1e3).round() / 1e3),
            );
        }
        job.sink.emit(Event::Note {
            key: "overhead".into(),
            value: format!(
                "start-up {} ms, serialise {} ms, transfer {} ms, compute {} ms of {:.1} ms",
                run["startup_ms"],
                run["serialise_ms"],
                run["transfer_ms"],
                run["compute_ms"],
                elapsed.as_secs_f64() * 1e3
            ),
        });
        attach_run_extra(&mut results, run);
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let items = run_extra(outputs)
            .and_then(|r| r["items"].as_u64())
            .unwrap_or(outputs.len() as u64);
        Answer {
            value: outputs.iter().map(|o| o.value).sum::<u128>().to_string(),
            meaning: format!(
                "Σ (x + 1) over {items} tiny items in {} tasks",
                outputs.len()
            ),
        }
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        run_extra(outputs).cloned()
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
        assert_eq!(d["serialise_ms"], 0.0);
    }

    #[test]
    fn sequential_has_no_startup_or_transfer() {
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
        assert_eq!(d["startup_ms"], 0.0);
        assert_eq!(d["transfer_ms"], 0.0);
        assert_eq!(r.answer.expect("answer").value, "55");
    }

    #[test]
    fn chunk_sums() {
        assert_eq!(sum_plus_one(0, 3), 6);
        assert_eq!(sum_plus_one(10, 1), 11);
    }
}
