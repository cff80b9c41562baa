//! `oversubscribe`: the same CPU-bound work with 1, cores, 2×cores and 4×cores workers —
//! the speed-up curve flattens at the core count; more workers only add switching.

use std::ops::RangeInclusive;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, run_extra};
use crate::core::{Event, Model, TaskError};
use crate::exec::{Engine, Job, TaskCtx, TaskResult, cpu_now};

pub struct Oversubscribe;

/// The cores conlab is given: the quota (rounded up) and the affinity mask.
fn cores() -> usize {
    crate::sys::cgroup::given().default_workers()
}

/// The worker counts tried: 1, cores, 2×cores, 4×cores (deduplicated).
pub fn worker_counts(cores: usize) -> Vec<usize> {
    let mut v = vec![1, cores, 2 * cores, 4 * cores];
    v.dedup();
    v
}

/// Equal-work chunks per pass: twice the largest worker count, so every pass divides evenly.
fn chunks(cores: usize) -> usize {
    8 * cores
}

/// Spin a xorshift `n` times from `seed` (equal work per chunk, a checkable result).
pub fn spin(seed: u64, n: u64, ctx: &mut TaskCtx) -> Result<u64, TaskError> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut done = 0;
    while done < n {
        let k = (n - done).min(256);
        for _ in 0..k {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        done += k;
        ctx.tick()?;
        if done % (1 << 20) < 256 {
            ctx.progress(done, n);
        }
    }
    ctx.progress(n, n);
    Ok(x % 1_000_003)
}

