//! The loop itself: a single-threaded tokio runtime on a thread named `conlab-async-loop`,
//! every task a future on it (asyncio's `gather`), at most `--max-in-flight` of them
//! started at once, the heartbeat beside them, and — with `--offload` — the engine's
//! thread or process pool on a helper thread, each offloaded task's future awaiting it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{Semaphore, watch};

use super::client::HttpClient;
use super::ctx::AsyncCtx;
use super::heartbeat::{Pulse, beat};
use super::offload::{Waiters, pool_sink};
use super::timed::Timed;
use super::{AsyncOpts, Offload};
use crate::core::{Event, GilConfig, LoopStats, SpanKind, TaskError};
use crate::exec::{Engine, Gil, Job, Sink, TaskResult, run_one, run_with, thread_label, to_result};

/// The loop's lane on the timeline.
const LOOP_WORKER: usize = 0;
/// Threads tokio may start for file reads (tokio::fs runs them on blocking threads).
const FS_THREADS: usize = 16;
/// Idle stretches of the loop shorter than this are not drawn.
const MIN_IDLE_US: u64 = 1000;
/// Tasks in flight at once when `--max-in-flight` is not given: every task of an ordinary
/// run (their most is 100,000), while a run of millions of tiny tasks stays bounded.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100_000;
/// How often the loop looks at the cancel flag (set from outside the loop).
const CANCEL_POLL: Duration = Duration::from_millis(20);

type Out<'o> = &'o (dyn Fn(usize, TaskResult) + Sync);

