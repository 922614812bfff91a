//! The instance the spec asks for, what one describe shows of it, and the next call (pure).

use aws_sdk_rds::types::DbInstance;

use crate::api::{ChatbotDeploymentSpec, DeletionPolicy, StoreMode};
use crate::data::{
    Endpoint, Owner, StoreState,
    managed::{StoreStep, claimed},
};

/// Master user the instance is created with.
pub const MASTER_USERNAME: &str = "chatbot";
/// Database created with the instance.
pub use crate::names::DATABASE_NAME;
/// Storage when the spec gives none, in GiB (RDS's gp3 minimum is 20).
pub const DEFAULT_STORAGE_GIB: i32 = 20;
/// Days of automated backups when the spec gives none.
pub const DEFAULT_BACKUP_RETENTION_DAYS: i32 = 7;

/// The instance the spec asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseRequest {
    pub identifier: String,
    pub engine_version: Option<String>,
    pub instance_class: String,
    pub storage_gib: i32,
    pub multi_az: bool,
    pub backup_retention_days: i32,
    pub subnet_group: Option<String>,
    pub security_groups: Vec<String>,
    /// Apply modifications now rather than in the maintenance window.
    pub apply_immediately: bool,
    pub deletion_policy: DeletionPolicy,
    pub tags: Vec<(String, String)>,
}

impl DatabaseRequest {
    /// The request of a resolved spec, `None` unless the database is managed.
    /// Production applies changes in the maintenance window unless the spec
    /// says `applyImmediately`; other environments apply them at once.
    pub fn for_spec(owner: &Owner, spec: &ChatbotDeploymentSpec) -> Option<Self> {
        let database = (spec.database.as_ref()).filter(|d| d.mode == Some(StoreMode::Managed))?;
        let production = spec.environment == "production";
        Some(Self {
            identifier: owner.database_identifier(),
            engine_version: database.engine_version.clone(),
            instance_class: database.instance_class.clone()?,
            storage_gib: database.storage_gib.unwrap_or(DEFAULT_STORAGE_GIB),
            multi_az: database.multi_az.unwrap_or(false),
            backup_retention_days: database
                .backup_retention_days
                .or_else(|| automated_retention(spec))
                .unwrap_or(DEFAULT_BACKUP_RETENTION_DAYS),
            subnet_group: database.subnet_group_name.clone(),
            security_groups: database.security_group_ids.clone().unwrap_or_default(),
            apply_immediately: database.apply_immediately.unwrap_or(!production),
            deletion_policy: database.deletion_policy.unwrap_or_default(),
            tags: owner.tags(),
        })
    }
}

/// The days of automated backups `spec.backup` implies: its retention,
/// within RDS's 1–35 days, while backups are enabled.
fn automated_retention(spec: &ChatbotDeploymentSpec) -> Option<i32> {
    let backup = spec.backup.as_ref().filter(|b| b.enabled == Some(true))?;
    backup.retention_days.map(|days| days.clamp(1, 35))
}

/// What one describe shows of the instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseInstance {
    pub status: String,
    pub arn: Option<String>,
    pub instance_class: Option<String>,
    pub storage_gib: Option<i32>,
    pub multi_az: Option<bool>,
    pub backup_retention_days: Option<i32>,
    pub endpoint: Option<Endpoint>,
    /// Values AWS holds for the maintenance window.
    pub pending_class: Option<String>,
    pub pending_storage_gib: Option<i32>,
    pub pending_multi_az: Option<bool>,
    pub pending_backup_retention_days: Option<i32>,
    pub tags: Vec<(String, String)>,
}

