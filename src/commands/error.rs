//! The commands' error type: every error carries the exit code it deserves (2 for bad
//! input, 1 for anything else). Library code returns plain errors; commands turn them into
//! these.

use crate::core::LabError;
use crate::exec::RunError;

/// An error with the exit code it deserves: 2 for bad input, 1 for anything else.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Other(_) => 1,
        }
    }
}

impl From<RunError> for CliError {
    fn from(e: RunError) -> Self {
        LabError::from(e).into()
    }
}

impl From<LabError> for CliError {
    fn from(e: LabError) -> Self {
        match e {
            LabError::Refused(why) => CliError::Usage(why),
            LabError::Failed(e) => CliError::Other(e),
        }
    }
}
