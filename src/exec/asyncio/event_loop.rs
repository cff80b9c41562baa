//! The loop itself: a single-threaded tokio runtime on a thread named `conlab-async-loop`,
//! every task a future on it (asyncio's `gather`), a semaphore when `--max-in-flight` is
//! set, the heartbeat beside them, and — with `--offload` — a pool on a helper thread.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{Semaphore, watch};

use super::client::HttpClient;
use super::ctx::AsyncCtx;
use super::heartbeat::{Pulse, beat};
use super::offload::{Offloader, Waiters, pool_sink};
use super::timed::Timed;
use super::{AsyncOpts, Offload};
use crate::core::{Event, GilConfig, LoopStats, SpanKind, TaskError};
use crate::exec::{Engine, Gil, Job, Sink, TaskResult, run_with, thread_label, to_result};

/// The loop's lane on the timeline.
const LOOP_WORKER: usize = 0;
/// Threads tokio may start for file reads (tokio::fs runs them on blocking threads).
const FS_THREADS: usize = 16;
/// Idle stretches of the loop shorter than this are not drawn.
const MIN_IDLE_US: u64 = 1000;

/// Run every task of `job` on one event loop; results in task order, and the loop's lag.
pub fn run(job: &Job, opts: AsyncOpts) -> (Vec<TaskResult>, LoopStats) {
    let n = job.tasks.len();
    let pid = std::process::id();
    let client = HttpClient::new();
    // The loop is one thread: its own GIL is never contended.
    let loop_gil = Gil::new(GilConfig {
        enabled: false,
        ..job.gil
    });
    let has_async = n > 0 && {
        let probe = AsyncCtx::new(0, LOOP_WORKER, job.cancel, job.sink, &client, &loop_gil);
        job.workload.run_task_async(&job.tasks[0], probe).is_some()
    };
    let offload = if has_async {
        Offload::None
    } else {
        opts.offload
    };
    // Offloaded work on threads shares one GIL with the loop (Python's to_thread).
    let shared_gil = Gil::new(job.gil);
    let width = opts
        .max_in_flight
        .map_or(job.workers, |m| m.min(job.workers))
        .max(1);
    let waiters = Waiters::new(n);
    let sink = pool_sink(job.sink, waiters.clone());
    let pool_job = Job {
        sink: &sink,
        ..*job
    };
    std::thread::scope(|s| {
        let (feed_tx, feed_rx) = crossbeam_channel::unbounded::<usize>();
        let pool = match offload {
            Offload::None => {
                drop(feed_rx);
                None
            }
            Offload::Threads => {
                let (pool_job, gil) = (&pool_job, &shared_gil);
                std::thread::Builder::new()
                    .name("conlab-async-offload".into())
                    .spawn_scoped(s, move || {
                        Engine::new(pool_job)
                            .threads()
                            .workers(width)
                            .named("conlab-async-to-thread")
                            .run_fed(gil, feed_rx)
                    })
                    .ok()
            }
            Offload::Processes => {
                let pool_job = &pool_job;
                std::thread::Builder::new()
                    .name("conlab-async-offload".into())
                    .spawn_scoped(s, move || {
                        Engine::new(pool_job)
                            .processes()
                            .workers(width)
                            .fed(feed_rx)
                            .run()
                            .0
                    })
                    .ok()
            }
        };
        let offloader = pool
            .is_some()
            .then(|| Offloader::new(feed_tx, waiters.clone()));
        let beat_gil = (offload == Offload::Threads && job.gil.enabled).then_some(&shared_gil);
        let (client, loop_gil) = (&client, &loop_gil);
        let looped = std::thread::Builder::new()
            .name("conlab-async-loop".into())
            .spawn_scoped(s, move || {
                job.sink.emit(Event::WorkerStarted {
                    worker: LOOP_WORKER,
                    pid,
                });
                let rt = match runtime(job.sink) {
                    Ok(rt) => rt,
                    Err(e) => return fail_all(job, loop_gil, &format!("{e}")),
                };
                let looped = Loop {
                    job,
                    opts,
                    client,
                    loop_gil,
                    beat_gil,
                    offloader,
                    has_async,
                    pulse: Pulse::new(),
                    turn: Semaphore::new(1),
                };
                let results = rt.block_on(looped.drive());
                (results, looped.pulse.stats())
            });
        let (mut results, stats) = match looped {
            Ok(h) => h.join().unwrap_or_else(|_| {
                (
                    vec![Some(Err("the event loop panicked".into())); n],
                    LoopStats::default(),
                )
            }),
            Err(e) => fail_all(
                job,
                loop_gil,
                &format!("could not start the loop thread: {e}"),
            ),
        };
        if let Some(h) = pool {
            let from_pool = h.join().unwrap_or_default();
            for (r, p) in results.iter_mut().zip(from_pool) {
                if p.is_some() {
                    *r = p;
                }
            }
        }
        (results, stats)
    })
}

/// A current-thread runtime whose idle stretches (parked, waiting for timers or
/// sockets) are drawn on the loop's lane as waiting.
fn runtime(sink: &Sink) -> std::io::Result<tokio::runtime::Runtime> {
    let parked_at = Arc::new(AtomicU64::new(u64::MAX));
    let (park, unpark) = (parked_at.clone(), parked_at);
    let park_sink = sink.clone();
    let unpark_sink = sink.clone();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("conlab-async-fs")
        .max_blocking_threads(FS_THREADS)
        .on_thread_park(move || park.store(park_sink.now_us(), Ordering::Relaxed))
        .on_thread_unpark(move || {
            let start = unpark.swap(u64::MAX, Ordering::Relaxed);
            let end = unpark_sink.now_us();
            if start != u64::MAX && end.saturating_sub(start) >= MIN_IDLE_US {
                unpark_sink.emit(Event::Span {
                    worker: LOOP_WORKER,
                    kind: SpanKind::Io,
                    start_us: start,
                    end_us: end,
                });
            }
        })
        .build()
}

