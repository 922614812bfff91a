//! An in-memory Kubernetes API server. It answers the calls the operator
//! makes (get, list, watch, create, replace, delete, server-side apply,
//! merge patch, status subresource) from a map of objects, records every
//! request, and keeps a change log so watches see every change in order.
//!
//! Two fronts: a `tower_test` mock service behind the operator's real
//! `kube::Client` (request-verification tests), and a real HTTP server on
//! loopback (the `chatbot-operator run` binary, pointed at it through a
//! kubeconfig).
//!
//! As strict as a real API server where a real one refused what an earlier
//! fake let through: every request is authorised by RBAC (the roles of
//! `manifests/` and any stored in the fake; `resourceNames` included; a
//! server-side apply that creates needs `create` too), a
//! CustomResourceDefinition is refused as a 1.26 API server refuses it
//! (protected groups without approval, CEL rules over the cost budget),
//! and a ChatbotDeployment or ChatbotAction sent whole is refused when it
//! breaks its CRD's limits or CEL rules. `tests/e2e_admission.rs` sends
//! the same requests to it and to a real API server, and counts every
//! disagreement as this fake's mistake.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};

use super::rbac::{self, Identity};

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    /// Path with the query string.
    pub uri: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
    /// Who sent it.
    pub identity: Identity,
}

impl Recorded {
    /// `"PATCH /apis/apps/v1/namespaces/x/deployments/y"` without the query.
    pub fn line(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.uri.split('?').next().unwrap_or_default()
        )
    }
}

/// The kind of a custom resource this fake checks against its CRD, and the
/// limits and CEL rules `object` breaks; `None` for any other resource.
fn schema_violations(resource: &str, object: &Value) -> Option<(&'static str, Vec<String>)> {
    use chatbot_operator::api::admission::{check_action, check_deployment};
    let (kind, violations) = match resource {
        "chatbotdeployments" => ("ChatbotDeployment.chatbot.dev", check_deployment(object)),
        "chatbotactions" => ("ChatbotAction.chatbot.dev", check_action(object, None)),
        _ => return None,
    };
    Some((kind, violations.iter().map(ToString::to_string).collect()))
}

/// A canned failure for requests whose line contains a text.
#[derive(Clone, Debug)]
pub struct Failure {
    pub line_contains: String,
    pub code: u16,
    pub times: usize,
}

type Change = Box<dyn FnOnce(&mut Value) + Send>;

/// One change, as a watch reports it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub version: u64,
    pub kind: &'static str,
    pub path: String,
    pub object: Value,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    failures: Vec<Failure>,
    /// Writes of another client that land just before a matching request.
    interleaved: Vec<(String, String, Change)>,
    log: Vec<Logged>,
    next_uid: u64,
    next_version: u64,
    /// Top-level status fields each field manager last applied to an
    /// object: what server-side apply removes when that manager leaves one
    /// out (and keeps when another manager, or a plain patch, set it).
    status_applied: BTreeMap<(String, String), Vec<String>>,
    /// The field manager whose apply created each object: its applies
    /// carry the whole object; another manager's (a replica count) only
    /// its own fields, merged in.
    created_by: BTreeMap<String, String>,
}

