use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::api::BackupRequest;
use crate::backup::{
    Schedule,
    jobs::{JobFacts, JobState, Reason},
    report::Report,
};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn job(id: &str, reason: Reason, state: JobState, started: &str) -> JobFacts {
    JobFacts {
        name: format!("sales-backup-{id}"),
        uid: Some(format!("uid-{id}")),
        id: id.into(),
        reason,
        revision: Some(3),
        action: None,
        state,
        started_at: Some(at(started)),
        finished_at: (state != JobState::Running)
            .then(|| at(started) + SignedDuration::from_mins(2)),
        failure: (state == JobState::Failed)
            .then(|| "DeadlineExceeded: Job was active longer than specified deadline".into()),
    }
}

/// A good backup's record, started at `started`.
fn good(id: &str, started: &str) -> BackupRecord {
    BackupRecord {
        id: id.into(),
        phase: phase::SUCCEEDED.into(),
        started_at: Some(Time(at(started))),
        ..Default::default()
    }
}

fn report(outcome: &str, bytes: u64) -> Report {
    Report {
        kind: "backup".into(),
        outcome: outcome.into(),
        bytes: Some(bytes),
        sha256: Some("ab".into()),
        toc_entries: Some(40),
        message: (outcome == "Failed").then(|| "pg_dump exited 1: connection refused".into()),
        ..Default::default()
    }
}

struct World {
    verify_every: Option<u32>,
    /// Why no Job can be made (`None`: both templates were rendered).
    unavailable: Option<&'static str>,
    schedule: Schedule,
    status: BackupsStatus,
    jobs: Vec<JobFacts>,
    reports: BTreeMap<String, Report>,
}

impl World {
    fn daily() -> Self {
        Self {
            verify_every: None,
            unavailable: None,
            schedule: Schedule::parse("0 4 * * *", None).unwrap(),
            status: BackupsStatus::default(),
            jobs: Vec::new(),
            reports: BTreeMap::new(),
        }
    }

    fn plan(&self, now: &str) -> Plan {
        self.plan_with(now, None, None)
    }

    fn plan_with(&self, now: &str, request: Option<&BackupRequest>, pre: Option<i64>) -> Plan {
        plan(&Facts {
            schedule: Some(&self.schedule),
            since: at("2026-11-01T00:00:00Z"),
            previous: &self.status,
            jobs: &self.jobs,
            reports: &self.reports,
            request,
            pre_rollout: pre,
            safety: None,
            restore_source: None,
            restoring: false,
            revision: Some(3),
            verify_every: self.verify_every,
            backup_template: self.unavailable.is_none(),
            verify_template: self.unavailable.is_none(),
            unavailable: self.unavailable,
            now: at(now),
        })
    }
}

#[test]
fn a_due_window_starts_one_backup_named_by_the_window() {
    let world = World::daily();
    let plan = world.plan("2026-12-01T04:00:30Z");
    let start = plan.start.expect("due");
    assert_eq!(start.id, "20261201-040000-r3");
    assert_eq!(start.reason, Reason::Scheduled);
    assert_eq!(plan.status.last.as_ref().unwrap().phase, phase::RUNNING);
    assert_eq!(
        plan.status.last_window,
        Some(Time(at("2026-12-01T04:00:00Z")))
    );
    assert_eq!(
        plan.status.next_window,
        Some(Time(at("2026-12-02T04:00:00Z")))
    );
}

#[test]
fn a_week_of_missed_windows_runs_once_and_then_waits_for_the_next() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-11-24T04:00:00Z")));
    let first = world.plan("2026-12-01T10:00:00Z");
    assert_eq!(first.start.as_ref().unwrap().id, "20261201-040000-r3");
    world.status = first.status;
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Succeeded,
        "2026-12-01T10:00:00Z",
    )];
    world
        .reports
        .insert(world.jobs[0].name.clone(), report("Succeeded", 5_000_000));
    let second = world.plan("2026-12-01T10:05:00Z");
    assert_eq!(second.start, None, "no backlog");
    assert_eq!(
        second.wake,
        Some(std::time::Duration::from_secs(17 * 3600 + 55 * 60))
    );
}

