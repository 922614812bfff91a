use super::super::jobs::{JobFacts, JobState};
use super::instance::{self, RdsFacts};
use super::*;
use crate::api::BackupRecord;
use crate::api::BackupsStatus;
use crate::backup::report::Report;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn request(rollback_to: Option<i64>) -> RestoreRequest {
    RestoreRequest {
        id: "20261201-031500-ab12cd".into(),
        action: "restore-1".into(),
        backup: "20261201-020000-r7".into(),
        method: None,
        rollback_to,
    }
}

fn record(id: &str, phase: &str) -> BackupRecord {
    BackupRecord {
        id: id.into(),
        phase: phase.into(),
        message: (phase == backup_phase::FAILED).then(|| "bucket policy denies PutObject".into()),
        ..Default::default()
    }
}

/// The world one reconcile sees; each test moves it along.
struct World {
    request: Option<RestoreRequest>,
    status: Option<RestoreStatus>,
    backups: BackupsStatus,
    job: Option<JobFacts>,
    report: Option<Report>,
    live: String,
    stopped: bool,
    available: bool,
    held: Option<i64>,
    cannot: Option<String>,
    blocked: Option<String>,
    busy: bool,
    keep: Option<u32>,
    drop_job: Option<JobFacts>,
    drop_report: Option<Report>,
    rds: Option<Rds>,
}

/// The RDS side of the world, for a managed database.
struct Rds {
    live: String,
    secret_instance: Option<String>,
    restored: Option<instance::InstanceState>,
    replaced: Option<instance::InstanceState>,
}

impl World {
    fn new(rollback_to: Option<i64>) -> Self {
        Self {
            request: Some(request(rollback_to)),
            status: None,
            backups: BackupsStatus::default(),
            job: None,
            report: None,
            live: DEFAULT_DATABASE.into(),
            stopped: false,
            available: true,
            held: None,
            cannot: None,
            blocked: None,
            busy: false,
            keep: Some(7),
            drop_job: None,
            drop_report: None,
            rds: None,
        }
    }

    /// One reconcile at `now`; the status it plans is written.
    fn step(&mut self, now: &str) -> Plan {
        let plan = plan(&Facts {
            deployment: "brigade-sales",
            request: self.request.as_ref(),
            previous: self.status.as_ref(),
            backups: Some(&self.backups),
            job: self.job.as_ref(),
            report: self.report.as_ref(),
            live_database: &self.live,
            writes_stopped: self.stopped,
            app_available: self.available,
            held_revision: self.held,
            cannot: self.cannot.clone(),
            blocked: self.blocked.as_deref(),
            busy: self.busy,
            keep_replaced_days: self.keep,
            drop_job: self.drop_job.as_ref(),
            drop_report: self.drop_report.as_ref(),
            rds: self.rds.as_ref().map(|r| RdsFacts {
                base: "chatbot-brigade-sales",
                live: &r.live,
                secret_instance: r.secret_instance.as_deref(),
                restored: r.restored.clone(),
                replaced: r.replaced.clone(),
            }),
            now: at(now),
        });
        self.status = plan.status.clone();
        plan
    }

    /// Requested at 03:15, the safety backup taken, the pods gone: at the
    /// restore Job's step by 03:16.
    fn at_restore_job(&mut self) {
        self.step("2026-12-01T03:15:00Z");
        self.safety_done(backup_phase::SUCCEEDED);
        self.stopped = true;
        self.step("2026-12-01T03:16:00Z");
    }

    /// A good restore, over by 03:21 with the app back on the new database.
    fn restored(&mut self) {
        self.at_restore_job();
        self.job(JobState::Succeeded, Some(GOOD));
        self.live = "chatbot_20261201_031500_ab12cd".into();
        self.step("2026-12-01T03:20:00Z");
        self.step("2026-12-01T03:21:00Z");
    }

    fn at_step(&self) -> &str {
        &self.status.as_ref().unwrap().step
    }

    fn safety_done(&mut self, phase: &str) {
        let id = safety_backup_id(&request(None).id);
        self.backups.recent.push(record(&id, phase));
    }

