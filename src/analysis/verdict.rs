//! How measurements add up to a verdict: one query's result judged
//! against its threshold, a round's verdict, and a run's.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::checks::Check;

/// What one query returned.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    /// One number.
    Value(f64),
    /// No series matched (no traffic yet, or a typo in the query).
    Empty,
    /// More than one series: the query must aggregate to one number.
    Ambiguous(usize),
    /// Prometheus could not be asked or refused the query.
    Failed(String),
}

/// The verdict of one measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Passed,
    Failed,
    /// Empty, NaN or ambiguous: no evidence either way.
    Inconclusive,
    /// The query could not be run.
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Passed => "Passed",
            Verdict::Failed => "Failed",
            Verdict::Inconclusive => "Inconclusive",
            Verdict::Error => "Error",
        })
    }
}

/// One measurement as status records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub name: String,
    /// The query as sent, selector and window filled in.
    pub query: String,
    /// The value; `None` when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The bounds, e.g. `>= 99` or `<= 800`.
    pub threshold: String,
    pub verdict: Verdict,
    /// Why the verdict is not a plain comparison (empty, NaN, the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn threshold(check: &Check) -> String {
    match (check.min, check.max) {
        (Some(min), Some(max)) => format!(">= {min} and <= {max}"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "none".into(),
    }
}

/// Judges one query result against `check`'s bounds.
pub fn judge(check: &Check, result: &QueryResult) -> Measurement {
    let (value, verdict, reason) = match result {
        QueryResult::Value(value) if value.is_nan() => (
            None,
            Verdict::Inconclusive,
            Some("the query returned NaN (no requests in the window?)".to_string()),
        ),
        QueryResult::Value(value) => {
            let low = check.min.is_some_and(|min| *value < min);
            let high = check.max.is_some_and(|max| *value > max);
            let verdict = if low || high {
                Verdict::Failed
            } else {
                Verdict::Passed
            };
            (Some(*value), verdict, None)
        }
        QueryResult::Empty => (
            None,
            Verdict::Inconclusive,
            Some("the query returned no series".to_string()),
        ),
        QueryResult::Ambiguous(series) => (
            None,
            Verdict::Inconclusive,
            Some(format!(
                "the query returned {series} series; it must aggregate to one number"
            )),
        ),
        QueryResult::Failed(message) => (None, Verdict::Error, Some(message.clone())),
    };
    Measurement {
        name: check.name.clone(),
        query: check.query.clone(),
        value,
        threshold: threshold(check),
        verdict,
        reason,
    }
}

/// How many measurements a run takes and how many failures it tolerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPolicy {
    /// Measured rounds per run (each round measures every check); a round
    /// that could not be measured does not count.
    pub count: u32,
    /// Failed rounds tolerated before the run fails.
    pub failure_limit: u32,
    /// Rounds in a row that could not be measured, tolerated before the
    /// run pauses as inconclusive (Argo Rollouts' `consecutiveErrorLimit`).
    pub consecutive_error_limit: u32,
}

/// Rounds that measured something: passed or failed, not errored.
pub fn measured_rounds(rounds: &[Vec<Measurement>]) -> u32 {
    rounds
        .iter()
        .filter(|r| matches!(round_verdict(r), Verdict::Passed | Verdict::Failed))
        .count() as u32
}

/// Where an analysis run stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// More rounds to measure: `measured` of the `count` the run needs.
    Running {
        measured: u32,
        count: u32,
    },
    Passed,
    /// Too many failed rounds: roll back.
    Failed {
        reason: String,
    },
    /// No evidence either way, or only errors: pause and say so.
    Inconclusive {
        reason: String,
    },
}

/// The verdict of a round: the worst of its measurements, where a failure
/// outweighs an error, and an error or inconclusive outweighs a pass.
pub fn round_verdict(round: &[Measurement]) -> Verdict {
    let has = |v: Verdict| round.iter().any(|m| m.verdict == v);
    if has(Verdict::Failed) {
        Verdict::Failed
    } else if has(Verdict::Error) {
        Verdict::Error
    } else if has(Verdict::Inconclusive) || round.is_empty() {
        Verdict::Inconclusive
    } else {
        Verdict::Passed
    }
}

fn describe(measurement: &Measurement) -> String {
    match (&measurement.value, &measurement.reason) {
        (Some(value), _) => format!(
            "{} = {} (wants {})",
            measurement.name,
            shown(*value),
            measurement.threshold
        ),
        (None, Some(reason)) => format!("{}: {reason}", measurement.name),
        (None, None) => measurement.name.clone(),
    }
}

/// A measured value as people read it: at most three decimals, without the
/// float noise of PromQL arithmetic (9.999999999999998 reads 10).
pub fn shown(value: f64) -> String {
    let rounded = (value * 1000.0).round() / 1000.0;
    if rounded == rounded.trunc() && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// The verdict of a run from its rounds so far, oldest first.
///
/// It fails as soon as failed rounds exceed the limit; it is inconclusive
/// as soon as a round is (no data is never taken for good data), and when
/// more rounds in a row than the limit could not be measured; it passes
/// only when `count` rounds were measured — rounds that errored are taken
/// again, not counted — the failures are within the limit and at least
/// one round passed.
pub fn run_verdict(rounds: &[Vec<Measurement>], policy: RunPolicy) -> RunVerdict {
    let verdicts: Vec<Verdict> = rounds.iter().map(|r| round_verdict(r)).collect();
    let failed = verdicts.iter().filter(|v| **v == Verdict::Failed).count() as u32;
    if failed > policy.failure_limit {
        let last_failed = rounds
            .iter()
            .zip(&verdicts)
            .rev()
            .find(|(_, v)| **v == Verdict::Failed)
            .map(|(round, _)| {
                round
                    .iter()
                    .filter(|m| m.verdict == Verdict::Failed)
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return RunVerdict::Failed {
            reason: format!(
                "{failed} of {} rounds failed (limit {}): {last_failed}",
                rounds.len(),
                policy.failure_limit
            ),
        };
    }
    if let Some((round, _)) = rounds
        .iter()
        .zip(&verdicts)
        .find(|(_, v)| **v == Verdict::Inconclusive)
    {
        let why: Vec<String> = round
            .iter()
            .filter(|m| m.verdict == Verdict::Inconclusive)
            .map(describe)
            .collect();
        return RunVerdict::Inconclusive {
            reason: if why.is_empty() {
                "no check to measure".into()
            } else {
                why.join("; ")
            },
        };
    }
    let measured = measured_rounds(rounds);
    let errors_in_a_row = verdicts
        .iter()
        .rev()
        .take_while(|v| **v == Verdict::Error)
        .count() as u32;
    if errors_in_a_row > policy.consecutive_error_limit {
        let errors: Vec<String> = rounds
            .last()
            .into_iter()
            .flatten()
            .filter(|m| m.verdict == Verdict::Error)
            .map(describe)
            .collect();
        return RunVerdict::Inconclusive {
            reason: format!(
                "{errors_in_a_row} rounds in a row could not be measured (limit {}): {}; {measured} of {} rounds measured",
                policy.consecutive_error_limit,
                errors.join("; "),
                policy.count
            ),
        };
    }
    if measured < policy.count {
        return RunVerdict::Running {
            measured,
            count: policy.count,
        };
    }
    if !verdicts.contains(&Verdict::Passed) {
        return RunVerdict::Inconclusive {
            reason: format!(
                "no round passed: {failed} of {measured} measured rounds failed, within the limit of {}",
                policy.failure_limit
            ),
        };
    }
    RunVerdict::Passed
}
