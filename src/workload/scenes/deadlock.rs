//! `deadlock`: two threads take locks A and B in opposite orders with a pause between, and
//! get stuck. conlab watches a wait-for graph, names who holds and who waits, and breaks
//! the cycle (both threads give up and release); `--variant fixed` takes them in one order.

use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, run_extra};
use crate::core::{Event, Model, TaskError, ms};
use crate::exec::{CancelToken, Engine, Gil, TaskCtx, TaskResult};

pub struct Deadlock;

/// How often the watchdog looks at the wait-for graph, and waiters re-check their flags.
const POLL: Duration = Duration::from_millis(5);
/// A waiter that made no progress for this long gives up even if no cycle was seen.
const GIVE_UP: Duration = Duration::from_secs(10);

const NAMES: [&str; 2] = ["A", "B"];

/// A wait-for cycle as (worker, lock it holds, lock it waits for) triples.
type Cycle = Vec<(usize, usize, usize)>;

/// Who owns each lock and who waits for which, behind one mutex so the watchdog always
/// sees a consistent picture (a torn read could show a cycle that never existed).
struct State {
    owner: [Option<usize>; 2],
    waiting: Vec<Option<usize>>,
}

/// The shared state of one scene run: two locks that know their owner and can be waited
/// for with a way out, like `Lock.acquire(timeout=...)`.
struct Table {
    state: Mutex<State>,
    freed: Condvar,
    /// Set by the watchdog when it found a cycle: this worker (the victim) gives up its
    /// wait and releases what it holds, which lets the others finish. `usize::MAX`: none.
    victim: AtomicUsize,
}

