//! Finding the interpreter: run `--python` once with a tiny probe and learn its version,
//! build (GIL or free-threaded) and default start method — or say clearly why not. The
//! probe runs in its own process group, looked after by the guard (so it dies with conlab,
//! however conlab ends) and killed at once when the command is cancelled (Ctrl-C).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

use crate::exec::CancelToken;

/// The oldest Python the driver runs on (`threading.get_native_id`, `math.isqrt`).
pub const MIN_VERSION: (u32, u32) = (3, 8);
/// A probe that has not answered by then is killed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Python-2-compatible on purpose: an old interpreter must still say how old it is.
/// (No `sys.getswitchinterval` before 3.2, no `_is_gil_enabled` before 3.13.)
const PROBE: &str = r#"
import sys, json, platform, sysconfig
try:
    import multiprocessing
    method = multiprocessing.get_start_method()
except Exception:
    method = None
gil = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "version": list(sys.version_info[:3]),
    "implementation": platform.python_implementation(),
    "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gil": True if gil is None else bool(gil()),
    "start_method": method,
    "switch_interval_s": sys.getswitchinterval() if hasattr(sys, "getswitchinterval") else None,
    "executable": sys.executable,
}))
"#;

/// What the probe learned about an interpreter.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PythonInfo {
    /// What was run (the `--python` value).
    #[serde(skip)]
    pub path: PathBuf,
    pub version: (u32, u32, u32),
    pub implementation: String,
    /// A `t` build (3.13t, 3.14t): the GIL can be off.
    pub free_threaded_build: bool,
    /// Is the GIL on in this interpreter as started (`sys._is_gil_enabled()`)?
    pub gil: bool,
    /// The platform's default `multiprocessing` start method.
    pub start_method: Option<String>,
    pub switch_interval_s: Option<f64>,
    pub executable: Option<String>,
}

impl PythonInfo {
    /// "3.11.7", or "3.14.0t" for a free-threaded build.
    pub fn version_string(&self) -> String {
        let (a, b, c) = self.version;
        let t = if self.free_threaded_build { "t" } else { "" };
        format!("{a}.{b}.{c}{t}")
    }

    /// The interpreter as started by default (the probe's `sys._is_gil_enabled()`):
    /// "CPython 3.11.7 · GIL" or "CPython 3.13.5 free-threaded, GIL off".
    pub fn label(&self) -> String {
        self.label_for(self.gil)
    }

    /// The interpreter as run with its GIL `on` or off: a GIL build is always
    /// "CPython 3.11.7 · GIL"; a free-threaded one "CPython 3.13.5 free-threaded, GIL off"
    /// (or "GIL on", started with `-X gil=1`).
    pub fn label_for(&self, gil_on: bool) -> String {
        let (a, b, c) = self.version;
        if self.free_threaded_build {
            let gil = if gil_on { "on" } else { "off" };
            format!(
                "{} {a}.{b}.{c} free-threaded, GIL {gil}",
                self.implementation
            )
        } else {
            format!("{} {a}.{b}.{c} · GIL", self.implementation)
        }
    }

    /// "3.11.7" or "3.13.5t": a column's name in a table of several interpreters.
    pub fn short(&self) -> String {
        self.version_string()
    }

    /// Why `--gil off` cannot run on this interpreter, and how to get one that can; `None`
    /// on a free-threaded build.
    pub fn cannot_disable_gil(&self) -> Option<String> {
        if self.free_threaded_build {
            return None;
        }
        let (a, b, _) = self.version;
        let next = if (a, b) >= (3, 13) {
            format!("{a}.{b}t")
        } else {
            "3.14t".into()
        };
        Some(format!(
            "--gil off needs a free-threaded Python: `{}` is {}, a build that cannot run \
             without its GIL. Get one with `uv python install {next}` or `pyenv install {next}` \
             (or conlab's scripts/pythons, which builds 3.13t) and pass it with --python {next}; \
             or use --runtime native, whose GIL is simulated",
            self.path.display(),
            self.label_for(true)
        ))
    }
}

/// Why an interpreter cannot be used; every message names `--python`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PythonError {
    #[error(
        "no Python found: `{0}` could not be started ({1}); install Python {min} or newer, \
         or pass --python PATH",
        min = min_version()
    )]
    NotFound(String, String),
    #[error(
        "`{0}` is Python {1}; conlab needs Python {min} or newer (pass another with --python PATH)",
        min = min_version()
    )]
    TooOld(String, String),
    #[error("`{0}` did not behave like Python 3 ({1}); pass a Python {min}+ with --python PATH", min = min_version())]
    NotPython(String, String),
    #[error("cancelled while checking the interpreter `{0}` (it was stopped)")]
    Cancelled(String),
    /// A version name (`--python 3.14t`) that nothing found matches; the message lists
    /// what was found and how to get it.
    #[error("{0}")]
    NoMatch(String),
}

