//! `render --diff`: what applying the rendered children would change in
//! the cluster, as `kubectl diff` shows it. Each child is applied as a
//! server-side-apply dry run under the operator's field manager (so only
//! the fields it owns move) and the result compared with the live object;
//! a child the operator owns but no longer renders is shown going away.
//! Exit code 0: no change; 1: changes; 2: an error.

use std::collections::BTreeSet;

use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DynamicObject, ListParams, Patch, PatchParams},
};
use serde_json::Value;

use super::CliError;
use crate::{
    api::ChatbotDeployment,
    names::MANAGER,
    render::{Child, ObjectType, Renderer},
};

/// Kinds the operator keeps one object of per name; Jobs are stamped per
/// revision or run, so a render says nothing about which ones exist.
const DIFFED: [ObjectType; 12] = [
    ObjectType::ServiceAccount,
    ObjectType::ConfigMap,
    ObjectType::Service,
    ObjectType::Deployment,
    ObjectType::StatefulSet,
    ObjectType::HorizontalPodAutoscaler,
    ObjectType::PodDisruptionBudget,
    ObjectType::NetworkPolicy,
    ObjectType::Ingress,
    ObjectType::HttpRoute,
    ObjectType::PodMonitor,
    ObjectType::PrometheusRule,
];

/// The diff of every deployment in `deployments`; exits 1 when anything
/// would change, 2 on an error.
pub fn diff_command(
    renderer: &Renderer,
    deployments: &[ChatbotDeployment],
) -> Result<String, CliError> {
    let outcome = super::action::runtime().and_then(|runtime| {
        runtime.block_on(async {
            let (client, default_namespace) = super::action::connect(None).await?;
            let mut text = String::new();
            for deployment in deployments {
                let namespace = deployment
                    .namespace()
                    .unwrap_or_else(|| default_namespace.clone());
                text.push_str(&diff_one(&client, renderer, deployment, &namespace).await?);
            }
            Ok::<_, CliError>(text)
        })
    });
    match outcome {
        Ok(text) if text.is_empty() => Ok(text),
        Ok(text) => {
            print!("{text}");
            Err(CliError::Exit(1))
        }
        Err(error) => {
            eprintln!("error: {error}");
            Err(CliError::Exit(2))
        }
    }
}

async fn diff_one(
    client: &Client,
    renderer: &Renderer,
    deployment: &ChatbotDeployment,
    namespace: &str,
) -> Result<String, CliError> {
    let name = deployment.name_any();
    let live_resource = Api::<ChatbotDeployment>::namespaced(client.clone(), namespace)
        .get_opt(&name)
        .await
        .map_err(|e| cluster(&format!("ChatbotDeployment {namespace}/{name}"), &e))?;
    let revision = live_resource
        .as_ref()
        .and_then(|live| live.status.as_ref())
        .and_then(|s| s.current_revision)
        .unwrap_or(1);
    let mut resource = deployment.clone();
    resource.metadata.namespace = Some(namespace.to_string());
    let rendered = renderer
        .render(&resource, revision)
        .map_err(|e| CliError::Output(e.to_string()))?;
    let owner = live_resource
        .as_ref()
        .and_then(|live| live.controller_owner_ref(&()));
    let mut text = String::new();
    let mut rendered_names = BTreeSet::new();
    for child in &rendered.children {
        let object_type = child.kind().object_type();
        if !DIFFED.contains(&object_type) {
            continue;
        }
        rendered_names.insert((object_type.type_meta().1, child.name().to_string()));
        text.push_str(&diff_child(client, namespace, child, owner.clone()).await?);
    }
    for object_type in DIFFED {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), namespace, &object_type.api_resource());
        let selector = format!(
            "{},{}={name}",
            crate::reconcile::caches::CHILD_SELECTOR,
            crate::names::keys::INSTANCE
        );
        let listed = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list.items,
            Err(kube::Error::Api(status)) if status.code == 404 => continue,
            Err(error) => {
                return Err(cluster(
                    &format!("listing {}", object_type.type_meta().1),
                    &error,
                ));
            }
        };
        // The config history is kept from the revisions, not rendered
        // from the spec: no spec change removes it.
        let kept = crate::names::ChildNames::for_deployment(&name).config_history;
        for object in listed {
            let kind = object_type.type_meta().1;
            let history = object_type == ObjectType::ConfigMap && object.name_any() == kept;
            if !history && !rendered_names.contains(&(kind, object.name_any())) {
                let live = yaml(&normalized(
                    serde_json::to_value(&object).unwrap_or_default(),
                ));
                text.push_str(&unified(
                    &label(object_type, namespace, &object.name_any()),
                    &live,
                    "",
                ));
            }
        }
    }
    Ok(text)
}

