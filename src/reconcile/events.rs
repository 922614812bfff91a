//! Which Kubernetes Events a status change deserves. Pure: old and new
//! conditions in, notes out. Every reason is a condition reason, so a human
//! can search Events and conditions for the same word.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{conditions::find, outcome::Note};
use crate::api::condition_types as types;

/// Whether a condition in this state needs someone's attention.
fn is_warning(condition: &Condition) -> bool {
    let is_true = condition.status == "True";
    let is_false = condition.status == "False";
    match condition.type_.as_str() {
        types::DEGRADED => is_true,
        types::SECRETS_READY | types::WITHIN_BUDGET | types::READY => is_false,
        types::CAPACITY_OK => is_false || condition.reason == "NearCapacity",
        _ => false,
    }
}

/// Condition types whose transitions are announced.
const ANNOUNCED: [&str; 6] = [
    types::READY,
    types::DEGRADED,
    types::SECRETS_READY,
    types::CAPACITY_OK,
    types::WITHIN_BUDGET,
    types::PROGRESSING,
];

/// Events for the transitions between `old` and `new` conditions.
pub fn transitions(old: &[Condition], new: &[Condition]) -> Vec<Note> {
    let mut notes = Vec::new();
    for type_ in ANNOUNCED {
        let Some(now) = find(new, type_) else {
            continue;
        };
        let before = find(old, type_);
        let changed = before.is_none_or(|b| b.status != now.status || b.reason != now.reason);
        if !changed {
            continue;
        }
        let announce = match type_ {
            // Ready: becoming ready, or losing it to a problem (a rollout
            // or a pause has an Event of its own).
            types::READY => {
                now.status == "True"
                    || (before.is_some_and(|b| b.status == "True")
                        && !matches!(now.reason.as_str(), "RollingOut" | "Creating" | "Paused"))
            }
            // Progressing: a rollout finishing.
            types::PROGRESSING => {
                now.reason == "RolloutComplete" && before.is_some_and(|b| b.status == "True")
            }
            // The rest: trouble starting, or trouble ending.
            _ => is_warning(now) || before.is_some_and(is_warning),
        };
        // One Event per reason: Degraded often repeats another condition's.
        if announce && !notes.iter().any(|n: &Note| n.reason == now.reason) {
            notes.push(Note {
                warning: is_warning(now),
                reason: now.reason.clone(),
                message: format!("{}: {}", type_, now.message),
            });
        }
    }
    notes
}

/// The Event of a rollout's new phase.
pub fn rollout_note(phase: crate::rollout::machine::Phase, message: &str) -> Note {
    use crate::rollout::machine::Phase;
    let (warning, reason) = match phase {
        Phase::Progressing => (false, "RolloutProgressing"),
        Phase::Paused => (false, "RolloutPaused"),
        Phase::Inconclusive => (true, "AnalysisInconclusive"),
        Phase::Promoted => (false, "Promoted"),
        Phase::RolledBack => (true, "RolledBack"),
    };
    Note {
        warning,
        reason: reason.into(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

    use super::*;

    fn condition(type_: &str, status: bool, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: if status { "True" } else { "False" }.into(),
            reason: reason.into(),
            message: format!("{reason} message"),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
            observed_generation: Some(1),
        }
    }

    #[test]
    fn a_missing_secret_is_a_warning_and_its_arrival_is_announced() {
        let ok = [condition(types::SECRETS_READY, true, "SecretsFound")];
        let missing = [condition(types::SECRETS_READY, false, "SecretsMissing")];
        let notes = transitions(&ok, &missing);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].warning);
        assert_eq!(notes[0].reason, "SecretsMissing");
        let back = transitions(&missing, &ok);
        assert_eq!(
            (back[0].warning, back[0].reason.as_str()),
            (false, "SecretsFound")
        );
    }

    #[test]
    fn nothing_is_announced_when_nothing_changed_or_all_is_well_from_the_start() {
        let state = [
            condition(types::SECRETS_READY, true, "SecretsFound"),
            condition(types::READY, false, "Creating"),
            condition(types::PROGRESSING, true, "Creating"),
            condition(types::DEGRADED, false, "AsExpected"),
        ];
        assert!(transitions(&state, &state).is_empty());
        assert!(transitions(&[], &state).is_empty());
    }

    #[test]
    fn becoming_ready_and_finishing_a_rollout_are_announced() {
        let before = [
            condition(types::READY, false, "RollingOut"),
            condition(types::PROGRESSING, true, "RollingOut"),
        ];
        let after = [
            condition(types::READY, true, "Available"),
            condition(types::PROGRESSING, false, "RolloutComplete"),
        ];
        let notes = transitions(&before, &after);
        let reasons: Vec<_> = notes.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(reasons, ["Available", "RolloutComplete"]);
    }
}
