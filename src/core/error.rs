//! Why work stopped: a task cancelled or failed ([`TaskError`]); a request refused or a
//! failure on the way ([`LabError`], which commands turn into exit codes).

/// Why a task stopped without an output.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

impl TaskError {
    pub fn failed(msg: impl Into<String>) -> Self {
        TaskError::Failed(msg.into())
    }
}

/// Why a piece of conlab's work could not be done: the request was refused as given (bad
/// input: a command exits 2) or something failed on the way (a command exits 1). Library
/// code returns this; `commands` turns it into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl LabError {
    pub fn refused(msg: impl Into<String>) -> Self {
        LabError::Refused(msg.into())
    }
}
