//! What a running task can ask of the engine: cancel checks, GIL hand-over, progress,
//! and running blocking work with the GIL released.

use std::time::{Duration, Instant};

use super::cancel::{CancelToken, HookGuard};
use super::gil::{Gil, GilGuard, Wait};
use super::sink::Sink;
use crate::core::{CodeKind, Event, SpanKind, TaskError};

/// Shortest GIL or I/O wait worth drawing on the timeline.
const MIN_SPAN: Duration = Duration::from_micros(50);
/// Progress events per task at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(10);

/// The engine's handle given to a task while it runs. Holds the GIL (when enabled)
/// for the whole task except inside [`TaskCtx::without_gil`]; dropping it releases.
pub struct TaskCtx<'a> {
    pub task: usize,
    pub worker: usize,
    held: GilGuard<'a>,
    cancel: &'a CancelToken,
    sink: &'a Sink,
    last_progress: Option<Instant>,
}

impl<'a> TaskCtx<'a> {
    /// Take `gil` for task `task` on `worker` (the wait, if any, is drawn as a GIL wait).
    pub fn new(
        task: usize,
        worker: usize,
        gil: &'a Gil,
        cancel: &'a CancelToken,
        sink: &'a Sink,
    ) -> Self {
        let (held, wait) = gil.acquire();
        let ctx = TaskCtx {
            task,
            worker,
            held,
            cancel,
            sink,
            last_progress: None,
        };
        if let Some(wait) = wait {
            ctx.span_always(SpanKind::GilWait, wait);
        }
        ctx
    }

    /// The cheap point a compute loop calls every few thousand iterations: stop if
    /// cancelled, hand the GIL over if another thread asked for it. Two atomic loads when
    /// nobody waits; no clock read.
    #[inline]
    pub fn tick(&mut self) -> Result<(), TaskError> {
        if self.cancel.is_cancelled() {
            return Err(TaskError::Cancelled);
        }
        if let Some(wait) = self.held.yield_if_requested() {
            self.span(SpanKind::GilWait, wait);
        }
        Ok(())
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Run `hook` if the run is cancelled while the returned guard lives: how a wait that
    /// cannot poll (an HTTP request in flight) is interrupted.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) -> HookGuard {
        self.cancel.on_cancel(hook)
    }

    /// Report `done` of `total` units; rate-limited, so call it as often as convenient.
    pub fn progress(&mut self, done: u64, total: u64) {
        if progress_due(&mut self.last_progress, done, total) {
            self.sink.emit(Event::Progress {
                task: self.task,
                worker: self.worker,
                done,
                total,
            });
        }
    }

    /// Run blocking work (I/O, a sleep) with the GIL released, as CPython does around
    /// blocking calls; the wait is drawn on the timeline as I/O, and re-taking the GIL
    /// afterwards as a GIL wait.
    ///
    /// If `f` panics, the GIL stays released and the panic goes on to the engine, which
    /// fails the task: the GIL is owned, so nothing this task does can free another
    /// thread's hold.
    ///
    /// The wait is announced as it begins ([`Event::SpanStarted`]), so a live timeline
    /// draws the worker as waiting while it waits, and its span is sent whatever its
    /// length, closing what was announced.
    pub fn without_gil<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let start_us = self.sink.us_at(start);
        self.sink.emit_at(
            start_us,
            Event::SpanStarted {
                worker: self.worker,
                kind: SpanKind::Io,
                start_us,
            },
        );
        let mut io_end = start;
        let (out, wait) = Gil::released_during(&self.held, || {
            let out = f();
            io_end = Instant::now();
            out
        });
        self.span_always(SpanKind::Io, (start, io_end));
        if let Some(wait) = wait {
            self.span(SpanKind::GilWait, wait);
        }
        out
    }

    /// Run native code that releases the GIL (hashlib over 2 KiB, zlib, NumPy): other
    /// threads may run meanwhile. Drawn as native code with the GIL released; re-taking
    /// the GIL afterwards as a GIL wait. (No cancel check inside: keep each call short.)
    pub fn native_releasing<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let mut end = start;
        let (out, wait) = self.held.native_releasing(|| {
            let out = f();
            end = Instant::now();
            out
        });
        self.span(SpanKind::NativeReleased, (start, end));
        if let Some(wait) = wait {
            self.span(SpanKind::GilWait, wait);
        }
        out
    }

    /// Run native code that holds the GIL and never checks for a drop request (a C
    /// extension's long loop): no other thread of this interpreter runs Python until it
    /// returns. Drawn as "holding the GIL in native code".
    pub fn native_holding<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = self.held.native_holding(f);
        self.span(SpanKind::NativeHolding, (start, Instant::now()));
        out
    }

    /// Run `f` as `kind` of code: interpreted (`f` gets to tick), native releasing or
    /// native holding (`f` must not tick: native code never checks).
    pub fn run_as<T>(&mut self, kind: CodeKind, f: impl FnOnce(Option<&mut Self>) -> T) -> T {
        match kind {
            CodeKind::Interpreted => f(Some(self)),
            CodeKind::Releasing => self.native_releasing(|| f(None)),
            CodeKind::Holding => self.native_holding(|| f(None)),
        }
    }

    /// Sleep without the GIL, waking early (with `Cancelled`) if the run is cancelled.
    pub fn sleep(&mut self, d: Duration) -> Result<(), TaskError> {
        let cancel = self.cancel.clone();
        let finished = self.without_gil(|| {
            let end = Instant::now() + d;
            loop {
                if cancel.is_cancelled() {
                    return false;
                }
                let left = end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return true;
                }
                std::thread::sleep(left.min(Duration::from_millis(20)));
            }
        });
        if finished {
            Ok(())
        } else {
            Err(TaskError::Cancelled)
        }
    }

    /// Emit a free-form measured fact (shown by the dashboard and the summary).
    pub fn note(&self, key: impl Into<String>, value: impl Into<String>) {
        self.sink.emit(Event::Note {
            key: key.into(),
            value: value.into(),
        });
    }

    /// The run's GIL, for workloads that coordinate their own threads.
    pub fn gil(&self) -> &Gil {
        self.held.gil()
    }

    fn span(&self, kind: SpanKind, wait: Wait) {
        if wait.1.duration_since(wait.0) >= MIN_SPAN {
            self.span_always(kind, wait);
        }
    }

    fn span_always(&self, kind: SpanKind, (start, end): Wait) {
        {
            self.sink.emit(Event::Span {
                worker: self.worker,
                kind,
                start_us: self.sink.us_at(start),
                end_us: self.sink.us_at(end),
            });
        }
    }
}