#[test]
fn a_running_backup_is_never_started_twice_and_the_window_waits_for_it() {
    let mut world = World::daily();
    world.jobs = vec![job(
        "manual-1",
        Reason::OnDemand,
        JobState::Running,
        "2026-12-01T03:50:00Z",
    )];
    let plan = world.plan("2026-12-01T04:00:30Z");
    assert_eq!(plan.start, None);
    assert_eq!(plan.status.last_window, None, "still owed");
    world.status = plan.status;
    world.jobs[0].state = JobState::Succeeded;
    let later = world.plan("2026-12-01T04:20:00Z");
    assert_eq!(later.start.unwrap().id, "20261201-040000-r3");
}

#[test]
fn a_failed_backup_is_recorded_and_never_blocks_the_next_window() {
    let mut world = World::daily();
    world.status = world.plan("2026-12-01T04:00:10Z").status;
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Failed,
        "2026-12-01T04:00:10Z",
    )];
    world
        .reports
        .insert(world.jobs[0].name.clone(), report("Failed", 0));
    let failed = world.plan("2026-12-01T04:03:00Z");
    let last = failed.status.last.clone().unwrap();
    assert_eq!(last.phase, phase::FAILED);
    assert_eq!(
        last.message.as_deref(),
        Some("pg_dump exited 1: connection refused")
    );
    assert_eq!(failed.notes[0].reason, "BackupFailed");
    assert!(failed.notes[0].warning);
    assert_eq!(failed.start, None, "the same window is not retried");
    world.status = failed.status;
    let again = world.plan("2026-12-01T04:04:00Z");
    assert!(
        again.notes.is_empty(),
        "one Event per failure, not per reconcile"
    );
    let next = world.plan("2026-12-02T04:00:05Z");
    assert_eq!(next.start.unwrap().id, "20261202-040000-r3");
}

#[test]
fn a_stuck_backup_stopped_at_its_deadline_is_a_failure_with_the_reason() {
    let mut world = World::daily();
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Failed,
        "2026-12-01T04:00:00Z",
    )];
    let plan = world.plan("2026-12-01T06:01:00Z");
    let last = plan.status.last.unwrap();
    assert_eq!(last.phase, phase::FAILED);
    assert!(last.message.unwrap().starts_with("DeadlineExceeded"));
}

#[test]
fn a_success_records_size_and_checksum_and_stays_last_successful_after_failures() {
    let mut world = World::daily();
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Succeeded,
        "2026-12-01T04:00:00Z",
    )];
    world
        .reports
        .insert(world.jobs[0].name.clone(), report("Succeeded", 48_213_977));
    let plan = world.plan("2026-12-01T04:05:00Z");
    let good = plan.status.last_successful.clone().unwrap();
    assert_eq!(good.bytes, Some(48_213_977));
    assert_eq!(good.sha256.as_deref(), Some("ab"));
    assert_eq!(good.time, Some(Time(at("2026-12-01T04:02:00Z"))));
    assert_eq!(
        plan.notes[0].message,
        "scheduled backup 20261201-040000-r3 succeeded, 46.0 MiB"
    );
    world.status = plan.status;
    world.jobs.push(job(
        "20261202-040000-r3",
        Reason::Scheduled,
        JobState::Failed,
        "2026-12-02T04:00:00Z",
    ));
    let after = world.plan("2026-12-02T04:05:00Z");
    assert_eq!(after.status.last.unwrap().id, "20261202-040000-r3");
    assert_eq!(
        after.status.last_successful.unwrap().id,
        "20261201-040000-r3"
    );
}

