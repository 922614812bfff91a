//! Why a reconcile failed: the failures of the world around it (the API
//! server, AWS, the random source), retried with backoff. A spec the
//! operator cannot apply is not one of them: it is reported in status
//! and Events.

/// Why a reconcile failed. A spec the operator cannot apply is not an
/// error: it is reported in status and Events. These are the failures of
/// the world around it, retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The API server refused or failed a request.
    #[error("{action} {kind} {name}: {source}")]
    Kube {
        action: &'static str,
        kind: &'static str,
        name: String,
        source: kube::Error,
    },
    /// The resource has no namespace.
    #[error("metadata.namespace: missing on a namespaced resource")]
    MissingNamespace,
    /// The operating system's random number generator failed.
    #[error("random source: {0}")]
    RandomSource(getrandom::Error),
    /// AWS throttled, failed or could not be reached.
    #[error("AWS {0}")]
    Aws(crate::data::AwsError),
    /// A Secret the operator wrote lacks a key it needs.
    #[error("Secret {secret} has no key {key}")]
    MissingKey { secret: String, key: &'static str },
    /// A request body could not be built.
    #[error("{0}")]
    Encode(String),
}

impl From<crate::data::AwsError> for ReconcileError {
    fn from(error: crate::data::AwsError) -> Self {
        ReconcileError::Aws(error)
    }
}

impl ReconcileError {
    /// A short, stable reason for the failure metric and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            ReconcileError::Kube { source, .. } => match source {
                kube::Error::Api(status) => match status.code {
                    403 => "Forbidden",
                    404 => "NotFound",
                    409 => "Conflict",
                    422 => "Invalid",
                    429 => "Throttled",
                    500..=599 => "ServerError",
                    _ => "KubeApi",
                },
                _ => "Transport",
            },
            ReconcileError::MissingNamespace => "MissingNamespace",
            ReconcileError::RandomSource(_) => "RandomSource",
            ReconcileError::Aws(_) => "AwsUnavailable",
            ReconcileError::MissingKey { .. } => "MissingKey",
            ReconcileError::Encode(_) => "Encode",
        }
    }
}

/// Turns a failed request about `kind` `name` into a [`ReconcileError`].
pub fn kube_error(
    action: &'static str,
    kind: &'static str,
    name: &str,
) -> impl FnOnce(kube::Error) -> ReconcileError {
    let name = name.to_string();
    move |source| ReconcileError::Kube {
        action,
        kind,
        name,
        source,
    }
}

/// Whether the API server answered `code`.
pub fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}