fn fail_all(job: &Job, gil: &Gil, reason: &str) -> (Vec<TaskResult>, LoopStats) {
    let pid = std::process::id();
    let results = (0..job.tasks.len())
        .map(|i| {
            to_result(run_with(job, gil, i, LOOP_WORKER, pid, |_| {
                Err(TaskError::failed(reason))
            }))
        })
        .collect();
    (results, LoopStats::default())
}

/// Everything the loop's futures share.
struct Loop<'a, 'j> {
    job: &'a Job<'j>,
    opts: AsyncOpts,
    client: &'a HttpClient,
    loop_gil: &'a Gil,
    beat_gil: Option<&'a Gil>,
    offloader: Option<Offloader>,
    has_async: bool,
    pulse: Pulse,
    /// Held by the synchronous body running on the loop (see [`Loop::one`]).
    turn: Semaphore,
}

impl Loop<'_, '_> {
    async fn drive(&self) -> Vec<TaskResult> {
        let n = self.job.tasks.len();
        let sem = self.opts.max_in_flight.map(|m| Semaphore::new(m.max(1)));
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let mut tasks: FuturesUnordered<_> = (0..n)
            .map(|i| self.one(i, sem.as_ref(), cancel_rx.clone()))
            .collect();
        let collect = async {
            let mut results: Vec<TaskResult> = vec![None; n];
            while let Some((i, r)) = tasks.next().await {
                results[i] = r;
            }
            results
        };
        // Cancel is a flag set from outside; the loop looks at it every 20 ms when free.
        let watch_cancel = async {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                if self.job.cancel.is_cancelled() {
                    let _ = cancel_tx.send(true);
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            r = collect => r,
            _ = beat(&self.pulse, self.job.sink, LOOP_WORKER, self.beat_gil) => vec![None; n],
            _ = watch_cancel => vec![None; n],
        }
    }

    /// One task as a future: wait for a permit, then run its async body, or hand it to the
    /// offload pool, or run its synchronous body on the loop (blocking it).
    async fn one(
        &self,
        i: usize,
        sem: Option<&Semaphore>,
        cancel: watch::Receiver<bool>,
    ) -> (usize, TaskResult) {
        let _permit = match sem {
            Some(s) => match s.acquire().await {
                Ok(p) => Some(p),
                Err(_) => return (i, None),
            },
            None => None,
        };
        if self.job.cancel.is_cancelled() {
            return (i, None);
        }
        self.pulse.enter();
        let r = if self.has_async {
            self.run_async(i, cancel).await
        } else if let Some(off) = &self.offloader {
            // The pool's own result replaces this placeholder when the run ends.
            tokio::select! {
                _ = off.run(i) => None,
                _ = cancelled(cancel) => None,
            }
        } else {
            // One synchronous body per turn of the loop: it runs to the end (blocking the
            // loop: the heartbeat cannot fire meanwhile), then the loop runs its timers and
            // sockets before the next one starts — as if each coroutine ended with
            // `await asyncio.sleep(0)`. The turn is held across that yield.
            let Ok(_turn) = self.turn.acquire().await else {
                self.pulse.leave();
                return (i, None);
            };
            let job = self.job;
            let r = to_result(run_with(
                job,
                self.loop_gil,
                i,
                LOOP_WORKER,
                std::process::id(),
                |ctx| job.workload.run_task(&job.tasks[i], ctx),
            ));
            tokio::task::yield_now().await;
            r
        };
        self.pulse.leave();
        (i, r)
    }

    /// An async body on the loop, reported as `run_with` reports a synchronous one.
    async fn run_async(&self, i: usize, cancel: watch::Receiver<bool>) -> TaskResult {
        let job = self.job;
        job.sink.emit(Event::TaskStarted {
            task: i,
            worker: LOOP_WORKER,
            pid: std::process::id(),
            thread: thread_label(),
        });
        let t0 = Instant::now();
        let ctx = AsyncCtx::new(
            i,
            LOOP_WORKER,
            job.cancel,
            job.sink,
            self.client,
            self.loop_gil,
        );
        let body = match job.workload.run_task_async(&job.tasks[i], ctx) {
            Some(f) => f,
            None => Box::pin(async { Err(TaskError::failed("this task has no async body")) }),
        };
        let (out, cpu) = tokio::select! {
            r = AssertUnwindSafe(Timed::new(body)).catch_unwind() => match r {
                Ok(done) => done,
                Err(p) => (Err(TaskError::failed(format!("task panicked: {}", panic_text(&*p)))), Default::default()),
            },
            _ = cancelled(cancel) => (Err(TaskError::Cancelled), Default::default()),
        };
        if out != Err(TaskError::Cancelled) {
            job.sink.emit(Event::TaskFinished {
                task: i,
                worker: LOOP_WORKER,
                result: out.clone().map_err(|e| e.to_string()),
                wall_us: t0.elapsed().as_micros() as u64,
                cpu_us: cpu.as_micros() as u64,
            });
        }
        to_result(out)
    }
}

/// Resolves when the run is cancelled.
async fn cancelled(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
