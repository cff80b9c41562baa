//! Why a task stopped without an output: cancelled, or failed with a message.

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
