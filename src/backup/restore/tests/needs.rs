//! What a restore asks of the backups at each of its steps.

use super::*;

const SOURCE: &str = "20261201-020000-r7";
const SAFETY: &str = "20261201-031500-ab12cd-safety";

#[test]
fn the_backup_a_restore_uses_is_pinned_from_its_first_step_until_it_ends() {
    let mut world = World::new(None);
    let needs = world.step("2026-12-01T03:15:00Z").needs();
    assert!(needs.under_way);
    assert_eq!(needs.safety, Some(Safety::Dump(SAFETY.into())));
    assert_eq!(
        needs.pinned,
        [SOURCE, SAFETY],
        "the source from acceptance on"
    );

    world.safety_done(backup_phase::SUCCEEDED);
    world.stopped = true;
    let needs = world.step("2026-12-01T03:16:00Z").needs();
    assert_eq!(world.at_step(), step::RESTORE);
    assert!(needs.under_way && needs.safety.is_none());
    assert_eq!(needs.pinned, [SOURCE, SAFETY]);
}

#[test]
fn after_a_restore_only_its_safety_backup_is_kept_and_only_while_the_undo_stands() {
    let mut world = World::new(None);
    world.restored();
    let needs = world.step("2026-12-02T00:00:00Z").needs();
    assert!(!needs.under_way);
    assert_eq!(needs.pinned, [SAFETY], "the undo's data stays");

    let mut status = world.status.clone().unwrap();
    status.previous_dropped = Some(true);
    world.status = Some(status);
    assert!(world.step("2026-12-09T00:00:00Z").needs().pinned.is_empty());
}

#[test]
fn a_refused_restore_asks_nothing_of_the_backups() {
    let mut world = World::new(None);
    world.cannot = Some("spec.paused is true".into());
    let needs = world.step("2026-12-01T03:15:00Z").needs();
    assert_eq!(needs, Needs::default());
}

#[test]
fn a_reconcile_blocked_mid_restore_brings_the_app_back_on_its_old_database() {
    let mut world = World::new(None);
    world.at_restore_job();
    assert!(world.step("2026-12-01T03:17:00Z").stop_writes);
    world.blocked = Some("spec.image: must not be empty".into());
    let plan = world.step("2026-12-01T03:18:00Z");
    assert!(!plan.stop_writes, "the app is not left at zero");
    let restore = world.status.clone().unwrap();
    assert_eq!(restore.step, step::FAILED);
    let message = restore.message.unwrap();
    assert!(
        message.contains("spec.image: must not be empty")
            && message.contains("the app is back on chatbot"),
        "{message}"
    );
    assert!(plan.start_job.is_none());
}

#[test]
fn a_blocked_reconcile_starts_no_restore_and_lets_a_switched_one_finish() {
    let mut world = World::new(None);
    world.blocked = Some("spec.image: must not be empty".into());
    let plan = world.step("2026-12-01T03:15:00Z");
    assert_eq!(world.at_step(), step::FAILED);
    assert!(plan.safety_backup.is_none() && !plan.stop_writes);
    let refused = world.status.clone().unwrap();
    assert!(refused.message.unwrap().contains("nothing was changed"));
    assert_eq!(
        (
            refused.database.as_str(),
            refused.previous_database.as_str()
        ),
        ("", ""),
        "a refused restore made no database and replaced none"
    );

    // Past the switch the app's data is the restored one: the restore
    // goes on to bring the app back on it.
    let mut world = World::new(None);
    world.at_restore_job();
    world.job(JobState::Succeeded, Some(GOOD));
    world.live = "chatbot_20261201_031500_ab12cd".into();
    world.step("2026-12-01T03:20:00Z");
    world.blocked = Some("spec.image: must not be empty".into());
    world.step("2026-12-01T03:21:00Z");
    assert_eq!(world.at_step(), step::SUCCEEDED);
}

#[test]
fn a_new_restore_waits_for_the_running_data_operation_then_goes_next() {
    let mut world = World::new(None);
    // The scheduled backup's Job runs.
    world.busy = true;
    let plan = world.step("2026-12-01T03:15:00Z");
    assert!(world.status.is_none() && plan.safety_backup.is_none());
    assert_eq!(
        plan.needs(),
        Needs::default(),
        "it is not begun, so it asks nothing yet"
    );
    world.busy = false;
    let plan = world.step("2026-12-01T03:16:00Z");
    assert_eq!(world.at_step(), step::SAFETY_BACKUP);
    assert!(plan.safety_backup.is_some());
}
