//! The connection Secrets' I/O: create one with its credential, read the
//! password back, record what it holds in annotations, write its URLs.
//! Values are read only to write a URL, never cached or logged.

use std::collections::BTreeMap;

use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Resource,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::super::{
    converge::encode,
    error::ReconcileError,
    error::{is_status, kube_error},
};
use super::facts::StoreFacts;
use crate::{
    api::{ChatbotDeployment, StoreStatus},
    data::connection::{Route, SecretView, StoreKind, keys},
    names::MANAGER,
};

/// The database a restore switched the app's URLs to (what the Secret
/// records, or the restore's new one once it reached its switch); `None`
/// for the one the operator created.
pub(super) fn restored_database(
    cbd: &ChatbotDeployment,
    kind: StoreKind,
    view: &SecretView,
) -> Option<String> {
    use crate::backup::restore;
    let restore = cbd.status.as_ref().and_then(|s| s.restore.as_ref());
    let live = restore::live_database(restore, view.database());
    (kind == StoreKind::Database && live != restore::DEFAULT_DATABASE).then_some(live)
}

/// Facts of a store whose connection Secret belongs to someone else.
pub(super) fn foreign_secret(
    secret_name: &str,
    kind: StoreKind,
    status: StoreStatus,
) -> StoreFacts {
    StoreFacts {
        ready: false,
        reason: "ChildConflict".into(),
        message: format!(
            "Secret {secret_name} exists and is not managed by this ChatbotDeployment; the {} connection is never written over someone else's Secret",
            kind.field()
        ),
        failed: true,
        status,
    }
}

pub(crate) fn secret_view(secret: &Secret) -> SecretView {
    SecretView {
        keys: secret.data.iter().flat_map(|d| d.keys().cloned()).collect(),
        annotations: secret.metadata.annotations.clone().unwrap_or_default(),
    }
}

pub(super) async fn create_secret(
    api: &Api<Secret>,
    cbd: &ChatbotDeployment,
    name: &str,
    labels: &BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
) -> Result<(), ReconcileError> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels.clone()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: cbd.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(encode(data)),
        ..Default::default()
    };
    let params = PostParams {
        dry_run: false,
        field_manager: Some(MANAGER.into()),
    };
    match api.create(&params, &secret).await {
        Ok(_) => Ok(()),
        // Created by an earlier reconcile the cache has not seen yet.
        Err(error) if is_status(&error, 409) => Ok(()),
        Err(error) => Err(kube_error("create", "Secret", name)(error)),
    }
}

/// Reads the password from the Secret itself: the cache holds no values.
pub(super) async fn read_password(api: &Api<Secret>, name: &str) -> Result<String, ReconcileError> {
    let secret = api
        .get(name)
        .await
        .map_err(kube_error("get", "Secret", name))?;
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(crate::data::connection::PASSWORD_KEY))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .ok_or_else(|| ReconcileError::MissingKey {
            secret: name.to_string(),
            key: crate::data::connection::PASSWORD_KEY,
        })
}

pub(super) async fn annotate(
    api: &Api<Secret>,
    name: &str,
    annotations: BTreeMap<&str, &str>,
) -> Result<(), ReconcileError> {
    let patch = json!({ "metadata": { "annotations": annotations } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(kube_error("patch", "Secret", name))
}

pub(super) async fn write_url(
    api: &Api<Secret>,
    name: &str,
    kind: StoreKind,
    identifier: &str,
    route: &Route,
) -> Result<(), ReconcileError> {
    let password = read_password(api, name).await?;
    let patch = json!({
        "metadata": { "annotations": {
            keys::ENDPOINT: route.to_string(),
            keys::CREDENTIALS_FOR: identifier,
            // Unset (removed) for the database the operator created.
            keys::DATABASE: route.database,
        }},
        "data": encode(kind.urls(route, &password)),
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(kube_error("patch", "Secret", name))
}