impl From<&DbInstance> for DatabaseInstance {
    fn from(instance: &DbInstance) -> Self {
        let pending = instance.pending_modified_values();
        Self {
            status: instance
                .db_instance_status()
                .unwrap_or("unknown")
                .to_string(),
            arn: instance.db_instance_arn().map(str::to_string),
            instance_class: instance.db_instance_class().map(str::to_string),
            storage_gib: instance.allocated_storage(),
            multi_az: instance.multi_az(),
            backup_retention_days: instance.backup_retention_period(),
            endpoint: instance.endpoint().and_then(|e| {
                Some(Endpoint {
                    host: e.address()?.to_string(),
                    port: e.port()?,
                })
            }),
            pending_class: pending.and_then(|p| p.db_instance_class().map(str::to_string)),
            pending_storage_gib: pending.and_then(|p| p.allocated_storage()),
            pending_multi_az: pending.and_then(|p| p.multi_az()),
            pending_backup_retention_days: pending.and_then(|p| p.backup_retention_period()),
            tags: instance
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }
    }
}

/// Changes `ModifyDBInstance` can make in place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseChanges {
    pub instance_class: Option<String>,
    pub storage_gib: Option<i32>,
    pub multi_az: Option<bool>,
    pub backup_retention_days: Option<i32>,
}

impl DatabaseChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `instanceClass db.t3.micro → db.t3.small`, … for Events.
    pub fn describe(&self, instance: &DatabaseInstance) -> Vec<String> {
        let mut changes = Vec::new();
        if let Some(class) = &self.instance_class {
            changes.push(format!(
                "instanceClass {} → {class}",
                instance.instance_class.as_deref().unwrap_or("?")
            ));
        }
        if let Some(storage) = self.storage_gib {
            changes.push(format!(
                "storageGiB {} → {storage}",
                instance.storage_gib.unwrap_or_default()
            ));
        }
        if let Some(multi_az) = self.multi_az {
            changes.push(format!("multiAZ → {multi_az}"));
        }
        if let Some(days) = self.backup_retention_days {
            changes.push(format!(
                "backupRetentionDays {} → {days}",
                instance.backup_retention_days.unwrap_or_default()
            ));
        }
        changes
    }
}

/// The next call for the database.
pub type DatabaseStep = StoreStep<DatabaseChanges>;

/// Statuses in which the instance serves connections.
pub(crate) const SERVING: [&str; 7] = [
    "available",
    "backing-up",
    "modifying",
    "storage-optimization",
    "configuring-enhanced-monitoring",
    "configuring-log-exports",
    "maintenance",
];

/// Statuses that pass on their own: look again soon.
pub(crate) const PASSING: [&str; 8] = [
    "creating",
    "starting",
    "rebooting",
    "upgrading",
    "renaming",
    "resetting-master-credentials",
    "deleting",
    "configuring-iam-database-auth",
];

