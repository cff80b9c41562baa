//! Where a run's events go: a cheap, cloneable, stamping sender.

use std::sync::Arc;
use std::time::Instant;

use crate::core::{Event, Stamped};

/// Stamps each event with the time since the run's start and hands it on.
#[derive(Clone)]
pub struct Sink {
    t0: Instant,
    deliver: Arc<dyn Fn(Stamped) + Send + Sync>,
}

impl Sink {
    /// A sink that calls `deliver` for every event; the clock starts now.
    pub fn new(deliver: impl Fn(Stamped) + Send + Sync + 'static) -> Self {
        Sink {
            t0: Instant::now(),
            deliver: Arc::new(deliver),
        }
    }

    /// A sink that sends onto a crossbeam channel, wrapping each event with `wrap`.
    /// A closed channel is ignored: the run goes on, nobody is listening.
    pub fn channel<T: Send + 'static>(
        tx: crossbeam_channel::Sender<T>,
        wrap: fn(Stamped) -> T,
    ) -> Self {
        Sink::new(move |ev| {
            let _ = tx.send(wrap(ev));
        })
    }

    /// A sink that drops everything.
    pub fn null() -> Self {
        Sink::new(|_| {})
    }

    /// Same destination, clock restarted now (a new run).
    pub fn restarted(&self) -> Self {
        Sink {
            t0: Instant::now(),
            deliver: self.deliver.clone(),
        }
    }

    /// This sink's destination with `other`'s clock (so times stay comparable).
    pub fn with_clock_of(self, other: &Sink) -> Self {
        Sink {
            t0: other.t0,
            deliver: self.deliver,
        }
    }

    /// Same destination and clock, with every task index moved up by `by`: a sub-job
    /// over `tasks[by..]` (or a worker's one-task job) reports the run's own indices.
    pub fn shift_tasks(&self, by: usize) -> Self {
        let inner = self.clone();
        Sink::new(move |mut s| {
            match &mut s.event {
                Event::TaskStarted { task, .. }
                | Event::Progress { task, .. }
                | Event::TaskFinished { task, .. } => *task += by,
                _ => {}
            }
            inner.emit_at(s.at_us, s.event);
        })
        .with_clock_of(self)
    }

    /// Microseconds since this sink's clock started.
    pub fn now_us(&self) -> u64 {
        self.us_at(Instant::now())
    }

    /// Microseconds from the clock's start to `t` (0 if `t` is earlier).
    pub fn us_at(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.t0).as_micros() as u64
    }

    pub fn emit(&self, event: Event) {
        let at_us = self.now_us();
        (self.deliver)(Stamped { at_us, event });
    }

    /// Emit with a timestamp the engine already took (e.g. translated from a worker process).
    pub fn emit_at(&self, at_us: u64, event: Event) {
        (self.deliver)(Stamped { at_us, event });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_sink_stamps_and_forwards() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Sink::channel(tx, |s| s);
        sink.emit(Event::WorkerStarted { worker: 3, pid: 9 });
        let got = rx.try_recv().expect("one event");
        assert_eq!(got.event, Event::WorkerStarted { worker: 3, pid: 9 });
    }

    #[test]
    fn shifted_sink_renumbers_tasks_only() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let sink = Sink::channel(tx, |s| s).shift_tasks(10);
        sink.emit(Event::Progress {
            task: 2,
            worker: 1,
            done: 1,
            total: 2,
        });
        sink.emit(Event::WorkerStarted { worker: 1, pid: 7 });
        let got: Vec<Event> = rx.try_iter().map(|s| s.event).collect();
        assert_eq!(
            got[0],
            Event::Progress {
                task: 12,
                worker: 1,
                done: 1,
                total: 2
            }
        );
        assert_eq!(got[1], Event::WorkerStarted { worker: 1, pid: 7 });
    }

    #[test]
    fn closed_channel_is_not_an_error() {
        let (tx, rx) = crossbeam_channel::unbounded::<Stamped>();
        drop(rx);
        Sink::channel(tx, |s| s).emit(Event::WorkerStarted { worker: 0, pid: 1 });
    }
}
