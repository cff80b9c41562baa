//! A program tied to conlab's life from its first instruction: started through `conlab
//! __exec`, which asks the kernel for SIGKILL when conlab dies (`PR_SET_PDEATHSIG`, nix's
//! safe wrapper), checks conlab is still its parent (it may have died before that), then
//! stops itself. conlab, seeing it stopped, tells the guard its process group and
//! continues it; only then does it exec the program. So there is no moment in which the
//! program (or anything it forks) runs unknown to the guard: if conlab dies before the
//! guard heard of the group, the launcher dies with it, before the program ever ran.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// The hidden subcommand that starts a tied program.
pub const EXEC_COMMAND: &str = "__exec";

/// Exit code of a launcher that could not run the program: 127 not found, 126 otherwise
/// (as a shell reports them).
fn exec_failure(e: &std::io::Error) -> u8 {
    if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

/// The launcher (`conlab __exec --parent PID -- CMD ARGS…`): tie, wait to be continued,
/// become the program. Returns only if that failed.
pub fn exec_tied(parent: u32, argv: &[String]) -> ExitCode {
    let Some((exe, args)) = argv.split_first() else {
        return ExitCode::from(2);
    };
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() {
        return ExitCode::from(126);
    }
    // The parent may have died before the line above: then nothing is to run.
    let conlab_alive = || nix::unistd::getppid().as_raw() as u32 == parent;
    if !conlab_alive() || nix::sys::signal::raise(Signal::SIGSTOP).is_err() || !conlab_alive() {
        return ExitCode::from(1);
    }
    // The parent-death signal survives exec (it is cleared only for set-user-ID programs,
    // whose group the guard still kills).
    let e = Command::new(exe).args(args).exec();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("conlab: cannot run '{exe}': {e}\n").as_bytes(),
    );
    ExitCode::from(exec_failure(&e))
}

/// A program started by [`spawn_tied`].
pub struct Tied {
    pub child: Child,
    /// What the launcher used before the program began, in ns, from its `schedstat`: time
    /// on a CPU and waiting for one. conlab's, not the program's (zero for a plain spawn).
    pub launcher_ns: (u64, u64),
}

/// Start `program args` in a new process group, tied to conlab's life: through the
/// launcher and watched by the guard when conlab is installed ([`super::install`]), a
/// plain spawn otherwise. `stdio` sets its standard streams. The caller reaps the child,
/// calling [`super::forget`] with its pid first.
///
/// The parent-death signal is tied to the thread that spawns: call this from a thread that
/// lives as long as the program (the main thread, as `watch` does).
pub fn spawn_tied(
    program: &OsStr,
    args: &[String],
    stdio: impl FnOnce(&mut Command),
) -> std::io::Result<Tied> {
    let Some(exe) = super::installed() else {
        let mut cmd = Command::new(program);
        cmd.args(args).process_group(0);
        stdio(&mut cmd);
        return cmd.spawn().map(|child| Tied {
            child,
            launcher_ns: (0, 0),
        });
    };
    let mut cmd = super::conlab_command(exe);
    cmd.arg(EXEC_COMMAND)
        .arg("--parent")
        .arg(std::process::id().to_string())
        .arg("--")
        .arg(program)
        .args(args)
        .process_group(0);
    stdio(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = Pid::from_raw(child.id() as i32);
    // Wait for the launcher to stop itself (or to end: it found conlab gone, which cannot
    // be, or could not tie itself). Nothing is reaped here.
    loop {
        match waitid(
            Id::Pid(pid),
            WaitPidFlag::WSTOPPED | WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Ok(WaitStatus::Stopped(..)) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {
                let status = child.wait()?;
                return Err(std::io::Error::other(format!(
                    "the launcher ended before the program ran ({status})"
                )));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.into());
            }
        }
    }
    // Stopped, it cannot run: its clock now is all the launcher's.
    let launcher_ns = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| crate::sys::proc::parse_schedstat(&s))
        .unwrap_or((0, 0));
    if let Err(e) = super::protect(child.id()) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(format!(
            "could not start the guard that stops the program if conlab is killed: {e}"
        )));
    }
    if let Err(e) = kill(pid, Signal::SIGCONT) {
        super::forget(child.id());
        let _ = child.kill();
        let _ = child.wait();
        return Err(e.into());
    }
    wait_exec(pid);
    Ok(Tied { child, launcher_ns })
}

/// Longest wait for a continued launcher to become the program.
const EXEC_WAIT: Duration = Duration::from_secs(2);

/// Wait (bounded) until the continued launcher has exec'd the program — its command line
/// is no longer ours — or has ended: whoever looks at the process next sees the program,
/// not conlab's launcher. Nothing is reaped.
fn wait_exec(pid: Pid) {
    let ours = |cmdline: &[u8]| cmdline.split(|b| *b == 0).nth(1) == Some(EXEC_COMMAND.as_bytes());
    let deadline = Instant::now() + EXEC_WAIT;
    while Instant::now() < deadline {
        // Empty while the exec is under way (and for a zombie: `ended` then).
        let launcher =
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty() || ours(&c));
        let ended = !matches!(
            waitid(
                Id::Pid(pid),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
            ),
            Ok(WaitStatus::StillAlive)
        );
        if !launcher || ended {
            return;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failures_read_as_a_shell_reports_them() {
        let not_found = std::io::Error::from(std::io::ErrorKind::NotFound);
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(exec_failure(&not_found), 127);
        assert_eq!(exec_failure(&denied), 126);
    }

    #[test]
    fn without_install_it_is_a_plain_spawn_in_its_own_group() {
        let mut tied = spawn_tied(OsStr::new("sh"), &["-c".into(), "exit 3".into()], |c| {
            c.stdout(std::process::Stdio::null());
        })
        .expect("sh");
        assert_eq!(tied.launcher_ns, (0, 0), "no launcher");
        let status = tied.child.wait().expect("reaped");
        assert_eq!(status.code(), Some(3));
    }
}