    fn job(&mut self, state: JobState, report: Option<&str>) {
        self.job = Some(job_facts(&request(None).id, state));
        self.report = report.map(|r| Report::parse(r).unwrap());
    }
}

fn job_facts(id: &str, state: JobState) -> JobFacts {
    {
        JobFacts {
            name: format!("brigade-sales-restore-{id}"),
            uid: Some("u1".into()),
            id: id.into(),
            reason: super::super::jobs::Reason::Restore,
            revision: None,
            action: None,
            state,
            started_at: None,
            finished_at: None,
            failure: None,
        }
    }
}

const GOOD: &str =
    r#"{"kind":"restore","id":"20261201-020000-r7","outcome":"Succeeded","restoreSeconds":42.5}"#;
const MISMATCH: &str = r#"{"kind":"restore","id":"20261201-020000-r7","outcome":"Failed","message":"the restored database does not match backup 20261201-020000-r7: public.leads has 10 rows, the manifest says 12"}"#;

#[test]
fn a_restore_goes_safety_backup_stop_writes_restore_switch_resume() {
    let mut world = World::new(None);
    let plan = world.step("2026-12-01T03:15:00Z");
    assert_eq!(world.at_step(), step::SAFETY_BACKUP);
    assert_eq!(
        plan.safety_backup,
        Some(Safety::Dump("20261201-031500-ab12cd-safety".into()))
    );
    assert!(
        !plan.stop_writes,
        "the safety backup is taken with the app up"
    );
    assert_eq!(plan.notes[0].reason, "RestoreStarted");
    let status = world.status.clone().unwrap();
    assert_eq!(status.database, "chatbot_20261201_031500_ab12cd");
    assert_eq!(status.previous_database, "chatbot");

    // Nothing changes while the safety backup runs: no second one asked for twice differently.
    let again = world.step("2026-12-01T03:16:00Z");
    assert_eq!(again.safety_backup, plan.safety_backup);
    assert!(again.start_job.is_none());

    world.safety_done(backup_phase::SUCCEEDED);
    let plan = world.step("2026-12-01T03:20:00Z");
    assert_eq!(world.at_step(), step::STOP_WRITES);
    assert!(plan.stop_writes && plan.safety_backup.is_none());
    assert!(
        plan.start_job.is_none(),
        "no restore while pods still write"
    );

    world.stopped = true;
    world.available = false;
    let plan = world.step("2026-12-01T03:21:00Z");
    assert_eq!(world.at_step(), step::RESTORE);
    assert_eq!(
        plan.start_job,
        Some(JobStart {
            id: "20261201-031500-ab12cd".into(),
            backup: "20261201-020000-r7".into(),
            database: "chatbot_20261201_031500_ab12cd".into(),
        })
    );
    assert_eq!(
        world.status.as_ref().unwrap().job.as_deref(),
        Some("brigade-sales-restore-20261201-031500-ab12cd")
    );
    // The Job is created once.
    world.job(JobState::Running, None);
    assert!(world.step("2026-12-01T03:22:00Z").start_job.is_none());

    world.job(JobState::Succeeded, Some(GOOD));
    let plan = world.step("2026-12-01T03:30:00Z");
    assert_eq!(world.at_step(), step::SWITCH);
    assert!(
        plan.stop_writes,
        "still no pods until the Secret is switched"
    );
    assert_eq!(
        live_database(world.status.as_ref(), Some("chatbot")),
        "chatbot_20261201_031500_ab12cd"
    );
    assert_eq!(world.status.as_ref().unwrap().restore_seconds, Some(42.5));

    world.live = "chatbot_20261201_031500_ab12cd".into();
    let plan = world.step("2026-12-01T03:30:05Z");
    assert_eq!(world.at_step(), step::RESUME);
    assert!(!plan.stop_writes, "the pods come back on the new database");
    assert_eq!(plan.notes[0].reason, "DatabaseSwitched");

    world.available = true;
    let plan = world.step("2026-12-01T03:31:00Z");
    let done = world.status.clone().unwrap();
    assert_eq!(done.step, step::SUCCEEDED);
    assert_eq!(plan.notes[0].reason, "RestoreSucceeded");
    assert!(
        done.message
            .as_deref()
            .unwrap()
            .contains("chatbot is kept as the undo"),
        "{:?}",
        done.message
    );
    let names: Vec<(&str, &str)> = done
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.phase.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (step::SAFETY_BACKUP, "Succeeded"),
            (step::STOP_WRITES, "Succeeded"),
            (step::RESTORE, "Succeeded"),
            (step::SWITCH, "Succeeded"),
            (step::RESUME, "Succeeded"),
        ]
    );
    // Over: the same request never runs again, the switch stays.
    let after = world.step("2026-12-01T04:00:00Z");
    assert_eq!(after.status, Some(done));
    assert!(after.notes.is_empty() && after.start_job.is_none() && !after.stop_writes);
    assert_eq!(
        live_database(
            after.status.as_ref(),
            Some("chatbot_20261201_031500_ab12cd")
        ),
        "chatbot_20261201_031500_ab12cd"
    );
}

