//! `rate-limit`: many threads send HTTP requests (GETs of the embedded loopback server's
//! `/delay-ms/50`) through one shared limiter of R requests per second. The pool could go much
//! faster; the limiter holds it to R, and the time threads spent waiting for a slot is
//! measured.

use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, run_extra};
use crate::core::{Event, Model, TaskError, ms};
use crate::exec::{Engine, Gil, TaskCtx, TaskResult};

pub struct RateLimit;

/// The limit: requests started per second.
pub const RATE: u64 = 20;
/// One request's latency: the embedded server answers after this long.
const REQUEST: Duration = Duration::from_millis(50);
/// Give up on one request after this long.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One GET of the task's URL with the GIL released; a non-200 answer fails the task.
fn request(task: &Value, ctx: &mut TaskCtx) -> Result<(), TaskError> {
    let url = task
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| TaskError::failed("malformed task: no `url`"))?;
    let get = crate::workload::http::Get {
        timeout: TIMEOUT,
        close: true,
        headers: &[],
        // The embedded server's small answers.
        max_body: 64 * 1024,
    };
    let got = crate::workload::http::fetch_in(ctx, url, &get)?;
    if got.status != 200 {
        return Err(TaskError::failed(format!(
            "GET {url}: status {}",
            got.status
        )));
    }
    Ok(())
}

/// Evenly spaced slots, one every 1/R s: each request reserves the next free one.
struct Limiter {
    next: Mutex<Option<Instant>>,
    every: Duration,
}

impl Limiter {
    fn reserve(&self) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.every);
        slot
    }
}

/// Most of `starts` (sorted) inside any window of `w`.
pub fn max_in_window(starts: &[f64], w: f64) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..starts.len() {
        while starts[hi] - starts[lo] >= w {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

impl Workload for RateLimit {
    fn answer_is_measured(&self) -> bool {
        true
    }
    fn models(&self) -> &'static [Model] {
        &[Model::Threads]
    }
    fn name(&self) -> &'static str {
        "rate-limit"
    }
    fn summary(&self) -> &'static str {
        "threads sending 50 ms requests through a shared 20 req/s limiter"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "requests to send"
    }
    fn default_size(&self) -> u64 {
        40
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=10_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        // Unused: one task per request (`--size`).
        1
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let server = crate::server::Server::start_loopback()?;
        let url = server.url(&format!("/delay-ms/{}", REQUEST.as_millis()));
        let mut plan = Plan::new(
            (0..args.size)
                .map(|i| json!({ "request": i, "url": url }))
                .collect(),
        );
        plan.keep_alive.push(Box::new(server));
        Ok(plan)
    }
    fn run_task(&self, task: &Value, ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        // Unlimited (e.g. in a worker process): just the request.
        let i = task_u64(task, "request")?;
        request(task, ctx)?;
        Ok(TaskOutput::value(u128::from(i)))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        if model != Model::Threads {
            let msg = "rate-limit shares one limiter between threads: use --model threads";
            return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
        }
        let limiter = Limiter {
            next: Mutex::new(None),
            every: Duration::from_secs(1) / RATE as u32,
        };
        let gil = Gil::new(job.gil);
        let t0 = Instant::now();
        let starts = Mutex::new(Vec::new());
        let waited = Mutex::new(Duration::ZERO);
        let (mut results, _) = Engine::new(job)
            .threads()
            .scene("rate-limit")
            .workers(job.workers)
            .run_each(&gil, |i, ctx| {
                let slot = limiter.reserve();
                let w0 = Instant::now();
                ctx.sleep(slot.saturating_duration_since(w0))?;
                *waited.lock().unwrap_or_else(|e| e.into_inner()) += w0.elapsed();
                starts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(t0.elapsed().as_secs_f64());
                request(&job.tasks.get(i), ctx)?;
                Ok(TaskOutput::value(i as u128))
            });
        let elapsed = t0.elapsed().as_secs_f64();
        let mut starts = starts.into_inner().unwrap_or_else(|e| e.into_inner());
        starts.sort_by(f64::total_cmp);
        let waited = waited.into_inner().unwrap_or_else(|e| e.into_inner());
        let n = starts.len();
        let span = match (starts.first(), starts.last()) {
            (Some(a), Some(b)) if n > 1 => b - a,
            _ => 0.0,
        };
        let achieved = if span > 0.0 {
            (n - 1) as f64 / span
        } else {
            0.0
        };
        let unlimited = job.workers as f64 / REQUEST.as_secs_f64();
        let r2 = |x: f64| (x * 100.0).round() / 100.0;
        job.sink.emit(Event::Note {
            key: "rate".into(),
            value: format!(
                "{achieved:.1} req/s achieved (limit {RATE}; unlimited, {} threads could do \
                 {unlimited:.0}: computed, not measured)",
                job.workers
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "requests": n,
                "threads": job.workers,
                "limit_per_s": RATE,
                "request_ms": ms(REQUEST),
                "achieved_per_s": r2(achieved),
                "max_started_in_any_second": max_in_window(&starts, 1.0),
                "note": "slots are 1/R apart, so a one-second window of measured start times \
                         can hold R + 1 when the first start in it was delayed by the scheduler",
                "unlimited_per_s_computed": r2(unlimited),
                "unlimited_how": format!(
                    "computed, not measured: {} threads ÷ {} ms per request",
                    job.workers,
                    ms(REQUEST)
                ),
                "waited_for_slots_ms": ms(waited),
                "elapsed_s": r2(elapsed),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let achieved = run
            .and_then(|r| r["achieved_per_s"].as_f64())
            .unwrap_or(0.0);
        Answer {
            value: format!("{achieved:.1}"),
            meaning: format!(
                "requests per second achieved for {} requests, limit {RATE}/s",
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
    use super::super::testing::run_scene;
    use super::*;

    #[test]
    fn window_counts() {
        assert_eq!(max_in_window(&[0.0, 0.5, 0.99, 1.0, 1.2], 1.0), 4);
        assert_eq!(max_in_window(&[0.0, 0.5, 1.0, 1.5], 1.0), 2);
        assert_eq!(max_in_window(&[], 1.0), 0);
    }

    #[test]
    fn the_limit_holds_in_every_second() {
        let (r, _) = run_scene(
            "rate-limit",
            Model::Threads,
            true,
            WorkloadArgs {
                workers: 8,
                size: 30,
                ..Default::default()
            },
        );
        let d = r.details.expect("details");
        assert_eq!(d["requests"], 30);
        // Slots are 1/R apart and a sleep never ends early, so only a start delayed by the
        // scheduler can crowd a window: R, plus a little slack for such jitter.
        assert!(
            d["max_started_in_any_second"].as_u64().expect("n") <= RATE + 2,
            "{d}"
        );
    }
}
