//! The maintenance page: what it says (spec), and when and why it is
//! served (status, and an on-call hold written by a ChatbotAction).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A contact shown on the maintenance page, e.g. a crisis helpline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Who answers, e.g. `AASRA`.
    #[schemars(length(max = 128))]
    pub name: String,
    /// Phone number as dialled, e.g. `022 2754 6669`; the page links it as `tel:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^[+]?[0-9][-0-9 ().]*$')").message("spec.maintenance.contacts[].phone must be a phone number: digits, spaces, dashes, dots or brackets, and an optional leading +"))]
    pub phone: Option<String>,
    /// A link, e.g. a chat or status page (https, http or mailto).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^(https?://|mailto:)[^ ]+$')").message("spec.maintenance.contacts[].url must be an https, http or mailto link without spaces"))]
    pub url: Option<String>,
}

/// An extra link on the maintenance page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceLink {
    /// The link's text, e.g. `Status page`.
    #[schemars(length(max = 128))]
    pub text: String,
    /// Where it goes (https, http or mailto).
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^(https?://|mailto:)[^ ]+$')").message("spec.maintenance.links[].url must be an https, http or mailto link without spaces"))]
    pub url: String,
}

/// A static fallback page served when no app pod is ready, or on demand.
/// With this field set the page's Deployment runs beside the app, ready to
/// take over.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Maintenance {
    /// Serve the page when no app pod is ready, and hand back when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_unavailable: Option<bool>,
    /// Serve the page now, instead of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Page title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub title: Option<String>,
    /// Text shown to users; blank lines separate paragraphs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub message: Option<String>,
    /// Contacts listed on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub contacts: Option<Vec<Contact>>,
    /// Extra links listed under the contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub links: Option<Vec<MaintenanceLink>>,
    /// Seconds clients are told to wait before trying again (`Retry-After`, default 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 86400").message("spec.maintenance.retryAfterSeconds must be between 1 and 86400"))]
    pub retry_after_seconds: Option<i32>,
    /// Image of the page server (`chatbot-operator maintenance serve`);
    /// the operator's own release by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$')").message("spec.maintenance.image must be a container image reference"))]
    pub image: Option<String>,
}

/// Why the maintenance page is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MaintenanceCause {
    /// `spec.maintenance.enabled` is true.
    Spec,
    /// An on-call `Maintenance` action turned it on.
    OnCall,
    /// A restore has the app stopped.
    Restore,
    /// No app pod is ready (`spec.maintenance.whenUnavailable`).
    Unavailable,
}

/// The maintenance page as the route has it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceStatus {
    /// The route sends users to the page.
    pub serving: bool,
    /// Why the page serves; absent while the app does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<MaintenanceCause>,
    /// What happened, in words.
    #[serde(default)]
    pub message: String,
    /// When the route last switched to or from the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// The page turned on by an on-call `Maintenance` action: it stays on,
/// whatever the spec says, until an action turns it off. Never written to
/// the spec, so GitOps sees no drift.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceHold {
    /// The ChatbotAction that turned the page on.
    pub action: String,
    /// Its reason.
    #[serde(default)]
    pub reason: String,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}
