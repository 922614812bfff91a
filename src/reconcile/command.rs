//! On-call commands for a Canary or BlueGreen rollout in flight (`Promote`,
//! `Abort`, `Pause`, `Resume`, and a `Rollback` while a candidate runs).
//!
//! The action never edits the spec and never moves traffic itself: it
//! writes `status.rolloutCommand` under a field manager of its own (the
//! reconciler's status writes leave that field alone), the reconciler
//! feeds the command to the rollout once and records the action's name in
//! `status.rollout.lastAction`, and the action ends when it sees that.

use kube::Client;

use super::ReconcileError;
use crate::{
    api::{ActionKind, ChatbotDeployment, ChatbotDeploymentStatus, RolloutCommand},
    rollout::{machine::Phase, progressive},
};

/// Field manager of `status.rolloutCommand`.
pub const COMMAND_MANAGER: &str = "chatbot-operator-actions";

/// Where a command action stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Write this command for the reconciler.
    Send(RolloutCommand),
    /// Sent; the reconciler has not carried it out yet.
    Wait,
    /// Over: succeeded (`true`) or failed, with the message.
    Done(bool, String),
}

/// The rollout command an action of `kind` means, if it is one: `Rollback`
/// is an `Abort` while a candidate runs and no other revision is asked for.
pub fn command_of(
    kind: ActionKind,
    revision: Option<i64>,
    status: &ChatbotDeploymentStatus,
) -> Option<&'static str> {
    match kind {
        ActionKind::Promote => Some("Promote"),
        ActionKind::Abort => Some("Abort"),
        ActionKind::Pause => Some("Pause"),
        ActionKind::Resume => Some("Resume"),
        ActionKind::Rollback => {
            let rollout = status.rollout.as_ref()?;
            let candidate_runs = progressive::phase_of(rollout).is_in_flight()
                && status.current_revision == Some(rollout.revision);
            (candidate_runs && revision.is_none_or(|r| r == rollout.stable_revision))
                .then_some("Abort")
        }
        ActionKind::Backup | ActionKind::Restore | ActionKind::Maintenance => None,
    }
}

/// Judges the command `command` of action `action` (named so in status),
/// pure. A `Promote` among several A/B candidates names the one it
/// promotes (`variant`).
pub fn judge(
    command: &str,
    action: &str,
    reason: &str,
    variant: Option<&str>,
    status: &ChatbotDeploymentStatus,
) -> Progress {
    let Some(rollout) = status
        .rollout
        .as_ref()
        .filter(|r| status.current_revision == Some(r.revision))
    else {
        return Progress::Done(
            false,
            format!("{command}: no Canary or BlueGreen rollout is in flight, nothing was changed"),
        );
    };
    let phase = progressive::phase_of(rollout);
    if rollout.last_action.as_deref() == Some(action) {
        return Progress::Done(
            true,
            format!(
                "{command} carried out on revision {}: {}",
                rollout.revision, rollout.message
            ),
        );
    }
    let sent = status
        .rollout_command
        .as_ref()
        .is_some_and(|c| c.action == action);
    if sent {
        return if phase.is_in_flight() {
            Progress::Wait
        } else {
            Progress::Done(
                false,
                format!(
                    "{command}: the rollout of revision {} ended before it was carried out: {}",
                    rollout.revision, rollout.message
                ),
            )
        };
    }
    let refused =
        |why: String| Progress::Done(false, format!("{command}: {why}, nothing was changed"));
    if !phase.is_in_flight() {
        return refused(format!(
            "the rollout of revision {} is {} ({}), nothing is in flight",
            rollout.revision,
            progressive::phase_name(phase),
            rollout.message
        ));
    }
    match (command, phase) {
        ("Pause", Phase::Paused) => {
            return Progress::Done(true, format!("already paused: {}", rollout.message));
        }
        ("Resume", Phase::Progressing) => {
            return refused(format!(
                "revision {} is not paused ({})",
                rollout.revision, rollout.message
            ));
        }
        _ => {}
    }
    if let Err(why) = chosen(command, variant, rollout) {
        return refused(why);
    }
    Progress::Send(RolloutCommand {
        command: command.to_string(),
        revision: rollout.revision,
        action: action.to_string(),
        reason: reason.to_string(),
        variant: variant.map(str::to_string),
    })
}

/// A `Promote` names a candidate the test runs, and must when it runs
/// several; another command names none.
fn chosen(
    command: &str,
    variant: Option<&str>,
    rollout: &crate::api::RolloutStatus,
) -> Result<(), String> {
    let running: Vec<&str> = rollout
        .candidates
        .iter()
        .map(|c| c.variant.as_str())
        .collect();
    let known = || running.join(", ");
    match variant {
        Some(_) if command != "Promote" => Err(format!("{command} names no variant")),
        Some(name) if !running.contains(&name) => Err(format!(
            "{name} is not a candidate of the A/B test (candidates: {})",
            if running.is_empty() {
                "none".to_string()
            } else {
                known()
            }
        )),
        None if command == "Promote" && running.len() > 1 => Err(format!(
            "{} candidates run ({}): name the one to promote with --variant",
            running.len(),
            known()
        )),
        _ => Ok(()),
    }
}

