//! The calls to AWS for RDS instances: the [`ManagedStore`] implementation
//! that carries out what the pure `step` decides.

use super::request::{
    DATABASE_NAME, DatabaseChanges, DatabaseInstance, DatabaseRequest, DatabaseStep,
    MASTER_USERNAME, step, tags,
};
use crate::data::{
    AwsError, DeleteFailure, Owner,
    aws::classify,
    managed::{ManagedStore, StoreStep, store_fields, tagging_calls},
};

/// The RDS calls.
#[derive(Clone, Debug)]
pub struct Rds<'a> {
    pub client: &'a aws_sdk_rds::Client,
}

store_fields!(DatabaseRequest, DatabaseInstance);

impl ManagedStore for Rds<'_> {
    type Request = DatabaseRequest;
    type Found = DatabaseInstance;
    type Change = DatabaseChanges;
    const CREATE: &'static str = "CreateDBInstance";
    const MODIFY: &'static str = "ModifyDBInstance";
    const DELETE: &'static str = "DeleteDBInstance";
    const LABEL: &'static str = "RDS instance";

    async fn describe(&self, identifier: &str) -> Result<Option<DatabaseInstance>, AwsError> {
        match self
            .client
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send()
            .await
        {
            Ok(output) => Ok(output.db_instances().first().map(DatabaseInstance::from)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault()) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify("DescribeDBInstances", &error)),
        }
    }

    fn next(
        request: &DatabaseRequest,
        owner: &Owner,
        found: Option<&DatabaseInstance>,
    ) -> StoreStep<DatabaseChanges> {
        match step(request, owner, found) {
            DatabaseStep::Create => StoreStep::Create,
            DatabaseStep::Adopt => StoreStep::Adopt,
            DatabaseStep::Modify(changes) => StoreStep::Modify(changes),
            DatabaseStep::Report(state) => StoreStep::Report(state),
        }
    }

    async fn create(
        &self,
        request: &DatabaseRequest,
        _owner: &Owner,
        password: String,
    ) -> Result<(), AwsError> {
        let mut create = self
            .client
            .create_db_instance()
            .db_instance_identifier(&request.identifier)
            .engine("postgres")
            .db_instance_class(&request.instance_class)
            .allocated_storage(request.storage_gib)
            .storage_type("gp3")
            .storage_encrypted(true)
            .multi_az(request.multi_az)
            .backup_retention_period(request.backup_retention_days)
            .master_username(MASTER_USERNAME)
            .master_user_password(password)
            .db_name(DATABASE_NAME)
            .publicly_accessible(false)
            .copy_tags_to_snapshot(true)
            .deletion_protection(false)
            .set_engine_version(request.engine_version.clone())
            .set_db_subnet_group_name(request.subnet_group.clone())
            .set_tags(Some(tags(&request.tags)));
        for group in &request.security_groups {
            create = create.vpc_security_group_ids(group);
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_db_instance_already_exists_fault()) =>
            {
                Ok(())
            }
            Err(error) => Err(classify("CreateDBInstance", &error)),
        }
    }

    fn created(request: &DatabaseRequest) -> String {
        format!(
            "creating RDS instance {} ({}, {} GiB{})",
            request.identifier,
            request.instance_class,
            request.storage_gib,
            if request.multi_az { ", multi-AZ" } else { "" }
        )
    }

    async fn modify(
        &self,
        request: &DatabaseRequest,
        changes: &DatabaseChanges,
    ) -> Result<(), AwsError> {
        self.client
            .modify_db_instance()
            .db_instance_identifier(&request.identifier)
            .set_db_instance_class(changes.instance_class.clone())
            .set_allocated_storage(changes.storage_gib)
            .set_multi_az(changes.multi_az)
            .set_backup_retention_period(changes.backup_retention_days)
            .apply_immediately(request.apply_immediately)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify("ModifyDBInstance", &error))
    }

    fn modified(
        request: &DatabaseRequest,
        changes: &DatabaseChanges,
        found: &DatabaseInstance,
    ) -> String {
        format!(
            "modifying RDS instance {}: {}{}",
            request.identifier,
            changes.describe(found).join(", "),
            if request.apply_immediately {
                ""
            } else {
                " (in the next maintenance window)"
            }
        )
    }

    tagging_calls!();

    async fn delete(
        &self,
        identifier: &str,
        final_snapshot: Option<String>,
    ) -> Result<(), DeleteFailure> {
        self.client
            .delete_db_instance()
            .db_instance_identifier(identifier)
            .skip_final_snapshot(final_snapshot.is_none())
            .delete_automated_backups(final_snapshot.is_none())
            .set_final_db_snapshot_identifier(final_snapshot)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| DeleteFailure {
                not_found: error
                    .as_service_error()
                    .is_some_and(|e| e.is_db_instance_not_found_fault()),
                error: classify("DeleteDBInstance", &error),
            })
    }
}

impl Rds<'_> {
    /// Sets a new master password at once (a lost connection Secret, an
    /// adopted instance).
    pub async fn reset_password(&self, identifier: &str, password: &str) -> Result<(), AwsError> {
        self.client
            .modify_db_instance()
            .db_instance_identifier(identifier)
            .master_user_password(password)
            .apply_immediately(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify("ModifyDBInstance", &error))
    }
}
