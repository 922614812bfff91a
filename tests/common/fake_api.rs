//! An in-memory Kubernetes API server behind a `tower_test` mock service:
//! every request the operator's real `kube::Client` sends is recorded and
//! answered from a map of objects, the way the API server would for the
//! calls the operator makes (get, create, replace, delete, server-side
//! apply, merge patch, status subresource). Tests assert the exact list of
//! requests a reconcile makes and read the resulting objects back.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    /// Path with the query string.
    pub uri: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
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

/// A canned failure for requests whose line contains a text.
#[derive(Clone, Debug)]
pub struct Failure {
    pub line_contains: String,
    pub code: u16,
    pub times: usize,
}

type Change = Box<dyn FnOnce(&mut Value) + Send>;

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    failures: Vec<Failure>,
    /// Writes of another client that land just before a matching request.
    interleaved: Vec<(String, String, Change)>,
    next_uid: u64,
    next_version: u64,
}

/// Handle on the fake: its objects and the requests it saw.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

/// `/apis/g/v/namespaces/ns/kind/name[/sub]` → (collection, name, subresource).
fn split(path: &str) -> (String, Option<String>, Option<String>) {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let prefix = if segments.first() == Some(&"api") {
        2
    } else {
        3
    };
    let namespaced = segments.get(prefix) == Some(&"namespaces");
    let collection_end = if namespaced { prefix + 3 } else { prefix + 1 };
    let collection = segments[..collection_end.min(segments.len())].join("/");
    let name = segments.get(collection_end).map(|s| s.to_string());
    let sub = segments.get(collection_end + 1).map(|s| s.to_string());
    (format!("/{collection}"), name, sub)
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
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

impl FakeApi {
    /// A kube client talking to this fake (with the operator's write
    /// counter in front, as in production).
    pub fn client(&self, metrics: Arc<chatbot_operator::telemetry::Metrics>) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let response = fake.answer(request).await;
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
        state.next_uid += 1;
        state.next_version += 1;
        let uid = format!("uid-{}", state.next_uid);
        let version = state.next_version.to_string();
        let metadata = object["metadata"].as_object_mut().unwrap();
        metadata.entry("uid").or_insert(json!(uid));
        metadata.insert("resourceVersion".into(), json!(version));
        metadata.entry("generation").or_insert(json!(1));
        state.objects.insert(path.to_string(), object.clone());
        object
    }

    /// The object at `path`, e.g. `/apis/apps/v1/namespaces/x/deployments/y`.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Removes an object, as a `kubectl delete` would.
    pub fn remove(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.remove(path)
    }

    /// Changes an object in place (another client's write).
    pub fn update(&self, path: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        state.next_version += 1;
        let version = state.next_version.to_string();
        if let Some(object) = state.objects.get_mut(path) {
            change(object);
            object["metadata"]["resourceVersion"] = json!(version);
        }
    }

    /// Replaces an object's status (what another controller would write).
    pub fn set_status(&self, path: &str, status: Value) {
        let mut state = self.state.lock().unwrap();
        if let Some(object) = state.objects.get_mut(path) {
            object["status"] = status;
        }
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

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&bytes)
                    .or_else(|_| serde_yaml_ng::from_slice(&bytes))
                    .expect("request body is JSON or YAML"),
            )
        };
        let recorded = Recorded {
            method: parts.method.clone(),
            uri: parts.uri.to_string(),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.clone(),
        };
        let (code, reply) = self.handle(&recorded);
        let mut state = self.state.lock().unwrap();
        state.requests.push(recorded);
        drop(state);
        Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&reply).unwrap()))
            .unwrap()
    }

    fn handle(&self, request: &Recorded) -> (u16, Value) {
        let mut state = self.state.lock().unwrap();
        let line = request.line();
        if let Some(index) = state
            .interleaved
            .iter()
            .position(|(contains, _, _)| line.contains(contains.as_str()))
        {
            let (_, path, change) = state.interleaved.remove(index);
            state.next_version += 1;
            let version = state.next_version.to_string();
            if let Some(object) = state.objects.get_mut(&path) {
                change(object);
                object["metadata"]["resourceVersion"] = json!(version);
            }
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
        let (collection, name, sub) = split(path);
        let object_path = name.as_ref().map(|n| format!("{collection}/{n}"));
        state.next_version += 1;
        let version = state.next_version.to_string();
        match (request.method.clone(), object_path) {
            (Method::GET, Some(object_path)) => match state.objects.get(&object_path) {
                Some(object) => (200, object.clone()),
                None => (
                    404,
                    status(404, "NotFound", &format!("{object_path} not found")),
                ),
            },
            (Method::GET, None) => {
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|(p, _)| p.starts_with(&format!("{collection}/")))
                    .map(|(_, o)| o.clone())
                    .collect();
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
                let object_path = format!("{collection}/{name}");
                if state.objects.contains_key(&object_path) {
                    return (
                        409,
                        status(409, "AlreadyExists", &format!("{name} already exists")),
                    );
                }
                state.next_uid += 1;
                object["metadata"]["uid"] = json!(format!("uid-{}", state.next_uid));
                object["metadata"]["resourceVersion"] = json!(version);
                object["metadata"]["generation"] = json!(1);
                if !collection.ends_with("/events") {
                    state.objects.insert(object_path, object.clone());
                }
                (201, object)
            }
            (Method::PUT, Some(object_path)) => {
                let Some(existing) = state.objects.get(&object_path) else {
                    return (404, status(404, "NotFound", "not found"));
                };
                let mut object = request.body.clone().unwrap_or_default();
                let sent = object["metadata"]["resourceVersion"].clone();
                if !sent.is_null() && sent != existing["metadata"]["resourceVersion"] {
                    return (409, status(409, "Conflict", "the object has been modified"));
                }
                object["metadata"]["uid"] = existing["metadata"]["uid"].clone();
                object["metadata"]["resourceVersion"] = json!(version);
                state.objects.insert(object_path, object.clone());
                (200, object)
            }
            (Method::DELETE, Some(object_path)) => match state.objects.remove(&object_path) {
                Some(object) => (200, object),
                None => (404, status(404, "NotFound", "not found")),
            },
            (Method::PATCH, Some(object_path)) => {
                let patch = request.body.clone().unwrap_or_default();
                let apply = request.content_type.as_deref() == Some("application/apply-patch+yaml");
                let existing = state.objects.get(&object_path).cloned();
                let mut object = match (existing, apply, sub.as_deref()) {
                    (None, true, None) => {
                        state.next_uid += 1;
                        let mut object = patch.clone();
                        object["metadata"]["uid"] = json!(format!("uid-{}", state.next_uid));
                        object["metadata"]["generation"] = json!(1);
                        // The API server defaults a Deployment's replicas to 1.
                        if object["kind"] == "Deployment" && object["spec"]["replicas"].is_null() {
                            object["spec"]["replicas"] = json!(1);
                        }
                        object
                    }
                    (None, _, _) => return (404, status(404, "NotFound", "not found")),
                    (Some(mut existing), true, Some(_)) => {
                        existing["status"] = patch["status"].clone();
                        existing
                    }
                    (Some(existing), true, None) => {
                        // What one field manager applies replaces what it
                        // applied before; status and identity stay.
                        let mut object = patch.clone();
                        object["metadata"]["uid"] = existing["metadata"]["uid"].clone();
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
                    (Some(mut existing), false, _) => {
                        let sent = patch["metadata"]["resourceVersion"].clone();
                        if !sent.is_null() && sent != existing["metadata"]["resourceVersion"] {
                            return (409, status(409, "Conflict", "the object has been modified"));
                        }
                        merge_patch(&mut existing, &patch);
                        existing
                    }
                };
                object["metadata"]["resourceVersion"] = json!(version);
                state.objects.insert(object_path, object.clone());
                (200, object)
            }
            _ => (
                405,
                status(405, "MethodNotAllowed", "not supported by the fake"),
            ),
        }
    }
}
