//! SIGINT, SIGTERM and SIGHUP, routed into the same cancel path as Ctrl-C: a named thread
//! waits for them (signal-hook's iterator, so nothing runs in the signal handler itself)
//! and calls back; the command then cancels, reaps, restores the terminal, prints its
//! summary and exits with 128 + the signal (130, 143, 129). A second signal while the
//! first is being handled gives the terminal back and exits at once (a way out if a
//! shutdown ever hangs); worker processes die with conlab (`PR_SET_PDEATHSIG`).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The terminal went away (seen by the input job's hang-up watch, whether or not a SIGHUP
/// came with it).
static HUNG_UP: AtomicBool = AtomicBool::new(false);

/// The signals handled like Ctrl-C.
pub const HANDLED: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Call `on_signal(signal)` on a named thread for each SIGINT, SIGTERM or SIGHUP. Every
/// caller gets its own registration; the first signal is remembered for [`exit_code`].
pub fn watch(on_signal: impl Fn(i32) + Send + 'static) -> std::io::Result<()> {
    let mut signals = Signals::new(HANDLED)?;
    std::thread::Builder::new()
        .name("conlab-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let first = RECEIVED
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                if !first {
                    // Asked twice: stop waiting for a graceful end (leaving no cgroup).
                    crate::sys::cgroup::child::leave_all();
                    crate::sys::terminal::restore();
                    eprintln!("conlab: {} again: exiting now", name(sig));
                    std::process::exit(128 + sig);
                }
                on_signal(sig);
            }
        })?;
    Ok(())
}

/// The first handled signal received so far, if any; a terminal that hung up counts as
/// SIGHUP (what the kernel sends its session leader), signal or not.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 if HUNG_UP.load(Ordering::SeqCst) => Some(SIGHUP),
        0 => None,
        s => Some(s),
    }
}

/// The terminal hung up: end as SIGHUP would. Kept apart from [`RECEIVED`] so the SIGHUP
/// that often follows is still a first signal (a graceful end), not a second one.
pub fn note_hangup() {
    HUNG_UP.store(true, Ordering::SeqCst);
}

/// Whether the terminal hung up (nothing written to it can be read any more).
pub fn hung_up() -> bool {
    HUNG_UP.load(Ordering::SeqCst)
}

/// `SIGTERM`, `SIGHUP`, `SIGINT` (or `signal N`).
pub fn name(sig: i32) -> String {
    match sig {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

/// 128 + the signal that ended the run (the shell's convention), or `otherwise`.
pub fn exit_code(otherwise: ExitCode) -> ExitCode {
    match received() {
        Some(sig) => ExitCode::from((128 + sig) as u8),
        None => otherwise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(name(SIGTERM), "SIGTERM");
        assert_eq!(name(SIGHUP), "SIGHUP");
        assert_eq!(128 + SIGTERM, 143);
        assert_eq!(128 + SIGHUP, 129);
        assert_eq!(128 + SIGINT, 130);
    }
}
