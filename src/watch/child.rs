//! The program `watch` starts: spawned in its own process group (so stopping it reaches
//! its whole tree) and tied to conlab's life (the guard kills that group if conlab dies),
//! noticed when it exits without being reaped (so the last sample still sees it), stopped
//! politely then firmly, and its exit status turned into ours.

use std::os::fd::AsFd;
use std::process::{Child, ExitStatus, Stdio};
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
    /// Ours, but its stdout goes to our stderr (headless `--json`: conlab's stdout holds
    /// the JSON alone).
    StdoutToStderr,
    /// Pipes, kept while the dashboard owns the screen and shown after it
    /// ([`super::kept`]); no input.
    Kept,
}

pub struct Program {
    child: Child,
    pub pid: u32,
    /// conlab's launcher's time on a CPU and waiting for one (ns) before the program
    /// began: left out of the program's figures.
    pub launcher_ns: (u64, u64),
}

impl Program {
    /// Start `argv` in a new process group, tied to conlab's life (see
    /// [`crate::sys::guard::tied`]: if conlab dies, even of SIGKILL, the group is killed); a
    /// program that cannot be started is named. Call it from the main thread.
    pub fn spawn(argv: &[String], output: Output) -> Result<Program, String> {
        Self::spawn_env(argv, output, &[])
    }

    /// [`Program::spawn`] with these environment variables set for the program.
    pub fn spawn_env(
        argv: &[String],
        output: Output,
        env: &[(String, String)],
    ) -> Result<Program, String> {
        let (exe, args) = argv
            .split_first()
            .ok_or_else(|| "no program given: conlab watch -- CMD ARGS…".to_string())?;
        let cant = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => format!("cannot run '{exe}': command not found"),
            std::io::ErrorKind::PermissionDenied => {
                format!("cannot run '{exe}': permission denied")
            }
            _ => format!("cannot run '{exe}': {e}"),
        };
        // Said before anything starts (the launcher would only learn it when it execs).
        runnable(exe).map_err(cant)?;
        let tied = crate::sys::guard::tied::spawn_tied(exe.as_ref(), args, |cmd| {
            cmd.envs(env.iter().map(|(k, v)| (k, v)));
            match output {
                Output::Inherit => {}
                Output::Null => {
                    cmd.stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null());
                }
                Output::Kept => {
                    cmd.stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped());
                }
                Output::StdoutToStderr => {
                    // A stderr that cannot be duplicated: the output is dropped, never
                    // mixed into the JSON.
                    let to = std::io::stderr()
                        .as_fd()
                        .try_clone_to_owned()
                        .map_or_else(|_| Stdio::null(), Stdio::from);
                    cmd.stdout(to);
                }
            }
        })
        .map_err(cant)?;
        Ok(Program {
            pid: tied.child.id(),
            child: tied.child,
            launcher_ns: tied.launcher_ns,
        })
    }

    /// The program's stdout and stderr pipes ([`Output::Kept`]), taken once.
    pub fn take_output(
        &mut self,
    ) -> (
        Option<std::process::ChildStdout>,
        Option<std::process::ChildStderr>,
    ) {
        (self.child.stdout.take(), self.child.stderr.take())
    }

    /// Send step `step` of [`STOP_SIGNALS`] to the program's process group.
    pub fn signal(&self, step: usize) {
        if let Some(sig) = STOP_SIGNALS.get(step) {
            let _ = killpg(Pid::from_raw(self.pid as i32), *sig);
        }
    }

    /// Whether anything of the program's group is still running (its leader, unreaped,
    /// does not count once it exited).
    pub fn group_running(&self) -> bool {
        crate::runtime::child::group_alive(self.pid)
    }

    /// Reap it (after [`wait_exited`] said it exited, this returns at once). The guard
    /// forgets its group first, while the leader still holds the group's id.
    pub fn reap(&mut self) -> std::io::Result<ExitStatus> {
        crate::sys::guard::forget(self.pid);
        self.child.wait()
    }

    /// Stop it for good (SIGKILL to the group) and reap it: for error paths.
    pub fn kill(&mut self) {
        self.signal(2);
        let _ = self.child.kill();
        let _ = self.reap();
    }
}

/// Whether `exe` names a program that can be run, found as `execvp` would find it: a path
/// with a `/` as it is, a bare name in each directory of `PATH`.
fn runnable(exe: &str) -> std::io::Result<()> {
    use nix::unistd::{AccessFlags, access};
    use std::io::{Error, ErrorKind};
    let ok = |p: &std::path::Path| p.is_file() && access(p, AccessFlags::X_OK).is_ok();
    if exe.contains('/') {
        let p = std::path::Path::new(exe);
        return match p.metadata() {
            Err(e) => Err(e),
            Ok(_) if ok(p) => Ok(()),
            Ok(_) => Err(Error::from(ErrorKind::PermissionDenied)),
        };
    }
    if exe.is_empty() {
        return Err(Error::from(ErrorKind::NotFound));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut denied = false;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            std::path::PathBuf::from(".")
        } else {
            dir
        };
        let p = dir.join(exe);
        if ok(&p) {
            return Ok(());
        }
        denied |= p.exists();
    }
    Err(Error::from(if denied {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::NotFound
    }))
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
        let e = Program::spawn(&["/etc/passwd".into()], Output::Null)
            .err()
            .expect("not executable");
        assert!(e.contains("permission denied"), "{e}");
        let e = Program::spawn(&["./conlab-no-such-file".into()], Output::Null)
            .err()
            .expect("no such file");
        assert!(e.contains("not found"), "{e}");
    }

    #[test]
    fn programs_are_found_on_the_path_as_execvp_finds_them() {
        assert!(runnable("sh").is_ok());
        assert!(runnable("/bin/sh").is_ok());
        assert_eq!(
            runnable("conlab-no-such-program-xyz").map_err(|e| e.kind()),
            Err(std::io::ErrorKind::NotFound)
        );
        assert_eq!(
            runnable("").map_err(|e| e.kind()),
            Err(std::io::ErrorKind::NotFound)
        );
        assert_eq!(
            runnable("/").map_err(|e| e.kind()),
            Err(std::io::ErrorKind::PermissionDenied),
            "a directory is not a program"
        );
    }

    #[test]
    fn a_stray_in_the_group_is_seen_until_it_is_gone() {
        // The shell exits at once; its background sleep stays in the group.
        let mut p = Program::spawn(&sh("sleep 30 & exit 0"), Output::Null).expect("sh");
        wait_exited(p.pid);
        assert!(p.group_running(), "the background sleep");
        p.signal(2);
        crate::runtime::child::wait_group_gone(p.pid, std::time::Duration::from_secs(10));
        assert!(!p.group_running());
        assert_eq!(exit_code(&p.reap().expect("reap")), 0);
    }
}
