//! The calls to AWS for ElastiCache replication groups: the [`ManagedStore`] implementation
//! that carries out what the pure `step` decides.

use super::request::{CacheGroup, CacheRequest, CacheStep, step, tags};
use crate::data::{
    AwsError, DeleteFailure, Owner,
    aws::classify,
    managed::{ManagedStore, StoreStep, store_fields, tagging_calls},
};

/// The ElastiCache calls.
#[derive(Clone, Debug)]
pub struct ElastiCache<'a> {
    pub client: &'a aws_sdk_elasticache::Client,
}

store_fields!(CacheRequest, CacheGroup);

impl ManagedStore for ElastiCache<'_> {
    type Request = CacheRequest;
    type Found = CacheGroup;
    /// The node type to change to.
    type Change = String;
    const CREATE: &'static str = "CreateReplicationGroup";
    const MODIFY: &'static str = "ModifyReplicationGroup";
    const DELETE: &'static str = "DeleteReplicationGroup";
    const LABEL: &'static str = "ElastiCache replication group";

    /// The replication group with its tags.
    async fn describe(&self, identifier: &str) -> Result<Option<CacheGroup>, AwsError> {
        let output = match self
            .client
            .describe_replication_groups()
            .replication_group_id(identifier)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_replication_group_not_found_fault()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(classify("DescribeReplicationGroups", &error)),
        };
        let Some(mut group) = output.replication_groups().first().map(CacheGroup::from) else {
            return Ok(None);
        };
        // ElastiCache leaves tags out of the describe.
        if let Some(arn) = &group.arn {
            let listed = self
                .client
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .map_err(|error| classify("ListTagsForResource", &error))?;
            group.tags = listed
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
        }
        Ok(Some(group))
    }

    fn next(
        request: &CacheRequest,
        owner: &Owner,
        found: Option<&CacheGroup>,
    ) -> StoreStep<String> {
        match step(request, owner, found) {
            CacheStep::Create => StoreStep::Create,
            CacheStep::Adopt => StoreStep::Adopt,
            CacheStep::Modify { node_type } => StoreStep::Modify(node_type),
            CacheStep::Report(state) => StoreStep::Report(state),
        }
    }

    async fn create(
        &self,
        request: &CacheRequest,
        owner: &Owner,
        auth_token: String,
    ) -> Result<(), AwsError> {
        let create = self
            .client
            .create_replication_group()
            .replication_group_id(&request.identifier)
            .replication_group_description(format!("chatbot {}", owner.reference()))
            .engine("redis")
            .set_engine_version(request.engine_version.clone())
            .cache_node_type(&request.node_type)
            .num_cache_clusters(request.replicas + 1)
            .automatic_failover_enabled(request.automatic_failover)
            .multi_az_enabled(request.automatic_failover)
            .transit_encryption_enabled(true)
            .at_rest_encryption_enabled(true)
            .auth_token(auth_token)
            .set_tags(Some(tags(&request.tags)));
        match create.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_replication_group_already_exists_fault()) =>
            {
                Ok(())
            }
            Err(error) => Err(classify("CreateReplicationGroup", &error)),
        }
    }

    fn created(request: &CacheRequest) -> String {
        format!(
            "creating ElastiCache replication group {} ({}, {} replica{})",
            request.identifier,
            request.node_type,
            request.replicas,
            if request.replicas == 1 { "" } else { "s" }
        )
    }

    async fn modify(&self, request: &CacheRequest, node_type: &String) -> Result<(), AwsError> {
        self.client
            .modify_replication_group()
            .replication_group_id(&request.identifier)
            .cache_node_type(node_type)
            .apply_immediately(request.apply_immediately)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify("ModifyReplicationGroup", &error))
    }

    fn modified(request: &CacheRequest, node_type: &String, found: &CacheGroup) -> String {
        format!(
            "modifying ElastiCache replication group {}: nodeType {} → {node_type}",
            request.identifier,
            found.node_type.clone().unwrap_or_default()
        )
    }

    tagging_calls!();

    async fn delete(
        &self,
        identifier: &str,
        final_snapshot: Option<String>,
    ) -> Result<(), DeleteFailure> {
        self.client
            .delete_replication_group()
            .replication_group_id(identifier)
            .retain_primary_cluster(false)
            .set_final_snapshot_identifier(final_snapshot)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| DeleteFailure {
                not_found: error
                    .as_service_error()
                    .is_some_and(|e| e.is_replication_group_not_found_fault()),
                error: classify("DeleteReplicationGroup", &error),
            })
    }
}

impl ElastiCache<'_> {
    /// Sets the replication group's auth token to `token` at once (the
    /// Secret was made anew, or the group adopted). `SET` replaces the
    /// token; clients with the old one are refused from then on.
    pub async fn reset_auth_token(&self, identifier: &str, token: &str) -> Result<(), AwsError> {
        self.client
            .modify_replication_group()
            .replication_group_id(identifier)
            .auth_token(token)
            .auth_token_update_strategy(
                aws_sdk_elasticache::types::AuthTokenUpdateStrategyType::Set,
            )
            .apply_immediately(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify("ModifyReplicationGroup", &error))
    }
}
