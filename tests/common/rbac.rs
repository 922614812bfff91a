//! RBAC as a real API server enforces it, for the in-memory API server:
//! who is asking (a bearer token, an impersonation header, or the
//! operator's own client), what the request is (verb, group, resource and
//! subresource, namespace, name), and whether a Role or ClusterRole bound
//! to them allows it — `resourceNames` included. The roles are those of
//! `manifests/` plus any the test stores in the fake.

use std::sync::OnceLock;

use http::Method;
use serde_json::Value;

use super::fake_api::query_param;

/// Who sends a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// The operator's service account, as `manifests/` installs it.
pub const OPERATOR_USER: &str = "system:serviceaccount:chatbot-operator-system:chatbot-operator";
/// The cluster administrator: allowed everything, may impersonate.
pub const ADMIN_USER: &str = "kubernetes-admin";

impl Identity {
    /// A user in `groups`; a service account's user name brings its groups.
    pub fn user(user: &str, groups: &[&str]) -> Self {
        let mut all: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if let Some(rest) = user.strip_prefix("system:serviceaccount:")
            && let Some((namespace, _)) = rest.split_once(':')
        {
            all.push("system:serviceaccounts".into());
            all.push(format!("system:serviceaccounts:{namespace}"));
        }
        all.push("system:authenticated".into());
        Self {
            user: user.into(),
            groups: all,
        }
    }

    pub fn operator() -> Self {
        Self::user(OPERATOR_USER, &[])
    }

    pub fn admin() -> Self {
        Self::user(ADMIN_USER, &["system:masters"])
    }

    /// The fake's bearer tokens name their user: `user` or
    /// `user@group1,group2`.
    pub fn from_token(token: &str) -> Self {
        match token.split_once('@') {
            Some((user, groups)) => Self::user(user, &groups.split(',').collect::<Vec<_>>()),
            None => Self::user(token, &[]),
        }
    }

    /// The token [`from_token`](Self::from_token) reads back.
    pub fn token(&self) -> String {
        let own: Vec<&str> = self
            .groups
            .iter()
            .map(String::as_str)
            .filter(|g| !g.starts_with("system:serviceaccounts") && *g != "system:authenticated")
            .collect();
        if own.is_empty() {
            self.user.clone()
        } else {
            format!("{}@{}", self.user, own.join(","))
        }
    }

    fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// What RBAC judges of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub group: String,
    /// `deployments`, or `deployments/status` for a subresource.
    pub resource: String,
    pub namespace: Option<String>,
    /// Empty for collections and for `create`.
    pub name: String,
}

/// The attributes of a request; `None` for what every authenticated user
/// may read (discovery, `/version`, OpenAPI).
pub fn attributes(method: &Method, uri: &str) -> Option<Attributes> {
    let path = uri.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => {
            (Some(namespace.to_string()), rest)
        }
        rest => (None, rest),
    };
    let (resource, name) = match rest {
        [] => return None,
        [resource] => (resource.to_string(), String::new()),
        [resource, name] => (resource.to_string(), name.to_string()),
        [resource, name, sub, ..] => (format!("{resource}/{sub}"), name.to_string()),
    };
    let watch = query_param(uri, "watch").as_deref() == Some("true");
    let verb = match *method {
        Method::GET if watch => "watch",
        Method::GET if name.is_empty() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if name.is_empty() => "deletecollection",
        Method::DELETE => "delete",
        _ => "unknown",
    };
    let name = if verb == "create" {
        String::new()
    } else {
        name
    };
    Some(Attributes {
        verb: verb.into(),
        group,
        resource,
        namespace,
        name,
    })
}

/// The Roles, ClusterRoles and their bindings of `manifests/`, read once.
pub fn manifests() -> &'static [Value] {
    static OBJECTS: OnceLock<Vec<Value>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let dir = super::root().join("manifests/operator");
        let mut objects = Vec::new();
        for entry in std::fs::read_dir(dir).expect("manifests/operator") {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for object in chatbot_operator::document::documents(&text).unwrap() {
                if object["apiVersion"] == "rbac.authorization.k8s.io/v1" {
                    objects.push(object);
                }
            }
        }
        objects
    })
}

fn listed(rule: &Value, key: &str, value: &str) -> bool {
    rule[key]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i == value || i == "*"))
}

/// Whether RBAC `rules` allow the request.
pub fn rules_allow(rules: &Value, request: &Attributes) -> bool {
    rules.as_array().into_iter().flatten().any(|rule| {
        let names_ok = match rule["resourceNames"].as_array() {
            None => true,
            Some(names) if names.is_empty() => true,
            Some(names) => !request.name.is_empty() && names.iter().any(|n| n == &request.name),
        };
        listed(rule, "apiGroups", &request.group)
            && listed(rule, "resources", &request.resource)
            && listed(rule, "verbs", &request.verb)
            && names_ok
    })
}

fn bound(binding: &Value, identity: &Identity) -> bool {
    binding["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|subject| {
            let name = subject["name"].as_str().unwrap_or_default();
            match subject["kind"].as_str() {
                Some("User") => identity.user == name,
                Some("Group") => identity.groups.iter().any(|g| g == name),
                Some("ServiceAccount") => {
                    identity.user
                        == format!(
                            "system:serviceaccount:{}:{name}",
                            subject["namespace"].as_str().unwrap_or_default()
                        )
                }
                _ => false,
            }
        })
}

/// Whether `identity` may make `request`, given the RBAC `objects`
/// (Roles, ClusterRoles, RoleBindings, ClusterRoleBindings).
pub fn allowed<'a>(
    identity: &Identity,
    request: &Attributes,
    objects: impl Iterator<Item = &'a Value> + Clone,
) -> bool {
    if identity.is_admin() {
        return true;
    }
    let role = |kind: &str, namespace: Option<&str>, name: &str| {
        objects.clone().find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"] == name
                && o["metadata"]["namespace"].as_str() == namespace
        })
    };
    objects.clone().any(|binding| {
        let reference = &binding["roleRef"];
        let name = reference["name"].as_str().unwrap_or_default();
        let rules = match (binding["kind"].as_str(), reference["kind"].as_str()) {
            (Some("ClusterRoleBinding"), Some("ClusterRole")) => role("ClusterRole", None, name),
            (Some("RoleBinding"), kind) => {
                let namespace = binding["metadata"]["namespace"].as_str();
                // A RoleBinding grants only in its own namespace.
                if request.namespace.as_deref() != namespace || namespace.is_none() {
                    return false;
                }
                match kind {
                    Some("ClusterRole") => role("ClusterRole", None, name),
                    _ => role("Role", namespace, name),
                }
            }
            _ => None,
        };
        rules.is_some_and(|role| bound(binding, identity) && rules_allow(&role["rules"], request))
    })
}

/// The API server's words for a refused request.
pub fn forbidden(identity: &Identity, request: &Attributes) -> String {
    let (resource, sub) = request
        .resource
        .split_once('/')
        .map_or((request.resource.as_str(), None), |(r, s)| (r, Some(s)));
    let qualified = if request.group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{}", request.group)
    };
    let scope = request
        .namespace
        .as_ref()
        .map_or("at the cluster scope".to_string(), |ns| {
            format!("in the namespace \"{ns}\"")
        });
    let what = match sub {
        Some(sub) => format!("resource \"{resource}/{sub}\""),
        None => format!("resource \"{resource}\""),
    };
    format!(
        "{qualified} \"{}\" is forbidden: User \"{}\" cannot {} {what} in API group \"{}\" {scope}",
        request.name, identity.user, request.verb, request.group
    )
}
