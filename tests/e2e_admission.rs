//! End to end against the cluster in `KUBECONFIG` (Kubernetes 1.26.1 or
//! newer):
//! the CRDs install and become Established, every sample is admitted
//! (server-side dry run), and every rule-breaking spec is rejected by the
//! real API server with the rule's message, and every sample sent many
//! times at once is admitted every time. Every one of those requests
//! goes to the suite's in-memory API server too: where the two disagree,
//! the in-memory one is wrong, and the test fails.
//!
//! Then a differential test: specs made by mutating the samples at random
//! (seeded: every run sends the same ones) go to the real API server's dry
//! run and to the offline check `render` and `plan` run first; the two
//! must agree on every one.
//!
//! Ignored by a plain `cargo test` (it needs a cluster); run by
//! `scripts/test.sh`, or by hand:
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

use common::{
    cases::{action, action_cases, deployment_cases, set},
    fake_api::{FakeApi, Recorded},
    rbac::Identity,
};

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

/// The in-memory API server's answer to the same dry-run create, as an
/// administrator: admitted, or its message.
fn in_memory_create(fake: &FakeApi, resource: &str, doc: &Value) -> Result<(), String> {
    let namespace = doc["metadata"]["namespace"].as_str().unwrap_or("default");
    let (code, body) = fake.handle(Recorded {
        method: http::Method::POST,
        uri: format!("/apis/chatbot.dev/v1alpha1/namespaces/{namespace}/{resource}?dryRun=All"),
        content_type: Some("application/json".into()),
        body: Some(doc.clone()),
        identity: Identity::admin(),
    });
    if code < 300 {
        Ok(())
    } else {
        Err(body["message"].as_str().unwrap_or_default().to_string())
    }
}

/// Sends `doc` to the real API server and to the in-memory one; the real
/// one's answer, and a failure where the in-memory one's differs.
async fn both(
    api: &Api<DynamicObject>,
    fake: &FakeApi,
    resource: &str,
    what: &str,
    doc: &Value,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let real = dry_run_create(api, doc).await;
    let in_memory = in_memory_create(fake, resource, doc);
    if real.is_ok() != in_memory.is_ok() {
        failures.push(format!(
            "{what}: the real API server answered {real:?}, the in-memory one {in_memory:?}"
        ));
    }
    real
}

fn with_namespace(mut doc: Value, namespace: &str) -> Value {
    doc["metadata"]["namespace"] = Value::from(namespace);
    doc
}

/// How many times each sample is sent in the burst of `all_at_once`.
const BURST: usize = 8;

/// Every sample sent `BURST` times at once, as a GitOps sync applies a
/// folder of resources in parallel: every one must be admitted. An API
/// server whose rule evaluation is not safe under concurrent requests
/// (Kubernetes 1.26.0's cel-go, kubernetes/kubernetes#114661) refuses some
/// with an "internal error" here.
async fn all_at_once(api: &Api<DynamicObject>, namespace: &str) -> Vec<String> {
    let sends = common::SAMPLES.iter().flat_map(|name| {
        let doc = with_namespace(common::sample_json(name), namespace);
        (0..BURST).map(move |_| {
            let doc = doc.clone();
            async move { (*name, dry_run_create(api, &doc).await) }
        })
    });
    let answers = futures::future::join_all(sends).await;
    let sent = answers.len();
    let failures: Vec<String> = answers
        .into_iter()
        .filter_map(|(name, answer)| {
            answer
                .err()
                .map(|message| format!("sample {name} sent with the others at once: {message}"))
        })
        .collect();
    println!(
        "all at once: {sent} samples sent together, {} refused",
        failures.len()
    );
    failures
}

