//! Moving CPU work off the loop: asyncio's `to_thread` and `run_in_executor`. The loop
//! feeds task indices to the engine's own thread pool or process pool running on a helper
//! thread, and each task's future awaits its finish. The pool reports the task's events
//! itself (its workers are numbered from 1: worker 0 is the loop).

use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;
use tokio::sync::oneshot;

use crate::core::Event;
use crate::exec::Sink;

/// One waiter per task: completed when the pool reports the task finished.
pub struct Waiters(Vec<Mutex<Option<oneshot::Sender<()>>>>);

impl Waiters {
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Waiters((0..n).map(|_| Mutex::new(None)).collect()))
    }

    fn wake(&self, task: usize) {
        if let Some(slot) = self.0.get(task)
            && let Some(tx) = slot.lock().unwrap_or_else(|e| e.into_inner()).take()
        {
            let _ = tx.send(());
        }
    }

    fn wait_for(&self, task: usize) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Some(slot) = self.0.get(task) {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        }
        rx
    }
}

/// The loop's side of an offload pool.
pub struct Offloader {
    feed: Sender<usize>,
    waiters: Arc<Waiters>,
}

impl Offloader {
    pub fn new(feed: Sender<usize>, waiters: Arc<Waiters>) -> Self {
        Offloader { feed, waiters }
    }

    /// Hand task `i` to the pool and wait (without blocking the loop) until it finished.
    /// `false` when the pool is gone.
    pub async fn run(&self, i: usize) -> bool {
        let done = self.waiters.wait_for(i);
        if self.feed.send(i).is_err() {
            return false;
        }
        done.await.is_ok()
    }
}

/// The pool's sink: `inner`'s destination and clock, workers numbered from 1, and every
/// `TaskFinished` wakes that task's waiter on the loop (after the event went out).
pub fn pool_sink(inner: &Sink, waiters: Arc<Waiters>) -> Sink {
    let out = inner.clone();
    Sink::new(move |mut s| {
        let finished = match &mut s.event {
            Event::TaskFinished { task, worker, .. } => {
                *worker += 1;
                Some(*task)
            }
            Event::WorkerStarted { worker, .. }
            | Event::TaskStarted { worker, .. }
            | Event::Progress { worker, .. }
            | Event::Span { worker, .. }
            | Event::WorkerDied { worker, .. }
            | Event::LoopLag { worker, .. } => {
                *worker += 1;
                None
            }
            _ => None,
        };
        out.emit_at(s.at_us, s.event);
        if let Some(t) = finished {
            waiters.wake(t);
        }
    })
    .with_clock_of(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_events_move_off_worker_zero_and_wake_their_task() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let waiters = Waiters::new(2);
        let mut done = waiters.wait_for(1);
        let sink = pool_sink(&Sink::channel(tx, |s| s), waiters.clone());
        sink.emit(Event::TaskStarted {
            task: 1,
            worker: 0,
            pid: 1,
            thread: "t".into(),
        });
        assert!(done.try_recv().is_err(), "not finished yet");
        sink.emit(Event::TaskFinished {
            task: 1,
            worker: 0,
            result: Err("x".into()),
            wall_us: 0,
            cpu_us: 0,
        });
        assert!(done.try_recv().is_ok(), "woken");
        let workers: Vec<usize> = rx
            .try_iter()
            .map(|s| match s.event {
                Event::TaskStarted { worker, .. } | Event::TaskFinished { worker, .. } => worker,
                _ => 99,
            })
            .collect();
        assert_eq!(workers, vec![1, 1]);
    }
}
