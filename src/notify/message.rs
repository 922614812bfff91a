//! A notification of an Event: the Slack-compatible message, whether it is
//! wanted, and when a failed delivery is tried again. Pure.

use std::time::Duration;

use serde_json::{Value, json};

/// One state change of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub namespace: String,
    pub name: String,
    pub reason: String,
    pub text: String,
    pub warning: bool,
}

/// Whether a note goes to the webhook.
pub fn wanted(warnings_only: bool, warning: bool) -> bool {
    warning || !warnings_only
}

/// Slack's three characters that must be escaped in message text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The webhook's body: Slack's `text`, which every Slack-compatible
/// endpoint takes.
pub fn payload(message: &Message) -> Value {
    let mark = if message.warning {
        ":warning:"
    } else {
        ":white_check_mark:"
    };
    json!({
        "text": format!(
            "{mark} *{}/{}* {}: {}",
            escape(&message.namespace),
            escape(&message.name),
            escape(&message.reason),
            escape(&message.text)
        ),
    })
}

/// How a delivery went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The webhook answered with this HTTP status.
    Status(u16),
    /// No answer: refused, timed out, TLS failed.
    Unreachable,
}

/// Deliveries tried at most, the first included.
pub const ATTEMPTS: u32 = 6;

/// How long to wait before trying again after `attempt` (1-based) ended
/// with `outcome`; `None` when it is done (delivered, refused for good, or
/// out of attempts). Waits double from one second to half a minute: a
/// message survives a webhook that is down for about a minute.
pub fn retry_after(attempt: u32, outcome: Outcome) -> Option<Duration> {
    let again = match outcome {
        Outcome::Status(code) => code == 429 || code == 408 || code >= 500,
        Outcome::Unreachable => true,
    };
    (again && attempt < ATTEMPTS).then(|| Duration::from_secs((1u64 << (attempt - 1)).min(30)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(warning: bool) -> Message {
        Message {
            namespace: "brigade".into(),
            name: "brigade-sales".into(),
            reason: "RolledBack".into(),
            text: "p95 latency 6200 ms > 5000 ms <a> & more".into(),
            warning,
        }
    }

    #[test]
    fn a_warning_reads_as_one_slack_line_with_its_markup_escaped() {
        assert_eq!(
            payload(&message(true)),
            json!({"text": ":warning: *brigade/brigade-sales* RolledBack: p95 latency 6200 ms &gt; 5000 ms &lt;a&gt; &amp; more"})
        );
        assert!(
            payload(&message(false))["text"]
                .as_str()
                .unwrap()
                .starts_with(":white_check_mark:")
        );
    }

    #[test]
    fn warnings_only_keeps_the_failures() {
        assert!(wanted(true, true));
        assert!(!wanted(true, false));
        assert!(wanted(false, false));
    }

    #[test]
    fn failures_are_tried_again_with_doubling_waits_and_refusals_are_not() {
        let waits: Vec<Option<Duration>> = (1..=ATTEMPTS)
            .map(|attempt| retry_after(attempt, Outcome::Status(503)))
            .collect();
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(waits, [secs(1), secs(2), secs(4), secs(8), secs(16), None]);
        assert_eq!(retry_after(1, Outcome::Unreachable), secs(1));
        assert_eq!(retry_after(1, Outcome::Status(429)), secs(1));
        assert_eq!(retry_after(1, Outcome::Status(200)), None);
        assert_eq!(
            retry_after(1, Outcome::Status(404)),
            None,
            "a wrong URL stays wrong"
        );
    }
}
