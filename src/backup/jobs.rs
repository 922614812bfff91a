//! Backup Jobs in the cluster: what the operator reads from them (id,
//! reason, revision, whether they ended) and the Job it creates for one
//! backup, stamped from the rendered template. Pure: Jobs in, facts out;
//! a template and a start in, a Job out.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;

use crate::names::keys;

/// Label with the backup id on a backup Job and its pod.
pub const ID_LABEL: &str = "chatbot.dev/backup-id";
/// Label with why the backup was taken.
pub const REASON_LABEL: &str = "chatbot.dev/backup-reason";
/// Annotation with the ChatbotAction that asked for the backup.
pub const ACTION_ANNOTATION: &str = "chatbot.dev/action";
/// `app.kubernetes.io/component` of backup Jobs.
pub const COMPONENT: &str = "backup";
/// `app.kubernetes.io/component` of verify Jobs.
pub const VERIFY_COMPONENT: &str = "verify";
/// `app.kubernetes.io/component` of restore Jobs.
pub const RESTORE_COMPONENT: &str = "restore";

/// Why a backup is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A window of `spec.backup.schedule`.
    Scheduled,
    /// Before a new revision's migrations and pods (`beforeRollout`).
    PreRollout,
    /// An on-call `Backup` action.
    OnDemand,
    /// A restore test of an earlier backup (`verify`).
    Verify,
    /// Taken first by a restore, of the data as it was.
    PreRestore,
    /// Not a backup: a restore into a new database (its own Jobs).
    Restore,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Scheduled => "scheduled",
            Reason::PreRollout => "pre-rollout",
            Reason::OnDemand => "on-demand",
            Reason::Verify => "verify",
            Reason::PreRestore => "pre-restore",
            Reason::Restore => "restore",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Reason::Scheduled,
            Reason::PreRollout,
            Reason::OnDemand,
            Reason::Verify,
            Reason::PreRestore,
            Reason::Restore,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

/// Where a backup Job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    Succeeded,
    Failed,
}

/// A backup Job as observed.
#[derive(Clone, Debug, PartialEq)]
pub struct JobFacts {
    pub name: String,
    pub uid: Option<String>,
    pub id: String,
    pub reason: Reason,
    pub revision: Option<i64>,
    pub action: Option<String>,
    pub state: JobState,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The Job controller's reason for a failure (`DeadlineExceeded`: the
    /// run was stopped at `spec.backup.timeoutSeconds`).
    pub failure: Option<String>,
}

/// The backup and verify Jobs of deployment `name` (controlled by `owner_uid`).
pub fn observe<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    namespace: &str,
    name: &str,
    owner_uid: Option<&str>,
) -> Vec<JobFacts> {
    observe_components(
        jobs,
        namespace,
        name,
        owner_uid,
        &[COMPONENT, VERIFY_COMPONENT],
    )
}

/// The restore Jobs of deployment `name` (controlled by `owner_uid`).
pub fn observe_restores<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    namespace: &str,
    name: &str,
    owner_uid: Option<&str>,
) -> Vec<JobFacts> {
    observe_components(jobs, namespace, name, owner_uid, &[RESTORE_COMPONENT])
}

fn observe_components<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    namespace: &str,
    name: &str,
    owner_uid: Option<&str>,
    components: &[&str],
) -> Vec<JobFacts> {
    let mut found: Vec<JobFacts> = jobs
        .into_iter()
        .filter(|job| job.metadata.namespace.as_deref() == Some(namespace))
        .filter(|job| {
            job.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.controller == Some(true) && Some(o.uid.as_str()) == owner_uid)
        })
        .filter_map(|job| facts(job, name, components))
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn facts(job: &Job, deployment: &str, components: &[&str]) -> Option<JobFacts> {
    let labels = job.metadata.labels.as_ref()?;
    let label = |key: &str| labels.get(key).map(String::as_str);
    if label(keys::INSTANCE) != Some(deployment)
        || !label(keys::COMPONENT).is_some_and(|c| components.contains(&c))
    {
        return None;
    }
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let holding = |type_: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == "True")
    };
    let (state, failure) = if holding("Complete").is_some() {
        (JobState::Succeeded, None)
    } else if let Some(failed) = holding("Failed") {
        let why = [failed.reason.clone(), failed.message.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        (JobState::Failed, Some(why).filter(|w| !w.is_empty()))
    } else {
        (JobState::Running, None)
    };
    let finished = holding("Complete")
        .or(holding("Failed"))
        .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0));
    Some(JobFacts {
        name: job.metadata.name.clone()?,
        uid: job.metadata.uid.clone(),
        id: label(ID_LABEL)?.to_string(),
        reason: Reason::parse(label(REASON_LABEL)?)?,
        revision: label(keys::REVISION).and_then(|r| r.parse().ok()),
        action: job
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ACTION_ANNOTATION))
            .cloned(),
        state,
        started_at: status.start_time.map(|t| t.0).or(job
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)),
        finished_at: status.completion_time.map(|t| t.0).or(finished),
        failure,
    })
}

/// A backup to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    pub id: String,
    pub reason: Reason,
    pub revision: Option<i64>,
    pub action: Option<String>,
    /// The action says the database shrank on purpose.
    pub expect_shrink: bool,
    /// A backup that must be in the store for this one to be taken: the
    /// one a restore will use, checked by its safety backup before
    /// anything is stopped.
    pub requires: Option<String>,
}

