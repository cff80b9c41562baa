//! `queue`: one producer feeds several consumers through a bounded channel. The queue's
//! fill level over time, the time the producer spent blocked on a full queue
//! (back-pressure), and shutdown by one sentinel per consumer.

use std::ops::RangeInclusive;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, SendTimeoutError};
use serde_json::{Value, json};

use super::super::{Answer, Plan, TaskOutput, WorkKind, Workload, WorkloadArgs, task_u64};
use super::{attach_run_extra, run_extra};
use crate::core::{Event, Model, TaskError, ms};
use crate::exec::{CancelToken, Engine, Gil, TaskCtx, TaskResult};

pub struct Queue;

/// The queue's capacity: small, so a fast producer soon meets back-pressure.
pub const CAPACITY: usize = 8;
/// Each consumer "handles" an item by waiting this long (an I/O stand-in).
const CONSUME: Duration = Duration::from_millis(2);
/// How often blocked sends and receives look at the cancel flag.
const POLL: Duration = Duration::from_millis(20);
/// Fill-level samples kept for the details (evenly thinned).
const MAX_SAMPLES: usize = 60;

/// What travels on the queue: an item, or the sentinel that tells one consumer to stop.
type Msg = Option<u64>;

struct Producer {
    produced: u64,
    blocked: Duration,
    blocked_sends: u64,
    /// (ms since start, items in the queue right after a send)
    fill: Vec<(f64, usize)>,
}

fn produce(
    tx: &crossbeam_channel::Sender<Msg>,
    items: u64,
    consumers: usize,
    t0: Instant,
    cancel: &CancelToken,
    ctx: &mut TaskCtx,
) -> Result<Producer, TaskError> {
    let mut p = Producer {
        produced: 0,
        blocked: Duration::ZERO,
        blocked_sends: 0,
        fill: Vec::new(),
    };
    let msgs = (0..items).map(Some).chain((0..consumers).map(|_| None));
    for msg in msgs {
        ctx.tick()?;
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(crossbeam_channel::TrySendError::Full(msg)) => {
                // Full: block (without the GIL, as queue.put does) until a slot frees.
                p.blocked_sends += 1;
                let start = Instant::now();
                let mut pending = Some(msg);
                let sent = ctx.without_gil(|| {
                    while let Some(m) = pending.take() {
                        if cancel.is_cancelled() {
                            return false;
                        }
                        match tx.send_timeout(m, POLL) {
                            Ok(()) => return true,
                            Err(SendTimeoutError::Timeout(m)) => pending = Some(m),
                            Err(SendTimeoutError::Disconnected(_)) => return false,
                        }
                    }
                    false
                });
                p.blocked += start.elapsed();
                if !sent {
                    ctx.tick()?;
                    return Err(TaskError::failed("every consumer hung up"));
                }
            }
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                return Err(TaskError::failed("every consumer hung up"));
            }
        }
        p.fill.push((ms(t0.elapsed()), tx.len()));
        if msg_is_item(p.fill.len() as u64, items) {
            p.produced += 1;
            ctx.progress(p.produced, items);
        }
    }
    Ok(p)
}

/// The first `items` sends are items, the rest sentinels.
fn msg_is_item(sent: u64, items: u64) -> bool {
    sent <= items
}

struct Consumer {
    items: Vec<u64>,
    got_sentinel: bool,
}

