//! Redis on AWS ElastiCache: a replication group with in-transit
//! encryption and an auth token. Same shape as `rds`: a request from the
//! spec, one describe, a pure `step`, then at most one mutating call.

use aws_sdk_elasticache::types::{ReplicationGroup, Tag};

use super::{
    AwsError, DeleteFailure, Endpoint, Owner, StoreReport, StoreState, Teardown, TeardownStep,
    after_delete,
    aws::classify,
    identity::{self, Claim},
    rds::rejected_or,
    teardown_step,
};
use crate::api::{ChatbotDeploymentSpec, DeletionPolicy, StoreMode};

/// The replication group the spec asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheRequest {
    pub identifier: String,
    pub engine_version: Option<String>,
    pub node_type: String,
    /// Read replicas besides the primary.
    pub replicas: i32,
    /// Fail over to a replica automatically: production with a replica.
    pub automatic_failover: bool,
    pub apply_immediately: bool,
    pub deletion_policy: DeletionPolicy,
    pub tags: Vec<(String, String)>,
}

impl CacheRequest {
    /// The request of a resolved spec, `None` unless the cache is managed.
    pub fn for_spec(owner: &Owner, spec: &ChatbotDeploymentSpec) -> Option<Self> {
        let cache = spec.cache.as_ref()?;
        if cache.mode != Some(StoreMode::Managed) {
            return None;
        }
        let production = spec.environment == "production";
        let replicas = cache.replicas.unwrap_or(0);
        Some(Self {
            identifier: owner.cache_identifier(),
            engine_version: cache.engine_version.clone(),
            node_type: cache.node_type.clone()?,
            replicas,
            automatic_failover: production && replicas >= 1,
            apply_immediately: !production,
            deletion_policy: cache.deletion_policy.unwrap_or_default(),
            tags: owner.tags(),
        })
    }

    /// Identifier of the final snapshot taken on deletion.
    pub fn final_snapshot_identifier(&self) -> String {
        format!("{}-final", self.identifier)
    }
}

/// What one describe (and its tags) show of the replication group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheGroup {
    pub status: String,
    pub arn: Option<String>,
    pub node_type: Option<String>,
    pub endpoint: Option<Endpoint>,
    pub tags: Vec<(String, String)>,
}

impl From<&ReplicationGroup> for CacheGroup {
    fn from(group: &ReplicationGroup) -> Self {
        Self {
            status: group.status().unwrap_or("unknown").to_ascii_lowercase(),
            arn: group.arn().map(str::to_string),
            node_type: group.cache_node_type().map(str::to_string),
            endpoint: group
                .node_groups()
                .first()
                .and_then(|n| n.primary_endpoint())
                .and_then(|e| {
                    Some(Endpoint {
                        host: e.address()?.to_string(),
                        port: e.port()?,
                    })
                }),
            tags: Vec::new(),
        }
    }
}

/// The next call for the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheStep {
    Create,
    Adopt,
    /// Change the node type.
    Modify {
        node_type: String,
    },
    Report(StoreState),
}

/// Decides the next call from the request and one describe. Pure.
pub fn step(request: &CacheRequest, owner: &Owner, found: Option<&CacheGroup>) -> CacheStep {
    let Some(group) = found else {
        return CacheStep::Create;
    };
    match identity::claim(owner, &group.tags) {
        Err(other) => return CacheStep::Report(StoreState::OwnedElsewhere { owner: other }),
        Ok(Claim::Adopt) => return CacheStep::Adopt,
        Ok(Claim::Owned) => {}
    }
    match (group.status.as_str(), group.endpoint.clone()) {
        ("creating", _) | (_, None) => CacheStep::Report(StoreState::Creating),
        ("available", Some(endpoint)) => {
            if group.node_type.as_deref() != Some(request.node_type.as_str()) {
                CacheStep::Modify {
                    node_type: request.node_type.clone(),
                }
            } else {
                CacheStep::Report(StoreState::Available {
                    endpoint,
                    pending: vec![],
                })
            }
        }
        // Serves while it changes or takes a snapshot.
        ("modifying" | "snapshotting", Some(endpoint)) => {
            CacheStep::Report(StoreState::Available {
                endpoint,
                pending: vec![],
            })
        }
        ("deleting", _) => CacheStep::Report(StoreState::Busy {
            status: "deleting".into(),
        }),
        (status, _) => CacheStep::Report(StoreState::Failed {
            status: status.into(),
        }),
    }
}

fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The ElastiCache calls.
#[derive(Clone, Debug)]
pub struct ElastiCache<'a> {
    pub client: &'a aws_sdk_elasticache::Client,
}

impl ElastiCache<'_> {
    /// The replication group with its tags, `None` when there is none.
    pub async fn describe(&self, identifier: &str) -> Result<Option<CacheGroup>, AwsError> {
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

    /// Looks at the group and makes the one call it needs. `auth_token`
    /// is asked for only when the group is created.
    pub async fn ensure<E: From<AwsError>>(
        &self,
        request: &CacheRequest,
        owner: &Owner,
        auth_token: impl AsyncFnOnce() -> Result<String, E>,
    ) -> Result<StoreReport, E> {
        let found = self.describe(&request.identifier).await?;
        let mut report = StoreReport {
            identifier: request.identifier.clone(),
            state: StoreState::Creating,
            mutations: Vec::new(),
            notes: Vec::new(),
        };
        match step(request, owner, found.as_ref()) {
            CacheStep::Create => {
                let token = auth_token().await?;
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
                    .auth_token(token)
                    .set_tags(Some(tags(&request.tags)));
                match create.send().await {
                    Ok(_) => {}
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|e| e.is_replication_group_already_exists_fault()) => {}
                    Err(error) => {
                        return Ok(rejected_or(
                            classify("CreateReplicationGroup", &error),
                            report,
                        )?);
                    }
                }
                report.mutations.push("CreateReplicationGroup");
                report.notes.push(format!(
                    "creating ElastiCache replication group {} ({}, {} replica{})",
                    request.identifier,
                    request.node_type,
                    request.replicas,
                    if request.replicas == 1 { "" } else { "s" }
                ));
            }
            CacheStep::Adopt => {
                let Some(arn) = found.as_ref().and_then(|g| g.arn.clone()) else {
                    return Ok(report);
                };
                if let Err(error) = self
                    .client
                    .add_tags_to_resource()
                    .resource_name(&arn)
                    .set_tags(Some(tags(&request.tags)))
                    .send()
                    .await
                {
                    return Ok(rejected_or(classify("AddTagsToResource", &error), report)?);
                }
                report.mutations.push("AddTagsToResource");
                report.notes.push(format!(
                    "adopted the existing ElastiCache replication group {} (it had no owner tag)",
                    request.identifier
                ));
                report.state = StoreState::Busy {
                    status: "adopting".into(),
                };
            }
            CacheStep::Modify { node_type } => {
                if let Err(error) = self
                    .client
                    .modify_replication_group()
                    .replication_group_id(&request.identifier)
                    .cache_node_type(&node_type)
                    .apply_immediately(request.apply_immediately)
                    .send()
                    .await
                {
                    return Ok(rejected_or(
                        classify("ModifyReplicationGroup", &error),
                        report,
                    )?);
                }
                report.mutations.push("ModifyReplicationGroup");
                report.notes.push(format!(
                    "modifying ElastiCache replication group {}: nodeType {} → {node_type}",
                    request.identifier,
                    found.and_then(|g| g.node_type).unwrap_or_default()
                ));
                report.state = StoreState::Busy {
                    status: "modifying".into(),
                };
            }
            CacheStep::Report(state) => report.state = state,
        }
        Ok(report)
    }

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

    /// One step of tearing the group down by its deletion policy.
    pub async fn teardown(
        &self,
        request: &CacheRequest,
        owner: &Owner,
    ) -> Result<Teardown, AwsError> {
        let found = self.describe(&request.identifier).await?;
        let step = teardown_step(
            request.deletion_policy,
            request.final_snapshot_identifier(),
            found
                .as_ref()
                .map(|g| (g.status.as_str(), g.tags.as_slice())),
            owner,
        );
        match step {
            TeardownStep::Finished(teardown) => Ok(teardown),
            TeardownStep::RemoveTags => {
                if let Some(arn) = found.as_ref().and_then(|g| g.arn.as_ref()) {
                    self.client
                        .remove_tags_from_resource()
                        .resource_name(arn)
                        .set_tag_keys(Some(Owner::ownership_tag_keys()))
                        .send()
                        .await
                        .map_err(|error| classify("RemoveTagsFromResource", &error))?;
                }
                Ok(Teardown::Retained)
            }
            TeardownStep::Delete { final_snapshot } => {
                let result = self
                    .client
                    .delete_replication_group()
                    .replication_group_id(&request.identifier)
                    .retain_primary_cluster(false)
                    .set_final_snapshot_identifier(final_snapshot.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|error| DeleteFailure {
                        not_found: error
                            .as_service_error()
                            .is_some_and(|e| e.is_replication_group_not_found_fault()),
                        error: classify("DeleteReplicationGroup", &error),
                    });
                after_delete("DeleteReplicationGroup", final_snapshot, result)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            namespace: "shop".into(),
            name: "stocks".into(),
            uid: "uid-1".into(),
        }
    }

    fn request() -> CacheRequest {
        let spec: ChatbotDeploymentSpec = serde_yaml_ng::from_str(
            "environment: production\nimage: x\ncache: {mode: managed, nodeType: cache.t3.micro, replicas: 1}",
        )
        .unwrap();
        CacheRequest::for_spec(&owner(), &spec).unwrap()
    }

    fn available() -> CacheGroup {
        CacheGroup {
            status: "available".into(),
            arn: Some("arn:aws:elasticache:eu-west-1:1:replicationgroup:x".into()),
            node_type: Some("cache.t3.micro".into()),
            endpoint: Some(Endpoint {
                host: "master.x".into(),
                port: 6379,
            }),
            tags: owner().tags(),
        }
    }

    #[test]
    fn production_with_a_replica_fails_over_automatically() {
        let request = request();
        assert!(request.automatic_failover);
        assert!(!request.apply_immediately);
        assert_eq!(request.identifier, "chatbot-shop-stocks");
    }

    #[test]
    fn steps_follow_the_group() {
        assert_eq!(step(&request(), &owner(), None), CacheStep::Create);
        assert!(matches!(
            step(&request(), &owner(), Some(&available())),
            CacheStep::Report(StoreState::Available { .. })
        ));
        let creating = CacheGroup {
            status: "creating".into(),
            endpoint: None,
            ..available()
        };
        assert_eq!(
            step(&request(), &owner(), Some(&creating)),
            CacheStep::Report(StoreState::Creating)
        );
        let mut bigger = request();
        bigger.node_type = "cache.t3.small".into();
        assert_eq!(
            step(&bigger, &owner(), Some(&available())),
            CacheStep::Modify {
                node_type: "cache.t3.small".into()
            }
        );
        let modifying = CacheGroup {
            status: "modifying".into(),
            ..available()
        };
        assert!(matches!(
            step(&bigger, &owner(), Some(&modifying)),
            CacheStep::Report(StoreState::Available { .. })
        ));
        let failed = CacheGroup {
            status: "create-failed".into(),
            ..available()
        };
        assert_eq!(
            step(&request(), &owner(), Some(&failed)),
            CacheStep::Report(StoreState::Failed {
                status: "create-failed".into()
            })
        );
    }
}
