//! The data operations' interlock, tried as a model: random sequences of
//! schedule ticks, backup and verify outcomes (success, failure, a kill
//! that leaves no report), restore requests (of a backup that is there,
//! or of a mistyped id), blocked reconciles and retention runs, played
//! against the pure core — the restore plan, then the backup plan with
//! what the restore asks of it, as the reconcile's data-operations step
//! runs them — and a store that keeps what the agent's retention keeps.
//! After every step: never two data operations at once; no backup a
//! restore under way uses is ever removed; safety backups never push the
//! team's backups out of `keep`; the newest verified backup is never
//! removed; the app is at zero only while a restore is between StopWrites
//! and Resume; a window due while nothing runs starts its backup, however
//! the runs before it ended.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::{
    Record, Retention, Schedule,
    jobs::{JobFacts, JobState, Reason},
    report::Report,
    restore::{self, step},
    retention, runs,
};
use crate::api::{BackupsStatus, RestoreRequest, RestoreStatus};

/// Good backups retention keeps (`spec.backup.keep`).
const KEEP: usize = 3;

/// What happens between two reconciles.
#[derive(Clone, Debug)]
enum Event {
    /// Time passes.
    Tick(u16),
    /// The oldest running backup or verify Job ends.
    Backup(Ending),
    /// The running restore Job ends, well or not.
    RestoreJob(bool),
    /// On-call asks for a restore: of a backup in the store (`Some(n)`,
    /// the n-th newest there) or of a mistyped id.
    Restore(Option<usize>),
    /// The spec stops (or starts again) being appliable.
    Blocked(bool),
}

#[derive(Clone, Copy, Debug)]
enum Ending {
    Success,
    Failure,
    /// Killed (deadline, memory, eviction): no report.
    Killed,
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (1u16..240).prop_map(Event::Tick),
        4 => prop_oneof![
            6 => Just(Ending::Success),
            1 => Just(Ending::Failure),
            1 => Just(Ending::Killed),
        ]
        .prop_map(Event::Backup),
        2 => prop_oneof![4 => Just(true), 1 => Just(false)].prop_map(Event::RestoreJob),
        1 => prop_oneof![4 => (0usize..6).prop_map(Some), 1 => Just(None)].prop_map(Event::Restore),
        1 => prop_oneof![3 => Just(false), 1 => Just(true)].prop_map(Event::Blocked),
    ]
}

/// A backup in the store, as the agent's retention sees it.
#[derive(Clone, Debug)]
struct Stored {
    taken_at: Timestamp,
    safety: bool,
    verified: bool,
}

/// A backup or verify Job with what it was started with.
#[derive(Clone, Debug)]
struct Started {
    facts: JobFacts,
    pinned: Vec<String>,
    requires: Option<String>,
}

struct World {
    now: Timestamp,
    schedule: Schedule,
    backups: BackupsStatus,
    jobs: Vec<Started>,
    reports: BTreeMap<String, Report>,
    restore: Option<RestoreStatus>,
    request: Option<RestoreRequest>,
    restore_job: Option<JobFacts>,
    restore_report: Option<Report>,
    store: BTreeMap<String, Stored>,
    live: String,
    stopped: bool,
    blocked: bool,
    /// The source of the restore under way, when it was in the store as
    /// the restore was accepted.
    source_kept: Option<String>,
    /// Team backups ever taken, and the newest verified one.
    team_taken: usize,
    newest_verified: Option<String>,
    restores: u32,
}

impl World {
    fn new() -> Self {
        Self {
            now: "2026-12-01T00:30:00Z".parse().unwrap(),
            schedule: Schedule::parse("0 */2 * * *", None).unwrap(),
            backups: BackupsStatus::default(),
            jobs: Vec::new(),
            reports: BTreeMap::new(),
            restore: None,
            request: None,
            restore_job: None,
            restore_report: None,
            store: BTreeMap::new(),
            live: restore::DEFAULT_DATABASE.into(),
            stopped: false,
            blocked: false,
            source_kept: None,
            team_taken: 0,
            newest_verified: None,
            restores: 0,
        }
    }

