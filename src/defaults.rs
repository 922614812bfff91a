//! Values the operator falls back to where neither the spec nor the
//! environment's defaults set them. The ground floor: it imports nothing
//! of this crate.

pub const PORT: i32 = 8000;
pub const HEALTH_PATH: &str = "/health";
pub const STARTUP_SECONDS: i32 = 60;
pub const PERIOD_SECONDS: i32 = 10;
pub const TARGET_CPU: i32 = 70;
pub const REVISION_HISTORY: i32 = 10;
pub const PROGRESS_DEADLINE: i32 = 600;
pub const GRACE_SECONDS: i64 = 30;
/// A WebSocket or streamed answer may stay open this long by default.
pub const STREAM_IDLE_SECONDS: i32 = 3600;
/// A plain request may sit idle this long at the edge by default.
pub const REQUEST_IDLE_SECONDS: i32 = 60;
pub const LOG_LEVEL: &str = "info";
pub const DB_POOL_SIZE: i32 = 5;
pub const DB_MAX_OVERFLOW: i32 = 5;
pub const CPU_REQUEST: &str = "100m";
pub const MEMORY_REQUEST: &str = "256Mi";
pub const CPU_LIMIT: &str = "500m";
pub const MEMORY_LIMIT: &str = "512Mi";

/// Images and sizes used when neither the spec nor the environment sets them.
pub mod stores {
    pub const POSTGRES_VERSION: &str = "16";
    pub const REDIS_VERSION: &str = "7.2";
    pub const PGBOUNCER_IMAGE: &str = "edoburu/pgbouncer:v1.23.1-p3";
    pub const DATABASE_STORAGE_GIB: i32 = 5;
    pub const CACHE_MEMORY_MIB: i32 = 128;
    pub const POOLER_POOL_SIZE: i32 = 20;
    pub const POOLER_REPLICAS: i32 = 1;
    /// Client connections one PgBouncer pod accepts.
    pub const POOLER_MAX_CLIENT_CONNECTIONS: i32 = 1000;
}
