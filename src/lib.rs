//! chatbot-operator: one `ChatbotDeployment` resource becomes a production
//! deployment of an LLM chatbot service.
//!
//! The crate is a library of pure pieces (API types, environment resolution,
//! rendering, cost and capacity) plus the `chatbot-operator` binary that
//! drives them from the command line.

pub mod agent;
pub mod analysis;
pub mod api;
pub mod backup;
pub mod capacity;
pub mod cli;
pub mod cost;
pub mod data;
pub mod defaults;
pub mod document;
pub mod environment;
pub mod hash;
pub mod maintenance;
pub mod manifest;
pub mod monitoring;
pub mod names;
pub mod notify;
pub mod operator;
pub mod plan;
pub mod prices;
pub mod reconcile;
pub mod redact;
pub mod render;
pub mod rollout;
pub mod secrets;
pub mod telemetry;
