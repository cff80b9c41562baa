//! A shared flag that asks a run to stop, and the hooks that carry it into blocking waits.
//!
//! Compute loops poll the flag at their cheap points ([`CancelToken::is_cancelled`]); waits
//! that cannot poll (an HTTP request in flight, a blocked read) register a hook with
//! [`CancelToken::on_cancel`] that interrupts them, so cancel reaches every wait at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Inner {
    flag: AtomicBool,
    next_id: AtomicU64,
    hooks: Mutex<Vec<(u64, Hook)>>,
}

/// Cloneable cancel flag; every worker checks it at its cheap points.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Inner>);

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CancelToken")
            .field(&self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the flag and run every registered hook (once, on this thread).
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        let hooks = std::mem::take(&mut *self.hooks());
        for (_, hook) in hooks {
            hook();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::Relaxed)
    }

    /// Run `hook` when the token is cancelled (at once, here, if it already is), unless the
    /// returned guard was dropped first. For waits that cannot poll the flag.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) -> HookGuard {
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        let mut hooks = self.hooks();
        // Checked under the lock `cancel` takes after setting the flag: a hook is either
        // taken by `cancel` or run here, never lost.
        if self.0.flag.load(Ordering::SeqCst) {
            drop(hooks);
            hook();
        } else {
            hooks.push((id, Box::new(hook)));
        }
        HookGuard {
            token: self.clone(),
            id,
        }
    }

    fn hooks(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Hook)>> {
        self.0.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Unregisters its hook when dropped (the wait ended without a cancel).
pub struct HookGuard {
    token: CancelToken,
    id: u64,
}

impl Drop for HookGuard {
    fn drop(&mut self) {
        self.token.hooks().retain(|(id, _)| *id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn hooks_run_once_on_cancel_and_not_after_their_guard_is_dropped() {
        let t = CancelToken::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let r1 = ran.clone();
        let _kept = t.on_cancel(move || {
            r1.fetch_add(1, Ordering::SeqCst);
        });
        let r2 = ran.clone();
        drop(t.on_cancel(move || {
            r2.fetch_add(10, Ordering::SeqCst);
        }));
        t.cancel();
        t.cancel();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        // Registered after the cancel: runs at once.
        let r3 = ran.clone();
        let _late = t.on_cancel(move || {
            r3.fetch_add(100, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 101);
        assert!(t.is_cancelled());
    }
}