fn consume(
    rx: &crossbeam_channel::Receiver<Msg>,
    ctx: &mut TaskCtx,
) -> Result<Consumer, TaskError> {
    let mut c = Consumer {
        items: Vec::new(),
        got_sentinel: false,
    };
    loop {
        ctx.tick()?;
        let got = ctx.without_gil(|| rx.recv_timeout(POLL));
        match got {
            Ok(Some(item)) => {
                ctx.sleep(CONSUME)?;
                c.items.push(item);
            }
            Ok(None) => {
                c.got_sentinel = true;
                return Ok(c);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(c),
        }
    }
}

/// Keep at most `n` samples, evenly spaced, always keeping the last.
fn thin<T: Clone>(xs: &[T], n: usize) -> Vec<T> {
    if xs.len() <= n || n < 2 {
        return xs.to_vec();
    }
    (0..n)
        .map(|i| xs[i * (xs.len() - 1) / (n - 1)].clone())
        .collect()
}

impl Workload for Queue {
    fn models(&self) -> &'static [Model] {
        &[Model::Threads]
    }
    fn name(&self) -> &'static str {
        "queue"
    }
    fn summary(&self) -> &'static str {
        "producer/consumers over a bounded queue: fill level, back-pressure, sentinel shutdown"
    }
    fn kind(&self) -> WorkKind {
        WorkKind::Scene
    }
    fn size_meaning(&self) -> &'static str {
        "items the producer puts on the queue"
    }
    fn default_size(&self) -> u64 {
        200
    }
    fn size_range(&self) -> RangeInclusive<u64> {
        1..=100_000
    }
    fn default_tasks(&self, workers: usize) -> usize {
        1 + workers.max(1)
    }
    fn plan(&self, args: &WorkloadArgs) -> anyhow::Result<Plan> {
        // Task 0 produces; tasks 1..=C consume.
        let consumers = args.workers.max(1);
        let mut tasks = vec![json!({ "role": "producer", "items": args.size })];
        tasks.extend((0..consumers).map(|_| json!({ "role": "consumer", "items": args.size })));
        Ok(Plan::new(tasks))
    }
    fn run_task(&self, _task: &Value, _ctx: &mut TaskCtx) -> Result<TaskOutput, TaskError> {
        Err(TaskError::failed(
            "queue orchestrates its own threads: run it with --model threads",
        ))
    }
    fn orchestrate(&self, engine: &Engine, model: Model) -> Option<Vec<TaskResult>> {
        let job = engine.job();
        let items = job
            .tasks
            .first()
            .map(|t| task_u64(&t, "items"))
            .unwrap_or(Ok(0));
        let items = match (model, items) {
            (Model::Threads, Ok(n)) => n,
            (Model::Threads, Err(e)) => {
                return Some(job.tasks.iter().map(|_| Some(Err(e.to_string()))).collect());
            }
            _ => {
                let msg = "queue runs a producer and consumers side by side: use --model threads";
                return Some(job.tasks.iter().map(|_| Some(Err(msg.into()))).collect());
            }
        };
        let consumers = job.tasks.len().saturating_sub(1).max(1);
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(CAPACITY);
        let gil = Gil::new(job.gil);
        let t0 = Instant::now();
        let producer_stats = Mutex::new(None);
        let consumer_stats = Mutex::new(vec![None; consumers]);
        let mut results =
            Engine::new(job)
                .threads()
                .scene("queue")
                .gang(&gil, 0, consumers + 1, |i, ctx| {
                    if i == 0 {
                        let p = produce(&tx, items, consumers, t0, job.cancel, ctx)?;
                        let out = TaskOutput::value(u128::from(p.produced));
                        *producer_stats.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
                        Ok(out)
                    } else {
                        let c = consume(&rx, ctx)?;
                        let out = TaskOutput::value(c.items.len() as u128);
                        consumer_stats.lock().unwrap_or_else(|e| e.into_inner())[i - 1] =
                            Some((c.items, c.got_sentinel));
                        Ok(out)
                    }
                });
        let elapsed = t0.elapsed();
        let p = producer_stats
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let cs = consumer_stats
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<u64> = cs.iter().flatten().flat_map(|(v, _)| v.clone()).collect();
        all.sort_unstable();
        let consumed_once = all.len() as u64 == items && all.iter().copied().eq(0..items);
        let sentinels = cs.iter().flatten().filter(|(_, s)| *s).count();
        let (blocked, blocked_sends, fill) = p
            .as_ref()
            .map(|p| (p.blocked, p.blocked_sends, p.fill.clone()))
            .unwrap_or_default();
        let max_fill = fill.iter().map(|f| f.1).max().unwrap_or(0);
        let mean_fill = if fill.is_empty() {
            0.0
        } else {
            fill.iter().map(|f| f.1 as f64).sum::<f64>() / fill.len() as f64
        };
        job.sink.emit(Event::Note {
            key: "back-pressure".into(),
            value: format!(
                "producer blocked {:.0} ms of {:.0} ms on a full queue (capacity {CAPACITY})",
                ms(blocked),
                ms(elapsed)
            ),
        });
        attach_run_extra(
            &mut results,
            json!({
                "items": items,
                "capacity": CAPACITY,
                "consumers": consumers,
                "consume_ms_per_item": ms(CONSUME),
                "consumed": all.len(),
                "consumed_exactly_once": consumed_once,
                "per_consumer": cs.iter().map(|c| c.as_ref().map(|(v, _)| v.len())).collect::<Vec<_>>(),
                "sentinels_received": sentinels,
                "producer_blocked_ms": ms(blocked),
                "producer_blocked_sends": blocked_sends,
                "producer_blocked_share": if elapsed.is_zero() { 0.0 } else {
                    (blocked.as_secs_f64() / elapsed.as_secs_f64() * 1e3).round() / 1e3
                },
                "max_fill": max_fill,
                "mean_fill": (mean_fill * 100.0).round() / 100.0,
                "fill_over_time": thin(&fill, MAX_SAMPLES)
                    .iter()
                    .map(|(t, n)| json!([t, n]))
                    .collect::<Vec<_>>(),
                "elapsed_ms": ms(elapsed),
            }),
        );
        Some(results)
    }
    fn combine(&self, outputs: &[TaskOutput], _args: &WorkloadArgs) -> Answer {
        let run = run_extra(outputs);
        let consumed = run.and_then(|r| r["consumed"].as_u64()).unwrap_or(0);
        let blocked = run
            .and_then(|r| r["producer_blocked_ms"].as_f64())
            .unwrap_or(0.0);
        let sentinels = run
            .and_then(|r| r["sentinels_received"].as_u64())
            .unwrap_or(0);
        Answer {
            value: consumed.to_string(),
            meaning: format!(
                "items consumed; producer blocked {blocked:.0} ms by back-pressure; \
                 {sentinels} consumers stopped by a sentinel"
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
    fn every_item_is_consumed_once_and_every_consumer_gets_a_sentinel() {
        for gil in [true, false] {
            let (r, _) = run_scene(
                "queue",
                Model::Threads,
                gil,
                WorkloadArgs {
                    workers: 3,
                    size: 60,
                    ..Default::default()
                },
            );
            let d = r.details.expect("details");
            assert_eq!(d["consumed"], 60, "{d}");
            assert_eq!(d["consumed_exactly_once"], true);
            assert_eq!(d["sentinels_received"], 3);
            assert!(d["max_fill"].as_u64().expect("n") <= CAPACITY as u64);
            assert_eq!(r.answer.expect("answer").value, "60");
        }
    }

    #[test]
    fn a_fast_producer_meets_back_pressure() {
        let (r, _) = run_scene(
            "queue",
            Model::Threads,
            false,
            WorkloadArgs {
                workers: 1,
                size: 40,
                ..Default::default()
            },
        );
        let d = r.details.expect("details");
        // 40 items into 8 slots with one slow consumer: the producer must have waited.
        assert!(d["producer_blocked_sends"].as_u64().expect("n") > 0, "{d}");
        assert!(d["max_fill"].as_u64().expect("n") > 0, "{d}");
    }

    #[test]
    fn cancel_stops_a_blocked_producer() {
        use crate::exec::{CancelToken, GilConfig, RunSpec, Sink};
        let cancel = CancelToken::new();
        let c = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            c.cancel();
        });
        let spec = RunSpec {
            workload: "queue".into(),
            model: Model::Threads,
            args: WorkloadArgs {
                workers: 1,
                size: 100_000,
                ..Default::default()
            },
            gil: GilConfig::default(),
            asyncio: Default::default(),
            worker_exe: None,
        };
        let r = crate::runtime::run(&spec, &Sink::null(), &cancel).expect("runs");
        t.join().expect("canceller");
        assert!(r.cancelled, "cancel ends the run (it would hang otherwise)");
    }

    #[test]
    fn thin_keeps_ends() {
        let xs: Vec<u32> = (0..100).collect();
        let t = thin(&xs, 5);
        assert_eq!(t.len(), 5);
        assert_eq!(t.first(), Some(&0));
        assert_eq!(t.last(), Some(&99));
    }
}
