//! The counts a sequential A/B test reads from Prometheus for one variant
//! over the test so far: its conversations, its primary's successes and
//! trials, and each guardrail's bad events and events. The metric names
//! are the app contract's (docs/app-contract.md).

use crate::{
    analysis::Selector,
    api::{AbTest, Guardrail, GuardrailSource, PrimarySource},
};

pub const CONVERSATIONS: &str = "~conversations";
pub const PRIMARY_SUCCESSES: &str = "~primary-successes";
pub const PRIMARY_TRIALS: &str = "~primary-trials";

pub fn guardrail_bad(index: usize) -> String {
    format!("~guardrail-bad-{index}")
}

pub fn guardrail_total(index: usize) -> String {
    format!("~guardrail-total-{index}")
}

/// `sum(increase(metric{selector,extra}[window]))`.
fn increase(metric: &str, selector: &str, extra: &str, window: &str) -> String {
    format!("sum(increase({metric}{{{selector}{extra}}}[{window}]))")
}

/// A spec's own query with `{{revision}}`, `{{namespace}}`, `{{instance}}`
/// and `{{window}}` filled in.
fn own(selector: &Selector, query: &str, window: &str) -> String {
    selector.fill(query).replace("{{window}}", window)
}

/// A label matcher for a histogram's `le` equal to `ms` milliseconds as
/// the client libraries write it (`2`, `2.0`, `0.25`).
fn le_matcher(ms: i64) -> String {
    let whole = ms / 1000;
    let fraction = format!("{:03}", ms % 1000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!(r#"le=~"{whole}(\\.0*)?""#)
    } else {
        format!(r#"le=~"{whole}\\.{fraction}0*""#)
    }
}

/// A guardrail's bad events and events.
fn guardrail(selector: &Selector, window: &str, guardrail: &Guardrail) -> Option<(String, String)> {
    let sel = selector.matchers();
    Some(match guardrail.metric {
        GuardrailSource::ErrorRate => (
            increase("http_requests_total", &sel, r#",code=~"5..""#, window),
            increase("http_requests_total", &sel, "", window),
        ),
        GuardrailSource::ProviderErrorRate => (
            increase(
                "chatbot_llm_requests_total",
                &sel,
                r#",status=~"429|5..""#,
                window,
            ),
            increase("chatbot_llm_requests_total", &sel, "", window),
        ),
        GuardrailSource::SlowFirstToken => {
            let total = increase(
                "chatbot_time_to_first_token_seconds_count",
                &sel,
                "",
                window,
            );
            let fast = increase(
                "chatbot_time_to_first_token_seconds_bucket",
                &sel,
                &format!(",{}", le_matcher(guardrail.threshold_ms?)),
                window,
            );
            (format!("{total} - {fast}"), total)
        }
        GuardrailSource::Custom => (
            own(selector, guardrail.bad.as_deref()?, window),
            own(selector, guardrail.total.as_deref()?, window),
        ),
    })
}

/// Every count the sequential test reads of one variant, by name.
pub fn counts(selector: &Selector, window: &str, test: &AbTest) -> Vec<(String, String)> {
    let sel = selector.matchers();
    let conversations = increase("chatbot_conversations_total", &sel, "", window);
    let mut queries = vec![(CONVERSATIONS.to_string(), conversations.clone())];
    if let Some(primary) = &test.primary {
        let (successes, trials) = match primary.metric {
            PrimarySource::ThumbsUpRate => (
                increase("chatbot_feedback_total", &sel, r#",rating="up""#, window),
                conversations,
            ),
            PrimarySource::Custom => (
                own(
                    selector,
                    primary.successes.as_deref().unwrap_or_default(),
                    window,
                ),
                own(
                    selector,
                    primary.trials.as_deref().unwrap_or_default(),
                    window,
                ),
            ),
        };
        queries.push((PRIMARY_SUCCESSES.to_string(), successes));
        queries.push((PRIMARY_TRIALS.to_string(), trials));
    }
    for (i, rail) in test.guardrails.iter().flatten().enumerate() {
        if let Some((bad, total)) = guardrail(selector, window, rail) {
            queries.push((guardrail_bad(i), bad));
            queries.push((guardrail_total(i), total));
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_matches_the_bucket_bound_however_the_client_writes_it() {
        assert_eq!(le_matcher(2000), r#"le=~"2(\\.0*)?""#);
        assert_eq!(le_matcher(1500), r#"le=~"1\\.50*""#);
        assert_eq!(le_matcher(250), r#"le=~"0\\.250*""#);
        assert_eq!(le_matcher(5), r#"le=~"0\\.0050*""#);
    }
}
