//! The replication group the spec asks for, what one describe shows of it, and the next call (pure).

use aws_sdk_elasticache::types::ReplicationGroup;

use crate::api::{ChatbotDeploymentSpec, DeletionPolicy, StoreMode};
use crate::data::{
    Endpoint, Owner, StoreState,
    managed::{StoreStep, claimed},
};

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
        let cache = (spec.cache.as_ref()).filter(|c| c.mode == Some(StoreMode::Managed))?;
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

/// The next call for the cache: a modification changes the node type.
pub type CacheStep = StoreStep<String>;

/// Decides the next call from the request and one describe. Pure.
pub fn step(request: &CacheRequest, owner: &Owner, found: Option<&CacheGroup>) -> CacheStep {
    let group = match claimed(owner, found) {
        Ok(group) => group,
        Err(step) => return step,
    };
    match (group.status.as_str(), group.endpoint.clone()) {
        ("creating", _) | (_, None) => CacheStep::Report(StoreState::Creating),
        ("available", Some(endpoint)) => {
            if group.node_type.as_deref() != Some(request.node_type.as_str()) {
                CacheStep::Modify(request.node_type.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner::example("shop", "stocks")
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
            CacheStep::Modify("cache.t3.small".into())
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
