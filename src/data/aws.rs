//! AWS clients from the standard credential chain (IRSA or EKS Pod
//! Identity in a cluster, the environment or a profile elsewhere), and the
//! one place that tells a flaky AWS from a refusal.
//!
//! The endpoint is the SDK's own: `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_RDS` / `AWS_ENDPOINT_URL_ELASTICACHE`) points the
//! operator at another one, such as an emulator in tests.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig, timeout::TimeoutConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::{orchestrator::HttpResponse, result::SdkError};
use aws_smithy_types::error::{display::DisplayErrorContext, metadata::ProvideErrorMetadata};

/// Longest a single AWS operation (with its retries) may take, so that a
/// reconcile never waits long on AWS: it requeues instead.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Clients for the managed stores.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub rds: aws_sdk_rds::Client,
    pub elasticache: aws_sdk_elasticache::Client,
}

impl AwsClients {
    /// Clients from the standard chain: region, credentials and endpoint
    /// from the environment, profile, web identity token or instance role.
    pub async fn from_environment() -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        Self::from_config(&config)
    }

    /// Clients for one endpoint with static credentials and short
    /// retries: an AWS emulator, or an endpoint reached without the chain.
    pub fn for_endpoint(endpoint: &str, region: &str, access_key: &str, secret_key: &str) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let credentials =
            aws_sdk_rds::config::Credentials::new(access_key, secret_key, None, None, "static");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .http_client(http)
            .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(20)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        Self::from_config(&config)
    }

    pub fn from_config(config: &SdkConfig) -> Self {
        Self {
            rds: aws_sdk_rds::Client::new(config),
            elasticache: aws_sdk_elasticache::Client::new(config),
        }
    }
}

/// A failed AWS call, sorted by what helps.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// Throttling, a 5xx, a timeout or a lost connection, after the SDK's
    /// own retries: the reconcile is retried with backoff.
    #[error("{operation}: {message}")]
    Transient {
        operation: &'static str,
        message: String,
    },
    /// AWS refused the request (a bad parameter, a quota, a missing subnet
    /// group, no region configured): only a change helps, so it is reported
    /// in the store's condition with AWS's message and looked at again slowly.
    #[error("{operation}: {code}: {message}")]
    Rejected {
        operation: &'static str,
        code: String,
        message: String,
    },
}

impl AwsError {
    pub fn is_transient(&self) -> bool {
        matches!(self, AwsError::Transient { .. })
    }
}

/// Error codes AWS uses for throttling.
const THROTTLING_CODES: [&str; 7] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
];

/// Sorts a failed call of `operation`.
pub fn classify<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown").to_string();
            let message = context
                .err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| DisplayErrorContext(context.err()).to_string());
            let status = context.raw().status().as_u16();
            if status >= 500 || THROTTLING_CODES.contains(&code.as_str()) {
                AwsError::Transient {
                    operation,
                    message: format!("{code} (HTTP {status}): {message}"),
                }
            } else {
                AwsError::Rejected {
                    operation,
                    code,
                    message,
                }
            }
        }
        SdkError::ConstructionFailure(_) => AwsError::Rejected {
            operation,
            code: "Configuration".into(),
            message: DisplayErrorContext(error).to_string(),
        },
        _ => AwsError::Transient {
            operation,
            message: DisplayErrorContext(error).to_string(),
        },
    }
}

/// The answer of a call of `operation`, `None` when AWS answers with the
/// one fault `expected` tells apart: a describe of what is not there, a
/// create of what a call whose answer was lost already made.
pub fn unless<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
    expected: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.as_service_error().is_some_and(expected) => Ok(None),
        Err(error) => Err(classify(operation, &error)),
    }
}

/// A call of `operation` whose answer holds nothing the caller needs.
pub fn done<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<(), AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    result
        .map(|_| ())
        .map_err(|error| classify(operation, &error))
}