#[test]
fn a_pre_rollout_backup_goes_first_and_an_on_call_request_next() {
    let world = World::daily();
    let request = BackupRequest {
        id: "20261201-041500-r3".into(),
        action: "backup-now".into(),
        expect_shrink: true,
    };
    let plan = world.plan_with("2026-12-01T04:15:00Z", Some(&request), Some(4));
    let start = plan.start.unwrap();
    assert_eq!(
        (start.reason, start.revision),
        (Reason::PreRollout, Some(4))
    );
    assert_eq!(start.id, "20261201-041500-r4-pre");
    let mut world = world;
    world.status = plan.status;
    world.jobs = vec![job(
        "20261201-041500-r4-pre",
        Reason::PreRollout,
        JobState::Succeeded,
        "2026-12-01T04:15:00Z",
    )];
    world.jobs[0].revision = Some(4);
    let next = world.plan_with("2026-12-01T04:18:00Z", Some(&request), Some(4));
    let start = next.start.unwrap();
    assert_eq!(
        (start.reason, start.id.as_str()),
        (Reason::OnDemand, "20261201-041500-r3")
    );
    assert!(start.expect_shrink);
    assert_eq!(start.action.as_deref(), Some("backup-now"));
    assert_eq!(
        pre_rollout(Some(&next.status), 4, None).unwrap().phase,
        phase::SUCCEEDED
    );
}

#[test]
fn without_a_job_template_nothing_starts_a_request_fails_with_why_and_the_window_stays_owed() {
    let mut world = World::daily();
    world.unavailable = Some("spec.backup.destination is not set");
    world.status.last_window = Some(Time(at("2026-11-30T04:00:00Z")));

    let window = world.plan("2026-12-01T04:00:30Z");
    assert_eq!(window.start, None);
    assert!(
        window.status.recent.is_empty(),
        "{:?}",
        window.status.recent
    );
    assert_eq!(
        window.status.last_window,
        Some(Time(at("2026-11-30T04:00:00Z"))),
        "a window not taken stays owed"
    );
    assert!(window.notes.is_empty());

    let request = BackupRequest {
        id: "20261201-050000-r3".into(),
        action: "backup-now".into(),
        expect_shrink: false,
    };
    let refused = world.plan_with("2026-12-01T05:00:00Z", Some(&request), None);
    assert_eq!(refused.start, None);
    let record = refused.status.last.clone().expect("the request's record");
    assert_eq!(
        (record.id.as_str(), record.phase.as_str()),
        ("20261201-050000-r3", phase::FAILED)
    );
    assert_eq!(
        record.message.as_deref(),
        Some("spec.backup.destination is not set")
    );
    assert_eq!(
        refused.status.started_request.as_deref(),
        Some("20261201-050000-r3"),
        "answered once"
    );
    let reasons: Vec<_> = refused
        .notes
        .iter()
        .map(|n| (n.reason, n.warning))
        .collect();
    assert_eq!(reasons, [("BackupFailed", true)]);

    // Once a backup can be taken, the owed window runs.
    world.unavailable = None;
    world.status = refused.status;
    let owed = world.plan_with("2026-12-01T06:00:00Z", Some(&request), None);
    let start = owed.start.expect("the owed window");
    assert_eq!(
        (start.reason, start.id.as_str()),
        (Reason::Scheduled, "20261201-040000-r3")
    );
}

#[test]
fn old_jobs_are_removed_and_their_records_kept() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    world.jobs = (1..=5)
        .map(|day| {
            job(
                &format!("2026112{day}-040000-r3"),
                Reason::Scheduled,
                JobState::Succeeded,
                &format!("2026-11-2{day}T04:00:00Z"),
            )
        })
        .collect();
    let first = world.plan("2026-12-01T05:00:00Z");
    assert!(
        first.prune.is_empty(),
        "not before their outcome is in status"
    );
    world.status = first.status;
    let plan = world.plan("2026-12-01T05:01:00Z");
    let pruned: Vec<&str> = plan.prune.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        pruned,
        [
            "sales-backup-20261122-040000-r3",
            "sales-backup-20261121-040000-r3"
        ]
    );
    assert_eq!(plan.status.recent.len(), 5);
}

