//! `conlab __exec` (hidden): start a program tied to conlab's life from its first
//! instruction ([`crate::sys::guard::tied`]).

use std::process::ExitCode;

use super::error::CliError;
use crate::cli::ExecArgs;

pub fn exec_command(args: &ExecArgs) -> Result<ExitCode, CliError> {
    Ok(crate::sys::guard::tied::exec_tied(
        args.parent,
        &args.command,
    ))
}
