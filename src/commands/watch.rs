//! `conlab watch`: run a program (or attach to one) and show what the kernel saw each of
//! its threads do; the watching is [`crate::watch`]'s.

use std::process::ExitCode;

use super::error::CliError;
use crate::cli::WatchArgs;
use crate::watch::{WatchOptions, watch};

pub fn watch_command(args: &WatchArgs) -> Result<ExitCode, CliError> {
    if args.pid == Some(std::process::id()) {
        return Err(CliError::Usage(format!(
            "invalid --pid {}: that is this conlab itself; give another process's pid",
            std::process::id()
        )));
    }
    let limited = args.limits.cpu_quota.is_some() || args.limits.cpuset.is_some();
    if limited && args.pid.is_some() {
        return Err(CliError::Usage(
            "--cpu-quota and --cpuset put the program conlab starts in a child cgroup; a \
             process attached with --pid stays in its own: start it with `conlab watch \
             --cpu-quota … -- CMD`, or limit its cgroup yourself"
                .into(),
        ));
    }
    // --cpu-quota / --cpuset: conlab and the program it starts run in conlab's own child
    // cgroup until the watch ends.
    let _confined = super::confine::confine(&args.limits)?;
    let opts = WatchOptions {
        pid: args.pid,
        sample_ms: args.sample_ms,
        budget: args.share(),
        headless: args.headless || args.json,
        json: args.json,
        theme: args.theme,
        record: args.record.clone(),
        shots: args.shots.clone(),
        command: args.command.clone(),
        gil_sampler: !args.no_gil_sampler,
    };
    Ok(watch(&opts)?)
}
