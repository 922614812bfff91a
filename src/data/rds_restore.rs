//! An RDS snapshot made into a new instance (`RestoreDBInstanceFromDBSnapshot`),
//! shaped like the one the spec asks for and tagged for the resource and
//! the restore, so a lost response or a restart finds it instead of making
//! another; and what a describe of such an instance means to a restore.

use aws_sdk_rds::types::Tag;

use super::{
    AwsError, Owner,
    aws::unless,
    identity::{self, Claim, tags},
    managed::sdk_tags,
    rds::{DatabaseInstance, DatabaseRequest, PASSING, Rds, SERVING},
};
use crate::backup::restore::instance::{InstanceRestore, InstanceState};

/// What one describe (`None`: no such instance) means to a restore. Pure.
pub fn state_of(owner: &Owner, found: Option<&DatabaseInstance>) -> InstanceState {
    let Some(instance) = found else {
        return InstanceState::Missing;
    };
    match identity::claim(owner, &instance.tags) {
        Err(other) => return InstanceState::Foreign(other),
        Ok(Claim::Adopt) => return InstanceState::Foreign("untagged".into()),
        Ok(Claim::Owned) => {}
    }
    let status = instance.status.as_str();
    // A failed restore may have no endpoint: it is failed, not busy.
    let serving = SERVING.contains(&status);
    if PASSING.contains(&status) || serving && instance.endpoint.is_none() {
        return InstanceState::Busy(status.into());
    }
    if serving {
        let restored_from = instance
            .tags
            .iter()
            .find(|(k, _)| k == tags::RESTORED_FROM)
            .map(|(_, v)| v.clone());
        return InstanceState::Available { restored_from };
    }
    InstanceState::Failed(status.into())
}

impl Rds<'_> {
    /// Makes `restore.identifier` from `restore.snapshot`, shaped as
    /// `request` asks (class, multi-AZ, network, retention). An instance
    /// already there under that identifier (a lost response, a restart)
    /// is taken as made: the next describe judges it.
    pub async fn restore_snapshot(
        &self,
        request: &DatabaseRequest,
        restore: &InstanceRestore,
    ) -> Result<(), AwsError> {
        let mut pairs = request.tags.clone();
        pairs.push((tags::RESTORED_FROM.into(), restore.snapshot.clone()));
        pairs.push((tags::RESTORE.into(), restore.id.clone()));
        let mut call = self
            .client
            .restore_db_instance_from_db_snapshot()
            .db_instance_identifier(&restore.identifier)
            .db_snapshot_identifier(&restore.snapshot)
            .db_instance_class(&request.instance_class)
            .multi_az(request.multi_az)
            .storage_type("gp3")
            .backup_retention_period(request.backup_retention_days)
            .publicly_accessible(false)
            .copy_tags_to_snapshot(true)
            .deletion_protection(false)
            .set_db_subnet_group_name(request.subnet_group.clone())
            .set_tags(Some(sdk_tags!(Tag, &pairs)));
        for group in &request.security_groups {
            call = call.vpc_security_group_ids(group);
        }
        unless("RestoreDBInstanceFromDBSnapshot", call.send().await, |e| {
            e.is_db_instance_already_exists_fault()
        })
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Endpoint;

    fn owner() -> Owner {
        Owner::example("support", "claude-saas")
    }

    fn instance(status: &str, extra: &[(&str, &str)]) -> DatabaseInstance {
        let mut tags = owner().tags();
        tags.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        DatabaseInstance {
            status: status.into(),
            endpoint: Some(Endpoint {
                host: "db.example".into(),
                port: 5432,
            }),
            tags,
            ..Default::default()
        }
    }

    #[test]
    fn a_described_instance_reads_as_a_restore_needs() {
        let owner = owner();
        assert_eq!(state_of(&owner, None), InstanceState::Missing);
        assert_eq!(
            state_of(&owner, Some(&instance("creating", &[]))),
            InstanceState::Busy("creating".into())
        );
        assert_eq!(
            state_of(
                &owner,
                Some(&instance("available", &[(tags::RESTORED_FROM, "snap-1")]))
            ),
            InstanceState::Available {
                restored_from: Some("snap-1".into())
            }
        );
        assert_eq!(
            state_of(&owner, Some(&instance("incompatible-restore", &[]))),
            InstanceState::Failed("incompatible-restore".into())
        );
        let without_endpoint = DatabaseInstance {
            endpoint: None,
            ..instance("incompatible-restore", &[])
        };
        assert_eq!(
            state_of(&owner, Some(&without_endpoint)),
            InstanceState::Failed("incompatible-restore".into())
        );
        assert_eq!(
            state_of(
                &owner,
                Some(&DatabaseInstance {
                    endpoint: None,
                    ..instance("available", &[])
                })
            ),
            InstanceState::Busy("available".into()),
            "serving, but no endpoint yet"
        );
        let untagged = DatabaseInstance {
            status: "available".into(),
            ..Default::default()
        };
        assert_eq!(
            state_of(&owner, Some(&untagged)),
            InstanceState::Foreign("untagged".into())
        );
    }
}
