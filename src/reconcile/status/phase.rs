//! Lifecycle phases shown in `kubectl get cbd`.

pub const PENDING: &str = "Pending";
pub const PROGRESSING: &str = "Progressing";
pub const READY: &str = "Ready";
pub const DEGRADED: &str = "Degraded";
pub const PAUSED: &str = "Paused";
pub const DELETING: &str = "Deleting";