/// Whether a progress report is due: at most one every [`PROGRESS_EVERY`], and always the
/// last one (`done >= total`). Records the time when it is. Shared by both task contexts.
pub(crate) fn progress_due(last: &mut Option<Instant>, done: u64, total: u64) -> bool {
    let now = Instant::now();
    let due = last.is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
    if due || done >= total {
        *last = Some(now);
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::GilConfig;

    /// Run `f` for at least a drawable span (the clock only bounds the work's length;
    /// nothing asserts on a duration).
    fn busy_past_min_span() {
        let t0 = Instant::now();
        while t0.elapsed() < MIN_SPAN * 2 {
            std::hint::spin_loop();
        }
    }

    fn spans_of(run: impl FnOnce(&mut TaskCtx)) -> Vec<SpanKind> {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Sink::channel(tx, |s| s);
        {
            let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
            run(&mut ctx);
        }
        drop(sink);
        rx.try_iter()
            .filter_map(|s| match s.event {
                Event::Span { kind, .. } => Some(kind),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_kind_of_native_code_is_drawn_as_its_own_span() {
        let held = spans_of(|ctx| ctx.native_holding(busy_past_min_span));
        assert_eq!(held, vec![SpanKind::NativeHolding]);
        let released = spans_of(|ctx| ctx.native_releasing(busy_past_min_span));
        assert_eq!(released, vec![SpanKind::NativeReleased]);
        let interpreted = spans_of(|ctx| {
            ctx.run_as(CodeKind::Interpreted, |c| {
                c.expect("interpreted code may tick")
                    .tick()
                    .expect("not cancelled");
                busy_past_min_span()
            })
        });
        assert!(interpreted.is_empty(), "{interpreted:?}");
    }

    #[test]
    fn a_wait_is_announced_as_it_begins_and_always_closed() {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Sink::channel(tx, |s| s);
        {
            let mut ctx = TaskCtx::new(0, 3, &gil, &cancel, &sink);
            // Inside the wait, its start has already gone out.
            let seen = ctx.without_gil(|| rx.try_iter().map(|s| s.event).collect::<Vec<_>>());
            assert!(
                matches!(
                    seen.as_slice(),
                    [Event::SpanStarted {
                        worker: 3,
                        kind: SpanKind::Io,
                        ..
                    }]
                ),
                "{seen:?}"
            );
            let Event::SpanStarted { start_us, .. } = seen[0] else {
                unreachable!()
            };
            // A wait far shorter than a drawable span is still closed, at its start.
            let after: Vec<Event> = rx.try_iter().map(|s| s.event).collect();
            assert!(
                matches!(after.as_slice(), [Event::Span { kind: SpanKind::Io, start_us: s, .. }] if *s == start_us),
                "{after:?}"
            );
        }
    }

    #[test]
    fn run_as_releases_only_for_releasing_code() {
        let gil = Gil::new(GilConfig::default());
        let cancel = CancelToken::new();
        let sink = Sink::null();
        let mut ctx = TaskCtx::new(0, 0, &gil, &cancel, &sink);
        for kind in CodeKind::ALL {
            let held = ctx.run_as(kind, |_| gil.held_by_me());
            assert_eq!(held, kind != CodeKind::Releasing, "{kind:?}");
        }
    }
}