/// Everything the test checks; failures are collected so the namespace is
/// always cleaned up before the test reports.
async fn check(client: &Client, namespace: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let fake = FakeApi::default();
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
        if let Err(message) = both(
            &deployments,
            &fake,
            "chatbotdeployments",
            &format!("sample {name}"),
            &with_namespace(common::sample_json(name), namespace),
            &mut failures,
        )
        .await
        {
            failures.push(format!("sample {name} rejected: {message}"));
        }
    }
    for (path, value, expected) in deployment_cases() {
        let mut doc = with_namespace(common::cases::base(), namespace);
        set(&mut doc, path, value);
        let what = format!("breaking {path}");
        match both(
            &deployments,
            &fake,
            "chatbotdeployments",
            &what,
            &doc,
            &mut failures,
        )
        .await
        {
            Ok(()) => failures.push(format!(
                "breaking {path} was admitted; expected {expected:?}"
            )),
            Err(message) if !message.contains(expected) => failures.push(format!(
                "breaking {path}: expected {expected:?}, got {message:?}"
            )),
            Err(_) => {}
        }
    }
    let valid = with_namespace(action(), namespace);
    if let Err(message) = both(
        &actions,
        &fake,
        "chatbotactions",
        "a valid action",
        &valid,
        &mut failures,
    )
    .await
    {
        failures.push(format!("valid ChatbotAction rejected: {message}"));
    }
    for (path, value, expected) in action_cases() {
        let mut doc = with_namespace(action(), namespace);
        set(&mut doc, path, value);
        let what = format!("action breaking {path}");
        match both(
            &actions,
            &fake,
            "chatbotactions",
            &what,
            &doc,
            &mut failures,
        )
        .await
        {
            Ok(()) => failures.push(format!("action breaking {path} was admitted")),
            Err(message) if !message.contains(expected) => failures.push(format!(
                "action breaking {path}: expected {expected:?}, got {message:?}"
            )),
            Err(_) => {}
        }
    }
    failures.extend(all_at_once(&deployments, namespace).await);
    failures.extend(differential(&deployments, namespace).await);
    failures
}

/// xorshift64*: a seeded source of choices, the same on every run.
struct Choices(u64);

impl Choices {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// JSON pointers of every node under `/spec` of `doc`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let path = format!("{at}/{index}");
                out.push(path.clone());
                pointers(child, path, out);
            }
        }
        _ => {}
    }
}

/// One random change to one node of `doc`'s spec: another type, an edge
/// value, the value wrapped in a list, or the field removed.
fn mutate(doc: &mut Value, choices: &mut Choices) -> String {
    let mut paths = Vec::new();
    pointers(&doc["spec"], "/spec".into(), &mut paths);
    let path = paths[choices.below(paths.len())].clone();
    let current = doc.pointer(&path).cloned().unwrap_or(Value::Null);
    let replacements = [
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!(""),
        serde_json::json!("x"),
        serde_json::json!("Two words\nand a line"),
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(7),
        serde_json::json!(1.5),
        serde_json::json!(100000),
        serde_json::json!(true),
        serde_json::json!("a".repeat(300)),
        serde_json::json!([current.clone()]),
    ];
    let choice = choices.below(replacements.len() + 1);
    if choice == replacements.len() {
        let (parent, key) = path.rsplit_once('/').unwrap();
        match doc.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(&key.replace("~1", "/").replace("~0", "~"));
            }
            Some(Value::Array(items)) => {
                items.remove(key.parse::<usize>().unwrap());
            }
            _ => {}
        }
        return format!("{path} removed");
    }
    let replacement = replacements[choice].clone();
    let shown = replacement.to_string();
    *doc.pointer_mut(&path).unwrap() = replacement;
    format!("{path} = {}", shown.chars().take(40).collect::<String>())
}

/// The differential test: the offline check and the real API server agree
/// on every generated spec.
async fn differential(api: &Api<DynamicObject>, namespace: &str) -> Vec<String> {
    const SPECS: usize = 1000;
    let mut choices = Choices(0x5EED_CB0D_2026_1206);
    let mut disagreements = Vec::new();
    let (mut admitted, mut refused) = (0, 0);
    for index in 0..SPECS {
        let sample = common::SAMPLES[index % common::SAMPLES.len()];
        let mut doc = with_namespace(common::sample_json(sample), namespace);
        let mut changes = vec![mutate(&mut doc, &mut choices)];
        if choices.below(2) == 0 {
            changes.push(mutate(&mut doc, &mut choices));
        }
        let real = dry_run_create(api, &doc).await;
        let text = serde_json::to_string(&doc).unwrap();
        let offline = chatbot_operator::manifest::parse_deployments("generated.yaml", &text)
            .map(|_| ())
            .map_err(|error| error.to_string());
        match (&real, &offline) {
            (Ok(()), Ok(())) => admitted += 1,
            (Err(_), Err(_)) => refused += 1,
            _ => disagreements.push(format!(
                "{sample} with {changes:?}: the API server answered {real:?}, render and plan {offline:?}"
            )),
        }
    }
    println!(
        "differential: {SPECS} generated specs, {admitted} admitted and {refused} refused by both, {} disagreements",
        disagreements.len()
    );
    disagreements
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
