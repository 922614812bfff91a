//! The pure render pipeline:
//! resolve(spec, environment) → context → tera templates → YAML → typed
//! k8s-openapi objects → common labels and a spec hash on each.
//!
//! No I/O, no clock: the same input always gives byte-identical output.
//! `pipeline` runs it; every other file is one part of it, and this file
//! only names them.

pub mod backup;
mod candidate;
mod child_kind;
mod children;
pub mod config_history;
mod context;
mod contract;
mod env;
mod error;
pub mod maintenance;
mod metadata;
pub mod monitoring;
mod network;
mod object_type;
mod overlay;
mod page;
mod pipeline;
mod routes;
pub mod stores;
mod templates;

pub use candidate::{CandidateOf, candidate_children};
pub use children::{Child, ChildKind, Object, ObjectType};
pub use context::{RenderContext, Route, build as build_context};
pub use error::RenderError;
pub use network::edge_gaps;
pub use overlay::{candidate_spec_at, candidates, promotion_patch};
pub use page::divert;
pub use pipeline::{Rendered, Renderer, to_json_list, to_yaml, wanted_children};
pub use routes::{exposure, route_children};
pub use templates::Templates;