/// Decides the next call from the request and one describe (`None`: no
/// such instance). Pure.
pub fn step(
    request: &DatabaseRequest,
    owner: &Owner,
    found: Option<&DatabaseInstance>,
) -> DatabaseStep {
    let instance = match claimed(owner, found) {
        Ok(instance) => instance,
        Err(step) => return step,
    };
    let status = instance.status.as_str();
    if status == "creating" || instance.endpoint.is_none() && PASSING.contains(&status) {
        return DatabaseStep::Report(StoreState::Creating);
    }
    if PASSING.contains(&status) {
        return DatabaseStep::Report(StoreState::Busy {
            status: status.into(),
        });
    }
    if !SERVING.contains(&status) {
        return DatabaseStep::Report(StoreState::Failed {
            status: status.into(),
        });
    }
    let Some(endpoint) = instance.endpoint.clone() else {
        return DatabaseStep::Report(StoreState::Creating);
    };
    let current_storage = instance
        .pending_storage_gib
        .or(instance.storage_gib)
        .unwrap_or_default();
    if request.storage_gib < current_storage {
        return DatabaseStep::Report(StoreState::Rejected {
            message: format!(
                "spec.database.storageGiB: {} is less than the instance's {current_storage} GiB; RDS cannot shrink storage",
                request.storage_gib
            ),
        });
    }
    let differs = |wanted: &str, pending: &Option<String>, current: &Option<String>| {
        pending.as_deref().or(current.as_deref()) != Some(wanted)
    };
    let changes = DatabaseChanges {
        instance_class: differs(
            &request.instance_class,
            &instance.pending_class,
            &instance.instance_class,
        )
        .then(|| request.instance_class.clone()),
        storage_gib: (request.storage_gib > current_storage).then_some(request.storage_gib),
        multi_az: (instance.pending_multi_az.or(instance.multi_az) != Some(request.multi_az))
            .then_some(request.multi_az),
        backup_retention_days: (instance
            .pending_backup_retention_days
            .or(instance.backup_retention_days)
            != Some(request.backup_retention_days))
        .then_some(request.backup_retention_days),
    };
    if !changes.is_empty() && status == "available" {
        return DatabaseStep::Modify(changes);
    }
    let mut pending = Vec::new();
    if let Some(class) = &instance.pending_class {
        pending.push(format!("instanceClass {class}"));
    }
    if let Some(storage) = instance.pending_storage_gib {
        pending.push(format!("storageGiB {storage}"));
    }
    if let Some(multi_az) = instance.pending_multi_az {
        pending.push(format!("multiAZ {multi_az}"));
    }
    if let Some(days) = instance.pending_backup_retention_days {
        pending.push(format!("backupRetentionDays {days}"));
    }
    DatabaseStep::Report(StoreState::Available { endpoint, pending })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner::example("mindmitra", "mindmitra")
    }

    fn request() -> DatabaseRequest {
        DatabaseRequest {
            identifier: owner().database_identifier(),
            engine_version: Some("16.4".into()),
            instance_class: "db.t3.micro".into(),
            storage_gib: 20,
            multi_az: true,
            backup_retention_days: 30,
            subnet_group: None,
            security_groups: vec![],
            apply_immediately: false,
            deletion_policy: DeletionPolicy::Snapshot,
            tags: owner().tags(),
        }
    }

    fn available() -> DatabaseInstance {
        DatabaseInstance {
            status: "available".into(),
            arn: Some("arn:aws:rds:eu-west-1:123456789012:db:chatbot-mindmitra-mindmitra".into()),
            instance_class: Some("db.t3.micro".into()),
            storage_gib: Some(20),
            multi_az: Some(true),
            backup_retention_days: Some(30),
            endpoint: Some(Endpoint {
                host: "db.example".into(),
                port: 5432,
            }),
            tags: owner().tags(),
            ..Default::default()
        }
    }

    #[test]
    fn automated_backups_are_kept_as_long_as_the_backups_unless_told() {
        use crate::api::{Backup, Database};
        let spec = |enabled: bool, retention: i32, told: Option<i32>| ChatbotDeploymentSpec {
            database: Some(Database {
                mode: Some(StoreMode::Managed),
                instance_class: Some("db.t3.micro".into()),
                backup_retention_days: told,
                ..Default::default()
            }),
            backup: Some(Backup {
                enabled: Some(enabled),
                retention_days: Some(retention),
                ..Default::default()
            }),
            ..Default::default()
        };
        let days = |spec: ChatbotDeploymentSpec| {
            DatabaseRequest::for_spec(&owner(), &spec)
                .unwrap()
                .backup_retention_days
        };
        assert_eq!(days(spec(true, 14, None)), 14);
        assert_eq!(days(spec(true, 90, None)), 35, "RDS keeps at most 35");
        assert_eq!(days(spec(false, 14, None)), DEFAULT_BACKUP_RETENTION_DAYS);
        assert_eq!(days(spec(true, 14, Some(3))), 3, "the database's own wins");
    }

    #[test]
    fn no_instance_means_create() {
        assert_eq!(step(&request(), &owner(), None), DatabaseStep::Create);
    }

    #[test]
    fn an_instance_matching_the_spec_is_reported_available_with_no_call() {
        assert_eq!(
            step(&request(), &owner(), Some(&available())),
            DatabaseStep::Report(StoreState::Available {
                endpoint: Endpoint {
                    host: "db.example".into(),
                    port: 5432
                },
                pending: vec![]
            })
        );
    }

    #[test]
    fn creating_waits_without_a_call() {
        let creating = DatabaseInstance {
            status: "creating".into(),
            endpoint: None,
            ..available()
        };
        assert_eq!(
            step(&request(), &owner(), Some(&creating)),
            DatabaseStep::Report(StoreState::Creating)
        );
    }

    #[test]
    fn a_larger_class_is_modified_once_and_then_waits_for_the_window() {
        let mut wanted = request();
        wanted.instance_class = "db.t3.small".into();
        assert_eq!(
            step(&wanted, &owner(), Some(&available())),
            DatabaseStep::Modify(DatabaseChanges {
                instance_class: Some("db.t3.small".into()),
                ..Default::default()
            })
        );
        let pending = DatabaseInstance {
            pending_class: Some("db.t3.small".into()),
            ..available()
        };
        let DatabaseStep::Report(StoreState::Available { pending, .. }) =
            step(&wanted, &owner(), Some(&pending))
        else {
            panic!("a pending change is not asked for again");
        };
        assert_eq!(pending, ["instanceClass db.t3.small"]);
    }

    #[test]
    fn storage_never_shrinks() {
        let mut wanted = request();
        wanted.storage_gib = 10;
        let DatabaseStep::Report(StoreState::Rejected { message }) =
            step(&wanted, &owner(), Some(&available()))
        else {
            panic!("shrinking is refused");
        };
        assert!(
            message.starts_with("spec.database.storageGiB: 10"),
            "{message}"
        );
    }

    #[test]
    fn a_modification_waits_while_the_instance_is_busy() {
        let mut wanted = request();
        wanted.backup_retention_days = 7;
        let backing_up = DatabaseInstance {
            status: "backing-up".into(),
            ..available()
        };
        assert!(matches!(
            step(&wanted, &owner(), Some(&backing_up)),
            DatabaseStep::Report(StoreState::Available { .. })
        ));
    }

    #[test]
    fn failed_states_are_reported_as_failed() {
        for status in [
            "failed",
            "storage-full",
            "incompatible-parameters",
            "stopped",
        ] {
            let broken = DatabaseInstance {
                status: status.into(),
                ..available()
            };
            assert_eq!(
                step(&request(), &owner(), Some(&broken)),
                DatabaseStep::Report(StoreState::Failed {
                    status: status.into()
                }),
                "{status}"
            );
        }
    }

    #[test]
    fn an_instance_of_another_resource_is_never_touched() {
        let theirs = DatabaseInstance {
            tags: vec![(crate::data::identity::tags::UID.into(), "uid-2".into())],
            ..available()
        };
        assert!(matches!(
            step(&request(), &owner(), Some(&theirs)),
            DatabaseStep::Report(StoreState::OwnedElsewhere { .. })
        ));
        let untagged = DatabaseInstance {
            tags: vec![],
            ..available()
        };
        assert_eq!(
            step(&request(), &owner(), Some(&untagged)),
            DatabaseStep::Adopt
        );
    }

    #[test]
    fn production_applies_changes_in_the_maintenance_window_unless_told() {
        let mut spec: ChatbotDeploymentSpec = serde_yaml_ng::from_str(
            "environment: production\nimage: x\ndatabase: {mode: managed, instanceClass: db.t3.micro}",
        )
        .unwrap();
        let production = DatabaseRequest::for_spec(&owner(), &spec).unwrap();
        assert!(!production.apply_immediately);
        spec.environment = "staging".into();
        assert!(
            DatabaseRequest::for_spec(&owner(), &spec)
                .unwrap()
                .apply_immediately
        );
        spec.database.as_mut().unwrap().mode = Some(StoreMode::InCluster);
        assert_eq!(DatabaseRequest::for_spec(&owner(), &spec), None);
    }
}
