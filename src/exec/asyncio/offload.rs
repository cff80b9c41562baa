//! Moving CPU work off the loop: asyncio's `to_thread` and `run_in_executor`. The loop
//! feeds task indices to the engine's own thread pool or process pool running on a helper
//! thread, and each task's future awaits its finish. The pool reports the task's events
//! itself (its workers are numbered from 1: worker 0 is the loop).

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::core::Event;
use crate::exec::Sink;

/// A task's finish as the loop waits for it.
enum Slot {
    Pending,
    Waiting(oneshot::Sender<()>),
    Done,
}

/// One slot per task: completed when the pool reports the task finished (before or after
/// the loop started waiting for it).
pub struct Waiters(Mutex<Vec<Slot>>);

impl Waiters {
    pub fn new(n: usize) -> Arc<Self> {
        Arc::new(Waiters(Mutex::new((0..n).map(|_| Slot::Pending).collect())))
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wake(&self, task: usize) {
        if let Some(slot) = self.slots().get_mut(task)
            && let Slot::Waiting(tx) = std::mem::replace(slot, Slot::Done)
        {
            let _ = tx.send(());
        }
    }

    /// Every task counts as finished (the pool is gone).
    pub fn wake_all(&self) {
        for slot in self.slots().iter_mut() {
            if let Slot::Waiting(tx) = std::mem::replace(slot, Slot::Done) {
                let _ = tx.send(());
            }
        }
    }

    /// Resolves once task `task` has finished.
    pub async fn wait_for(&self, task: usize) {
        let rx = {
            let mut slots = self.slots();
            let Some(slot) = slots.get_mut(task) else {
                return;
            };
            if matches!(slot, Slot::Done) {
                return;
            }
            let (tx, rx) = oneshot::channel();
            *slot = Slot::Waiting(tx);
            rx
        };
        let _ = rx.await;
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
            | Event::SpanStarted { worker, .. }
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
    use std::future::Future;

    #[test]
    fn pool_events_move_off_worker_zero_and_wake_their_task() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let waiters = Waiters::new(2);
        let mut done = Box::pin(waiters.wait_for(1));
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(done.as_mut().poll(&mut cx).is_pending(), "registered");
        let sink = pool_sink(&Sink::channel(tx, |s| s), waiters.clone());
        sink.emit(Event::TaskStarted {
            task: 1,
            worker: 0,
            pid: 1,
            thread: "t".into(),
        });
        assert!(done.as_mut().poll(&mut cx).is_pending(), "not finished yet");
        sink.emit(Event::TaskFinished {
            task: 1,
            worker: 0,
            result: Err("x".into()),
            wall_us: 0,
            cpu_us: 0,
        });
        assert!(done.as_mut().poll(&mut cx).is_ready(), "woken");
        // A task finished before anyone waited is ready at once.
        waiters.wake(0);
        assert!(
            Box::pin(waiters.wait_for(0))
                .as_mut()
                .poll(&mut cx)
                .is_ready()
        );
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