#[test]
fn a_started_backup_whose_job_vanished_is_failed_after_a_while() {
    let mut world = World::daily();
    world.status = world.plan("2026-12-01T04:00:10Z").status;
    let soon = world.plan("2026-12-01T04:01:00Z");
    assert_eq!(
        soon.status.last.unwrap().phase,
        phase::RUNNING,
        "the cache may lag"
    );
    let late = world.plan("2026-12-01T04:10:00Z");
    assert_eq!(late.status.last.unwrap().phase, phase::FAILED);
}

#[test]
fn a_good_backup_is_verified_next_and_the_result_lands_on_its_record() {
    let mut world = World::daily();
    world.verify_every = Some(1);
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Succeeded,
        "2026-12-01T04:00:00Z",
    )];
    world
        .reports
        .insert(world.jobs[0].name.clone(), report("Succeeded", 1 << 20));
    let plan = world.plan("2026-12-01T04:05:00Z");
    let start = plan.start.clone().unwrap();
    assert_eq!(
        (start.reason, start.id.as_str()),
        (Reason::Verify, "20261201-040000-r3")
    );
    world.status = plan.status;
    let mut verify = job(
        "20261201-040000-r3",
        Reason::Verify,
        JobState::Running,
        "2026-12-01T04:05:00Z",
    );
    verify.name = "sales-verify-20261201-040000-r3".into();
    world.jobs.push(verify.clone());
    let running = world.plan("2026-12-01T04:06:00Z");
    assert_eq!(running.start, None, "one Job at a time");
    assert_eq!(
        running.status.last.as_ref().unwrap().phase,
        phase::SUCCEEDED,
        "the dump's record stays"
    );
    world.jobs[1].state = JobState::Succeeded;
    world.reports.insert(
        verify.name.clone(),
        Report {
            outcome: "Succeeded".into(),
            restore_seconds: Some(12.5),
            ..Default::default()
        },
    );
    let done = world.plan("2026-12-01T04:08:00Z");
    let record = done.status.last.clone().unwrap();
    assert_eq!(
        (record.verified, record.restore_seconds),
        (Some(true), Some(12.5))
    );
    assert_eq!(done.notes[0].reason, "BackupVerified");
    world.status = done.status;
    assert_eq!(
        world.plan("2026-12-01T04:09:00Z").start,
        None,
        "verified once"
    );
}

#[test]
fn a_failed_verification_is_recorded_and_every_nth_backup_is_tested() {
    let mut world = World::daily();
    world.verify_every = Some(3);
    world.status.last_window = Some(Time(at("2026-12-03T04:00:00Z")));
    let good = |day: u32, verified: Option<bool>| BackupRecord {
        id: format!("2026120{day}-040000-r3"),
        phase: phase::SUCCEEDED.into(),
        reason: "scheduled".into(),
        started_at: Some(Time(at(&format!("2026-12-0{day}T04:00:00Z")))),
        verified,
        ..Default::default()
    };
    world.status.recent = vec![good(1, Some(true)), good(2, None)];
    assert_eq!(
        world.plan("2026-12-03T05:00:00Z").start,
        None,
        "one unverified of every 3"
    );
    world.status.recent = vec![
        good(1, Some(true)),
        good(2, None),
        good(3, None),
        good(4, None),
    ];
    world.status.last_window = Some(Time(at("2026-12-04T04:00:00Z")));
    let start = world.plan("2026-12-04T05:00:00Z").start.unwrap();
    assert_eq!(
        (start.reason, start.id.as_str()),
        (Reason::Verify, "20261204-040000-r3")
    );
    let mut verify = job(
        "20261204-040000-r3",
        Reason::Verify,
        JobState::Failed,
        "2026-12-04T05:00:00Z",
    );
    verify.name = "v".into();
    world.jobs = vec![verify];
    world.reports.insert(
        "v".into(),
        Report {
            outcome: "Failed".into(),
            message: Some("table public.leads: 0 rows, the manifest says 90000".into()),
            ..Default::default()
        },
    );
    let plan = world.plan("2026-12-04T05:10:00Z");
    let record = plan
        .status
        .recent
        .iter()
        .find(|r| r.id == "20261204-040000-r3")
        .unwrap();
    assert_eq!(record.verified, Some(false));
    assert_eq!(
        record.message.as_deref(),
        Some("verification failed: table public.leads: 0 rows, the manifest says 90000")
    );
    assert!(plan.notes[0].warning);
}

