//! `race`: N threads add 1 to one shared counter with a separate read and write (lost
//! updates), then the same with a lock (none lost). Honest about the GIL: with it on, a
//! switch can land between the read and the write only at a `tick()`.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs};
use super::{attach_run_extra, run_extra};
use crate::core::{Model, TaskError, ms};
use crate::exec::{Engine, Gil, TaskCtx, TaskResult};

pub struct Race;

/// Every this many increments the unsynchronised loop also gives up its core between the
/// read and the write, as an OS preemption would; it makes the race show up reliably
/// even on a busy machine with the GIL off.
const YIELD_EVERY: u64 = 1000;

fn threads(args: &WorkloadArgs) -> usize {
    args.workers.max(2)
}

/// One thread's unsynchronised increments: read, (maybe switch), write, (maybe switch).
/// A GIL switch can only happen at a tick; one of the two ticks per iteration splits the
/// read from its write, as an older CPython's check between any two bytecodes could.
fn unsynced(counter: &AtomicU64, iters: u64, ctx: &mut TaskCtx) -> Result<(), TaskError> {
    for i in 0..iters {
        let v = counter.load(Ordering::SeqCst);
        // A bytecode boundary: the GIL may change hands here.
        ctx.tick()?;
        if i % YIELD_EVERY == YIELD_EVERY / 2 {
            std::thread::yield_now();
        }
        counter.store(v + 1, Ordering::SeqCst);
        // The loop's back-edge: a switch here splits nothing (CPython 3.10+ checks only
        // at such points, so its `counter += 1` rarely loses updates).
        ctx.tick()?;
        if i % 4096 == 0 {
            ctx.progress(i, iters);
        }
    }
    ctx.progress(iters, iters);
    Ok(())
}

/// One thread's locked increments. Like CPython's `Lock.acquire`, waiting for the lock
/// releases the GIL, so a GIL switch inside the critical section cannot deadlock.
fn locked(counter: &Mutex<u64>, iters: u64, ctx: &mut TaskCtx) -> Result<(), TaskError> {
    for i in 0..iters {
        let mut g = match counter.try_lock() {
            Ok(g) => g,
            Err(_) => ctx.without_gil(|| counter.lock().unwrap_or_else(|e| e.into_inner())),
        };
        let v = *g;
        ctx.tick()?;
        *g = v + 1;
        drop(g);
        if i % 4096 == 0 {
            ctx.progress(i, iters);
        }
    }
    ctx.progress(iters, iters);
    Ok(())
}

