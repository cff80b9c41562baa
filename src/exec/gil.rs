//! A simulated CPython GIL: one lock per interpreter, with the switch interval and forced
//! switching of Python/ceval_gil.c, so CPU-bound threads take turns as they do in CPython.
//!
//! The rules: a thread that wants the GIL waits up to the switch interval; if it timed out
//! and no switch happened meanwhile it sets a drop request. The holder notices the request
//! at its next [`Gil::yield_if_requested`] (called from `TaskCtx::tick`), releases, and waits
//! until another thread has taken the lock before asking again, so it cannot grab it
//! straight back. With the GIL disabled every call is a no-op (free-threaded behaviour).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

pub use crate::core::GilConfig;

#[derive(Default)]
struct GilState {
    locked: bool,
    /// Bumped each time a thread takes the lock (CPython's `switch_number`).
    switch_number: u64,
}

/// The lock itself. Share one per interpreter (a run's threads); each process has its own.
pub struct Gil {
    config: GilConfig,
    drop_request: AtomicBool,
    state: Mutex<GilState>,
    /// Signalled when the lock is released.
    released: Condvar,
    /// Signalled when the lock is taken (wakes a holder that was forced to drop).
    switched: Condvar,
}

/// A measured wait for the GIL.
pub type Wait = (Instant, Instant);

impl Gil {
    pub fn new(config: GilConfig) -> Self {
        Gil {
            config,
            drop_request: AtomicBool::new(false),
            state: Mutex::new(GilState::default()),
            released: Condvar::new(),
            switched: Condvar::new(),
        }
    }

    pub fn config(&self) -> GilConfig {
        self.config
    }

    fn lock(&self) -> MutexGuard<'_, GilState> {
        // A poisoned GIL only means a task panicked while holding it; the state is a
        // flag and a counter, always consistent, so carry on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the GIL, waiting as CPython does. Returns the wait, if there was one.
    pub fn acquire(&self) -> Option<Wait> {
        if !self.config.enabled {
            return None;
        }
        let mut s = self.lock();
        let waited = if s.locked {
            let start = Instant::now();
            while s.locked {
                let before = s.switch_number;
                let (guard, timeout) = self
                    .released
                    .wait_timeout(s, self.config.switch_interval)
                    .unwrap_or_else(|e| e.into_inner());
                s = guard;
                if timeout.timed_out() && s.locked && s.switch_number == before {
                    self.drop_request.store(true, Ordering::Relaxed);
                }
            }
            Some((start, Instant::now()))
        } else {
            None
        };
        s.locked = true;
        s.switch_number += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.switched.notify_all();
        waited
    }

    /// Give the GIL up (end of a task, or before blocking I/O).
    pub fn release(&self) {
        if !self.config.enabled {
            return;
        }
        let mut s = self.lock();
        s.locked = false;
        self.released.notify_one();
        drop(s);
    }

    /// Cheap check for the compute loop: if another thread asked, hand over the GIL,
    /// wait until someone else took it, then queue to take it back.
    #[inline]
    pub fn yield_if_requested(&self) -> Option<Wait> {
        if !self.drop_request.load(Ordering::Relaxed) {
            return None;
        }
        let start = Instant::now();
        {
            let mut s = self.lock();
            s.locked = false;
            let before = s.switch_number;
            self.released.notify_one();
            // Forced switching: don't ask again until another thread has taken it.
            while s.switch_number == before {
                let (guard, timeout) = self
                    .switched
                    .wait_timeout(s, self.config.switch_interval * 4)
                    .unwrap_or_else(|e| e.into_inner());
                s = guard;
                if timeout.timed_out() {
                    break;
                }
            }
        }
        self.acquire();
        Some((start, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn disabled_gil_never_waits() {
        let gil = Gil::new(GilConfig {
            enabled: false,
            ..GilConfig::default()
        });
        assert!(gil.acquire().is_none());
        assert!(gil.acquire().is_none(), "a disabled GIL is not a lock");
        assert!(gil.yield_if_requested().is_none());
    }

    #[test]
    fn uncontended_acquire_does_not_wait() {
        let gil = Gil::new(GilConfig::default());
        assert!(gil.acquire().is_none());
        gil.release();
        assert!(gil.acquire().is_none());
    }

    #[test]
    fn a_waiter_makes_the_holder_hand_over() {
        let gil = Arc::new(Gil::new(GilConfig {
            enabled: true,
            switch_interval: Duration::from_millis(1),
        }));
        gil.acquire();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let g2 = gil.clone();
        let waiter = std::thread::spawn(move || {
            let waited = g2.acquire();
            tx.send(()).expect("main thread listens");
            g2.release();
            waited
        });
        // Spin as a compute loop would until the waiter got the GIL from us.
        let mut handed_over = false;
        while rx.try_recv().is_err() {
            if gil.yield_if_requested().is_some() {
                handed_over = true;
            }
            std::hint::spin_loop();
        }
        let waited = waiter.join().expect("waiter thread");
        assert!(handed_over, "the holder must yield on a drop request");
        assert!(waited.is_some(), "the waiter had to wait");
        gil.release();
    }
}