async fn diff_child(
    client: &Client,
    namespace: &str,
    child: &Child,
    owner: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
) -> Result<String, CliError> {
    let object_type = child.kind().object_type();
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &object_type.api_resource());
    let name = child.name().to_string();
    let what = label(object_type, namespace, &name);
    let mut sent = serde_json::to_value(child).unwrap_or_default();
    if let Some(owner) = owner {
        sent["metadata"]["ownerReferences"] = serde_json::json!([owner]);
    }
    let live = match api.get_opt(&name).await {
        Ok(live) => live,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            // The kind is not served (a Prometheus Operator or Gateway API
            // kind): the operator skips it too.
            eprintln!(
                "{what}: this cluster does not serve the kind; the operator does not apply it"
            );
            return Ok(String::new());
        }
        Err(error) => return Err(cluster(&what, &error)),
    };
    let merged = api
        .patch(
            &name,
            &PatchParams::apply(MANAGER).force().dry_run(),
            &Patch::Apply(&sent),
        )
        .await
        .map_err(|e| cluster(&what, &e))?;
    let before = live
        .map(|o| yaml(&normalized(serde_json::to_value(o).unwrap_or_default())))
        .unwrap_or_default();
    let after = yaml(&normalized(
        serde_json::to_value(merged).unwrap_or_default(),
    ));
    Ok(unified(&what, &before, &after))
}

/// What differs between two versions and means nothing to a reviewer is
/// left out, as `kubectl diff` leaves it: bookkeeping and status.
fn normalized(mut object: Value) -> Value {
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for key in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            metadata.remove(key);
        }
    }
    if let Some(object) = object.as_object_mut() {
        object.remove("status");
    }
    object
}

fn yaml(object: &Value) -> String {
    serde_yaml_ng::to_string(object).unwrap_or_default()
}

fn label(object_type: ObjectType, namespace: &str, name: &str) -> String {
    let (api_version, kind) = object_type.type_meta();
    format!(
        "{}.{kind}.{namespace}.{name}",
        api_version.replace('/', ".")
    )
}

/// A unified diff with `kubectl diff`'s headers; empty when equal.
fn unified(what: &str, live: &str, merged: &str) -> String {
    if live == merged {
        return String::new();
    }
    similar::TextDiff::from_lines(live, merged)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{what}"), &format!("merged/{what}"))
        .to_string()
}

fn cluster(what: &str, error: &kube::Error) -> CliError {
    CliError::Cluster(format!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_objects_make_no_diff_and_a_change_reads_as_kubectl_diff_does() {
        assert_eq!(unified("x", "a: 1\n", "a: 1\n"), "");
        let diff = unified(
            "apps.v1.Deployment.ns.web",
            "replicas: 2\nimage: a\n",
            "replicas: 2\nimage: b\n",
        );
        assert!(
            diff.starts_with(
                "--- live/apps.v1.Deployment.ns.web\n+++ merged/apps.v1.Deployment.ns.web\n"
            ),
            "{diff}"
        );
        assert!(diff.contains("-image: a\n+image: b\n"), "{diff}");
    }

    #[test]
    fn bookkeeping_and_status_are_not_a_change() {
        let object = serde_json::json!({
            "metadata": {"name": "web", "resourceVersion": "7", "generation": 3, "uid": "u", "managedFields": [], "creationTimestamp": "t", "labels": {"a": "b"}},
            "spec": {"x": 1},
            "status": {"ready": 1},
        });
        assert_eq!(
            normalized(object),
            serde_json::json!({"metadata": {"name": "web", "labels": {"a": "b"}}, "spec": {"x": 1}})
        );
    }
}