#[test]
fn a_rollback_with_its_data_puts_the_revision_back_before_the_pods_return() {
    let mut world = World::new(Some(6));
    world.at_restore_job();
    world.job(JobState::Succeeded, Some(GOOD));
    world.live = "chatbot_20261201_031500_ab12cd".into();
    // Restore ends, the switch is seen in the same reconcile.
    let plan = world.step("2026-12-01T03:20:00Z");
    assert_eq!(world.at_step(), step::ROLL_BACK_PODS);
    assert!(
        plan.stop_writes,
        "no pod of the newer revision meets the old data"
    );
    world.held = Some(6);
    let plan = world.step("2026-12-01T03:20:10Z");
    assert_eq!(world.at_step(), step::RESUME);
    assert!(!plan.stop_writes);
}

#[test]
fn a_failed_restore_leaves_the_app_on_its_old_database() {
    let mut world = World::new(None);
    world.at_restore_job();
    world.job(JobState::Failed, Some(MISMATCH));
    let plan = world.step("2026-12-01T03:25:00Z");
    let failed = world.status.clone().unwrap();
    assert_eq!(failed.step, step::FAILED);
    assert!(!plan.stop_writes, "the app comes back");
    assert_eq!(live_database(Some(&failed), None), "chatbot");
    let message = failed.message.unwrap();
    assert!(message.contains("public.leads has 10 rows"), "{message}");
    assert!(message.ends_with("the app is back on chatbot"), "{message}");
    assert_eq!(failed.steps.last().unwrap().phase, "Failed");
    assert_eq!(plan.notes[0].reason, "RestoreFailed");
}

#[test]
fn a_failed_safety_backup_stops_the_restore_before_anything_changes() {
    let mut world = World::new(None);
    world.step("2026-12-01T03:15:00Z");
    world.safety_done(backup_phase::FAILED);
    let plan = world.step("2026-12-01T03:17:00Z");
    let failed = world.status.clone().unwrap();
    assert_eq!(failed.step, step::FAILED);
    assert!(!plan.stop_writes && plan.start_job.is_none());
    assert!(
        failed
            .message
            .unwrap()
            .contains("safety backup 20261201-031500-ab12cd-safety failed: bucket policy"),
    );
}

#[test]
fn a_restore_that_cannot_run_here_is_refused_up_front() {
    let mut world = World::new(None);
    world.cannot = Some("spec.database.mode is External: its URL Secret is yours".into());
    let plan = world.step("2026-12-01T03:15:00Z");
    let refused = world.status.clone().unwrap();
    assert_eq!(refused.step, step::FAILED);
    assert!(refused.steps.is_empty());
    assert!(plan.safety_backup.is_none() && !plan.stop_writes);
    assert!(refused.message.unwrap().ends_with("; nothing was changed"));

    let mut world = World::new(None);
    world
        .backups
        .recent
        .push(record("20261201-020000-r7", backup_phase::FAILED));
    world.step("2026-12-01T03:15:00Z");
    let refused = world.status.clone().unwrap();
    assert!(
        refused
            .message
            .unwrap()
            .starts_with("backup 20261201-020000-r7 failed"),
    );
}