fn min_version() -> String {
    format!("{}.{}", MIN_VERSION.0, MIN_VERSION.1)
}

/// Run `python` with the probe and check it is recent enough.
pub fn probe(python: &Path) -> Result<PythonInfo, PythonError> {
    probe_cancellable(python, &CancelToken::new())
}

/// [`probe`], giving up (and killing the probe) after `timeout`.
pub fn probe_within(python: &Path, timeout: Duration) -> Result<PythonInfo, PythonError> {
    probe_until(python, &CancelToken::new(), timeout)
}

/// How the probe's wait ended.
enum Waited {
    Answered(Vec<u8>, Vec<u8>),
    Cancelled,
    TimedOut,
}

/// [`probe`], given up (the probe's group killed) the moment `cancel` is cancelled.
pub fn probe_cancellable(python: &Path, cancel: &CancelToken) -> Result<PythonInfo, PythonError> {
    probe_until(python, cancel, PROBE_TIMEOUT)
}

/// The probe, given up on `cancel` or after `timeout`.
fn probe_until(
    python: &Path,
    cancel: &CancelToken,
    timeout: Duration,
) -> Result<PythonInfo, PythonError> {
    let shown = python.display().to_string();
    let resolved = super::locate::resolve(python, &super::locate::Places::from_env())
        .map_err(PythonError::NoMatch)?;
    let python = resolved.as_path();
    // Tied to conlab's life before its first instruction: the guard knows its group
    // before it can start anything (a plain spawn, then `protect`, left a moment in which
    // a conlab killed meanwhile left the check's own children running). The cancel and
    // the timeout below still kill it.
    let args = ["-I".to_string(), "-c".to_string(), PROBE.to_string()];
    let mut child = crate::sys::guard::tied::spawn_tied(python.as_os_str(), &args, |cmd| {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    })
    .map_err(|e| PythonError::NotFound(shown.clone(), e.to_string()))?
    .child;
    let pgid = child.id();
    let (Some(mut out), Some(mut err)) = (child.stdout.take(), child.stderr.take()) else {
        super::child::kill_group(pgid);
        crate::sys::guard::forget(pgid);
        let _ = child.wait();
        return Err(PythonError::NotPython(shown, "no pipes".into()));
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let reader = std::thread::Builder::new()
        .name("conlab-python-probe".into())
        .spawn(move || {
            let mut o = Vec::new();
            let mut e = Vec::new();
            let _ = (&mut out).take(1 << 16).read_to_end(&mut o);
            let _ = (&mut err).take(1 << 16).read_to_end(&mut e);
            let _ = tx.send((o, e));
        });
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(1);
    let hook = cancel.on_cancel(move || {
        let _ = stop_tx.try_send(());
    });
    let waited = match reader {
        Ok(_) => crossbeam_channel::select! {
            recv(rx) -> got => match got {
                Ok((o, e)) => Waited::Answered(o, e),
                Err(_) => Waited::TimedOut,
            },
            recv(stop_rx) -> _ => Waited::Cancelled,
            default(timeout) => Waited::TimedOut,
        },
        Err(_) => Waited::TimedOut,
    };
    drop(hook);
    if !matches!(waited, Waited::Answered(..)) {
        super::child::kill_group(pgid);
    }
    // Before reaping: the group's id cannot be reused while its leader is unreaped.
    crate::sys::guard::forget(pgid);
    let status = child.wait();
    // The check was the guard's only charge (at the dashboard's start, say): let it go.
    crate::sys::guard::release_if_idle();
    let (out, err) = match waited {
        Waited::Answered(o, e) => (o, e),
        Waited::Cancelled => return Err(PythonError::Cancelled(shown)),
        Waited::TimedOut => {
            return Err(PythonError::NotPython(
                shown,
                format!("no answer within {} s", timeout.as_secs_f64()),
            ));
        }
    };
    let text = String::from_utf8_lossy(&out);
    match serde_json::from_str::<PythonInfo>(text.trim()) {
        Ok(mut info) => {
            info.path = python.to_path_buf();
            if (info.version.0, info.version.1) < MIN_VERSION {
                return Err(PythonError::TooOld(shown, info.version_string()));
            }
            Ok(info)
        }
        Err(_) => {
            // The tied launcher could not exec it (as a shell says: 127, not found).
            let not_found = matches!(&status, Ok(s) if s.code() == Some(127)) && out.is_empty();
            let why = super::child::last_line(&String::from_utf8_lossy(&err))
                .map(str::to_string)
                .unwrap_or_else(|| match status {
                    Ok(s) => format!("exited with {s} and no answer"),
                    Err(e) => e.to_string(),
                });
            if not_found {
                return Err(PythonError::NotFound(shown, why));
            }
            Err(PythonError::NotPython(shown, why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: (u32, u32, u32), ft: bool, gil: bool) -> PythonInfo {
        PythonInfo {
            path: PathBuf::from("python3"),
            version,
            implementation: "CPython".into(),
            free_threaded_build: ft,
            gil,
            start_method: Some("fork".into()),
            switch_interval_s: Some(0.005),
            executable: None,
        }
    }

    #[test]
    fn labels_say_gil_or_free_threaded() {
        assert_eq!(
            info((3, 11, 7), false, true).label(),
            "CPython 3.11.7 · GIL"
        );
        assert_eq!(
            info((3, 13, 5), true, false).label(),
            "CPython 3.13.5 free-threaded, GIL off"
        );
        // PYTHON_GIL=1 in the environment: the build is still named.
        assert_eq!(
            info((3, 14, 0), true, true).label(),
            "CPython 3.14.0 free-threaded, GIL on"
        );
        assert_eq!(
            info((3, 13, 5), true, false).label_for(true),
            "CPython 3.13.5 free-threaded, GIL on"
        );
        // A GIL build has its GIL whatever is asked.
        assert_eq!(
            info((3, 11, 7), false, true).label_for(false),
            "CPython 3.11.7 · GIL"
        );
        assert_eq!(info((3, 13, 5), true, false).short(), "3.13.5t");
    }

    #[test]
    fn a_gil_build_says_why_gil_off_cannot_run_and_how_to_get_one() {
        let msg = info((3, 11, 7), false, true)
            .cannot_disable_gil()
            .expect("a GIL build");
        assert!(msg.contains("`python3` is CPython 3.11.7 · GIL"), "{msg}");
        assert!(msg.contains("uv python install 3.14t"), "{msg}");
        assert!(msg.contains("pyenv install 3.14t"), "{msg}");
        assert!(msg.contains("scripts/pythons"), "{msg}");
        let msg = info((3, 13, 5), false, true)
            .cannot_disable_gil()
            .expect("a GIL build");
        assert!(msg.contains("--python 3.13t"), "{msg}");
        assert_eq!(info((3, 13, 5), true, false).cannot_disable_gil(), None);
    }

    /// What the probe prints on each kind of build, parsed as the runtime reads it.
    #[test]
    fn probe_answers_of_gil_and_free_threaded_builds() {
        let gil: PythonInfo = serde_json::from_str(
            r#"{"version":[3,11,7],"implementation":"CPython","free_threaded_build":false,
               "gil":true,"start_method":"fork","switch_interval_s":0.005,
               "executable":"/usr/bin/python3.11"}"#,
        )
        .expect("gil build");
        assert!(!gil.free_threaded_build && gil.cannot_disable_gil().is_some());
        let ft: PythonInfo = serde_json::from_str(
            r#"{"version":[3,13,5],"implementation":"CPython","free_threaded_build":true,
               "gil":false,"start_method":"fork","switch_interval_s":0.005,"executable":null}"#,
        )
        .expect("free-threaded build");
        assert_eq!(ft.label(), "CPython 3.13.5 free-threaded, GIL off");
    }

    #[test]
    fn a_version_name_that_matches_nothing_lists_what_was_found() {
        let err = probe(Path::new("2.99t")).expect_err("no such Python");
        assert!(matches!(err, PythonError::NoMatch(_)), "{err}");
        assert!(err.to_string().contains("no Python 2.99t found"), "{err}");
    }

    #[test]
    fn a_cancel_stops_a_probe_that_hangs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("python");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 600\n").expect("writes");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = probe_cancellable(&script, &cancel).expect_err("cancelled");
        assert!(matches!(err, PythonError::Cancelled(_)), "{err}");
    }

    #[test]
    fn a_missing_interpreter_names_the_flag() {
        let err = probe(Path::new("/nonexistent/conlab-python")).expect_err("missing");
        assert!(matches!(err, PythonError::NotFound(..)));
        assert!(err.to_string().contains("--python"), "{err}");
    }

    #[test]
    fn something_that_is_not_python_is_refused() {
        // `true` accepts any arguments and prints nothing.
        let err = probe(Path::new("true")).expect_err("not python");
        assert!(matches!(err, PythonError::NotPython(..)), "{err}");
        assert!(err.to_string().contains("--python"), "{err}");
    }
}
