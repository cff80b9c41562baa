//! `conlab __guard` (hidden): the guard process that stops every process group conlab
//! started once conlab is gone ([`crate::sys::guard`]).

use std::process::ExitCode;

use super::error::CliError;

pub fn guard_command() -> Result<ExitCode, CliError> {
    Ok(crate::sys::guard::serve())
}
