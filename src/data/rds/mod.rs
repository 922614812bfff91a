//! Postgres on AWS RDS. `DatabaseRequest` is what the spec asks for,
//! `DatabaseInstance` what one describe shows; `step` (pure) decides the
//! next call; `Rds` makes the calls.

mod calls;
mod request;

pub use calls::Rds;
pub use request::{
    DATABASE_NAME, DEFAULT_BACKUP_RETENTION_DAYS, DEFAULT_STORAGE_GIB, DatabaseChanges,
    DatabaseInstance, DatabaseRequest, DatabaseStep, MASTER_USERNAME, step,
};
pub(crate) use request::{PASSING, SERVING};
