//! The volume a PVC destination names, as the operator makes it when it
//! does not exist: `sizeGiB` (default 20), one node at a time (the backup,
//! verify and restore Jobs run one at a time), labelled for the resource
//! and owned by nothing — backups outlive the ChatbotDeployment, as they
//! do in S3. Pure.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements},
    apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::ObjectMeta},
};

use crate::{
    api::PvcDestination,
    names::{self, MANAGER},
};

/// The claim's size when the spec gives none, in GiB.
pub const DEFAULT_GIB: i32 = 20;

/// The claim of `destination` for ChatbotDeployment `deployment`.
pub fn claim(deployment: &str, destination: &PvcDestination) -> PersistentVolumeClaim {
    let mut labels = names::store_selector_labels(deployment, "backup");
    labels.insert(names::keys::MANAGED_BY.into(), MANAGER.into());
    let size = destination.size_gib.unwrap_or(DEFAULT_GIB);
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(destination.claim_name.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(format!("{size}Gi")),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_sized_labelled_and_owned_by_nothing() {
        let destination = PvcDestination {
            claim_name: "brigade-backups".into(),
            size_gib: Some(50),
        };
        let claim = claim("brigade-sales", &destination);
        assert_eq!(claim.metadata.name.as_deref(), Some("brigade-backups"));
        assert!(
            claim.metadata.owner_references.is_none(),
            "outlives the resource"
        );
        let labels = claim.metadata.labels.unwrap();
        assert_eq!(labels["app.kubernetes.io/instance"], "brigade-sales");
        assert_eq!(labels["app.kubernetes.io/managed-by"], MANAGER);
        let spec = claim.spec.unwrap();
        assert_eq!(
            spec.resources.unwrap().requests.unwrap()["storage"].0,
            "50Gi"
        );
        let default = super::claim(
            "brigade-sales",
            &PvcDestination {
                size_gib: None,
                ..destination
            },
        );
        let requests = default.spec.unwrap().resources.unwrap().requests.unwrap();
        assert_eq!(requests["storage"].0, "20Gi");
    }
}
