//! The backup Job template: what every backup of the app database runs
//! (the `backup-agent` image, where the dump goes, which Secret holds the
//! database's direct URL), rendered offline like every other child. The
//! operator stamps a copy per backup with its id, revision and reason
//! (see [`crate::backup::jobs`]); the template itself is never applied.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use serde::Serialize;

use super::{env::secret_env, error::RenderError};
use crate::api::{Backup, BackupDestination, ChatbotDeploymentSpec, StoreMode};
use crate::names;

/// Longest one backup runs when the spec does not say.
pub const TIMEOUT_SECONDS: i32 = 2 * 3600;

/// The agent image of this release.
pub fn default_agent_image() -> String {
    format!(
        "ghcr.io/chatbot-operator/chatbot-operator-backup-agent:{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Where the dump is read from and written to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackupContext {
    pub image: String,
    /// The user and group the agent runs as ([`AGENT_UID`]).
    pub uid: i64,
    /// `dump …` arguments common to every backup of this resource.
    pub args: Vec<String>,
    /// The direct database URL and, for S3 with a Secret, its keys.
    pub env: Vec<EnvVar>,
    /// `verify …` arguments, when backups are restore-tested.
    pub verify_args: Option<Vec<String>>,
    /// S3 keys only: a verification never reaches the app's database.
    pub verify_env: Vec<EnvVar>,
    /// Size of the throwaway database's volume: the app database's storage.
    pub scratch_gib: i32,
    /// The claim mounted at [`VOLUME_PATH`] for a PVC destination.
    pub claim: Option<String>,
    pub timeout_seconds: i32,
    pub labels: BTreeMap<String, String>,
    pub verify_labels: BTreeMap<String, String>,
    /// `restore …` arguments (location only), when the operator writes the
    /// database's connection Secret and so can switch it to a restored
    /// database; an external database's URL is its owner's.
    pub restore_args: Option<Vec<String>>,
    pub restore_labels: BTreeMap<String, String>,
}

/// The backup agent image's own account (`agent`, see the Dockerfile): a
/// high id no host account shares, which a verify Job's `initdb` can look
/// up in the image's /etc/passwd.
pub const AGENT_UID: i64 = 10001;
/// Where a PVC destination is mounted in the backup pod.
pub const VOLUME_PATH: &str = "/backups";
/// Where a verify Job's throwaway database lives.
pub const SCRATCH_PATH: &str = "/scratch";
/// Scratch size when the spec gives no database storage.
const SCRATCH_GIB: i32 = 20;

/// The backup context of `spec`: `None` when scheduled, pre-rollout and
/// on-demand backups are all impossible (backups off, no database, or no
/// destination; status says which).
pub fn context(
    name: &str,
    namespace: Option<&str>,
    spec: &ChatbotDeploymentSpec,
    names: &names::ChildNames,
) -> Result<Option<BackupContext>, RenderError> {
    let Some(backup) = spec.backup.as_ref() else {
        return Ok(None);
    };
    check_schedule(backup)?;
    let Some(source) = source_url(spec, names) else {
        return Ok(None);
    };
    let Some(destination) = backup.destination.as_ref() else {
        return Ok(None);
    };
    let (location, credentials, claim) = location(destination, namespace, name);
    let mut args = vec!["dump".to_string()];
    args.extend(location.iter().cloned());
    let mut env = vec![source];
    env.extend(credentials);
    if let Some(keep) = backup.keep {
        args.extend(["--keep-last".into(), keep.to_string()]);
    }
    if let Some(days) = backup.retention_days {
        args.extend(["--max-age-days".into(), days.to_string()]);
    }
    let labels = names::store_selector_labels(name, "backup");
    let verify_labels = names::store_selector_labels(name, "verify");
    let verify_args = backup.verify.unwrap_or(false).then(|| {
        let mut verify = vec!["verify".to_string()];
        verify.extend(location.iter().cloned());
        verify.extend(["--scratch".to_string(), SCRATCH_PATH.to_string()]);
        verify
    });
    let verify_env = env[1..].to_vec();
    let switchable = spec
        .database
        .as_ref()
        .and_then(|d| d.mode)
        .is_some_and(|m| matches!(m, StoreMode::Managed | StoreMode::InCluster));
    let restore_args = switchable.then(|| {
        let mut restore = vec!["restore".to_string()];
        restore.extend(location.iter().cloned());
        restore
    });
    Ok(Some(BackupContext {
        uid: AGENT_UID,
        image: backup
            .agent_image
            .clone()
            .unwrap_or_else(default_agent_image),
        args,
        env,
        claim,
        timeout_seconds: backup.timeout_seconds.unwrap_or(TIMEOUT_SECONDS),
        labels,
        verify_args,
        verify_env,
        verify_labels,
        restore_args,
        restore_labels: names::store_selector_labels(name, "restore"),
        scratch_gib: spec
            .database
            .as_ref()
            .and_then(|d| d.storage_gib)
            .unwrap_or(SCRATCH_GIB),
    }))
}

/// The spec's schedule parses, or the render fails naming the field.
fn check_schedule(backup: &Backup) -> Result<(), RenderError> {
    if let Some(schedule) = &backup.schedule {
        crate::backup::Schedule::parse(schedule, backup.time_zone.as_deref()).map_err(|error| {
            let text = error.to_string();
            let prefix = format!("{}: ", error.field());
            RenderError::Spec {
                path: error.field().into(),
                message: text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
            }
        })?;
    }
    Ok(())
}

/// Where the dumps are: the agent's arguments naming the store and the
/// resource, the S3 keys' env when a Secret holds them, the volume claim.
fn location(
    destination: &BackupDestination,
    namespace: Option<&str>,
    name: &str,
) -> (Vec<String>, Vec<EnvVar>, Option<String>) {
    let mut args = Vec::new();
    let mut env = Vec::new();
    let mut claim = None;
    if let Some(s3) = &destination.s3 {
        args.extend(["--s3-bucket".into(), s3.bucket.clone()]);
        if let Some(region) = &s3.region {
            args.extend(["--s3-region".into(), region.clone()]);
        }
        if let Some(secret) = &s3.credentials_secret {
            for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                env.push(secret_env(key, secret, key));
            }
        }
    } else if let Some(pvc) = &destination.pvc {
        args.extend(["--directory".into(), VOLUME_PATH.into()]);
        claim = Some(pvc.claim_name.clone());
    }
    let prefix = destination
        .s3
        .as_ref()
        .and_then(|s3| s3.prefix.as_deref())
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty());
    if let Some(prefix) = prefix {
        args.extend(["--prefix".into(), prefix.into()]);
    }
    args.extend([
        "--namespace".into(),
        namespace.unwrap_or("default").into(),
        "--deployment".into(),
        name.into(),
    ]);
    (args, env, claim)
}

/// `DIRECT_DATABASE_URL` for the agent: Postgres itself, never the pooler
/// (a dump holds one long transaction).
fn source_url(spec: &ChatbotDeploymentSpec, names: &names::ChildNames) -> Option<EnvVar> {
    let database = spec.database.as_ref()?;
    let direct = crate::data::connection::DIRECT_URL_KEY;
    match database.mode? {
        StoreMode::Managed | StoreMode::InCluster => {
            Some(secret_env(direct, &names.database_secret, direct))
        }
        StoreMode::External => database
            .url_secret_ref
            .as_ref()
            .map(|r| secret_env(direct, &r.name, &r.key)),
        StoreMode::None => None,
    }
}
