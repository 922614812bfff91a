//! End to end against the cluster in `KUBECONFIG` (Kubernetes 1.26.0 or
//! newer):
//! the CRDs install and become Established, every sample is admitted
//! (server-side dry run), and every rule-breaking spec is rejected by the
//! real API server with the rule's message.
//!
//! Ignored by default; run with
//! `cargo test --test e2e_admission -- --ignored --nocapture`.
//! It creates one namespace and deletes it; CRDs it installed are removed
//! again, CRDs that were already there are left as they were.

use std::time::Duration;

use chatbot_operator::api::{self, ChatbotAction, ChatbotDeployment};
use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Resource,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
    runtime::wait::{await_condition, conditions},
};
use serde_json::Value;

mod common;

use common::cases::{action, action_cases, deployment_cases, set};

const MANAGER: &str = "chatbot-operator-e2e";

async fn install_crds(client: &Client) -> Vec<String> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut installed = Vec::new();
    for crd in api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        if crds.get_opt(&name).await.expect("read CRDs").is_none() {
            installed.push(name.clone());
        }
        crds.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|error| panic!("the API server rejected CRD {name}: {error}"));
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .unwrap_or_else(|_| panic!("CRD {name} not Established within 60 s"))
        .expect("watch CRD");
    }
    installed
}

async fn dry_run_create(api: &Api<DynamicObject>, doc: &Value) -> Result<(), String> {
    let object: DynamicObject = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    let params = PostParams {
        dry_run: true,
        field_manager: Some(MANAGER.into()),
    };
    api.create(&params, &object)
        .await
        .map(|_| ())
        .map_err(|error| match error {
            kube::Error::Api(status) => status.message,
            other => other.to_string(),
        })
}

fn with_namespace(mut doc: Value, namespace: &str) -> Value {
    doc["metadata"]["namespace"] = Value::from(namespace);
    doc
}

/// Everything the test checks; failures are collected so the namespace is
/// always cleaned up before the test reports.
async fn check(client: &Client, namespace: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let deployments: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::erase::<ChatbotDeployment>(&()),
    );
    let actions: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        namespace,
        &ApiResource::erase::<ChatbotAction>(&()),
    );
    for name in common::SAMPLES {
        if let Err(message) = dry_run_create(
            &deployments,
            &with_namespace(common::sample_json(name), namespace),
        )
        .await
        {
            failures.push(format!("sample {name} rejected: {message}"));
        }
    }
    for (path, value, expected) in deployment_cases() {
        let mut doc = with_namespace(common::cases::base(), namespace);
        set(&mut doc, path, value);
        match dry_run_create(&deployments, &doc).await {
            Ok(()) => failures.push(format!(
                "breaking {path} was admitted; expected {expected:?}"
            )),
            Err(message) if !message.contains(expected) => failures.push(format!(
                "breaking {path}: expected {expected:?}, got {message:?}"
            )),
            Err(_) => {}
        }
    }
    if let Err(message) = dry_run_create(&actions, &with_namespace(action(), namespace)).await {
        failures.push(format!("valid ChatbotAction rejected: {message}"));
    }
    for (path, value, expected) in action_cases() {
        let mut doc = with_namespace(action(), namespace);
        set(&mut doc, path, value);
        match dry_run_create(&actions, &doc).await {
            Ok(()) => failures.push(format!("action breaking {path} was admitted")),
            Err(message) if !message.contains(expected) => failures.push(format!(
                "action breaking {path}: expected {expected:?}, got {message:?}"
            )),
            Err(_) => {}
        }
    }
    failures
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_admission -- --ignored"]
async fn crds_install_samples_are_admitted_and_broken_specs_are_rejected() {
    let client = Client::try_default()
        .await
        .expect("a cluster in KUBECONFIG");
    let installed = install_crds(&client).await;

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = format!("cbd-e2e-admission-{}", std::process::id());
    let mut object = Namespace::default();
    object.meta_mut().name = Some(namespace.clone());
    namespaces
        .create(&PostParams::default(), &object)
        .await
        .expect("create test namespace");

    let failures = check(&client, &namespace).await;

    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in installed {
        let _ = crds.delete(&name, &DeleteParams::default()).await;
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
