//! A simulated CPython GIL: one lock per interpreter, with the switch interval and forced
//! switching of Python/ceval_gil.c, so CPU-bound threads take turns as they do in CPython.
//!
//! The rules: a thread that wants the GIL waits up to the switch interval; if it timed out
//! and no switch happened meanwhile it sets a drop request. The holder notices the request
//! at its next [`Gil::yield_if_requested`] (called from `TaskCtx::tick`), releases, and waits
//! until another thread has taken the lock before asking again, so it cannot grab it
//! straight back. With the GIL disabled every call is a no-op (free-threaded behaviour).
//!
//! A holder runs three kinds of work ([`crate::core::CodeKind`]): interpreted code checks
//! for a drop request at every [`GilGuard::yield_if_requested`]; native code that releases
//! the GIL runs inside [`GilGuard::native_releasing`] (another thread may hold the GIL
//! meanwhile); native code that holds it runs inside [`GilGuard::native_holding`], which
//! never checks, so a waiter's drop request is honoured only after the call returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Instant;

pub use crate::core::GilConfig;

#[derive(Default)]
struct GilState {
    /// The thread holding the lock, if any: only it can release it.
    owner: Option<ThreadId>,
    /// Bumped each time a thread takes the lock (CPython's `switch_number`).
    switch_number: u64,
}

/// The lock itself. Share one per interpreter (a run's threads); each process has its own.
/// Holding it is a [`GilGuard`]: dropping the guard (at the end of a task, or when a task
/// panics) releases it, and only the thread that took it can.
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

/// Proof that this thread holds the GIL (or that the GIL is disabled); releases on drop.
#[must_use = "dropping the guard releases the GIL at once"]
pub struct GilGuard<'g> {
    gil: &'g Gil,
}

impl GilGuard<'_> {
    /// Cheap check for the compute loop: if another thread asked, hand over the GIL,
    /// wait until someone else took it, then queue to take it back. One atomic load
    /// when nobody waits.
    #[inline]
    pub fn yield_if_requested(&self) -> Option<Wait> {
        if !self.gil.drop_request.load(Ordering::Relaxed) {
            return None;
        }
        self.gil.hand_over()
    }

    /// Native code that keeps the GIL (a C extension's long loop): run `f` without a single
    /// check for a drop request. A thread that asks meanwhile sets its request and keeps
    /// waiting; the request is honoured at the first check after `f` returns.
    #[inline]
    pub fn native_holding<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }

    /// Native code that releases the GIL (hashlib over 2 KiB, zlib, NumPy): release, run
    /// `f` while other threads may take the GIL, then take it back. Returns `f`'s value and
    /// the wait to retake the GIL, if there was one.
    pub fn native_releasing<T>(&self, f: impl FnOnce() -> T) -> (T, Option<Wait>) {
        Gil::released_during(self, f)
    }

    /// The lock this guard holds.
    pub fn gil(&self) -> &Gil {
        self.gil
    }
}