impl State {
    /// What a real API server refuses before it looks at the request's
    /// effect: RBAC, and a CRD it would not admit.
    fn refusal(&self, request: &Recorded) -> Option<(u16, Value)> {
        let path = request.uri.split('?').next().unwrap_or_default();
        let target = Target::parse(path);
        if let Some(mut attributes) = rbac::attributes(&request.method, &request.uri) {
            const RBAC: &str = "/apis/rbac.authorization.k8s.io/";
            let stored = self
                .objects
                .range(RBAC.to_string()..)
                .take_while(|(path, _)| path.starts_with(RBAC))
                .map(|(_, object)| object);
            let objects = rbac::manifests().iter().chain(stored);
            let mut verbs = vec![attributes.verb.clone()];
            // A server-side apply that creates is authorised as create too.
            let exists = target
                .name
                .as_ref()
                .is_some_and(|name| self.objects.contains_key(&target.object_path(name)));
            if request.method == Method::PATCH
                && request.content_type.as_deref() == Some("application/apply-patch+yaml")
                && target.subresource.is_none()
                && !exists
            {
                verbs.push("create".into());
            }
            for verb in verbs {
                attributes.verb = verb;
                if !rbac::allowed(&request.identity, &attributes, objects.clone()) {
                    let message = rbac::forbidden(&request.identity, &attributes);
                    return Some((403, status(403, "Forbidden", &message)));
                }
            }
        }
        let writes = [Method::POST, Method::PUT, Method::PATCH].contains(&request.method);
        if target.resource == "customresourcedefinitions" && writes && target.subresource.is_none()
        {
            let crd = request.body.clone().unwrap_or_default();
            let refused = chatbot_operator::api::crd_admission::violations(&crd);
            if !refused.is_empty() {
                let name = crd["metadata"]["name"].as_str().unwrap_or_default();
                let message = format!(
                    "CustomResourceDefinition.apiextensions.k8s.io \"{name}\" is invalid: [{}]",
                    refused.join(", ")
                );
                return Some((422, status(422, "Invalid", &message)));
            }
        }
        if writes && target.subresource.is_none() {
            // A whole object sent (a create, a replace, an apply that
            // creates) meets the CRD's schema and rules, as the real API
            // server checks them; the API server refused what this fake
            // once let through (a backup enabled without its schedule).
            let exists = target
                .name
                .as_ref()
                .is_some_and(|name| self.objects.contains_key(&target.object_path(name)));
            let whole = request.method != Method::PATCH
                || (request.content_type.as_deref() == Some("application/apply-patch+yaml")
                    && !exists);
            let mut object = request.body.clone().unwrap_or_default();
            chatbot_operator::api::admission::prune_nulls(&mut object);
            if whole
                && let Some((kind, refused)) = schema_violations(&target.resource, &object)
                && !refused.is_empty()
            {
                let name = object["metadata"]["name"].as_str().unwrap_or_default();
                let message = format!("{kind} \"{name}\" is invalid: {}", refused.join(", "));
                return Some((422, status(422, "Invalid", &message)));
            }
        }
        None
    }

    fn uid(&mut self) -> String {
        self.next_uid += 1;
        format!("uid-{}", self.next_uid)
    }

    /// Stores `object` at `path` with a new resource version, and logs it.
    fn put(&mut self, path: &str, mut object: Value) -> Value {
        self.next_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.next_version.to_string());
        let kind = if self.objects.contains_key(path) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.objects.insert(path.to_string(), object.clone());
        self.log.push(Logged {
            version: self.next_version,
            kind,
            path: path.to_string(),
            object: object.clone(),
        });
        object
    }

    fn delete(&mut self, path: &str) -> Option<Value> {
        let mut object = self.objects.remove(path)?;
        self.next_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.next_version.to_string());
        self.log.push(Logged {
            version: self.next_version,
            kind: "DELETED",
            path: path.to_string(),
            object: object.clone(),
        });
        Some(object)
    }

    fn change(&mut self, path: &str, change: impl FnOnce(&mut Value)) {
        if let Some(mut object) = self.objects.get(path).cloned() {
            change(&mut object);
            self.put(path, object);
        }
    }
}

/// Handle on the fake: its objects and the requests it saw.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
}

/// A `Status` object as the API server answers a refused request.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// A request path taken apart.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// `/api/v1` or `/apis/<group>/<version>`.
    pub prefix: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

impl Target {
    pub fn parse(path: &str) -> Target {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let prefix_len = if segments.first() == Some(&"api") {
            2
        } else {
            3
        };
        let prefix = format!("/{}", segments[..prefix_len].join("/"));
        let mut rest = &segments[prefix_len..];
        let mut namespace = None;
        if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
            namespace = Some(rest[1].to_string());
            rest = &rest[2..];
        }
        Target {
            prefix,
            namespace,
            resource: rest.first().map(|s| s.to_string()).unwrap_or_default(),
            name: rest.get(1).map(|s| s.to_string()),
            subresource: rest.get(2).map(|s| s.to_string()),
        }
    }

    /// Where an object of this collection named `name` is stored.
    pub fn object_path(&self, name: &str) -> String {
        match &self.namespace {
            Some(namespace) => format!(
                "{}/namespaces/{namespace}/{}/{name}",
                self.prefix, self.resource
            ),
            None => format!("{}/{}/{name}", self.prefix, self.resource),
        }
    }

    /// Whether a stored object path belongs to this collection (all
    /// namespaces when the request names none).
    pub fn holds(&self, path: &str) -> bool {
        let stored = Target::parse(path);
        stored.prefix == self.prefix
            && stored.resource == self.resource
            && (self.namespace.is_none() || stored.namespace == self.namespace)
    }
}