#[test]
fn an_on_call_request_runs_once_even_after_its_record_left_recent() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    let request = BackupRequest {
        id: "20261201-101500-5be1c0".into(),
        action: "before-import".into(),
        expect_shrink: false,
    };
    let plan = world.plan_with("2026-12-01T10:15:00Z", Some(&request), None);
    assert_eq!(plan.start.unwrap().reason, Reason::OnDemand);
    assert_eq!(
        plan.status.started_request.as_deref(),
        Some(request.id.as_str())
    );
    world.status = plan.status;
    world.status.recent.clear();
    let later = world.plan_with("2026-12-01T10:20:00Z", Some(&request), None);
    assert_eq!(later.start, None);
}

#[test]
fn an_rds_snapshot_still_creating_is_not_taken_for_a_lost_job() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    world.status.recent = vec![BackupRecord {
        id: "chatbot-brigade-sales-pre-r8".into(),
        phase: phase::RUNNING.into(),
        reason: "pre-rollout".into(),
        revision: Some(8),
        method: Some(RDS_SNAPSHOT.into()),
        started_at: Some(Time(at("2026-12-01T05:00:00Z"))),
        ..Default::default()
    }];
    let plan = world.plan("2026-12-01T06:00:00Z");
    assert_eq!(plan.status.recent[0].phase, phase::RUNNING);
    assert!(plan.notes.is_empty());
}

#[test]
fn a_failed_native_snapshot_is_tried_again_under_a_new_name_after_the_pause() {
    let base = "chatbot-brigade-sales-pre-r8";
    fn attempt<'r>(records: &'r [BackupRecord], now: &str) -> Attempt<'r> {
        let base = "chatbot-brigade-sales-pre-r8";
        snapshot_attempt(records, 8, RDS_SNAPSHOT, base, now.parse().unwrap())
    }
    let record = |id: &str, phase: &str, at: &str| BackupRecord {
        id: id.into(),
        phase: phase.into(),
        reason: "pre-rollout".into(),
        revision: Some(8),
        method: Some(RDS_SNAPSHOT.into()),
        started_at: Some(Time(at.parse().unwrap())),
        time: (phase != phase::RUNNING).then(|| Time(at.parse().unwrap())),
        ..Default::default()
    };
    assert_eq!(
        attempt(&[], "2026-12-01T10:00:00Z"),
        Attempt::Start(base.into())
    );
    let running = [record(base, phase::RUNNING, "2026-12-01T10:00:00Z")];
    assert_eq!(
        attempt(&running, "2026-12-01T10:01:00Z"),
        Attempt::Look(&running[0])
    );
    let failed = [record(base, phase::FAILED, "2026-12-01T10:02:00Z")];
    assert_eq!(
        attempt(&failed, "2026-12-01T10:05:00Z"),
        Attempt::Settled,
        "the pause first"
    );
    assert_eq!(
        attempt(&failed, "2026-12-01T10:13:00Z"),
        Attempt::Start(format!("{base}-2"))
    );
    let twice = [
        record(&format!("{base}-2"), phase::FAILED, "2026-12-01T10:14:00Z"),
        failed[0].clone(),
    ];
    assert_eq!(
        attempt(&twice, "2026-12-01T10:30:00Z"),
        Attempt::Start(format!("{base}-3"))
    );
    let good = [record(base, phase::SUCCEEDED, "2026-12-01T10:02:00Z")];
    assert_eq!(attempt(&good, "2026-12-02T10:00:00Z"), Attempt::Settled);
    // Another revision's or method's records are not this one's attempts.
    let other = [BackupRecord {
        revision: Some(7),
        ..failed[0].clone()
    }];
    assert_eq!(
        attempt(&other, "2026-12-01T10:30:00Z"),
        Attempt::Start(base.into())
    );
}