#[test]
fn a_restarted_operator_carries_on_from_each_step() {
    // The restore Job was created but the status naming it was lost: the
    // Job is adopted, not created twice.
    let mut world = World::new(None);
    world.at_restore_job();
    assert_eq!(world.at_step(), step::RESTORE);
    world.status.as_mut().unwrap().job = None;
    world.job(JobState::Running, None);
    let plan = world.step("2026-12-01T03:17:00Z");
    assert!(plan.start_job.is_none());
    assert_eq!(
        world.status.as_ref().unwrap().job.as_deref(),
        Some("brigade-sales-restore-20261201-031500-ab12cd")
    );
    // A Job that vanished is a failure after a grace period, not a wait forever.
    world.job = None;
    world.step("2026-12-01T03:18:00Z");
    assert_eq!(world.at_step(), step::RESTORE);
    world.step("2026-12-01T03:30:00Z");
    assert_eq!(world.at_step(), step::FAILED);

    // A second request after the first ended starts afresh, from the
    // database the first switched to.
    let mut world = World::new(None);
    world.status = Some(RestoreStatus {
        id: "earlier".into(),
        step: step::SUCCEEDED.into(),
        database: "chatbot_earlier".into(),
        ..Default::default()
    });
    world.live = "chatbot_earlier".into();
    world.step("2026-12-01T03:15:00Z");
    let status = world.status.clone().unwrap();
    assert_eq!(status.step, step::SAFETY_BACKUP);
    assert_eq!(status.previous_database, "chatbot_earlier");
}

#[test]
fn database_names_stay_within_what_postgres_keeps() {
    assert_eq!(
        database_for("20261201-031500-AB12cd"),
        "chatbot_20261201_031500_ab12cd"
    );
    assert!(database_for(&"x".repeat(100)).len() <= 63);
    assert!(crate::agent::restore::valid_database_name(&database_for(
        "20261201-031500-ab12cd"
    )));
}

#[test]
fn the_replaced_database_is_dropped_once_its_days_as_the_undo_are_over() {
    let mut world = World::new(None);
    world.restored();
    let done = world.status.clone().unwrap();
    assert_eq!(done.step, step::SUCCEEDED);
    assert_eq!(
        done.drop_previous_after.as_ref().unwrap().0,
        at("2026-12-08T03:21:00Z")
    );
    // Kept for the seven days.
    assert_eq!(world.step("2026-12-08T03:00:00Z").drop_job, None);
    let plan = world.step("2026-12-08T03:30:00Z");
    assert_eq!(
        plan.drop_job,
        Some(DropStart {
            id: "20261201-031500-ab12cd-drop".into(),
            database: "chatbot".into(),
        })
    );
    world.drop_job = Some(job_facts("20261201-031500-ab12cd-drop", JobState::Running));
    assert_eq!(world.step("2026-12-08T03:31:00Z").drop_job, None, "once");
    world.drop_job = Some(job_facts(
        "20261201-031500-ab12cd-drop",
        JobState::Succeeded,
    ));
    world.drop_report = Report::parse(r#"{"kind":"drop","id":"chatbot","outcome":"Succeeded"}"#);
    let plan = world.step("2026-12-08T03:32:00Z");
    assert_eq!(plan.notes[0].reason, "ReplacedDatabaseDropped");
    assert!(
        !plan.notes[0].warning,
        "a drop that went well warns of nothing"
    );
    assert_eq!(world.status.as_ref().unwrap().previous_dropped, Some(true));
    world.drop_job = None;
    assert!(
        world.step("2026-12-09T00:00:00Z").drop_job.is_none(),
        "never again"
    );

    // The database the app uses is never dropped, whatever status says;
    // and 0 days keeps it until a person drops it.
    let mut status = done.clone();
    status.previous_database = "chatbot_20261201_031500_ab12cd".into();
    let mut world = World::new(None);
    world.status = Some(status);
    world.live = "chatbot_20261201_031500_ab12cd".into();
    assert!(world.step("2026-12-20T00:00:00Z").drop_job.is_none());
    let mut world = World::new(None);
    world.keep = Some(0);
    world.restored();
    assert_eq!(world.at_step(), step::SUCCEEDED);
    assert!(world.status.as_ref().unwrap().drop_previous_after.is_none());
    assert!(world.step("2027-06-01T00:00:00Z").drop_job.is_none());
}

mod needs;
mod snapshot;