/// Writes `command` into the resource's status for the reconciler.
pub async fn send(
    client: &Client,
    cbd: &ChatbotDeployment,
    command: &RolloutCommand,
) -> Result<(), ReconcileError> {
    let value = serde_json::to_value(command).map_err(|e| ReconcileError::Encode(e.to_string()))?;
    super::rollback::patch_status_field(client, cbd, COMMAND_MANAGER, "rolloutCommand", value).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RolloutStatus;

    fn status(
        phase: &str,
        last_action: Option<&str>,
        sent: Option<&str>,
    ) -> ChatbotDeploymentStatus {
        ChatbotDeploymentStatus {
            current_revision: Some(3),
            rollout: Some(RolloutStatus {
                revision: 3,
                stable_revision: 2,
                phase: phase.into(),
                message: "step 2: waiting for Promote or Resume".into(),
                last_action: last_action.map(str::to_string),
                ..Default::default()
            }),
            rollout_command: sent.map(|action| RolloutCommand {
                command: "Promote".into(),
                revision: 3,
                action: action.into(),
                reason: "looks good".into(),
                variant: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_command_is_sent_once_waited_for_and_done_when_carried_out() {
        let paused = status("Paused", None, None);
        assert_eq!(
            judge("Promote", "promote-1", "looks good", None, &paused),
            Progress::Send(RolloutCommand {
                command: "Promote".into(),
                revision: 3,
                action: "promote-1".into(),
                reason: "looks good".into(),
                variant: None,
            })
        );
        let sent = status("Paused", None, Some("promote-1"));
        assert_eq!(
            judge("Promote", "promote-1", "", None, &sent),
            Progress::Wait
        );
        let done = status("Promoted", Some("promote-1"), Some("promote-1"));
        assert!(matches!(
            judge("Promote", "promote-1", "", None, &done),
            Progress::Done(true, message) if message.contains("revision 3")
        ));
    }

    #[test]
    fn a_promote_among_several_candidates_names_one_of_them() {
        let mut several = status("Paused", None, None);
        several.rollout.as_mut().unwrap().candidates = ["short", "ask-first"]
            .iter()
            .zip([3, 4])
            .map(|(variant, revision)| crate::api::RolloutCandidate {
                variant: variant.to_string(),
                revision,
            })
            .collect();
        assert!(matches!(
            judge("Promote", "p", "", None, &several),
            Progress::Done(false, m) if m.contains("2 candidates run (short, ask-first): name the one to promote with --variant")
        ));
        assert!(matches!(
            judge("Promote", "p", "", Some("long"), &several),
            Progress::Done(false, m) if m.contains("long is not a candidate of the A/B test (candidates: short, ask-first)")
        ));
        assert!(matches!(
            judge("Abort", "a", "", Some("short"), &several),
            Progress::Done(false, m) if m.contains("Abort names no variant")
        ));
        assert!(matches!(
            judge("Promote", "p", "", Some("ask-first"), &several),
            Progress::Send(c) if c.variant.as_deref() == Some("ask-first") && c.revision == 3
        ));
        // One candidate: a plain promote, as before.
        assert!(matches!(
            judge("Promote", "p", "", None, &status("Paused", None, None)),
            Progress::Send(c) if c.variant.is_none()
        ));
    }

    #[test]
    fn impossible_commands_fail_with_the_reason() {
        let none = ChatbotDeploymentStatus::default();
        assert!(matches!(
            judge("Promote", "p", "", None, &none),
            Progress::Done(false, m) if m.contains("no Canary or BlueGreen rollout is in flight")
        ));
        let finished = status("Promoted", Some("other"), None);
        assert!(matches!(
            judge("Abort", "a", "", None, &finished),
            Progress::Done(false, m) if m.contains("is Promoted")
        ));
        let running = status("Progressing", None, None);
        assert!(matches!(
            judge("Resume", "r", "", None, &running),
            Progress::Done(false, m) if m.contains("not paused")
        ));
        // Sent, but the analysis rolled the candidate back first.
        let ended = status("RolledBack", None, Some("promote-1"));
        assert!(matches!(
            judge("Promote", "promote-1", "", None, &ended),
            Progress::Done(false, m) if m.contains("ended before")
        ));
    }

    #[test]
    fn a_rollback_while_a_candidate_runs_is_an_abort() {
        let paused = status("Paused", None, None);
        assert_eq!(
            command_of(ActionKind::Rollback, None, &paused),
            Some("Abort")
        );
        assert_eq!(
            command_of(ActionKind::Rollback, Some(2), &paused),
            Some("Abort")
        );
        assert_eq!(command_of(ActionKind::Rollback, Some(1), &paused), None);
        let finished = status("Promoted", None, None);
        assert_eq!(command_of(ActionKind::Rollback, None, &finished), None);
    }
}