    /// One reconcile's data operations: the restore first, then the
    /// backups with what the restore asks of them.
    fn reconcile(&mut self) {
        let busy = self
            .jobs
            .iter()
            .map(|j| &j.facts)
            .chain(&self.restore_job)
            .any(|j| j.state == JobState::Running);
        let facts = restore::Facts {
            deployment: "sales",
            request: self.request.as_ref(),
            previous: self.restore.as_ref(),
            backups: Some(&self.backups),
            job: self.restore_job.as_ref(),
            report: self.restore_report.as_ref(),
            live_database: &self.live,
            writes_stopped: self.stopped,
            app_available: !self.stopped,
            held_revision: None,
            cannot: None,
            blocked: self.blocked.then_some("spec.image: must not be empty"),
            busy,
            keep_replaced_days: Some(7),
            drop_job: None,
            drop_report: None,
            rds: None,
            now: self.now,
        };
        let plan = restore::plan(&facts);
        let mut needs = plan.needs();
        // A restore Job still running keeps the backups waiting, even
        // after its restore ended.
        needs.under_way |= self
            .restore_job
            .as_ref()
            .is_some_and(|j| j.state == JobState::Running);
        let begun = plan.status.as_ref().map(|r| &r.id) != self.restore.as_ref().map(|r| &r.id);
        if begun && let Some(restore) = plan.status.as_ref().filter(|r| !step::is_final(&r.step)) {
            self.source_kept = self
                .store
                .contains_key(&restore.backup)
                .then(|| restore.backup.clone());
        }
        if let Some(start) = &plan.start_job
            && self.restore_job.as_ref().is_none_or(|j| j.id != start.id)
        {
            self.restore_job = Some(job(&start.id, Reason::Restore, self.now));
            self.restore_report = None;
        }
        self.stopped = plan.stop_writes;
        self.restore = plan.status;
        // The data-store step switches the connection Secret.
        if let Some(restore) = self.restore.as_ref().filter(|r| r.step == step::SWITCH) {
            self.live = restore.database.clone();
        }
        if self.blocked {
            return;
        }
        let facts = runs::Facts {
            schedule: Some(&self.schedule),
            since: "2026-12-01T00:00:00Z".parse().unwrap(),
            previous: &self.backups,
            jobs: &self
                .jobs
                .iter()
                .map(|j| j.facts.clone())
                .collect::<Vec<_>>(),
            reports: &self.reports,
            request: None,
            pre_rollout: None,
            safety: match &needs.safety {
                Some(restore::Safety::Dump(id)) => Some(id.as_str()),
                _ => None,
            },
            restore_source: needs.source.as_deref(),
            restoring: needs.under_way,
            revision: Some(1),
            verify_every: Some(2),
            backup_template: true,
            verify_template: true,
            unavailable: None,
            now: self.now,
        };
        // A window that is due while nothing else runs starts its backup,
        // whatever failed before it.
        let last_window = self.backups.last_window.as_ref().map(|t| t.0);
        let window = match self.schedule.due(last_window, facts.since, self.now) {
            super::Due::Now { window, .. } => Some(window),
            super::Due::Later { .. } => None,
        };
        let idle = !needs.under_way && facts.jobs.iter().all(|j| j.state != JobState::Running);
        let owed = window.filter(|w| {
            let id = super::manifest::backup_id(*w, Some(1));
            idle && !self.backups.recent.iter().any(|r| r.id == id)
        });
        let plan = runs::plan(&facts);
        if let Some(window) = owed {
            assert!(
                plan.start
                    .as_ref()
                    .is_some_and(|s| s.reason == Reason::Scheduled),
                "the window {window} did not start though nothing ran: {:?}",
                self.backups.recent
            );
        }
        self.jobs
            .retain(|j| !plan.prune.iter().any(|(name, _)| *name == j.facts.name));
        if let Some(start) = &plan.start {
            self.jobs.push(Started {
                facts: job(&start.id, start.reason, self.now),
                pinned: needs.pinned.clone(),
                requires: start.requires.clone(),
            });
        }
        self.backups = plan.status;
    }

    fn apply(&mut self, event: &Event) {
        match *event {
            Event::Tick(minutes) => self.now += SignedDuration::from_mins(i64::from(minutes)),
            Event::Backup(ending) => self.end_backup(ending),
            Event::RestoreJob(good) => self.end_restore_job(good),
            Event::Restore(pick) => self.ask_restore(pick),
            Event::Blocked(blocked) => self.blocked = blocked,
        }
    }

    fn end_backup(&mut self, ending: Ending) {
        let Some(index) = self
            .jobs
            .iter()
            .position(|j| j.facts.state == JobState::Running)
        else {
            return;
        };
        let started = self.jobs[index].clone();
        let mut facts = started.facts.clone();
        facts.finished_at = Some(self.now);
        let missing = started
            .requires
            .as_ref()
            .is_some_and(|id| !self.store.contains_key(id));
        let succeeded = matches!(ending, Ending::Success) && !missing;
        facts.state = if succeeded {
            JobState::Succeeded
        } else {
            JobState::Failed
        };
        self.jobs[index].facts = facts.clone();
        if matches!(ending, Ending::Killed) {
            return;
        }
        let mut report = Report {
            kind: if facts.reason == Reason::Verify {
                "verify"
            } else {
                "backup"
            }
            .into(),
            id: facts.id.clone(),
            outcome: if succeeded { "Succeeded" } else { "Failed" }.into(),
            bytes: Some(1 << 20),
            restore_seconds: Some(3.0),
            message: (!succeeded).then(|| "pg_dump exited 1".into()),
            ..Report::default()
        };
        if succeeded && facts.reason == Reason::Verify {
            if let Some(stored) = self.store.get_mut(&facts.id) {
                stored.verified = true;
                self.newest_verified = newest_verified(&self.store);
            }
        } else if succeeded {
            let safety = facts.reason == Reason::PreRestore;
            self.team_taken += usize::from(!safety);
            let taken_at = facts.started_at.unwrap_or(self.now);
            let stored = Stored {
                taken_at,
                safety,
                verified: false,
            };
            self.store.insert(facts.id.clone(), stored);
            report.pruned = self.retention(&started.pinned);
        }
        self.reports.insert(facts.name, report);
    }

