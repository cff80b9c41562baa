//! The program `watch` starts: spawned in its own process group (so stopping it reaches
//! its whole tree), noticed when it exits without being reaped (so the last sample still
//! sees it), stopped politely then firmly, and its exit status turned into ours.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

/// How long each stop signal gets before the next, firmer one.
pub const STOP_GRACE: Duration = Duration::from_millis(700);

/// The signals a stop escalates through (Ctrl-C as the program would get it at a
/// terminal, then a request to terminate, then no choice).
pub const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL];

/// What the program's output is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Ours (headless).
    Inherit,
    /// Nothing: the screen is the dashboard's (interactive).
    Null,
}

pub struct Program {
    child: Child,
    pub pid: u32,
}

impl Program {
    /// Start `argv` in a new process group; a program that cannot be started is named.
    pub fn spawn(argv: &[String], output: Output) -> Result<Program, String> {
        let (exe, args) = argv
            .split_first()
            .ok_or_else(|| "no program given: conlab watch -- CMD ARGS…".to_string())?;
        let mut cmd = Command::new(exe);
        cmd.args(args);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if output == Output::Null {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        let child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("cannot run '{exe}': command not found"),
            std::io::ErrorKind::PermissionDenied => {
                format!("cannot run '{exe}': permission denied")
            }
            _ => format!("cannot run '{exe}': {e}"),
        })?;
        Ok(Program {
            pid: child.id(),
            child,
        })
    }

    /// Send step `step` of [`STOP_SIGNALS`] to the program's process group.
    pub fn signal(&self, step: usize) {
        if let Some(sig) = STOP_SIGNALS.get(step) {
            let _ = killpg(Pid::from_raw(self.pid as i32), *sig);
        }
    }

    /// Reap it (after [`wait_exited`] said it exited, this returns at once).
    pub fn reap(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait()
    }

    /// Stop it for good (SIGKILL to the group) and reap it: for error paths.
    pub fn kill(&mut self) {
        self.signal(2);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Block until process `pid` (our child) has exited, leaving it unreaped: its `/proc`
/// entry stays for one last sample.
pub fn wait_exited(pid: u32) {
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid as i32)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// Our exit code for the program's status: its own code, or 128 + the signal that
/// killed it (as a shell reports it).
pub fn exit_code(status: &ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(s)) => (128 + s).min(255) as u8,
        _ => 1,
    }
}

/// CPU seconds (user + system) of every descendant we have reaped, as the kernel
/// accounts them (`getrusage(RUSAGE_CHILDREN)`).
pub fn children_cpu_s() -> Option<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).ok()?;
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(tv(u.user_time()) + tv(u.system_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[test]
    fn exit_codes_pass_through() {
        let mut p = Program::spawn(&sh("exit 7"), Output::Null).expect("sh");
        wait_exited(p.pid);
        assert_eq!(exit_code(&p.reap().expect("reap")), 7);
    }

    #[test]
    fn a_stopped_program_reports_its_signal() {
        let mut p = Program::spawn(&sh("exec sleep 30"), Output::Null).expect("sh");
        p.signal(1);
        wait_exited(p.pid);
        assert_eq!(exit_code(&p.reap().expect("reap")), 128 + 15);
    }

    #[test]
    fn a_missing_program_is_named() {
        let e = Program::spawn(&["conlab-no-such-program-xyz".into()], Output::Null)
            .err()
            .expect("fails");
        assert!(e.contains("conlab-no-such-program-xyz") && e.contains("not found"));
        assert!(Program::spawn(&[], Output::Null).is_err());
    }
}
