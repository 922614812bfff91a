//! The maintenance page: a static page served in the app's place when no
//! app pod is ready, on demand, or while a restore has the app stopped, so
//! users see who to call instead of an error. Pure parts: the page's
//! content ([`page`]) and when it serves ([`switch`]); the server of the
//! page ([`server`]) runs from the operator image as its own Deployment.

pub mod action;
pub mod page;
pub mod server;
pub mod switch;
