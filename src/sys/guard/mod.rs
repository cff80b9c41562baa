//! The guard: no process group conlab starts outlives conlab, however conlab ends — even
//! SIGKILL, when no handler of ours runs. A small process, conlab re-run as `conlab
//! __guard` (in its own process group, so a Ctrl-C or a kill of conlab's job does not reach
//! it), is told on a pipe each group to look after ("kill PGID") and each group conlab has
//! stopped and will reap itself ("forget PGID"). When the pipe reads end-of-file, conlab is
//! gone: the guard SIGKILLs every group it still looks after, then exits.
//!
//! The guard is started on first use (a program `watch` runs, a CPython driver) and reaped
//! at exit ([`shutdown`]). It exists only where conlab's `main` [`install`]ed its own
//! executable: a test binary or a library user gets no guard and the old behaviour.
//!
//! Why a process and not `PR_SET_PDEATHSIG` alone: the parent-death signal reaches only the
//! direct child (not the processes it forks: a shell's background jobs, Python's pool
//! workers, a forkserver), is cleared when a set-user-ID program is run, and fires when the
//! parent *thread* exits. [`tied`] uses it as well, to close the moment between a spawn and
//! the guard hearing of the new group.

mod serve;
pub mod tied;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use serve::serve;

/// The hidden subcommand that runs the guard.
pub const GUARD_COMMAND: &str = "__guard";
/// What the guard calls itself (`/proc/PID/comm`, `ps`): not "conlab", so `pgrep -x
/// conlab` counts conlab alone.
pub const GUARD_NAME: &str = "conlab-guard";
/// How long [`shutdown`] waits for the guard to exit before killing it.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// conlab's own executable, once `main` said which it is.
static EXE: OnceLock<PathBuf> = OnceLock::new();
/// The running guard and the groups it was told of.
static GUARD: Mutex<State> = Mutex::new(State {
    running: None,
    groups: BTreeSet::new(),
});
/// The running guard's pid (0: none), readable without the lock.
static PID: AtomicU32 = AtomicU32::new(0);

struct State {
    running: Option<Running>,
    /// Groups looked after now (a restarted guard is told them all again).
    groups: BTreeSet<u32>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
}

/// This process is conlab, at `exe`: the guard (and [`tied`] programs) may be started by
/// re-running it. Called once by `main`; later calls are ignored.
pub fn install(exe: PathBuf) {
    let _ = EXE.set(exe);
}

/// conlab's executable, if [`install`]ed.
pub fn installed() -> Option<&'static Path> {
    EXE.get().map(PathBuf::as_path)
}

/// The guard's pid while one runs: it is conlab's child but not part of any run, so the
/// figures of conlab's own process tree (memory, the kernel view) leave it out.
pub fn pid() -> Option<u32> {
    match PID.load(Ordering::SeqCst) {
        0 => None,
        p => Some(p),
    }
}

/// Whether `pid` is the running guard.
pub fn is_guard(pid: u32) -> bool {
    pid != 0 && PID.load(Ordering::SeqCst) == pid
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    GUARD.lock().unwrap_or_else(|e| e.into_inner())
}

/// From now on, if conlab dies, process group `pgid` is SIGKILLed (until [`forget`]).
/// Starts the guard on first use, and again if it died. Without [`install`] this does
/// nothing. An error means the group is not looked after (the guard could not be started).
pub fn protect(pgid: u32) -> std::io::Result<()> {
    let Some(exe) = installed() else {
        return Ok(());
    };
    if pgid <= 1 {
        return Err(std::io::Error::other(format!(
            "process group {pgid} cannot be guarded"
        )));
    }
    let mut state = lock();
    state.groups.insert(pgid);
    let line = format!("kill {pgid}\n");
    if let Some(r) = state.running.as_mut()
        && r.stdin.write_all(line.as_bytes()).is_ok()
    {
        return Ok(());
    }
    // None yet, or it died (killed by hand): start one and tell it every group.
    if let Some(mut dead) = state.running.take() {
        let _ = dead.child.kill();
        let _ = dead.child.wait();
        PID.store(0, Ordering::SeqCst);
    }
    let mut r = start(exe)?;
    let all: String = state.groups.iter().map(|g| format!("kill {g}\n")).collect();
    if let Err(e) = r.stdin.write_all(all.as_bytes()) {
        let _ = r.child.kill();
        let _ = r.child.wait();
        state.groups.remove(&pgid);
        return Err(e);
    }
    PID.store(r.child.id(), Ordering::SeqCst);
    state.running = Some(r);
    Ok(())
}

/// conlab has stopped group `pgid` and will reap its leader itself: the guard must leave it
/// alone. Call it before reaping the leader — while the leader is unreaped its pid, and so
/// the group's id, cannot be given to anyone else — so a late kill never hits a stranger.
pub fn forget(pgid: u32) {
    let mut state = lock();
    if !state.groups.remove(&pgid) {
        return;
    }
    if let Some(r) = state.running.as_mut() {
        // A guard that cannot hear this is dead: it will not kill anything either.
        let _ = r.stdin.write_all(format!("forget {pgid}\n").as_bytes());
    }
}

/// conlab is exiting normally: close the guard's pipe and reap it. Groups still looked
/// after (none, normally) are killed by it, as when conlab dies.
pub fn shutdown() {
    let running = lock().running.take();
    if let Some(r) = running {
        reap(r);
    }
}

/// No group is looked after now: let the guard go (the next [`protect`] starts one
/// again), so a short use — the CPython version check — leaves no process behind it.
pub fn release_if_idle() {
    let running = {
        let mut state = lock();
        if !state.groups.is_empty() {
            return;
        }
        // Taken under the lock: a later `protect` starts a new guard, never tells this one.
        state.running.take()
    };
    if let Some(r) = running {
        reap(r);
    }
}

/// Close a guard's pipe (it exits, killing any group it still looks after) and reap it.
fn reap(Running { mut child, stdin }: Running) {
    let pid = child.id();
    drop(stdin);
    let deadline = Instant::now() + EXIT_WAIT;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    if let Ok(None) = child.try_wait() {
        let _ = child.kill();
    }
    let _ = child.wait();
    // Unless a newer guard took its place meanwhile.
    let _ = PID.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
}

/// A command that re-runs conlab: through `/proc/self/exe` where there is one (it still
/// works after the file was replaced, say by a rebuild), shown as `exe` (its `argv[0]`).
pub(crate) fn conlab_command(exe: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let own = Path::new("/proc/self/exe");
    if own.exists() {
        let mut cmd = Command::new(own);
        cmd.arg0(exe);
        cmd
    } else {
        Command::new(exe)
    }
}

/// Start `conlab __guard`: its own process group, nothing of ours but the pipe.
fn start(exe: &Path) -> std::io::Result<Running> {
    use std::os::unix::process::CommandExt;
    let mut child = conlab_command(exe)
        .arg(GUARD_COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    match child.stdin.take() {
        Some(stdin) => Ok(Running { child, stdin }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(std::io::Error::other("the guard has no stdin pipe"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_install_nothing_is_started() {
        // The unit-test binary is not conlab: it never installs itself.
        assert!(installed().is_none());
        assert!(protect(12345).is_ok());
        assert_eq!(pid(), None);
        assert!(!is_guard(0));
        forget(12345);
        shutdown();
    }
}
