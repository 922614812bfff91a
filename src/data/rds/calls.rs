//! The calls to AWS for RDS instances: the [`ManagedStore`] implementation
//! that carries out what the pure `step` decides.

use aws_sdk_rds::{operation::describe_db_instances::DescribeDBInstancesError, types::Tag};

use super::request::{
    DATABASE_NAME, DatabaseChanges, DatabaseInstance, DatabaseRequest, MASTER_USERNAME, step,
};
use crate::data::{
    AwsError, DeleteFailure, Owner,
    aws::{done, unless},
    managed::{ManagedStore, StoreKind, delete_answer, sdk_tags, store_kind, tagging_calls},
};

store_kind! {
    /// The RDS calls.
    Rds(aws_sdk_rds::Client) DatabaseRequest, DatabaseInstance, DatabaseChanges,
    ["CreateDBInstance", "ModifyDBInstance", "DeleteDBInstance"], "RDS instance", step
}

impl ManagedStore for Rds<'_> {
    async fn describe(&self, identifier: &str) -> Result<Option<DatabaseInstance>, AwsError> {
        let sent = self
            .client
            .describe_db_instances()
            .db_instance_identifier(identifier)
            .send();
        let gone = |e: &DescribeDBInstancesError| e.is_db_instance_not_found_fault();
        let output = unless("DescribeDBInstances", sent.await, gone)?;
        Ok(output.and_then(|o| o.db_instances().first().map(DatabaseInstance::from)))
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
            .set_tags(Some(sdk_tags!(Tag, &request.tags)));
        for group in &request.security_groups {
            create = create.vpc_security_group_ids(group);
        }
        // One that exists was made by a call whose answer was lost.
        unless("CreateDBInstance", create.send().await, |e| {
            e.is_db_instance_already_exists_fault()
        })
        .map(|_| ())
    }

    async fn reset_secret(&self, id: &str, password: &str) -> Result<(), AwsError> {
        let call = self.client.modify_db_instance().db_instance_identifier(id);
        let sent = call
            .master_user_password(password)
            .apply_immediately(true)
            .send();
        done(Self::MODIFY, sent.await)
    }

    fn shape(request: &DatabaseRequest) -> String {
        let multi_az = if request.multi_az { ", multi-AZ" } else { "" };
        let class = &request.instance_class;
        format!("{class}, {} GiB{multi_az}", request.storage_gib)
    }

    async fn modify(
        &self,
        request: &DatabaseRequest,
        changes: &DatabaseChanges,
    ) -> Result<(), AwsError> {
        let call = self
            .client
            .modify_db_instance()
            .db_instance_identifier(&request.identifier)
            .set_db_instance_class(changes.instance_class.clone())
            .set_allocated_storage(changes.storage_gib)
            .set_multi_az(changes.multi_az)
            .set_backup_retention_period(changes.backup_retention_days)
            .apply_immediately(request.apply_immediately);
        done("ModifyDBInstance", call.send().await)
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

    tagging_calls!(Tag);

    async fn delete(&self, id: &str, snapshot: Option<String>) -> Result<(), DeleteFailure> {
        // Without a final snapshot the automated backups go too.
        let skip = snapshot.is_none();
        let call = self.client.delete_db_instance().db_instance_identifier(id);
        let call = call
            .skip_final_snapshot(skip)
            .delete_automated_backups(skip);
        let sent = call.set_final_db_snapshot_identifier(snapshot).send();
        delete_answer(Self::DELETE, sent.await, |e| {
            e.is_db_instance_not_found_fault()
        })
    }
}