/// Run every task of `job` on one event loop, handing each result to `out` as it
/// finishes; returns the loop's lag.
pub fn run_into(job: &Job, opts: AsyncOpts, out: Out) -> LoopStats {
    let n = job.tasks.len();
    let pid = std::process::id();
    let client = HttpClient::new();
    // The loop is one thread: its own GIL is never contended.
    let loop_gil = Gil::new(GilConfig {
        enabled: false,
        ..job.gil
    });
    let has_async = job.tasks.first().is_some_and(|t| {
        let probe = AsyncCtx::new(0, LOOP_WORKER, job.cancel, job.sink, &client, &loop_gil);
        job.workload.run_task_async(t.into_owned(), probe).is_some()
    });
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
    let waiters = Waiters::new(if offload == Offload::None { 0 } else { n });
    let sink = pool_sink(job.sink, waiters.clone());
    let pool_job = Job {
        sink: &sink,
        ..*job
    };
    std::thread::scope(|s| {
        // The pool runs every task itself (in order, `width` at a time) and hands its
        // results to `out`; the loop's future for each task waits for its finish.
        let pool = match offload {
            Offload::None => None,
            Offload::Threads => {
                let (pool_job, gil, waiters) = (&pool_job, &shared_gil, waiters.clone());
                std::thread::Builder::new()
                    .name("conlab-async-offload".into())
                    .spawn_scoped(s, move || {
                        Engine::new(pool_job)
                            .threads()
                            .workers(width)
                            .named("conlab-async-to-thread")
                            .run_into(gil, out);
                        waiters.wake_all();
                    })
                    .ok()
            }
            Offload::Processes => {
                let (pool_job, waiters) = (&pool_job, waiters.clone());
                std::thread::Builder::new()
                    .name("conlab-async-offload".into())
                    .spawn_scoped(s, move || {
                        let results = Engine::new(pool_job).processes().workers(width).run().0;
                        waiters.wake_all();
                        for (i, r) in results.into_iter().enumerate() {
                            out(i, r);
                        }
                    })
                    .ok()
            }
        };
        if offload != Offload::None && pool.is_none() {
            fail_all(
                job,
                &loop_gil,
                "could not start the offload pool's thread",
                out,
            );
            return LoopStats::default();
        }
        let beat_gil = (offload == Offload::Threads && job.gil.enabled).then_some(&shared_gil);
        let (client, loop_gil, waiters) = (&client, &loop_gil, &waiters);
        let looped = std::thread::Builder::new()
            .name("conlab-async-loop".into())
            .spawn_scoped(s, move || {
                job.sink.emit(Event::WorkerStarted {
                    worker: LOOP_WORKER,
                    pid,
                });
                let rt = match runtime(job.sink) {
                    Ok(rt) => rt,
                    Err(e) => {
                        fail_all(job, loop_gil, &format!("no event loop: {e}"), out);
                        return LoopStats::default();
                    }
                };
                let looped = Loop {
                    job,
                    opts,
                    client,
                    loop_gil,
                    beat_gil,
                    offloaded: (offload != Offload::None).then_some(&**waiters),
                    has_async,
                    pulse: Pulse::new(),
                    turn: Semaphore::new(1),
                    out,
                };
                rt.block_on(looped.drive());
                looped.pulse.stats()
            });
        let stats = match looped {
            Ok(h) => h.join().unwrap_or_default(),
            Err(e) => {
                fail_all(
                    job,
                    loop_gil,
                    &format!("could not start the loop thread: {e}"),
                    out,
                );
                LoopStats::default()
            }
        };
        if let Some(h) = pool {
            let _ = h.join();
        }
        stats
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

/// Fail every task with `reason` (reported as any failed task is).
fn fail_all(job: &Job, gil: &Gil, reason: &str, out: Out) {
    let pid = std::process::id();
    for i in 0..job.tasks.len() {
        let r = run_with(job, gil, i, LOOP_WORKER, pid, |_| {
            Err(TaskError::failed(reason))
        });
        out(i, to_result(r));
    }
}

/// Everything the loop's futures share.
struct Loop<'a, 'j, 'o> {
    job: &'a Job<'j>,
    opts: AsyncOpts,
    client: &'a HttpClient,
    loop_gil: &'a Gil,
    beat_gil: Option<&'a Gil>,
    /// With `--offload`: each task's finish, as the pool reports it.
    offloaded: Option<&'a Waiters>,
    has_async: bool,
    pulse: Pulse,
    /// Held by the synchronous body running on the loop (see [`Loop::one`]).
    turn: Semaphore,
    out: Out<'o>,
}

impl Loop<'_, '_, '_> {
    async fn drive(&self) {
        let n = self.job.tasks.len();
        let limit = self
            .opts
            .max_in_flight
            .unwrap_or(DEFAULT_MAX_IN_FLIGHT)
            .max(1);
        let (cancel_tx, cancel_rx) = watch::channel(false);
        // Futures are made as slots free up: at most `limit` exist at once (a semaphore
        // whose waiters cost nothing).
        // Each future is unconstrained by tokio's cooperative budget: all of them share
        // this one task's budget of 128 resource polls, so with 100,000 in flight each
        // round registered 128 timers and woke the rest to poll again — quadratic (100,000
        // one-second waits took 10 s of CPU-starved wall time, most of it re-polling).
        // Asyncio's tasks have no such budget either; each of ours yields at its awaits.
        let gather = async {
            let mut next = 0;
            let mut running = FuturesUnordered::new();
            while next < n && running.len() < limit {
                running.push(tokio::task::unconstrained(
                    self.one(next, cancel_rx.clone()),
                ));
                next += 1;
            }
            while running.next().await.is_some() {
                if next < n && !self.job.cancel.is_cancelled() {
                    running.push(tokio::task::unconstrained(
                        self.one(next, cancel_rx.clone()),
                    ));
                    next += 1;
                }
            }
        };
        // Cancel is a flag set from outside; the loop looks at it every 20 ms.
        let watch_cancel = async {
            loop {
                tokio::time::sleep(CANCEL_POLL).await;
                if self.job.cancel.is_cancelled() {
                    let _ = cancel_tx.send(true);
                    std::future::pending::<()>().await;
                }
            }
        };
        self.pulse.start();
        tokio::select! {
            _ = gather => {},
            _ = beat(&self.pulse, self.job.sink, LOOP_WORKER, self.beat_gil) => {},
            _ = watch_cancel => {},
        }
        self.pulse.finish();
    }

    /// One task as a future: its async body, or its wait for the offload pool, or its
    /// synchronous body run on the loop (blocking it).
    async fn one(&self, i: usize, cancel: watch::Receiver<bool>) {
        if self.job.cancel.is_cancelled() {
            return;
        }
        self.pulse.enter();
        if self.has_async {
            let r = self.run_async(i, cancel).await;
            (self.out)(i, r);
        } else if let Some(waiters) = self.offloaded {
            // The pool hands the result to `out` itself.
            tokio::select! {
                _ = waiters.wait_for(i) => {},
                _ = cancelled(cancel) => {},
            }
        } else {
            // One synchronous body per turn of the loop: it runs to the end (blocking the
            // loop: the heartbeat cannot fire meanwhile), then the loop runs its timers and
            // sockets before the next one starts — as if each coroutine ended with
            // `await asyncio.sleep(0)`. The turn is held across that yield.
            if let Ok(_turn) = self.turn.acquire().await {
                let r = to_result(run_one(
                    self.job,
                    self.loop_gil,
                    i,
                    LOOP_WORKER,
                    std::process::id(),
                ));
                (self.out)(i, r);
                tokio::task::yield_now().await;
            }
        }
        self.pulse.leave();
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
        let body = match job
            .workload
            .run_task_async(job.tasks.get(i).into_owned(), ctx)
        {
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
