//! The `chatbot.dev/v1alpha1` API: the ChatbotDeployment resource, the on-call
//! ChatbotAction resource, their status types and the generated CRDs.
//!
//! Every field carries a doc comment: it becomes the `kubectl explain` text.
//! Cross-field rules live beside the fields as CEL rules
//! (`x-kubernetes-validations`) so the API server rejects bad specs at
//! admission with a message that names the field.

// `printcolumn(type_ = ..)` repeats across columns by design.
#![allow(clippy::duplicated_attributes)]

mod action;
pub mod admission;
mod app;
mod crd;
pub mod crd_admission;
mod data;
mod deployment;
mod maintenance;
mod operations;
mod report;
mod restore;
mod rollout;
mod status;
mod traffic;
mod variant;

pub use action::*;
pub use app::*;
pub use crd::*;
pub use data::*;
pub use deployment::*;
pub use maintenance::*;
pub use operations::*;
pub use report::*;
pub use restore::*;
pub use rollout::*;
pub use status::*;
pub use traffic::*;
pub use variant::*;

/// The API group of both resources.
pub const GROUP: &str = "chatbot.dev";
/// The served and stored version of both resources.
pub const VERSION: &str = "v1alpha1";