impl Table {
    fn new(workers: usize) -> Self {
        Table {
            state: Mutex::new(State {
                owner: [None; 2],
                waiting: vec![None; workers],
            }),
            freed: Condvar::new(),
            victim: AtomicUsize::new(usize::MAX),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for `lock` until `stop()` says to give up; `true` when taken.
    fn acquire(&self, who: usize, lock: usize, stop: impl Fn() -> bool) -> bool {
        let mut s = self.state();
        s.waiting[who] = Some(lock);
        loop {
            if s.owner[lock].is_none() {
                s.owner[lock] = Some(who);
                s.waiting[who] = None;
                return true;
            }
            if stop() {
                s.waiting[who] = None;
                return false;
            }
            s = self
                .freed
                .wait_timeout(s, POLL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn release(&self, who: usize, lock: usize) {
        let mut s = self.state();
        if s.owner[lock] == Some(who) {
            s.owner[lock] = None;
            self.freed.notify_all();
        }
    }

    /// A cycle in the wait-for graph (worker → owner of the lock it waits for), as
    /// (worker, holds, waits_for) triples, if there is one.
    fn cycle(&self) -> Option<Cycle> {
        let s = self.state();
        for start in 0..s.waiting.len() {
            let mut path = Vec::new();
            let mut w = start;
            for _ in 0..s.waiting.len() {
                let Some(lock) = s.waiting[w] else { break };
                let Some(owner) = s.owner[lock] else { break };
                let holds = s.owner.iter().position(|o| *o == Some(w)).unwrap_or(lock);
                path.push((w, holds, lock));
                if owner == start {
                    return Some(path);
                }
                w = owner;
            }
        }
        None
    }
}

/// One worker: take `first`, pause, take `second`, hold both briefly, release.
fn worker(
    table: &Table,
    who: usize,
    order: [usize; 2],
    pause: Duration,
    cancel: &CancelToken,
    ctx: &mut TaskCtx,
) -> Result<TaskOutput, TaskError> {
    let t0 = Instant::now();
    let mut held = Vec::new();
    let mut waited = Duration::ZERO;
    let mut gave_up_on = None;
    for (step, &lock) in order.iter().enumerate() {
        let wait0 = Instant::now();
        // Waiting for a lock releases the GIL, as CPython's Lock.acquire does.
        let got = ctx.without_gil(|| {
            table.acquire(who, lock, || {
                cancel.is_cancelled()
                    || table.victim.load(Ordering::SeqCst) == who
                    || wait0.elapsed() > GIVE_UP
            })
        });
        waited += wait0.elapsed();
        if !got {
            gave_up_on = Some(lock);
            break;
        }
        held.push(lock);
        ctx.progress(step as u64 + 1, 2);
        if step == 0 {
            // The pause that lets the other thread take its first lock.
            if let Err(e) = ctx.sleep(pause) {
                release_all(table, who, &held);
                return Err(e);
            }
        }
    }
    release_all(table, who, &held);
    if ctx.is_cancelled() {
        return Err(TaskError::Cancelled);
    }
    let got_both = held.len() == 2;
    Ok(TaskOutput {
        value: u128::from(got_both),
        extra: json!({
            "worker": who,
            "order": order.iter().map(|&l| NAMES[l]).collect::<Vec<_>>(),
            "got_both": got_both,
            "held_when_stuck": if got_both { Value::Null } else {
                held.iter().map(|&l| NAMES[l]).collect::<Vec<_>>().into()
            },
            "gave_up_waiting_for": gave_up_on.map(|l| NAMES[l]),
            "waited_ms": ms(waited),
            "elapsed_ms": ms(t0.elapsed()),
        }),
    })
}

fn release_all(table: &Table, who: usize, held: &[usize]) {
    for &l in held.iter().rev() {
        table.release(who, l);
    }
}

impl Workload for Deadlock {
    fn models(&self) -> &'static [Model] {
        &[Model::Threads]
    }
    fn name(&self) -> &'static str {
        "deadlock"
    }
    fn summary(&self) -> &'static str {
        "two threads take locks A and B in opposite orders: detected, reported, broken"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "pause in ms between taking the first and the second lock"
    }
    fn default_size(&self) -> u64 {
        100
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=10_000
    }
    fn default_tasks(&self, _workers: usize) -> usize {
        2
    }
    fn variants(&self) -> &'static [&'static str] {
        &["opposite", "fixed"]
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        let fixed = args.variant.as_deref() == Some("fixed");
        Ok(Plan::new(vec![
            json!({ "first": 0, "second": 1, "pause_ms": args.size }),
            if fixed {
                json!({ "first": 0, "second": 1, "pause_ms": args.size })
            } else {
                json!({ "first": 1, "second": 0, "pause_ms": args.size })
            },
        ]))
    }
    fn run_task(&self, _task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(
            "deadlock orchestrates its own threads: run it with --model threads",
        ))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        if model != Model::Threads {
            let msg = "deadlock needs two threads sharing two locks: use --model threads";
            return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
        }
        let plan: Result<Vec<([usize; 2], u64)>, TaskError> = job
            .tasks
            .iter()
            .map(|t| {
                Ok((
                    [
                        task_u64(&t, "first")? as usize % 2,
                        task_u64(&t, "second")? as usize % 2,
                    ],
                    task_u64(&t, "pause_ms")?,
                ))
            })
            .collect();
        let plan = match plan {
            Ok(p) => p,
            Err(e) => return Some(job.tasks.iter().map(|_| Some(Err(e.to_string()))).collect()),
        };
        let table = Table::new(plan.len());
        let gil = Gil::new(job.gil);
        let done = AtomicBool::new(false);
        let t0 = Instant::now();
        let mut found: Option<(Cycle, Duration)> = None;
        let mut results = std::thread::scope(|scope| {
            // The watchdog: look for a cycle until the workers are done.
            let watchdog = std::thread::Builder::new()
                .name("conlab-scene-deadlock-watchdog".into())
                .spawn_scoped(scope, || {
                    while !done.load(Ordering::SeqCst) {
                        if let Some(c) = table.cycle() {
                            let at = t0.elapsed();
                            let who = c
                                .iter()
                                .map(|(w, h, l)| {
                                    format!(
                                        "worker {w} holds {} and waits for {}",
                                        NAMES[*h], NAMES[*l]
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ");
                            job.sink.emit(Event::Note {
                                key: "deadlock".into(),
                                value: format!("detected after {:.0} ms: {who}", ms(at)),
                            });
                            // Break the cycle: the last worker in it gives up.
                            let victim = c.iter().map(|e| e.0).max().unwrap_or(0);
                            table.victim.store(victim, Ordering::SeqCst);
                            return Some((c, at));
                        }
                        std::thread::sleep(POLL);
                    }
                    None
                });
            let r =
                Engine::new(job)
                    .threads()
                    .scene("deadlock")
                    .gang(&gil, 0, plan.len(), |i, ctx| {
                        let (order, pause) = plan[i];
                        worker(
                            &table,
                            i,
                            order,
                            Duration::from_millis(pause),
                            job.cancel,
                            ctx,
                        )
                    });
            done.store(true, Ordering::SeqCst);
            if let Ok(h) = watchdog {
                found = h.join().unwrap_or(None);
            }
            r
        });
        let completed = results
            .iter()
            .filter(|r| matches!(r, Some(Ok(o)) if o.value == 1))
            .count();
        let all_returned = results.iter().all(Option::is_some);
        attach_run_extra(
            &mut results,
            json!({
                "variant": if plan.iter().all(|p| p.0 == plan[0].0) { "fixed" } else { "opposite" },
                "deadlock_detected": found.is_some(),
                "detected_after_ms": found.as_ref().map(|f| ms(f.1)),
                "cycle": found.as_ref().map(|(c, _)| c.iter().map(|(w, h, l)| json!({
                    "worker": w, "holds": NAMES[*h], "waits_for": NAMES[*l],
                })).collect::<Vec<_>>()),
                "victim": found.as_ref().and_then(|(c, _)| c.iter().map(|e| e.0).max()),
                "recovered": found.is_some() && all_returned,
                "workers_completed": completed,
                "workers": plan.len(),
                "elapsed_ms": ms(t0.elapsed()),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let detected = run
            .and_then(|r| r["deadlock_detected"].as_bool())
            .unwrap_or(false);
        let completed = outputs.iter().filter(|o| o.value == 1).count();
        if detected {
            let who = run
                .and_then(|r| r["cycle"].as_array())
                .map(|c| {
                    c.iter()
                        .map(|e| {
                            format!(
                                "worker {} holds {}, waits for {}",
                                e["worker"],
                                e["holds"].as_str().unwrap_or("?"),
                                e["waits_for"].as_str().unwrap_or("?")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            Answer {
                value: "deadlock".into(),
                meaning: format!(
                    "detected ({who}); broken by making the last one give up its wait and \
                     release, so the others could finish: {completed} of {} completed",
                    outputs.len()
                ),
            }
        } else {
            Answer {
                value: "completed".into(),
                meaning: format!(
                    "{completed} of {} workers took both locks (same order: no deadlock)",
                    outputs.len()
                ),
            }
        }
    }
    fn details(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Option<Value> {
        let mut d = run_extra(outputs).cloned()?;
        if let Some(obj) = d.as_object_mut() {
            let per: Vec<Value> = outputs
                .iter()
                .map(|o| {
                    let mut e = o.extra.clone();
                    if let Some(m) = e.as_object_mut() {
                        m.remove("run");
                    }
                    e
                })
                .collect();
            obj.insert("per_worker".into(), per.into());
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::run_scene;
    use crate::exec::{Event, Model};
    use crate::workload::WorkloadArgs;

    fn args(variant: Option<&str>) -> WorkloadArgs {
        WorkloadArgs {
            workers: 2,
            size: 30,
            variant: variant.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn opposite_orders_deadlock_is_detected_reported_and_broken() {
        for gil in [true, false] {
            let (r, events) = run_scene("deadlock", Model::Threads, gil, args(None));
            let d = r.details.expect("details");
            assert_eq!(d["deadlock_detected"], true, "{d}");
            assert_eq!(d["cycle"].as_array().map(Vec::len), Some(2), "{d}");
            // The victim gave up; the other one could then finish.
            assert_eq!(d["workers_completed"], 1, "{d}");
            assert_eq!(d["victim"], 1);
            assert_eq!(d["recovered"], true);
            assert_eq!(r.answer.expect("answer").value, "deadlock");
            assert!(events.iter().any(
                |e| matches!(&e.event, Event::Note { key, value } if key == "deadlock" && value.contains("holds"))
            ));
        }
    }

    #[test]
    fn fixed_order_completes() {
        let (r, _) = run_scene("deadlock", Model::Threads, true, args(Some("fixed")));
        let d = r.details.expect("details");
        assert_eq!(d["deadlock_detected"], false);
        assert_eq!(d["workers_completed"], 2);
        assert_eq!(r.answer.expect("answer").value, "completed");
    }

    #[test]
    fn cancel_stops_a_deadlocked_run() {
        use crate::exec::{CancelToken, GilConfig, RunSpec, Sink};
        let cancel = CancelToken::new();
        let c = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            c.cancel();
        });
        let spec = RunSpec {
            workload: "deadlock".into(),
            model: Model::Threads,
            args: WorkloadArgs {
                size: 5_000,
                ..args(None)
            },
            gil: GilConfig::default(),
            asyncio: Default::default(),
            worker_exe: None,
        };
        let r = crate::runtime::run(&spec, &Sink::null(), &cancel).expect("runs");
        t.join().expect("canceller");
        assert!(r.cancelled, "cancel ends the run (it would hang otherwise)");
    }
}
