//! Why a ChatbotDeployment could not be rendered, and where the fault is.

use crate::environment::EnvironmentError;

/// Why a ChatbotDeployment could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The resource has no name, so children cannot be named.
    #[error("metadata.name: required")]
    MissingName,
    /// The spec names an unknown environment, or its defaults are broken.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    /// The spec asks for something only the renderer can judge.
    #[error("{path}: {message}")]
    Spec { path: String, message: String },
    /// A template failed to compile or render.
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    /// A template is missing from the template set.
    #[error("template {template}: {message}")]
    MissingTemplate { template: String, message: String },
    /// A template rendered something that is not a valid object of its kind.
    #[error("template {template} rendered an invalid {kind}: {path}: {message}")]
    InvalidObject {
        template: String,
        kind: String,
        path: String,
        message: String,
    },
}

impl RenderError {
    /// Where the problem is: a spec field path, or the template at fault.
    pub fn field(&self) -> String {
        match self {
            RenderError::MissingName => "metadata.name".into(),
            RenderError::Environment(EnvironmentError::Unknown { .. }) => "spec.environment".into(),
            RenderError::Environment(_) => "environments".into(),
            RenderError::Spec { path, .. } => path.clone(),
            RenderError::Template { template, .. }
            | RenderError::MissingTemplate { template, .. }
            | RenderError::InvalidObject { template, .. } => format!("templates/{template}"),
        }
    }

    /// A short, stable reason for conditions, events and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            RenderError::MissingName => "MissingName",
            RenderError::Environment(EnvironmentError::Unknown { .. }) => "UnknownEnvironment",
            RenderError::Environment(_) => "InvalidEnvironment",
            RenderError::Spec { .. } => "InvalidSpec",
            RenderError::Template { .. } | RenderError::MissingTemplate { .. } => "TemplateError",
            RenderError::InvalidObject { .. } => "InvalidObject",
        }
    }
}