/// A query parameter of `uri`, percent-decoded.
pub fn query_param(uri: &str, key: &str) -> Option<String> {
    let query = uri.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Equality label selectors (`a=b,c=d`), the only kind the operator uses.
fn selected(object: &Value, selector: Option<&str>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    selector.split(',').all(|term| match term.split_once('=') {
        Some((key, value)) => object["metadata"]["labels"][key].as_str() == Some(value),
        None => !object["metadata"]["labels"][term].is_null(),
    })
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    // An object patched onto a non-object starts from an empty one, so
    // its nulls remove nothing and are not kept.
    if patch.is_object() && !target.is_object() {
        *target = Value::Object(Default::default());
    }
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn parse_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    Some(
        serde_json::from_slice(bytes)
            .or_else(|_| serde_yaml_ng::from_slice(bytes))
            .expect("request body is JSON or YAML"),
    )
}

impl FakeApi {
    /// A kube client talking to this fake as the operator's service
    /// account (with the operator's write counter in front, as in
    /// production).
    pub fn client(&self, metrics: Arc<chatbot_operator::telemetry::Metrics>) -> kube::Client {
        self.client_as(Identity::operator(), metrics)
    }

    /// A kube client talking to this fake as `identity`.
    pub fn client_as(
        &self,
        identity: Identity,
        metrics: Arc<chatbot_operator::telemetry::Metrics>,
    ) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let response = fake.answer(request, &identity).await;
                respond.send_response(response);
            }
        });
        let service = tower::ServiceBuilder::new()
            .layer(chatbot_operator::telemetry::CountWrites::new(metrics))
            .service(service);
        kube::Client::new(service, "default")
    }

    /// Puts an object in place as if it had been created (uid, version set).
    pub fn insert(&self, path: &str, mut object: Value) -> Value {
        let mut state = self.state.lock().unwrap();
        let uid = state.uid();
        let metadata = object["metadata"].as_object_mut().unwrap();
        metadata.entry("uid").or_insert(json!(uid));
        metadata.entry("generation").or_insert(json!(1));
        let object = state.put(path, object);
        drop(state);
        self.changed.notify_waiters();
        object
    }

    /// The object at `path`, e.g. `/apis/apps/v1/namespaces/x/deployments/y`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Removes an object, as a `kubectl delete` would.
    pub fn remove(&self, path: &str) -> Option<Value> {
        let removed = self.state.lock().unwrap().delete(path);
        self.changed.notify_waiters();
        removed
    }

    /// Changes an object in place (another client's write).
    pub fn update(&self, path: &str, change: impl FnOnce(&mut Value)) {
        self.state.lock().unwrap().change(path, change);
        self.changed.notify_waiters();
    }

    /// Replaces an object's status (what another controller would write).
    pub fn set_status(&self, path: &str, status: Value) {
        self.update(path, |object| object["status"] = status);
    }

    /// Every object whose path starts with `prefix`.
    pub fn list(&self, prefix: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .objects
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Answers the next `times` requests whose line contains `line_contains` with `code`.
    pub fn fail(&self, line_contains: &str, code: u16, times: usize) {
        self.state.lock().unwrap().failures.push(Failure {
            line_contains: line_contains.into(),
            code,
            times,
        });
    }

    /// Just before the next request whose line contains `line_contains`,
    /// another client changes the object at `path` (a concurrent write).
    pub fn interleave(
        &self,
        line_contains: &str,
        path: &str,
        change: impl FnOnce(&mut Value) + Send + 'static,
    ) {
        self.state.lock().unwrap().interleaved.push((
            line_contains.to_string(),
            path.to_string(),
            Box::new(change),
        ));
    }

    async fn answer(&self, request: Request<Body>, identity: &Identity) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let recorded = Recorded {
            method: parts.method.clone(),
            uri: parts.uri.to_string(),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: parse_body(&bytes),
            identity: identity.clone(),
        };
        let (code, reply) = self.handle(recorded);
        if let Value::String(text) = reply {
            // Logs are plain text.
            return Response::builder()
                .status(StatusCode::from_u16(code).unwrap())
                .header(http::header::CONTENT_TYPE, "text/plain")
                .body(Body::from(text.into_bytes()))
                .unwrap();
        }
        Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&reply).unwrap()))
            .unwrap()
    }

    /// Answers one request (never a watch) and records it.
    pub fn handle(&self, request: Recorded) -> (u16, Value) {
        let answer = self.handle_unrecorded(&request);
        self.state.lock().unwrap().requests.push(request);
        self.changed.notify_waiters();
        answer
    }

    fn handle_unrecorded(&self, request: &Recorded) -> (u16, Value) {
        let mut state = self.state.lock().unwrap();
        let line = request.line();
        if let Some(index) = state
            .interleaved
            .iter()
            .position(|(contains, _, _)| line.contains(contains.as_str()))
        {
            let (_, path, change) = state.interleaved.remove(index);
            state.change(&path, change);
        }
        if let Some(refusal) = state.refusal(request) {
            return refusal;
        }
        if let Some(failure) = state
            .failures
            .iter_mut()
            .find(|f| f.times > 0 && line.contains(&f.line_contains))
        {
            failure.times -= 1;
            let code = failure.code;
            return (code, status(code, "Injected", "injected failure"));
        }
        let path = request.uri.split('?').next().unwrap_or_default();
        let target = Target::parse(path);
        let object_path = target.name.as_ref().map(|n| target.object_path(n));
        match (request.method.clone(), object_path) {
            // A pod's log: the text a test put in the pod's `log` field.
            (Method::GET, Some(object_path)) if target.subresource.as_deref() == Some("log") => {
                match state.objects.get(&object_path) {
                    Some(pod) => (200, json!(pod["log"].as_str().unwrap_or_default())),
                    None => (404, status(404, "NotFound", "pod not found")),
                }
            }
            (Method::GET, Some(object_path)) => match state.objects.get(&object_path) {
                Some(object) => (200, object.clone()),
                None => (
                    404,
                    status(404, "NotFound", &format!("{object_path} not found")),
                ),
            },
            (Method::GET, None) => {
                let selector = query_param(&request.uri, "labelSelector");
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|(p, o)| target.holds(p) && selected(o, selector.as_deref()))
                    .map(|(_, o)| o.clone())
                    .collect();
                let version = state.next_version.to_string();
                (
                    200,
                    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": version}, "items": items}),
                )
            }
            (Method::POST, None) => {
                let mut object = request.body.clone().unwrap_or_default();
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if name.is_empty() {
                    // generateName: the prefix and a unique suffix.
                    let prefix = object["metadata"]["generateName"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let uid = state.uid();
                    object["metadata"]["name"] = json!(format!("{prefix}{uid}"));
                }
                let name = object["metadata"]["name"].as_str().unwrap().to_string();
                let object_path = target.object_path(&name);
                if state.objects.contains_key(&object_path) {
                    return (
                        409,
                        status(409, "AlreadyExists", &format!("{name} already exists")),
                    );
                }
                object["metadata"]["uid"] = json!(state.uid());
                object["metadata"]["generation"] = json!(1);
                if let Some(namespace) = &target.namespace {
                    object["metadata"]["namespace"] = json!(namespace);
                }
                // A dry run answers with the object as it would be and
                // keeps nothing, as the real API server does.
                if query_param(&request.uri, "dryRun").as_deref() == Some("All") {
                    return (201, object);
                }
                (201, state.put(&object_path, object))
            }
            (Method::PUT, Some(object_path)) => {
                let Some(existing) = state.objects.get(&object_path).cloned() else {
                    return (404, status(404, "NotFound", "not found"));
                };
                let mut object = request.body.clone().unwrap_or_default();
                let sent = object["metadata"]["resourceVersion"].clone();
                if !sent.is_null() && sent != existing["metadata"]["resourceVersion"] {
                    return (409, status(409, "Conflict", "the object has been modified"));
                }
                object["metadata"]["uid"] = existing["metadata"]["uid"].clone();
                (200, state.put(&object_path, object))
            }
            (Method::DELETE, Some(object_path)) => match state.delete(&object_path) {
                Some(object) => (200, object),
                None => (404, status(404, "NotFound", "not found")),
            },
            (Method::PATCH, Some(object_path)) => {
                let patch = request.body.clone().unwrap_or_default();
                let apply = request.content_type.as_deref() == Some("application/apply-patch+yaml");
                // A dry run answers with the object as it would be and
                // keeps nothing.
                let dry_run = query_param(&request.uri, "dryRun").as_deref() == Some("All");
                let existing = state.objects.get(&object_path).cloned();
                let object = match (existing, apply, target.subresource.as_deref()) {
                    (None, true, None) => {
                        let manager = query_param(&request.uri, "fieldManager").unwrap_or_default();
                        if !dry_run {
                            state.created_by.insert(object_path.clone(), manager);
                        }
                        let mut object = patch.clone();
                        object["metadata"]["uid"] = json!(state.uid());
                        object["metadata"]["generation"] = json!(1);
                        if let Some(namespace) = &target.namespace {
                            object["metadata"]["namespace"] = json!(namespace);
                        }
                        // The API server defaults a Deployment's replicas to 1.
                        if object["kind"] == "Deployment" && object["spec"]["replicas"].is_null() {
                            object["spec"]["replicas"] = json!(1);
                        }
                        object
                    }
                    (None, _, _) => return (404, status(404, "NotFound", "not found")),
                    (Some(mut existing), true, Some(_)) => {
                        let manager = query_param(&request.uri, "fieldManager").unwrap_or_default();
                        let sent: Vec<String> = patch["status"]
                            .as_object()
                            .map(|o| o.keys().cloned().collect())
                            .unwrap_or_default();
                        let before = state
                            .status_applied
                            .insert((object_path.clone(), manager), sent.clone())
                            .unwrap_or_default();
                        let status = existing["status"].as_object_mut();
                        if let Some(status) = status {
                            for key in before.iter().filter(|k| !sent.contains(k)) {
                                status.remove(key);
                            }
                            for key in &sent {
                                status.insert(key.clone(), patch["status"][key].clone());
                            }
                        } else {
                            existing["status"] = patch["status"].clone();
                        }
                        existing
                    }
                    (Some(mut existing), true, None)
                        if state.created_by.get(&object_path).is_some_and(|creator| {
                            Some(creator.as_str())
                                != query_param(&request.uri, "fieldManager").as_deref()
                        }) =>
                    {
                        // Another manager sets only the fields it sends.
                        let before = existing.get("spec").cloned();
                        merge_patch(&mut existing, &patch);
                        if existing.get("spec").cloned() != before {
                            let generation =
                                existing["metadata"]["generation"].as_i64().unwrap_or(1);
                            existing["metadata"]["generation"] = json!(generation + 1);
                        }
                        existing
                    }
                    (Some(existing), true, None) => {
                        // What one field manager applies replaces what it
                        // applied before; status and identity stay.
                        let mut object = patch.clone();
                        object["metadata"]["uid"] = existing["metadata"]["uid"].clone();
                        object["metadata"]["namespace"] = existing["metadata"]["namespace"].clone();
                        object["status"] = existing["status"].clone();
                        // A replica count the applier does not send stays: the
                        // autoscaler (another manager) owns it.
                        if object["kind"] == "Deployment" && object["spec"]["replicas"].is_null() {
                            object["spec"]["replicas"] = existing["spec"]["replicas"].clone();
                        }
                        let changed = object.get("spec") != existing.get("spec");
                        let generation = existing["metadata"]["generation"].as_i64().unwrap_or(1);
                        object["metadata"]["generation"] =
                            json!(if changed { generation + 1 } else { generation });
                        if object["status"].is_null() {
                            object.as_object_mut().unwrap().remove("status");
                        }
                        object
                    }
                    (Some(mut existing), false, _)
                        if request.content_type.as_deref()
                            == Some("application/json-patch+json") =>
                    {
                        let Ok(operations) = serde_json::from_value::<json_patch::Patch>(patch)
                        else {
                            return (400, status(400, "BadRequest", "not a JSON patch"));
                        };
                        if json_patch::patch(&mut existing, &operations).is_err() {
                            return (422, status(422, "Invalid", "the JSON patch does not apply"));
                        }
                        existing
                    }
                    (Some(mut existing), false, _) => {
                        let sent = patch["metadata"]["resourceVersion"].clone();
                        if !sent.is_null() && sent != existing["metadata"]["resourceVersion"] {
                            return (409, status(409, "Conflict", "the object has been modified"));
                        }
                        merge_patch(&mut existing, &patch);
                        existing
                    }
                };
                if dry_run {
                    return (200, object);
                }
                (200, state.put(&object_path, object))
            }
            _ => (
                405,
                status(405, "MethodNotAllowed", "not supported by the fake"),
            ),
        }
    }

    /// What a real API server would refuse of `request` before acting on
    /// it (RBAC, CRD admission), as status code and Status.
    pub fn refusal(&self, request: &Recorded) -> Option<(u16, Value)> {
        self.state.lock().unwrap().refusal(request)
    }

    /// Binds the on-call role to group `oncall` in `namespace`, as the
    /// README tells a platform team to:
    /// `kubectl create rolebinding oncall --clusterrole=chatbot-operator-oncall --group=oncall -n NS`.
    pub fn grant_oncall(&self, namespace: &str) {
        self.insert(
            &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/oncall"),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "oncall", "namespace": namespace},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "chatbot-operator-oncall"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "oncall"}],
            }),
        );
    }

    /// Changes to the collection of `target` after `version`, matching `selector`.
    pub fn changes_after(
        &self,
        target: &Target,
        version: u64,
        selector: Option<&str>,
    ) -> Vec<Logged> {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|entry| entry.version > version && target.holds(&entry.path))
            .filter(|entry| selected(&entry.object, selector))
            .cloned()
            .collect()
    }

    /// Waits until something changes.
    pub async fn wait_for_change(&self) {
        self.changed.notified().await;
    }

    /// The newest resource version.
    pub fn version(&self) -> u64 {
        self.state.lock().unwrap().next_version
    }
}
