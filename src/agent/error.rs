//! Why the agent could not do its job.

use aws_smithy_runtime_api::{client::result::SdkError, http::Response as HttpResponse};
use aws_smithy_types::error::{display::DisplayErrorContext, metadata::ProvideErrorMetadata};

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

/// A store's S3 request failed: what was done, on which key, and why — S3's
/// own status, code and message when it answered, the SDK's error chain
/// when it could not be reached.
pub fn s3_error<E>(what: &str, key: &str, error: SdkError<E, HttpResponse>) -> AgentError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let why = match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let answer = service.err();
            match (answer.code(), answer.message()) {
                (Some(code), Some(message)) => format!("S3 answered {status} {code}: {message}"),
                (Some(code), None) => format!("S3 answered {status} {code}"),
                _ => format!("S3 answered {status}"),
            }
        }
        other => DisplayErrorContext(other).to_string(),
    };
    AgentError::Store(format!("{what} {key}: {why}"))
}

/// Reading an S3 object's body failed part way.
pub fn s3_body_error(key: &str, error: impl std::error::Error) -> AgentError {
    AgentError::Store(format!("reading {key}: {}", DisplayErrorContext(error)))
}

/// A store's file operation failed: what was done, on which path.
pub fn io_error(what: &str, path: &std::path::Path, error: std::io::Error) -> AgentError {
    AgentError::Store(format!("{what} {}: {error}", path.display()))
}
