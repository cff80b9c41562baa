//! `convoy`: one CPU-bound thread beside one thread doing many short (1 ms) waits. With the
//! GIL on, every wake-up must wait for the CPU thread to hand the GIL over — about one
//! switch interval — so the waiting thread's throughput collapses (the convoy effect).

use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, quantile, run_extra};
use crate::core::{Event, Model, TaskError, median, ms};
use crate::exec::{Engine, Gil, TaskCtx, TaskResult};

pub struct Convoy;

/// The waiting thread's short wait.
const NAP: Duration = Duration::from_millis(1);

/// The CPU thread: spin a xorshift for `run_for`, ticking like a compute loop.
fn cpu_bound(run_for: Duration, stop: &AtomicBool, ctx: &mut TaskCtx) -> Result<u64, TaskError> {
    let t0 = Instant::now();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut iters: u64 = 0;
    loop {
        for _ in 0..128 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        iters += 128;
        ctx.tick()?;
        // Read the clock only every 64 ticks (~8k iterations), as the design asks.
        if iters.is_multiple_of(128 * 64) {
            let e = t0.elapsed();
            ctx.progress(e.as_millis() as u64, run_for.as_millis() as u64);
            if e >= run_for {
                break;
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    std::hint::black_box(x);
    Ok(iters)
}

/// The waiting thread: nap 1 ms without the GIL, then measure how long re-taking it took.
fn waiter(stop: &AtomicBool, ctx: &mut TaskCtx) -> Result<Vec<f64>, TaskError> {
    let mut latencies = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let woke = ctx.without_gil(|| {
            std::thread::sleep(NAP);
            Instant::now()
        });
        latencies.push(woke.elapsed().as_secs_f64() * 1e3);
        ctx.tick()?;
    }
    Ok(latencies)
}

impl Workload for Convoy {
    fn answer_is_measured(&self) -> bool {
        true
    }
    fn models(&self) -> &'static [Model] {
        &[Model::Threads]
    }
    fn name(&self) -> &'static str {
        "convoy"
    }
    fn summary(&self) -> &'static str {
        "a thread doing 1 ms waits beside a CPU-bound one: wake-up latency ≈ switch interval"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "how long the CPU-bound thread runs, in ms"
    }
    fn default_size(&self) -> u64 {
        1000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        10..=600_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        2
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        Ok(Plan::new(vec![
            json!({ "role": "cpu", "ms": args.size }),
            json!({ "role": "io", "ms": args.size }),
        ]))
    }
    fn run_task(&self, _task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(
            "convoy runs two threads side by side: use --model threads",
        ))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let run_ms = match (model, job.tasks.first().map(|t| task_u64(&t, "ms"))) {
            (Model::Threads, Some(Ok(ms))) => ms,
            _ => {
                let msg = "convoy needs two threads sharing one GIL: use --model threads";
                return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
            }
        };
        let gil = Gil::new(job.gil);
        let stop = AtomicBool::new(false);
        let lat = Mutex::new(Vec::new());
        let cpu_iters = Mutex::new(0u64);
        let t0 = Instant::now();
        let mut results = Engine::new(job)
            .threads()
            .scene("convoy")
            .gang(&gil, 0, 2, |i, ctx| {
                if i == 0 {
                    let r = cpu_bound(Duration::from_millis(run_ms), &stop, ctx);
                    // Whatever happened, let the waiter go.
                    stop.store(true, Ordering::SeqCst);
                    let n = r?;
                    *cpu_iters.lock().unwrap_or_else(|e| e.into_inner()) = n;
                    Ok(TaskOutput::value(u128::from(n)))
                } else {
                    let l = waiter(&stop, ctx)?;
                    let n = l.len();
                    *lat.lock().unwrap_or_else(|e| e.into_inner()) = l;
                    Ok(TaskOutput::value(n as u128))
                }
            });
        let elapsed = t0.elapsed().as_secs_f64();
        let mut lat = lat.into_inner().unwrap_or_else(|e| e.into_inner());
        let cpu_iters = cpu_iters.into_inner().unwrap_or_else(|e| e.into_inner());
        let wakeups = lat.len();
        let mean = if lat.is_empty() {
            0.0
        } else {
            lat.iter().sum::<f64>() / wakeups as f64
        };
        let med = median(&mut lat);
        let p90 = quantile(&mut lat, 0.9);
        let max = quantile(&mut lat, 1.0);
        let r3 = |x: f64| (x * 1e3).round() / 1e3;
        let interval = job.gil.switch_interval.as_secs_f64() * 1e3;
        job.sink.emit(Event::Note {
            key: "convoy".into(),
            value: format!(
                "wake-up latency median {med:.3} ms (GIL {}, switch interval {interval} ms), \
                 {wakeups} wake-ups",
                if job.gil.enabled { "on" } else { "off" }
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "gil": job.gil.enabled,
                "switch_interval_ms": interval,
                "nap_ms": ms(NAP),
                "wakeups": wakeups,
                "wake_latency_ms": {
                    "median": r3(med), "mean": r3(mean), "p90": r3(p90), "max": r3(max),
                },
                "io_cycles_per_s": if elapsed > 0.0 { (wakeups as f64 / elapsed).round() } else { 0.0 },
                "io_cycles_per_s_ideal": (1.0 / NAP.as_secs_f64()).round(),
                "cpu_iterations_per_s": if elapsed > 0.0 { (cpu_iters as f64 / elapsed).round() } else { 0.0 },
                "elapsed_ms": r3(elapsed * 1e3),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let med = run
            .and_then(|r| r["wake_latency_ms"]["median"].as_f64())
            .unwrap_or(0.0);
        let n = run.and_then(|r| r["wakeups"].as_u64()).unwrap_or(0);
        let gil = run.and_then(|r| r["gil"].as_bool()).unwrap_or(true);
        Answer {
            value: format!("{med:.3}"),
            meaning: if gil {
                format!("ms median wait for the GIL after a 1 ms sleep ({n} wake-ups)")
            } else {
                format!(
                    "ms median delay before running again after a 1 ms sleep, no GIL ({n} wake-ups)"
                )
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
    fn both_threads_report_and_the_waiter_wakes() {
        for gil in [true, false] {
            let (r, _) = run_scene(
                "convoy",
                Model::Threads,
                gil,
                WorkloadArgs {
                    workers: 2,
                    size: 60,
                    ..Default::default()
                },
            );
            let d = r.details.expect("details");
            assert!(d["wakeups"].as_u64().expect("n") > 0, "{d}");
            assert_eq!(d["gil"], gil);
        }
    }

    /// The lesson in numbers; timing-dependent, so not a unit test: run with
    /// `cargo test --release -- --ignored convoy`.
    #[test]
    #[ignore]
    fn convoy_latency_with_the_gil_is_at_least_5x_without() {
        let run = |gil| {
            let (r, _) = run_scene(
                "convoy",
                Model::Threads,
                gil,
                WorkloadArgs {
                    workers: 2,
                    size: 1000,
                    ..Default::default()
                },
            );
            r.details.expect("details")["wake_latency_ms"]["median"]
                .as_f64()
                .expect("median")
        };
        let (on, off) = (run(true), run(false));
        assert!(on >= 5.0 * off, "GIL on {on} ms vs off {off} ms");
    }
}
