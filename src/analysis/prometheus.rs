//! Instant queries against Prometheus's HTTP API (`/api/v1/query`).

use std::time::Duration;

use serde::Deserialize;

use super::QueryResult;

/// Longest a query may take before its measurement counts as an error.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// A Prometheus server.
#[derive(Clone, Debug)]
pub struct Prometheus {
    client: reqwest::Client,
    base_url: String,
    /// The URL as messages show it: credentials in it never reach a
    /// status, an Event or a notification.
    shown: String,
}

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<Sample>),
    Scalar((f64, String)),
    Matrix(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Sample {
    value: (f64, String),
}

/// Prometheus writes numbers as strings, with `NaN`, `+Inf` and `-Inf`.
fn number(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .map_err(|_| format!("not a number in the answer: {text}")),
    }
}

impl Prometheus {
    /// A client for the server at `base_url`, e.g. `http://prometheus.monitoring:9090`.
    pub fn new(base_url: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(QUERY_TIMEOUT)
            .build()
            .map_err(|error| format!("HTTP client: {error}"))?;
        let base_url = base_url.trim_end_matches('/').to_string();
        Ok(Self {
            client,
            shown: crate::redact::credentials(&base_url),
            base_url,
        })
    }

    /// Runs `query` now. Every way it can go wrong is a [`QueryResult`],
    /// never a panic: unreachable, refused, malformed, empty, many series.
    pub async fn query(&self, query: &str) -> QueryResult {
        let url = format!("{}/api/v1/query", self.base_url);
        let response = match self
            .client
            .post(&url)
            .form(&[("query", query)])
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => {
                return QueryResult::Failed(format!(
                    "Prometheus at {}: {}",
                    self.shown,
                    error.without_url()
                ));
            }
        };
        let code = response.status();
        let body: Response = match response.json().await {
            Ok(body) => body,
            Err(error) => {
                return QueryResult::Failed(format!(
                    "Prometheus at {} answered {code} with something that is not its API: {}",
                    self.shown,
                    error.without_url()
                ));
            }
        };
        if body.status != "success" {
            return QueryResult::Failed(format!(
                "Prometheus refused the query ({}): {}",
                body.error_type.unwrap_or_else(|| code.to_string()),
                body.error.unwrap_or_default()
            ));
        }
        match body.data {
            Some(Data::Vector(samples)) => match samples.as_slice() {
                [] => QueryResult::Empty,
                [sample] => match number(&sample.value.1) {
                    Ok(value) => QueryResult::Value(value),
                    Err(message) => QueryResult::Failed(message),
                },
                many => QueryResult::Ambiguous(many.len()),
            },
            Some(Data::Scalar((_, text))) => match number(&text) {
                Ok(value) => QueryResult::Value(value),
                Err(message) => QueryResult::Failed(message),
            },
            Some(Data::Matrix(_)) => QueryResult::Failed(
                "the query returned a range vector; it must return one number".into(),
            ),
            Some(Data::String(_)) => {
                QueryResult::Failed("the query returned a string, not a number".into())
            }
            None => QueryResult::Failed("Prometheus answered without data".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_in_the_url_never_reach_a_message() {
        let prometheus = Prometheus::new("http://analysis:hunter2-S3cret@127.0.0.1:1/").unwrap();
        let QueryResult::Failed(message) = prometheus.query("up").await else {
            panic!("nothing listens on port 1");
        };
        assert!(!message.contains("hunter2"), "{message}");
        assert!(
            message.contains("http://[redacted]@127.0.0.1:1"),
            "{message}"
        );
    }
}
