//! Ctrl-C, SIGTERM and SIGHUP in a headless command: cancel the run (so it stops and reaps
//! its workers), then exit with the code the shell would give (130, 143, 129).

use std::process::ExitCode;

use crate::exec::CancelToken;

/// Cancel `token` on Ctrl-C, SIGTERM or SIGHUP, so a run stops and reaps its workers and
/// the command still prints what it measured ([`crate::sys::signals`]).
pub fn cancel_on_ctrl_c(token: &CancelToken) {
    let t = token.clone();
    if let Err(e) = crate::sys::signals::watch(move |_| t.cancel()) {
        eprintln!("conlab: warning: cannot watch for signals ({e}); Ctrl-C will not reap workers");
    }
}

/// The exit code of a cancelled command: 128 + the signal that cancelled it (130 for
/// Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), said on stderr.
pub fn cancelled_exit() -> ExitCode {
    if let Some(sig) = crate::sys::signals::received() {
        eprintln!(
            "conlab: {}: run cancelled, workers stopped and reaped",
            crate::sys::signals::name(sig)
        );
    }
    crate::sys::signals::exit_code(ExitCode::from(130))
}