#[test]
fn while_a_restore_is_under_way_only_its_safety_backup_starts_and_a_window_waits_for_it() {
    let mut world = World::daily();
    world.verify_every = Some(1);
    world.status.recent = vec![good("20261130-040000-r3", "2026-11-30T04:00:00Z")];
    world.status.last_window = Some(Time(at("2026-11-30T04:00:00Z")));
    let restoring = |world: &World, now: &str, safety: Option<&str>| {
        plan(&Facts {
            schedule: Some(&world.schedule),
            since: at("2026-11-01T00:00:00Z"),
            previous: &world.status,
            jobs: &world.jobs,
            reports: &world.reports,
            request: None,
            pre_rollout: Some(4),
            safety,
            restore_source: Some("20261130-040000-r3"),
            restoring: true,
            revision: Some(3),
            verify_every: world.verify_every,
            backup_template: true,
            verify_template: true,
            unavailable: None,
            now: at(now),
        })
    };
    // The safety backup goes first, before the pre-rollout backup.
    let first = restoring(&world, "2026-12-01T04:00:30Z", Some("r1-safety"));
    assert_eq!(
        first.start.as_ref().map(|s| s.reason),
        Some(Reason::PreRestore)
    );
    // Past it, nothing starts: not the window, the pre-rollout backup or
    // a verification of the database being replaced.
    let during = restoring(&world, "2026-12-01T04:05:00Z", None);
    assert_eq!(during.start, None);
    assert_eq!(during.status.last_window, world.status.last_window, "owed");
    // Once the restore ended, the window runs, once.
    world.status = during.status;
    let after = world.plan("2026-12-01T04:30:00Z");
    assert_eq!(after.start.unwrap().id, "20261201-040000-r3");
}

#[test]
fn a_verify_job_that_succeeded_without_a_report_is_not_a_verification() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    world.status.recent = vec![good("20261201-040000-r3", "2026-12-01T04:00:00Z")];
    // It ended well, and no report can be read from it.
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Verify,
        JobState::Succeeded,
        "2026-12-01T04:05:00Z",
    )];
    let plan = world.plan("2026-12-01T04:08:00Z");
    let record = plan.status.last.clone().unwrap();
    assert_eq!(record.verified, Some(false));
    assert!(record.message.unwrap().contains("without a report"));
    assert_eq!(plan.notes[0].reason, "BackupVerificationFailed");
}

#[test]
fn backups_retention_removed_are_no_longer_listed() {
    let mut world = World::daily();
    world.status.last_window = Some(Time(at("2026-12-01T04:00:00Z")));
    let good = |id: &str, day: u32| BackupRecord {
        id: id.into(),
        phase: phase::SUCCEEDED.into(),
        started_at: Some(Time(at(&format!("2026-11-{day:02}T04:00:00Z")))),
        ..Default::default()
    };
    world.status.recent = vec![
        good("20261129-040000-r3", 29),
        good("20261130-040000-r3", 30),
    ];
    world.jobs = vec![job(
        "20261201-040000-r3",
        Reason::Scheduled,
        JobState::Succeeded,
        "2026-12-01T04:00:00Z",
    )];
    let mut done = report("Succeeded", 5_000_000);
    done.pruned = vec!["20261129-040000-r3".into()];
    world.reports.insert(world.jobs[0].name.clone(), done);
    let plan = world.plan("2026-12-01T04:05:00Z");
    let listed: Vec<&str> = plan.status.recent.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(listed, ["20261201-040000-r3", "20261130-040000-r3"]);
}
