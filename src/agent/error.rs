//! Why the agent could not do its job.

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("database: {0}")]
    Database(String),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Tool(String),
    #[error("{0}")]
    Dump(String),
    #[error("{0}")]
    Verify(String),
}

/// A store's S3 request failed: what was done, on which key, and the SDK's
/// whole error chain.
pub fn s3_error(what: &str, key: &str, error: impl std::error::Error) -> AgentError {
    AgentError::Store(format!(
        "{what} {key}: {}",
        aws_smithy_types::error::display::DisplayErrorContext(error)
    ))
}

/// A store's file operation failed: what was done, on which path.
pub fn io_error(what: &str, path: &std::path::Path, error: std::io::Error) -> AgentError {
    AgentError::Store(format!("{what} {}: {error}", path.display()))
}
