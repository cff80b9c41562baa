//! `--cpu-quota` and `--cpuset`: before anything runs (so the default workers follow the
//! limit), conlab moves into a child cgroup of its own; the returned guard moves it back
//! and removes the cgroup when the command ends. Where it may not, exit 2 with the
//! `docker` / `systemd-run` line that sets the same limit.

use super::error::CliError;
use crate::cli::LimitOpts;
use crate::sys::cgroup::child::{Ask, Confined, enter};

/// The command line without the limit flags, for the refusal's equivalents.
fn command_line() -> String {
    let mut out = vec!["conlab".to_string()];
    let mut skip = false;
    for a in std::env::args().skip(1).take(64) {
        if skip {
            skip = false;
            continue;
        }
        if a == "--cpu-quota" || a == "--cpuset" {
            skip = true;
            continue;
        }
        if a.starts_with("--cpu-quota=") || a.starts_with("--cpuset=") {
            continue;
        }
        out.push(a);
    }
    out.join(" ")
}

/// Enter the child cgroup the flags ask for (`None`: they ask for none).
pub fn confine(limits: &LimitOpts) -> Result<Option<Confined>, CliError> {
    let ask = Ask {
        quota: limits.cpu_quota,
        cpuset: limits.cpuset.clone(),
    };
    if ask.is_empty() {
        return Ok(None);
    }
    let flag = if ask.quota.is_some() {
        "--cpu-quota"
    } else {
        "--cpuset"
    };
    enter(&ask, &command_line())
        .map(Some)
        .map_err(|e| CliError::Usage(format!("{flag}: {e}")))
}
