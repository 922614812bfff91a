//! Why a restore cannot start for a deployment, said the same by the
//! operator (which refuses it before anything is stopped) and by the CLI's
//! plan (which says so instead of offering steps it cannot carry out).
//! Pure.

use crate::api::StoreMode;

/// What decides whether a restore can start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    /// `spec.database.mode`.
    pub mode: Option<StoreMode>,
    /// `spec.paused`.
    pub paused: bool,
    /// A dump can be restored: backups have a destination.
    pub dumps: bool,
    /// The restore is of an RDS snapshot.
    pub snapshot: bool,
    /// The revision whose migration Job runs now.
    pub migrating: Option<i64>,
    /// The revision rolling out now.
    pub rolling_out: Option<i64>,
}

/// Why no restore can start, if it cannot.
pub fn refusal(standing: &Standing) -> Option<String> {
    if !matches!(
        standing.mode,
        Some(StoreMode::Managed | StoreMode::InCluster)
    ) {
        return Some(
            "spec.database.mode is not Managed or InCluster: the operator switches only a connection Secret it writes; restore an external database yourself".into(),
        );
    }
    if standing.paused {
        return Some(
            "spec.paused is true: nothing changes while the resource is paused; resume it first"
                .into(),
        );
    }
    if !standing.dumps && !standing.snapshot {
        return Some(
            "spec.backup.destination is not set (or backups are off): there is no dump to restore from".into(),
        );
    }
    if let Some(revision) = standing.migrating {
        return Some(format!(
            "the migration Job of revision {revision} is running and writes to the database a restore replaces; wait for it to end"
        ));
    }
    standing
        .rolling_out
        .map(|revision| format!("revision {revision} is rolling out; promote or abort it first"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_stands_alone_and_a_standing_restore_is_allowed() {
        let ok = Standing {
            mode: Some(StoreMode::InCluster),
            dumps: true,
            ..Standing::default()
        };
        assert_eq!(refusal(&ok), None);
        let external = Standing {
            mode: Some(StoreMode::External),
            ..ok.clone()
        };
        assert!(
            refusal(&external)
                .unwrap()
                .starts_with("spec.database.mode is not Managed")
        );
        let snapshot_only = Standing {
            mode: Some(StoreMode::Managed),
            dumps: false,
            snapshot: true,
            ..ok.clone()
        };
        assert_eq!(refusal(&snapshot_only), None);
        let rolling = Standing {
            rolling_out: Some(8),
            ..ok
        };
        assert_eq!(
            refusal(&rolling).unwrap(),
            "revision 8 is rolling out; promote or abort it first"
        );
    }
}
