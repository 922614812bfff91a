//! What one reconcile decides, as plain data: the children to apply and
//! prune, the values to generate, the Events to publish, the facts status
//! is built from, and how soon to look again.

use super::{
    outcome::{Blocker, Note, Outcome, Pace},
    status::{self, Assessment},
};
use crate::render::{Child, ChildKind};

/// Values to generate into the Secret `<name>-generated`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generate {
    /// Name of the Secret.
    pub secret: String,
    /// Labels of the Secret when it is created.
    pub labels: std::collections::BTreeMap<String, String>,
    /// The Secret does not exist yet.
    pub create: bool,
    /// Key names to add; keys already there are never touched.
    pub keys: Vec<String>,
}

impl Generate {
    /// Why nothing is generated when the Secret `name` of generated values
    /// belongs to someone else.
    pub fn foreign(name: &str) -> Blocker {
        Blocker {
            reason: "ChildConflict",
            path: format!("Secret/{name}"),
            message: format!(
                "Secret {name} exists and is not managed by this ChatbotDeployment; generated values are never written over someone else's Secret"
            ),
        }
    }
}

/// What one reconcile will do.
#[derive(Clone, Debug, Default)]
pub struct Decision {
    /// Children to server-side apply, in order, owner reference set.
    pub apply: Vec<Child>,
    /// Owned children the spec no longer asks for: kind, name and uid.
    pub prune: Vec<(ChildKind, String, Option<String>)>,
    pub generate: Option<Generate>,
    /// The spec changed since an on-call rollback: lift its hold.
    pub release_hold: bool,
    /// The app Deployment's replica count, handed to a second field
    /// manager before the operator stops sending it, so the autoscaler
    /// takes over without the count dropping to the default of 1.
    pub replicas_handover: Option<i32>,
    pub assessment: Assessment,
    pub notes: Vec<Note>,
    pub pace: Option<Pace>,
    /// Look again this soon, whatever the pace: a rollout's timed step ends.
    pub wake: Option<std::time::Duration>,
    /// The rendered templates of backup and verify Jobs (never applied themselves).
    pub backup_templates: Vec<Child>,
    /// A revision whose pre-rollout backup is wanted now.
    pub pre_rollout_backup: Option<i64>,
}

impl Decision {
    /// The pace, `Steady` unless set.
    pub fn pace(&self) -> Pace {
        self.pace.unwrap_or(Pace::Steady)
    }

    /// What the decision asks of the loop: the spec's own conditions, its
    /// Events, pace and wake, and the blocker that keeps the spec from
    /// being applied.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            conditions: status::spec_conditions(&self.assessment),
            notes: self.notes.clone(),
            wake: self.wake,
            pace: Some(self.pace()),
            blocker: self.assessment.blocker.clone(),
        }
    }
}