/// The restore Job to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStart {
    /// The restore's id (labels the Job).
    pub id: String,
    pub backup: String,
    /// The new database to create and restore into.
    pub database: String,
}

/// The Job that drops a database a restore replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropStart {
    /// `<restore id>-drop` (labels the Job).
    pub id: String,
    pub database: String,
}

/// Adds `labels` to a stamped Job and to its pod template (the stores'
/// NetworkPolicy admits the pod by its labels).
fn label(job: &mut Job, labels: BTreeMap<String, String>) {
    job.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .extend(labels.clone());
    if let Some(spec) = job.spec.as_mut() {
        spec.template
            .metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend(labels);
    }
}

/// The Job of one backup: `<deployment>-backup-<id>` (a verification:
/// `<deployment>-verify-<id>`, a restore: `<deployment>-restore-<id>`),
/// cut to the 63 characters a Job's pods can carry in their `job-name`
/// label.
pub fn job_name(deployment: &str, reason: Reason, id: &str) -> String {
    let kind = match reason {
        Reason::Verify => "verify",
        Reason::Restore => "restore",
        _ => "backup",
    };
    let name = format!("{deployment}-{kind}-{id}");
    if name.len() <= 63 {
        return name;
    }
    let digest = crate::hash::hash_hex(name.as_bytes());
    let keep = 63 - 1 - 8;
    let mut cut = name[..keep].trim_end_matches('-').to_string();
    cut.push('-');
    cut.push_str(&digest[..8]);
    cut
}

/// The Job of `start`, from the rendered template; `pinned` are the
/// backups retention must keep (revisions' pre-rollout backups).
pub fn stamp(template: &Job, deployment: &str, start: &Start, pinned: &[String]) -> Job {
    let mut job = template.clone();
    job.metadata.name = Some(job_name(deployment, start.reason, &start.id));
    let mut labels: BTreeMap<String, String> = [
        (ID_LABEL.to_string(), start.id.clone()),
        (REASON_LABEL.to_string(), start.reason.as_str().to_string()),
    ]
    .into();
    if let Some(revision) = start.revision {
        labels.insert(keys::REVISION.into(), revision.to_string());
    }
    label(&mut job, labels);
    if let Some(action) = &start.action {
        job.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(ACTION_ANNOTATION.into(), action.clone());
    }
    if let Some(spec) = job.spec.as_mut() {
        let pod = &mut spec.template;
        for container in pod.spec.iter_mut().flat_map(|s| s.containers.iter_mut()) {
            let args = container.args.get_or_insert_with(Vec::new);
            args.extend(["--id".to_string(), start.id.clone()]);
            if start.reason == Reason::Verify {
                continue;
            }
            args.extend(["--reason".to_string(), start.reason.as_str().to_string()]);
            if let Some(revision) = start.revision {
                args.extend(["--revision".to_string(), revision.to_string()]);
            }
            if start.expect_shrink {
                args.push("--expect-shrink".into());
            }
            if let Some(required) = &start.requires {
                args.extend(["--requires".to_string(), required.clone()]);
            }
            for id in pinned {
                args.extend(["--pin".to_string(), id.clone()]);
            }
        }
    }
    job
}

/// The Job of restore `start`, from the rendered restore template: the
/// restore's id labels it, the backup and the new database are arguments.
pub fn stamp_restore(template: &Job, deployment: &str, start: &JobStart) -> Job {
    let mut job = template.clone();
    job.metadata.name = Some(job_name(deployment, Reason::Restore, &start.id));
    let labels: BTreeMap<String, String> = [
        (ID_LABEL.to_string(), start.id.clone()),
        (
            REASON_LABEL.to_string(),
            Reason::Restore.as_str().to_string(),
        ),
    ]
    .into();
    label(&mut job, labels);
    if let Some(spec) = job.spec.as_mut() {
        let pod = &mut spec.template;
        for container in pod.spec.iter_mut().flat_map(|s| s.containers.iter_mut()) {
            container.args.get_or_insert_with(Vec::new).extend([
                "--id".to_string(),
                start.backup.clone(),
                "--create-database".to_string(),
                start.database.clone(),
            ]);
        }
    }
    job
}

/// The Job dropping the database a restore replaced, from the rendered
/// restore template (its image, its Secret references, its pod): only
/// the arguments differ.
pub fn stamp_drop(template: &Job, deployment: &str, start: &DropStart) -> Job {
    let mut job = stamp_restore(
        template,
        deployment,
        &JobStart {
            id: start.id.clone(),
            backup: String::new(),
            database: start.database.clone(),
        },
    );
    let pod = job.spec.as_mut().and_then(|s| s.template.spec.as_mut());
    for container in pod.into_iter().flat_map(|s| s.containers.iter_mut()) {
        container.args = Some(vec![
            "drop-database".into(),
            "--database".into(),
            start.database.clone(),
        ]);
    }
    job
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_fit_the_job_name_label() {
        assert_eq!(
            job_name("brigade-sales", Reason::Scheduled, "20261201-040000-r7"),
            "brigade-sales-backup-20261201-040000-r7"
        );
        let long = "a".repeat(40);
        let one = job_name(&long, Reason::PreRollout, "20261201-040000-r12345-pre");
        let other = job_name(&long, Reason::PreRollout, "20261201-040000-r12346-pre");
        assert!(one.len() <= 63 && other.len() <= 63, "{one}");
        assert_ne!(one, other);
        assert!(
            one.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }
}