impl Workload for Race {
    fn answer_is_measured(&self) -> bool {
        true
    }
    fn models(&self) -> &'static [Model] {
        &[Model::Sequential, Model::Threads]
    }
    fn name(&self) -> &'static str {
        "race"
    }
    fn summary(&self) -> &'static str {
        "threads add to one counter with read-then-write (lost updates) vs with a lock"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "increments per thread"
    }
    fn default_size(&self) -> u64 {
        100_000
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=100_000_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        2 * workers.max(2)
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        // Tasks 0..n: the unsynchronised threads; n..2n: the locked ones.
        let n = threads(args);
        Ok(Plan::new(
            (0..2 * n)
                .map(|i| json!({ "locked": i >= n, "iters": args.size }))
                .collect(),
        ))
    }
    fn run_task(&self, _task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(
            "race orchestrates its own threads (shared memory): run it with --model threads",
        ))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let n = job.tasks.len() / 2;
        let iters = job
            .tasks
            .first()
            .and_then(|t| t.get("iters").and_then(Value::as_u64))
            .unwrap_or(0);
        if model == Model::Processes {
            let msg = "race needs shared memory: processes share no counter (use --model threads)";
            return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
        }
        // One interpreter: the threads share one GIL. Sequential = one thread at a time.
        let gil = Gil::new(job.gil);
        let width = if model == Model::Sequential { 1 } else { n };

        let counter = AtomicU64::new(0);
        let t0 = Instant::now();
        let mut results = Vec::with_capacity(2 * n);
        for start in (0..n).step_by(width) {
            let k = width.min(n - start);
            // Start the threads together (a slow spawn must not let one finish alone);
            // waiting at the barrier releases the GIL, as any blocking wait does.
            let barrier = Barrier::new(k);
            results.extend(Engine::new(job).threads().scene("race").gang(
                &gil,
                start,
                k,
                |_, ctx| {
                    ctx.without_gil(|| barrier.wait());
                    unsynced(&counter, iters, ctx).map(|()| TaskOutput::value(u128::from(iters)))
                },
            ));
        }
        let unsynced_time = t0.elapsed();
        let got_unsynced = counter.load(Ordering::SeqCst);

        let counter = Mutex::new(0u64);
        let t1 = Instant::now();
        for start in (0..n).step_by(width) {
            let k = width.min(n - start);
            results.extend(Engine::new(job).threads().scene("race-locked").gang(
                &gil,
                n + start,
                k,
                |_, ctx| {
                    locked(&counter, iters, ctx).map(|()| TaskOutput::value(u128::from(iters)))
                },
            ));
        }
        let locked_time = t1.elapsed();
        let got_locked = *counter.lock().unwrap_or_else(|e| e.into_inner());

        let expected = n as u64 * iters;
        let lost = expected.saturating_sub(got_unsynced);
        job.sink.emit(crate::exec::Event::Note {
            key: "race".into(),
            value: format!(
                "unsynchronised: {got_unsynced} of {expected} ({lost} lost); locked: \
                 {got_locked} · help: a yield between read and write every {YIELD_EVERY} \
                 increments"
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "threads": n,
                "increments_per_thread": iters,
                "expected": expected,
                "unsynchronised": {
                    "got": got_unsynced,
                    "lost_updates": lost,
                    "elapsed_ms": ms(unsynced_time),
                },
                "locked": {
                    "got": got_locked,
                    "lost_updates": expected.saturating_sub(got_locked),
                    "elapsed_ms": ms(locked_time),
                },
                "help": {
                    "what": format!(
                        "every {YIELD_EVERY} increments the unsynchronised loop calls \
                         yield_now() between its read and its write, giving up its core \
                         as an OS preemption would; the locked loop gets no such help"
                    ),
                    "yield_every": YIELD_EVERY,
                    "python": "CPython may switch threads between any two bytecodes of \
                               `counter += 1` (a load, an add, a store): a switch between \
                               the load and the store loses updates the same way; since \
                               3.10 it checks only at back-edges and calls, so it rarely \
                               loses them without such help",
                },
                "gil": job.gil.enabled,
                "switch_interval_ms": job.gil.switch_interval.as_secs_f64() * 1e3,
                "why": if job.gil.enabled {
                    "with the GIL only one thread runs at a time; an update is lost only when a \
                     GIL switch (at most one per switch interval) lands between a read and its \
                     write (here: at one of the two ticks per iteration), and then everything \
                     the other thread added meanwhile is overwritten; a run shorter than the \
                     switch interval may see no switch, and lose nothing"
                } else {
                    "without a GIL both threads run at once: any read can be overtaken before \
                     its write, so many updates are lost; the lock makes read+write one step"
                },
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let lost = run
            .and_then(|r| r["unsynchronised"]["lost_updates"].as_u64())
            .unwrap_or(0);
        let expected = run.and_then(|r| r["expected"].as_u64()).unwrap_or(0);
        let locked_lost = run
            .and_then(|r| r["locked"]["lost_updates"].as_u64())
            .unwrap_or(0);
        Answer {
            value: lost.to_string(),
            meaning: format!(
                "updates lost without a lock, of {} (with the lock: {locked_lost} lost; \
                 helped: a yield between read and write every {YIELD_EVERY} increments)",
                super::super::thousands(u128::from(expected))
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
    use crate::exec::Model;
    use crate::workload::WorkloadArgs;

    fn args() -> WorkloadArgs {
        WorkloadArgs {
            workers: 2,
            size: 200_000,
            ..Default::default()
        }
    }

    #[test]
    fn without_the_gil_unsynchronised_loses_updates_and_the_lock_loses_none() {
        let (r, _) = run_scene("race", Model::Threads, false, args());
        let d = r.details.expect("details");
        assert_eq!(d["expected"], 400_000);
        assert!(
            d["unsynchronised"]["lost_updates"].as_u64().expect("n") > 0,
            "{d}"
        );
        assert_eq!(d["locked"]["got"], 400_000);
        assert_eq!(d["locked"]["lost_updates"], 0);
        assert_eq!(d["help"]["yield_every"], super::YIELD_EVERY);
        assert!(
            d["help"]["what"]
                .as_str()
                .expect("named")
                .contains("yield_now")
        );
    }

    #[test]
    fn with_the_gil_the_lock_still_loses_none() {
        let (r, events) = run_scene(
            "race",
            Model::Threads,
            true,
            WorkloadArgs {
                size: 20_000,
                ..args()
            },
        );
        let d = r.details.expect("details");
        assert_eq!(d["locked"]["lost_updates"], 0);
        let finished = events
            .iter()
            .filter(|e| matches!(e.event, crate::exec::Event::TaskFinished { .. }))
            .count();
        assert_eq!(finished, 4, "2 unsynchronised + 2 locked threads");
    }

    #[test]
    fn sequential_loses_nothing() {
        let (r, _) = run_scene("race", Model::Sequential, false, args());
        let d = r.details.expect("details");
        assert_eq!(d["unsynchronised"]["lost_updates"], 0);
        assert_eq!(r.answer.expect("answer").value, "0");
    }
}