impl Workload for Oversubscribe {
    fn models(&self) -> &'static [Model] {
        // About pools and dispatch: an event loop is not one of them.
        &Model::POOLS
    }
    fn answer_is_measured(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "oversubscribe"
    }
    fn summary(&self) -> &'static str {
        "the same CPU-bound work on 1, cores, 2× and 4× cores workers: the speed-up curve"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "iterations per chunk (8 × cores equal chunks per pass)"
    }
    fn default_size(&self) -> u64 {
        20_000_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=10_000_000_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        let c = cores();
        worker_counts(c).len() * chunks(c)
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let c = cores();
        let mut tasks = Vec::new();
        for (pass, w) in worker_counts(c).into_iter().enumerate() {
            for chunk in 0..chunks(c) {
                tasks.push(json!({ "pass": pass, "workers": w, "seed": chunk, "n": args.size }));
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
        // Group the planned tasks into passes by their worker count.
        let mut passes: Vec<(usize, usize, usize)> = Vec::new(); // (workers, first, len)
        for (i, t) in job.tasks.iter().enumerate() {
            let w = t.get("workers").and_then(Value::as_u64).unwrap_or(1) as usize;
            match passes.last_mut() {
                Some(p) if p.0 == w => p.2 += 1,
                _ => passes.push((w, i, 1)),
            }
        }
        let mut results = Vec::with_capacity(job.tasks.len());
        let mut curve = Vec::new();
        for &(workers, first, len) in &passes {
            if job.cancel.is_cancelled() {
                results.extend((0..len).map(|_| None));
                continue;
            }
            // This pass's events, renumbered to the run's task indices.
            let sink = job.sink.shift_tasks(first);
            let sub = Job {
                tasks: &job.tasks.slice(first..first + len),
                workers,
                sink: &sink,
                ..*job
            };
            let cpu0 = cpu_now();
            let throttle0 = crate::sys::cgroup::throttle();
            let t0 = Instant::now();
            let r = Engine::new(&sub).run_model(model);
            let elapsed = t0.elapsed().as_secs_f64();
            let cpu = cpu_now().saturating_sub(cpu0).as_secs_f64();
            // Under a CPU quota: how long this pass was ready to run and refused.
            let throttled = throttle0
                .zip(crate::sys::cgroup::throttle())
                .map(|(a, b)| a.since(&b).throttled_us as f64 / 1e6);
            job.sink.emit(Event::Note {
                key: format!("{workers} workers"),
                value: format!(
                    "{elapsed:.3} s, {:.2} cores busy{}",
                    cpu / elapsed.max(1e-9),
                    throttled.map_or(String::new(), |t| format!(", throttled {t:.2} s"))
                ),
            });
            curve.push((workers, elapsed, cpu, throttled));
            results.extend(r);
        }
        let base = curve.first().map(|c| c.1).unwrap_or(0.0);
        let quota = crate::sys::cgroup::given().cpu_quota;
        let r3 = |x: f64| (x * 1e3).round() / 1e3;
        let points: Vec<Value> = curve
            .iter()
            .map(|&(w, e, cpu, throttled)| {
                let speedup = if e > 0.0 { base / e } else { 0.0 };
                json!({
                    "workers": w,
                    "throttled_s": throttled.map(r3),
                    "elapsed_s": r3(e),
                    "cpu_s": r3(cpu),
                    "cores_busy": r3(cpu / e.max(1e-9)),
                    "speedup": r3(speedup),
                    "efficiency": r3(speedup / w as f64),
                })
            })
            .collect();
        let passes_agree = passes.iter().all(|&(_, first, len)| {
            results[first..first + len]
                .iter()
                .zip(&results[..passes[0].2])
                .all(|(a, b)| a == b)
        });
        // One worker should keep one core busy; if it did not, other programs were using
        // the machine and every point of the curve is squeezed.
        let one_worker_busy = curve.first().map(|&(_, e, cpu, _)| cpu / e.max(1e-9));
        let busy_hint = one_worker_busy.filter(|b| *b < 0.9).map(|b| match quota {
            // The quota is the ceiling, not other programs.
            Some(q) if q < 1.0 => format!(
                "one worker got {b:.2} of a core: the CPU quota gives {} CPU, the ceiling of \
                 every point of the curve",
                crate::core::cpus_text(q)
            ),
            _ => format!(
                "the machine was busy: one worker got only {b:.2} of a core, so the curve \
                 understates what the cores can do"
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "machine_busy": busy_hint,
                "model": model,
                "cores": cores(),
                "cpu_quota": quota,
                "gil": job.gil.enabled,
                "chunks_per_pass": passes.first().map(|p| p.2),
                "curve": points,
                "passes_agree": passes_agree,
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let best = run_extra(outputs)
            .and_then(|r| r["curve"].as_array())
            .and_then(|c| {
                c.iter()
                    .max_by(|a, b| {
                        let s = |v: &Value| v["speedup"].as_f64().unwrap_or(0.0);
                        s(a).total_cmp(&s(b))
                    })
                    .cloned()
            });
        match best {
            Some(b) => Answer {
                value: format!("{:.2}", b["speedup"].as_f64().unwrap_or(0.0)),
                meaning: format!(
                    "best speed-up over 1 worker, at {} workers on {} cores",
                    b["workers"],
                    cores()
                ),
            },
            None => Answer {
                value: "—".into(),
                meaning: "no pass finished".into(),
            },
        }
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        run_extra(outputs).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_scene;
    use super::*;

    #[test]
    fn one_pass_per_worker_count_and_they_agree() {
        let (r, _) = run_scene(
            "oversubscribe",
            Model::Threads,
            false,
            WorkloadArgs {
                workers: 2,
                size: 10_000,
                ..Default::default()
            },
        );
        let d = r.details.expect("details");
        let counts: Vec<u64> = d["curve"]
            .as_array()
            .expect("curve")
            .iter()
            .map(|p| p["workers"].as_u64().expect("workers"))
            .collect();
        assert_eq!(
            counts,
            worker_counts(cores())
                .iter()
                .map(|&w| w as u64)
                .collect::<Vec<_>>()
        );
        assert_eq!(d["passes_agree"], true);
    }

    #[test]
    fn worker_counts_dedup() {
        assert_eq!(worker_counts(1), vec![1, 2, 4]);
        assert_eq!(worker_counts(2), vec![1, 2, 4, 8]);
    }
}
