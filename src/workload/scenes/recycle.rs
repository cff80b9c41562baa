//! `recycle`: a process pool whose children are replaced after K tasks each (Python's
//! `max_tasks_per_child`), beside the same tasks on a pool that keeps its children:
//! respawns counted, and what they cost in start-up and elapsed time.

use std::ops::RangeInclusive;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::oversubscribe::spin;
use super::{attach_run_extra, run_extra};
use crate::core::{Event, Model, TaskError, ms};
use crate::exec::{Engine, Job, TaskCtx, TaskResult};

pub struct Recycle;

/// K when `--max-tasks-per-child` is not given.
pub const DEFAULT_K: usize = 2;

fn k_of(args: &WorkloadArgs) -> usize {
    args.max_tasks_per_child.unwrap_or(DEFAULT_K).max(1)
}

impl Workload for Recycle {
    fn options(&self) -> &'static [&'static str] {
        &["--max-tasks-per-child"]
    }
    fn answer_is_measured(&self) -> bool {
        true
    }
    fn models(&self) -> &'static [Model] {
        &[Model::Processes]
    }
    fn name(&self) -> &'static str {
        "recycle"
    }
    fn summary(&self) -> &'static str {
        "processes replaced after K tasks each (max_tasks_per_child): respawns and their cost"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "iterations of work per task"
    }
    fn default_size(&self) -> u64 {
        2_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=10_000_000_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        24
    }
    fn max_tasks(&self) -> usize {
        10_000
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        // The same tasks twice: pass 0 keeps its children, pass 1 recycles them after K.
        let k = k_of(args);
        let mut tasks = Vec::new();
        for (pass, limit) in [(0, Value::Null), (1, json!(k))] {
            for i in 0..args.tasks {
                tasks.push(json!({ "pass": pass, "k": limit, "seed": i, "n": args.size }));
            }
        }
        Ok(Plan::new(tasks))
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        let v = spin(task_u64(task, "seed")?, task_u64(task, "n")?, ctx)?;
        Ok(TaskOutput::value(u128::from(v)))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        if model != Model::Processes {
            let msg = "recycle is about worker processes: use --model processes";
            return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
        }
        let half = job.tasks.len() / 2;
        let k = job
            .tasks
            .iter()
            .nth(half)
            .and_then(|t| t.get("k").and_then(Value::as_u64))
            .map(|k| k as usize);
        let mut results = Vec::with_capacity(job.tasks.len());
        let mut passes = Vec::new();
        for (first, limit) in [(0, None), (half, k)] {
            if job.cancel.is_cancelled() {
                results.extend((first..first + half).map(|_| None));
                continue;
            }
            let sink = job.sink.shift_tasks(first);
            let sub = Job {
                tasks: &job.tasks.slice(first..first + half),
                sink: &sink,
                ..*job
            };
            let t0 = Instant::now();
            let (r, stats) = Engine::new(&sub)
                .processes()
                .workers(job.workers)
                .max_tasks_per_child(limit)
                .run();
            let elapsed = t0.elapsed();
            let mut s = stats.to_json();
            if let Some(o) = s.as_object_mut() {
                o.insert("max_tasks_per_child".into(), json!(limit));
                o.insert("elapsed_ms".into(), json!(ms(elapsed)));
            }
            passes.push((elapsed, stats, s));
            results.extend(r);
        }
        let (extra_ms, per_respawn_ms, respawns) = match passes.as_slice() {
            [(e0, _, _), (e1, s1, _)] => {
                let extra = e1.as_secs_f64() * 1e3 - e0.as_secs_f64() * 1e3;
                let per = if s1.recycled > 0 {
                    extra / s1.recycled as f64
                } else {
                    0.0
                };
                (extra, per, s1.recycled)
            }
            _ => (0.0, 0.0, 0),
        };
        // The direct cost: retiring children plus starting their replacements (the
        // first-generation start-ups are paid by both passes).
        let direct_ms = passes
            .get(1)
            .map(|(_, s, _)| {
                let first: f64 = s.startup.iter().take(job.workers).map(|d| ms(*d)).sum();
                let all: f64 = s.startup.iter().map(|d| ms(*d)).sum();
                all - first + ms(s.retire)
            })
            .unwrap_or(0.0);
        let r3 = |x: f64| (x * 1e3).round() / 1e3;
        job.sink.emit(Event::Note {
            key: "recycle".into(),
            value: format!(
                "{respawns} respawns: {direct_ms:.1} ms retiring and restarting workers; \
                 elapsed {extra_ms:+.1} ms vs keeping them"
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "tasks_per_pass": half,
                "workers": job.workers,
                "max_tasks_per_child": k,
                "respawns": respawns,
                "keep_children": passes.first().map(|p| p.2.clone()),
                "recycle_children": passes.get(1).map(|p| p.2.clone()),
                "respawn_cost_ms": r3(direct_ms),
                "respawn_cost_ms_each": if respawns > 0 { r3(direct_ms / respawns as f64) } else { 0.0 },
                "extra_elapsed_ms": r3(extra_ms),
                "extra_ms_per_respawn": r3(per_respawn_ms),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let respawns = run.and_then(|r| r["respawns"].as_u64()).unwrap_or(0);
        let extra = run
            .and_then(|r| r["respawn_cost_ms"].as_f64())
            .unwrap_or(0.0);
        let k = run
            .and_then(|r| r["max_tasks_per_child"].as_u64())
            .unwrap_or(0);
        Answer {
            value: respawns.to_string(),
            meaning: format!(
                "children respawned with max {k} tasks per child, costing {extra:.1} ms of \
                 retiring and restarting"
            ),
        }
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        run_extra(outputs).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_runs_the_same_tasks_twice_the_second_time_with_k() {
        let args = WorkloadArgs {
            tasks: 5,
            size: 10,
            workers: 2,
            max_tasks_per_child: Some(3),
            ..Default::default()
        };
        let p = Recycle.plan(&args).expect("plan");
        assert_eq!(p.tasks.len(), 10);
        assert_eq!(p.tasks.get(0)["k"], Value::Null);
        assert_eq!(p.tasks.get(5)["k"], 3);
        assert_eq!(p.tasks.get(5)["seed"], 0);
    }

    #[test]
    fn threads_are_refused_before_starting() {
        let spec = crate::exec::RunSpec::new("recycle", Model::Threads, 2);
        let err = crate::runtime::run(
            &spec,
            &crate::exec::Sink::null(),
            &crate::exec::CancelToken::new(),
        )
        .expect_err("recycle is not for threads");
        let msg = err.to_string();
        assert!(
            msg.contains("recycle") && msg.contains("processes"),
            "{msg}"
        );
    }
}