impl Drop for GilGuard<'_> {
    fn drop(&mut self) {
        self.gil.release_if_owner();
    }
}

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
        // A poisoned GIL only means a thread panicked while touching the state; it is an
        // owner and a counter, always consistent, so carry on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Has a waiter asked the holder to drop the GIL (and not been served yet)?
    pub fn drop_requested(&self) -> bool {
        self.drop_request.load(Ordering::Relaxed)
    }

    /// Does the calling thread hold the GIL? (Always false when it is disabled.)
    pub fn held_by_me(&self) -> bool {
        self.config.enabled && self.lock().owner == Some(std::thread::current().id())
    }

    /// Take the GIL, waiting as CPython does; the guard releases it. Returns the wait,
    /// if there was one.
    ///
    /// # Panics
    /// When the calling thread already holds it (the GIL is not re-entrant; a second
    /// acquire would wait for itself forever).
    pub fn acquire(&self) -> (GilGuard<'_>, Option<Wait>) {
        let waited = self.take();
        (GilGuard { gil: self }, waited)
    }

    fn take(&self) -> Option<Wait> {
        if !self.config.enabled {
            return None;
        }
        let me = std::thread::current().id();
        let mut s = self.lock();
        assert!(s.owner != Some(me), "the GIL is not re-entrant");
        let waited = if s.owner.is_some() {
            let start = Instant::now();
            while s.owner.is_some() {
                let before = s.switch_number;
                let (guard, timeout) = self
                    .released
                    .wait_timeout(s, self.config.switch_interval)
                    .unwrap_or_else(|e| e.into_inner());
                s = guard;
                if timeout.timed_out() && s.owner.is_some() && s.switch_number == before {
                    self.drop_request.store(true, Ordering::Relaxed);
                }
            }
            Some((start, Instant::now()))
        } else {
            None
        };
        s.owner = Some(me);
        s.switch_number += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        self.switched.notify_all();
        waited
    }

    /// Release if the calling thread holds it; never frees another thread's hold.
    fn release_if_owner(&self) {
        if !self.config.enabled {
            return;
        }
        let mut s = self.lock();
        if s.owner == Some(std::thread::current().id()) {
            s.owner = None;
            self.released.notify_one();
        }
    }

    /// Run `f` with the GIL released by the holder `guard` (blocking I/O, a sleep), then
    /// take it back. Returns `f`'s value and the wait to retake it. If `f` panics the
    /// GIL stays released (the guard's drop then has nothing to free).
    pub fn released_during<T>(guard: &GilGuard<'_>, f: impl FnOnce() -> T) -> (T, Option<Wait>) {
        guard.gil.release_if_owner();
        let out = f();
        (out, guard.gil.take())
    }

    /// The holder's side of a forced switch: release, wait until another thread has taken
    /// the lock, then queue to take it back.
    fn hand_over(&self) -> Option<Wait> {
        let me = std::thread::current().id();
        let start = Instant::now();
        {
            let mut s = self.lock();
            if s.owner != Some(me) {
                return None;
            }
            s.owner = None;
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
        self.take();
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
        let (a, wait) = gil.acquire();
        assert!(wait.is_none());
        let (b, wait) = gil.acquire();
        assert!(wait.is_none(), "a disabled GIL is not a lock");
        assert!(a.yield_if_requested().is_none());
        assert!(!gil.held_by_me());
        drop((a, b));
    }

    #[test]
    fn uncontended_acquire_does_not_wait() {
        let gil = Gil::new(GilConfig::default());
        let (g, wait) = gil.acquire();
        assert!(wait.is_none());
        assert!(gil.held_by_me());
        drop(g);
        assert!(!gil.held_by_me(), "dropping the guard releases");
        assert!(gil.acquire().1.is_none());
    }

    #[test]
    fn a_waiter_makes_the_holder_hand_over() {
        let gil = Arc::new(Gil::new(GilConfig {
            enabled: true,
            switch_interval: Duration::from_millis(1),
        }));
        let (held, _) = gil.acquire();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let g2 = gil.clone();
        let waiter = std::thread::spawn(move || {
            let (_g, waited) = g2.acquire();
            tx.send(()).expect("main thread listens");
            waited
        });
        // Spin as a compute loop would until the waiter got the GIL from us.
        let mut handed_over = false;
        while rx.try_recv().is_err() {
            if held.yield_if_requested().is_some() {
                handed_over = true;
            }
            std::hint::spin_loop();
        }
        let waited = waiter.join().expect("waiter thread");
        assert!(handed_over, "the holder must yield on a drop request");
        assert!(waited.is_some(), "the waiter had to wait");
    }

    #[test]
    fn a_panic_while_released_cannot_free_another_threads_hold() {
        let gil = Arc::new(Gil::new(GilConfig::default()));
        let (held_tx, held_rx) = crossbeam_channel::bounded(0);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
        let g2 = gil.clone();
        // Another thread takes the GIL and keeps it until told.
        let holder = std::thread::spawn(move || {
            let (_g, _) = g2.acquire();
            held_tx.send(()).expect("test listens");
            let _ = done_rx.recv();
            g2.held_by_me()
        });
        held_rx.recv().expect("holder holds");
        // A guard this thread does not hold (as after a panic inside `without_gil`)...
        let stray = GilGuard { gil: &gil };
        drop(stray);
        // ...freed nothing: the holder still holds it.
        assert!(!gil.held_by_me());
        done_tx.send(()).expect("holder listens");
        assert!(holder.join().expect("holder"), "the holder kept the GIL");
    }

    /// Many threads, many hand-overs (forced switches and blocking-style releases), an
    /// atomic count of threads inside the GIL: never more than one. Deterministic: the
    /// threads stop after a fixed number of re-entries, not after a time.
    #[test]
    fn never_more_than_one_thread_inside() {
        use std::sync::atomic::{AtomicU64, AtomicUsize};
        let gil = Arc::new(Gil::new(GilConfig {
            enabled: true,
            switch_interval: Duration::from_micros(50),
        }));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let entries = Arc::new(AtomicU64::new(0));
        const WANTED: u64 = 5_000;
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (gil, inside, most, entries) =
                    (gil.clone(), inside.clone(), most.clone(), entries.clone());
                std::thread::spawn(move || {
                    let (g, _) = gil.acquire();
                    let mut i = 0u64;
                    while entries.load(Ordering::SeqCst) < WANTED {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::hint::spin_loop();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        if g.yield_if_requested().is_some() {
                            entries.fetch_add(1, Ordering::SeqCst);
                        }
                        i += 1;
                        if i % 8 == 0 {
                            let ((), _) = Gil::released_during(&g, std::thread::yield_now);
                            entries.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("worker");
        }
        assert!(entries.load(Ordering::SeqCst) >= WANTED);
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "two threads inside the GIL at once"
        );
    }

    fn quick_gil() -> Arc<Gil> {
        Arc::new(Gil::new(GilConfig {
            enabled: true,
            switch_interval: Duration::from_micros(200),
        }))
    }

    /// Native code holding the GIL: a waiter's drop request is set but not honoured while
    /// the call runs; the waiter gets the GIL only after the call returned and the holder
    /// reached its next check. Ordered by channels and the drop-request flag, no timing.
    #[test]
    fn native_holding_blocks_a_waiter_until_it_returns() {
        let gil = quick_gil();
        let (held, _) = gil.acquire();
        let (got_tx, got_rx) = crossbeam_channel::bounded(1);
        let g2 = gil.clone();
        let waiter = std::thread::spawn(move || {
            let (_g, waited) = g2.acquire();
            got_tx.send(()).expect("test listens");
            waited
        });
        held.native_holding(|| {
            // The waiter times out on its switch interval and asks us to drop...
            while !gil.drop_requested() {
                std::thread::yield_now();
            }
            // ...and we don't: it still waits, however often it asks.
            assert!(gil.held_by_me(), "native holding code keeps the GIL");
            assert!(got_rx.try_recv().is_err(), "the waiter got in mid-call");
        });
        assert!(got_rx.try_recv().is_err(), "no switch before a check");
        // Back in interpreted code: the first check hands over.
        assert!(
            held.yield_if_requested().is_some(),
            "the check honours the request"
        );
        got_rx.recv().expect("the waiter took the GIL");
        assert!(waiter.join().expect("waiter").is_some(), "it had to wait");
    }

    /// Native code releasing the GIL: while it runs, another thread takes the GIL, holds
    /// it and says so; the native code hears that before it returns.
    #[test]
    fn native_releasing_lets_another_thread_hold_the_gil_meanwhile() {
        let gil = quick_gil();
        let (held, _) = gil.acquire();
        let (go_tx, go_rx) = crossbeam_channel::bounded::<()>(0);
        let (holds_tx, holds_rx) = crossbeam_channel::bounded(0);
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
        let g2 = gil.clone();
        let other = std::thread::spawn(move || {
            go_rx.recv().expect("told to go");
            let (_g, _) = g2.acquire();
            holds_tx.send(g2.held_by_me()).expect("native code listens");
            done_rx.recv().expect("told to finish");
        });
        let ((), _) = held.native_releasing(|| {
            assert!(!gil.held_by_me(), "released while native code runs");
            go_tx.send(()).expect("other listens");
            assert!(
                holds_rx.recv().expect("other reports"),
                "another thread held the GIL during the native call"
            );
            done_tx.send(()).expect("other listens");
        });
        assert!(gil.held_by_me(), "retaken after the native call");
        drop(held);
        other.join().expect("other thread");
    }

    /// Interpreted code, for contrast: the holder keeps checking, and the waiter gets in
    /// before the holder's work is done (the work ends only once the waiter holds it).
    #[test]
    fn interpreted_code_hands_over_mid_work() {
        let gil = quick_gil();
        let (held, _) = gil.acquire();
        let (got_tx, got_rx) = crossbeam_channel::bounded(1);
        let g2 = gil.clone();
        let waiter = std::thread::spawn(move || {
            let (_g, _) = g2.acquire();
            got_tx.send(()).expect("test listens");
        });
        let mut checks = 0u64;
        while got_rx.try_recv().is_err() {
            let _ = held.yield_if_requested();
            checks += 1;
        }
        assert!(checks > 0);
        waiter.join().expect("waiter");
    }
}
