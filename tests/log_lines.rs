//! Every line a reconcile logs names its resource, whatever `RUST_LOG`
//! lets through. Its own test binary: the log capture is per thread, and a
//! callsite first reached on another test's thread would be cached as
//! disabled.

mod common;

use common::harness::Harness;
use serde_json::Value;

const NS: &str = "mindmitra";

#[tokio::test]
async fn every_warning_line_names_its_resource_even_when_only_warnings_are_logged() {
    let logs = common::logs::capture_at(tracing::Level::WARN);
    let mut harness = Harness::new();
    let cbd_path = harness.create(&common::sample_without_gates("mindmitra"));
    harness.reconcile(&cbd_path).await;
    let text = logs.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["reason"] == "SecretsMissing"),
        "{text}"
    );
    for line in &lines {
        assert_eq!(line["span"]["namespace"], NS, "{line}");
        assert_eq!(line["span"]["chatbot"], "mindmitra", "{line}");
    }
}
