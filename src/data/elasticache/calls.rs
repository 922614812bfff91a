//! The calls to AWS for ElastiCache replication groups: the [`ManagedStore`] implementation
//! that carries out what the pure `step` decides.

use aws_sdk_elasticache::{
    operation::describe_replication_groups::DescribeReplicationGroupsError,
    types::{AuthTokenUpdateStrategyType, Tag},
};

use super::request::{CacheGroup, CacheRequest, step};
use crate::data::{
    AwsError, DeleteFailure, Owner,
    aws::{classify, done, unless},
    managed::{ManagedStore, StoreKind, delete_answer, sdk_tags, store_kind, tagging_calls},
};

store_kind! {
    /// The ElastiCache calls; a change is the node type to change to.
    ElastiCache(aws_sdk_elasticache::Client) CacheRequest, CacheGroup, String,
    ["CreateReplicationGroup", "ModifyReplicationGroup", "DeleteReplicationGroup"],
    "ElastiCache replication group", step
}

impl ManagedStore for ElastiCache<'_> {
    /// The replication group with its tags.
    async fn describe(&self, identifier: &str) -> Result<Option<CacheGroup>, AwsError> {
        let sent = self
            .client
            .describe_replication_groups()
            .replication_group_id(identifier);
        let output = unless("DescribeReplicationGroups", sent.send().await, not_found)?;
        let first = output.and_then(|o| o.replication_groups().first().map(CacheGroup::from));
        let Some(mut group) = first else {
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
            .set_tags(Some(sdk_tags!(Tag, &request.tags)));
        // One that exists was made by a call whose answer was lost.
        unless("CreateReplicationGroup", create.send().await, |e| {
            e.is_replication_group_already_exists_fault()
        })
        .map(|_| ())
    }

    /// `SET` replaces the token (`ROTATE` would keep the old one working).
    async fn reset_secret(&self, id: &str, token: &str) -> Result<(), AwsError> {
        let call = self
            .client
            .modify_replication_group()
            .replication_group_id(id);
        let call = call
            .auth_token(token)
            .auth_token_update_strategy(AuthTokenUpdateStrategyType::Set);
        done(Self::MODIFY, call.apply_immediately(true).send().await)
    }

    fn shape(request: &CacheRequest) -> String {
        let plural = if request.replicas == 1 { "" } else { "s" };
        format!(
            "{}, {} replica{plural}",
            request.node_type, request.replicas
        )
    }

    async fn modify(&self, request: &CacheRequest, node_type: &String) -> Result<(), AwsError> {
        let call = self.client.modify_replication_group();
        let call = call.replication_group_id(&request.identifier);
        let result = call
            .cache_node_type(node_type)
            .apply_immediately(request.apply_immediately)
            .send()
            .await;
        done("ModifyReplicationGroup", result)
    }

    fn modified(request: &CacheRequest, node_type: &String, found: &CacheGroup) -> String {
        format!(
            "modifying ElastiCache replication group {}: nodeType {} → {node_type}",
            request.identifier,
            found.node_type.clone().unwrap_or_default()
        )
    }

    tagging_calls!(Tag);

    async fn delete(&self, id: &str, snapshot: Option<String>) -> Result<(), DeleteFailure> {
        let call = self
            .client
            .delete_replication_group()
            .replication_group_id(id);
        let call = call.retain_primary_cluster(false);
        let sent = call.set_final_snapshot_identifier(snapshot).send();
        delete_answer(Self::DELETE, sent.await, |e| {
            e.is_replication_group_not_found_fault()
        })
    }
}

/// A describe's answer that there is no such group.
fn not_found(error: &DescribeReplicationGroupsError) -> bool {
    error.is_replication_group_not_found_fault()
}
