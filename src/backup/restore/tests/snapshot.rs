//! A restore from an RDS snapshot: a native safety snapshot, a new
//! instance made from the snapshot, the Secret moved to it, and the
//! replaced instance deleted once its time as the undo is over.

use super::*;
use instance::{InstanceRestore, InstanceState, live_instance};

const OLD: &str = "chatbot-brigade-sales";
const SNAPSHOT: &str = "chatbot-brigade-sales-pre-r8";
const NEW: &str = "chatbot-brigade-sales-r20261201-031500-ab12cd";
const SAFETY: &str = "chatbot-brigade-sales-20261201-031500-ab12cd-safety";

fn snapshot_world() -> World {
    let mut world = World::new(None);
    if let Some(request) = world.request.as_mut() {
        request.backup = SNAPSHOT.into();
        request.method = Some(instance::RDS_SNAPSHOT.into());
    }
    world.rds = Some(Rds {
        live: OLD.into(),
        secret_instance: Some(OLD.into()),
        restored: None,
        replaced: None,
    });
    world
}

fn rds(world: &mut World) -> &mut Rds {
    world.rds.as_mut().unwrap()
}

/// Safety snapshot taken, pods gone: at the Restore step by 03:17.
fn at_restore(world: &mut World) -> Plan {
    world.step("2026-12-01T03:15:00Z");
    world
        .backups
        .recent
        .push(record(SAFETY, backup_phase::SUCCEEDED));
    world.step("2026-12-01T03:16:00Z");
    world.stopped = true;
    world.step("2026-12-01T03:17:00Z")
}

#[test]
fn a_snapshot_restore_makes_a_new_instance_and_moves_the_secret_to_it() {
    let mut world = snapshot_world();
    let plan = world.step("2026-12-01T03:15:00Z");
    assert_eq!(
        plan.safety_backup,
        Some(Safety::RdsSnapshot {
            instance: OLD.into(),
            id: SAFETY.into()
        }),
        "a native snapshot of the live instance, not a dump"
    );
    let status = world.status.clone().unwrap();
    assert_eq!(status.instance.as_deref(), Some(NEW));
    assert_eq!(status.previous_instance.as_deref(), Some(OLD));
    assert_eq!(
        status.database, DEFAULT_DATABASE,
        "the instance comes back whole"
    );

    let plan = at_restore(&mut world);
    assert_eq!(world.at_step(), step::RESTORE);
    assert_eq!(
        plan.restore_instance,
        Some(InstanceRestore {
            snapshot: SNAPSHOT.into(),
            identifier: NEW.into(),
            id: "20261201-031500-ab12cd".into(),
        })
    );
    assert!(plan.start_job.is_none(), "no restore Job for a snapshot");
    assert!(plan.stop_writes);

    // RDS has it: no second call while it is made.
    rds(&mut world).restored = Some(InstanceState::Busy("creating".into()));
    let plan = world.step("2026-12-01T03:30:00Z");
    assert!(plan.restore_instance.is_none());
    let message = world.status.as_ref().unwrap().message.clone().unwrap();
    assert!(message.contains("is creating"), "{message}");
    assert_eq!(live_instance(world.status.as_ref(), OLD), OLD);

    rds(&mut world).restored = Some(InstanceState::Available {
        restored_from: Some(SNAPSHOT.into()),
    });
    world.step("2026-12-01T04:17:00Z");
    assert_eq!(world.at_step(), step::SWITCH);
    let status = world.status.clone().unwrap();
    assert_eq!(status.restore_seconds, Some(3600.0), "03:17 to 04:17");
    assert_eq!(
        live_instance(Some(&status), OLD),
        NEW,
        "the data step moves to it"
    );
    // The Secret still holds the old instance's endpoint: the switch waits.
    world.step("2026-12-01T04:18:00Z");
    assert_eq!(world.at_step(), step::SWITCH);
    assert!(stops_writes(world.status.as_ref()));

    rds(&mut world).secret_instance = Some(NEW.into());
    let plan = world.step("2026-12-01T04:19:00Z");
    assert_eq!(world.at_step(), step::RESUME);
    assert!(!plan.stop_writes);
    let switched = plan
        .notes
        .iter()
        .find(|n| n.reason == "DatabaseSwitched")
        .unwrap();
    assert!(
        switched
            .message
            .contains(&format!("now leads to RDS instance {NEW}")),
        "{}",
        switched.message
    );
    world.step("2026-12-01T04:20:00Z");
    assert_eq!(world.at_step(), step::SUCCEEDED);
    let status = world.status.clone().unwrap();
    assert!(
        status
            .message
            .as_deref()
            .unwrap()
            .contains(&format!("RDS instance {OLD} is kept as the undo")),
        "{:?}",
        status.message
    );

    // Seven days on, the replaced instance is deleted (after a final
    // snapshot), and that is recorded once it is gone.
    rds(&mut world).restored = None;
    rds(&mut world).live = NEW.into();
    rds(&mut world).replaced = Some(InstanceState::Available {
        restored_from: None,
    });
    let plan = world.step("2026-12-05T04:20:00Z");
    assert!(plan.drop_instance.is_none(), "not before its time");
    let plan = world.step("2026-12-08T04:20:00Z");
    assert_eq!(plan.drop_instance.as_deref(), Some(OLD));
    rds(&mut world).replaced = Some(InstanceState::Missing);
    let plan = world.step("2026-12-08T04:30:00Z");
    assert!(plan.drop_instance.is_none());
    assert_eq!(world.status.as_ref().unwrap().previous_dropped, Some(true));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.reason == "ReplacedDatabaseDropped" && n.message.contains(OLD))
    );
    let plan = world.step("2026-12-08T04:40:00Z");
    assert!(
        plan.drop_instance.is_none() && plan.notes.is_empty(),
        "once"
    );
}

#[test]
fn a_snapshot_restore_rds_cannot_make_leaves_the_app_on_its_instance() {
    for (seen, why) in [
        (
            InstanceState::Failed("incompatible-restore".into()),
            "is incompatible-restore",
        ),
        (
            InstanceState::Available {
                restored_from: Some("someone-elses".into()),
            },
            "was restored from someone-elses",
        ),
        (
            InstanceState::Foreign("other/bot (uid 9)".into()),
            "belongs to other/bot",
        ),
    ] {
        let mut world = snapshot_world();
        at_restore(&mut world);
        rds(&mut world).restored = Some(seen);
        let plan = world.step("2026-12-01T03:40:00Z");
        let status = world.status.clone().unwrap();
        assert_eq!(status.step, step::FAILED);
        let message = status.message.clone().unwrap();
        assert!(message.contains(why), "{message}");
        assert!(
            message.ends_with(&format!("the app is back on RDS instance {OLD}")),
            "{message}"
        );
        assert!(!plan.stop_writes, "the app comes back");
        assert_eq!(live_instance(Some(&status), OLD), OLD);
    }
}

#[test]
fn a_snapshot_restore_of_a_database_not_on_rds_is_refused() {
    let mut world = snapshot_world();
    world.rds = None;
    let plan = world.step("2026-12-01T03:15:00Z");
    let status = world.status.clone().unwrap();
    assert_eq!(status.step, step::FAILED);
    assert!(
        status
            .message
            .unwrap()
            .contains("is an RDS snapshot, and spec.database.mode is not Managed"),
    );
    assert!(plan.safety_backup.is_none() && !plan.stop_writes);
}
