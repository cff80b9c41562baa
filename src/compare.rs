//! `compare`: run several models one after another and set them side by side.

use std::process::ExitCode;

use crate::cli::CompareArgs;
use crate::headless::CliError;

pub fn compare_command(_args: &CompareArgs) -> Result<ExitCode, CliError> {
    Ok(ExitCode::SUCCESS)
}
