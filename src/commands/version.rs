//! `conlab --version` (and `-V`): the version, and beside it what a bug report about a
//! measurement needs — the build, the simulated GIL's defaults and the Python a CPython
//! run would use (probed, briefly: the same probe `--runtime cpython` runs).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::commands::error::CliError;
use crate::core::GilConfig;
use crate::runtime::{DEFAULT_PYTHON, python};

/// `--version` waits this long for the interpreter at most (it answers in well under 1 s).
const PYTHON_PROBE: Duration = Duration::from_secs(3);

pub fn version_command() -> Result<ExitCode, CliError> {
    crate::out!("{}", text(&python_line(Path::new(DEFAULT_PYTHON))));
    Ok(ExitCode::SUCCESS)
}

/// The version block; the first line is `conlab VERSION` for scripts that read one line.
pub fn text(python: &str) -> String {
    let gil = GilConfig::default();
    let profile = if cfg!(debug_assertions) {
        "dev profile (debug assertions on)"
    } else {
        "release"
    };
    format!(
        "conlab {}\n\
         build:         {profile}, {}-{}\n\
         simulated GIL: {} by default, switch interval {} ms (--gil, --switch-interval-ms)\n\
         python:        {python}\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        if gil.enabled { "on" } else { "off" },
        gil.switch_interval.as_secs_f64() * 1e3,
    )
}

/// The default interpreter and what it is, or why it would not do.
fn python_line(python: &Path) -> String {
    let shown = python.display();
    match python::probe_within(python, PYTHON_PROBE) {
        Ok(info) => {
            let at = info.executable.as_deref().unwrap_or("?");
            let start = info.start_method.as_deref().unwrap_or("unknown");
            format!(
                "{shown} = {at}, {} (start method {start}) — the --python default, \
                 used by --runtime cpython and fidelity",
                info.label()
            )
        }
        Err(e) => format!("{shown} (the --python default) is not usable: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_version_and_the_defaults() {
        let t = text("python3 = /usr/bin/python3");
        let first = t.lines().next().unwrap_or_default();
        assert_eq!(first, format!("conlab {}", env!("CARGO_PKG_VERSION")));
        assert!(t.contains("switch interval 5 ms"), "{t}");
        assert!(t.contains("python3 = /usr/bin/python3"), "{t}");
    }

    #[test]
    fn a_missing_python_is_named_not_fatal() {
        let line = python_line(Path::new("/nonexistent/python3"));
        assert!(line.contains("not usable"), "{line}");
        assert!(line.contains("--python"), "{line}");
    }
}