    /// The agent's retention after a good dump, with the pins its Job
    /// was started with.
    fn retention(&mut self, pinned: &[String]) -> Vec<String> {
        let records: Vec<Record> = self
            .store
            .iter()
            .map(|(id, s)| Record {
                id: id.clone(),
                taken_at: s.taken_at,
                succeeded: true,
                verified: s.verified,
                pinned: pinned.contains(id),
                safety: s.safety,
            })
            .collect();
        let keep = Retention {
            keep_last: Some(KEEP),
            max_age: None,
        };
        let removed = retention::prune(&records, keep, self.now);
        for id in &removed {
            self.store.remove(id);
        }
        removed
    }

    fn end_restore_job(&mut self, good: bool) {
        let Some(job) = self
            .restore_job
            .as_mut()
            .filter(|j| j.state == JobState::Running)
        else {
            return;
        };
        let restore = self
            .restore
            .as_ref()
            .expect("a restore Job belongs to a restore");
        // The restore Job reads the backup from the store: it must be there.
        let there = self.store.contains_key(&restore.backup);
        let good = good && there;
        job.state = if good {
            JobState::Succeeded
        } else {
            JobState::Failed
        };
        job.finished_at = Some(self.now);
        self.restore_report = Some(Report {
            kind: "restore".into(),
            id: restore.backup.clone(),
            outcome: if good { "Succeeded" } else { "Failed" }.into(),
            restore_seconds: Some(4.0),
            message: (!good).then(|| "the restored database does not match".into()),
            ..Report::default()
        });
    }

    fn ask_restore(&mut self, pick: Option<usize>) {
        if self
            .restore
            .as_ref()
            .is_some_and(|r| !step::is_final(&r.step))
        {
            return;
        }
        let mut ids: Vec<(&Timestamp, &String)> =
            self.store.iter().map(|(id, s)| (&s.taken_at, id)).collect();
        ids.sort();
        ids.reverse();
        let backup = match pick {
            Some(n) if !ids.is_empty() => ids[n % ids.len()].1.clone(),
            _ => "20261130-000000-r9".into(),
        };
        self.restores += 1;
        self.request = Some(RestoreRequest {
            id: format!(
                "20261201-0000{:02}-abc{}",
                self.restores % 60,
                self.restores
            ),
            action: format!("restore-{}", self.restores),
            backup,
            method: None,
            rollback_to: None,
        });
    }

    /// The invariants, after a reconcile.
    fn check(&self, history: &[Event]) {
        let running_backups = self
            .jobs
            .iter()
            .filter(|j| j.facts.state == JobState::Running)
            .count();
        let restoring = self
            .restore_job
            .as_ref()
            .is_some_and(|j| j.state == JobState::Running);
        assert!(
            running_backups + usize::from(restoring) <= 1,
            "two data operations at once after {history:?}"
        );
        let under_way = self.restore.as_ref().filter(|r| !step::is_final(&r.step));
        if let (Some(restore), Some(kept)) = (under_way, &self.source_kept)
            && restore.backup == *kept
        {
            assert!(
                self.store.contains_key(kept),
                "the backup restore {} uses, {kept}, was removed after {history:?}",
                restore.id
            );
        }
        let team = self.store.values().filter(|s| !s.safety).count();
        assert!(
            team >= KEEP.min(self.team_taken),
            "{team} team backups kept of {} taken after {history:?}",
            self.team_taken
        );
        if let Some(verified) = &self.newest_verified {
            assert!(
                self.store.contains_key(verified),
                "the newest verified backup {verified} was removed after {history:?}"
            );
        }
        assert!(
            !self.stopped || restore::stops_writes(self.restore.as_ref()),
            "the app is at zero outside a restore after {history:?}"
        );
    }
}

fn job(id: &str, reason: Reason, now: Timestamp) -> JobFacts {
    JobFacts {
        name: format!("sales-{}-{id}", reason.as_str()),
        uid: Some(format!("uid-{id}")),
        id: id.into(),
        reason,
        revision: Some(1),
        action: None,
        state: JobState::Running,
        started_at: Some(now),
        finished_at: None,
        failure: None,
    }
}

fn newest_verified(store: &BTreeMap<String, Stored>) -> Option<String> {
    store
        .iter()
        .filter(|(_, s)| s.verified)
        .max_by_key(|(id, s)| (s.taken_at, (*id).clone()))
        .map(|(id, _)| id.clone())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5afe_da7a),
        ..ProptestConfig::default()
    })]

    #[test]
    fn data_operations_take_turns_and_keep_what_each_needs(
        events in proptest::collection::vec(event(), 1..60)
    ) {
        let mut world = World::new();
        for (n, event) in events.iter().enumerate() {
            world.apply(event);
            world.reconcile();
            world.check(&events[..=n]);
        }
    }
}
