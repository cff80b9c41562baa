//! `conlab worker` (hidden): the child side of the process pool, started by the pool itself.

use std::process::ExitCode;

use super::error::CliError;
use crate::cli::{OnOff, WorkerArgs};
use crate::core::GilConfig;
use crate::exec;

pub fn worker_command(args: &WorkerArgs) -> Result<ExitCode, CliError> {
    let switch_interval = GilConfig::interval_from_ms(args.switch_interval_us as f64 / 1e3)
        .map_err(|e| CliError::Usage(format!("invalid --switch-interval-us: {e}")))?;
    // A Ctrl-C at the terminal reaches the whole process group: the parent cancels the
    // run and stops its workers itself, so a worker must not die of it as if it crashed
    // (its task would read as failed). The parent's death still ends it (PDEATHSIG).
    let _ = ctrlc::set_handler(|| {});
    exec::worker::serve(
        GilConfig {
            enabled: args.gil == OnOff::On,
            switch_interval,
        },
        crate::workload::find,
    )?;
    Ok(ExitCode::SUCCESS)
}
