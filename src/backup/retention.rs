//! What retention removes: backups beyond the newest `keepLast` good ones
//! or older than `maxAge`. Never removed, whatever the policy: the newest
//! verified backup, the newest good one (so something restorable always
//! stays), and pinned backups (one a revision in history was taken
//! before, whose rollback may need it; one a restore is using; a restore's
//! safety backup while its undo stands). Failed attempts hold no data and
//! go once a newer attempt exists. A restore's safety backup is the
//! restore's undo, not one of the team's backups: it never counts toward
//! `keepLast`, and goes once nothing pins it.

use jiff::{SignedDuration, Timestamp};

/// One backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub taken_at: Timestamp,
    /// The dump completed and passed its checks.
    pub succeeded: bool,
    /// A restore of it was verified.
    pub verified: bool,
    /// Kept whatever the policy: see the module's words.
    pub pinned: bool,
    /// A restore's safety backup.
    pub safety: bool,
}

/// How many and how long backups are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    pub keep_last: Option<usize>,
    pub max_age: Option<SignedDuration>,
}

/// The ids of `records` that `policy` removes at `now`, oldest first.
pub fn prune(records: &[Record], policy: Retention, now: Timestamp) -> Vec<String> {
    let mut newest_first: Vec<&Record> = records.iter().collect();
    newest_first.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then(a.id.cmp(&b.id)));
    let newest_attempt = newest_first.first().map(|r| r.id.as_str());
    // The team's newest good backup; a safety backup only when there is
    // none.
    let newest_good = newest_first
        .iter()
        .find(|r| r.succeeded && !r.safety)
        .or_else(|| newest_first.iter().find(|r| r.succeeded))
        .map(|r| r.id.as_str());
    let newest_verified = newest_first
        .iter()
        .find(|r| r.succeeded && r.verified)
        .map(|r| r.id.as_str());
    let mut good_seen = 0;
    let mut removed = Vec::new();
    for record in newest_first {
        let protected = record.pinned
            || Some(record.id.as_str()) == newest_good
            || Some(record.id.as_str()) == newest_verified;
        let remove = if !record.succeeded {
            Some(record.id.as_str()) != newest_attempt
        } else if record.safety {
            true
        } else {
            good_seen += 1;
            let beyond_count = policy.keep_last.is_some_and(|keep| good_seen > keep);
            let too_old = policy
                .max_age
                .is_some_and(|age| now.duration_since(record.taken_at) > age);
            beyond_count || too_old
        };
        if remove && !protected {
            removed.push(record.id.clone());
        }
    }
    removed.reverse();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, day: u32, succeeded: bool, verified: bool) -> Record {
        Record {
            id: id.into(),
            taken_at: format!("2026-11-{day:02}T03:00:00Z").parse().unwrap(),
            succeeded,
            verified,
            pinned: false,
            safety: false,
        }
    }

    fn now() -> Timestamp {
        "2026-11-30T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn keep_last_counts_good_backups_and_failed_ones_go_once_superseded() {
        let records = [
            record("d26", 26, true, true),
            record("d27", 27, true, false),
            record("d28", 28, false, false),
            record("d29", 29, true, false),
            record("d30", 30, false, false),
        ];
        let policy = Retention {
            keep_last: Some(2),
            max_age: None,
        };
        // d29 and d27 are the two newest good ones; d26 is the newest
        // verified one; the failed d30 is the newest attempt (its failure
        // is what status reports) and stays.
        assert_eq!(prune(&records, policy, now()), ["d28"]);
    }

    #[test]
    fn age_removes_old_backups_but_never_the_newest_verified_or_good_one() {
        let records = [
            record("d01", 1, true, true),
            record("d10", 10, true, false),
            record("d20", 20, true, false),
        ];
        let week = Retention {
            keep_last: None,
            max_age: Some(SignedDuration::from_hours(24 * 7)),
        };
        // All are older than a week: d20 (newest good) and d01 (newest
        // verified) stay.
        assert_eq!(prune(&records, week, now()), ["d10"]);
    }

    #[test]
    fn a_backup_a_revision_was_taken_before_is_kept() {
        let mut pinned = record("d05", 5, true, false);
        pinned.pinned = true;
        let records = [
            pinned,
            record("d06", 6, true, false),
            record("d29", 29, true, true),
        ];
        let policy = Retention {
            keep_last: Some(1),
            max_age: Some(SignedDuration::from_hours(24)),
        };
        assert_eq!(prune(&records, policy, now()), ["d06"]);
    }

    #[test]
    fn no_policy_removes_only_superseded_failures() {
        let records = [record("a", 1, false, false), record("b", 2, true, false)];
        assert_eq!(prune(&records, Retention::default(), now()), ["a"]);
        assert!(prune(&[], Retention::default(), now()).is_empty());
    }

    #[test]
    fn safety_backups_never_push_the_teams_backups_out_and_go_once_unpinned() {
        let safety = |id: &str, day: u32, pinned: bool| Record {
            pinned,
            safety: true,
            ..record(id, day, true, false)
        };
        let records = [
            record("d26", 26, true, false),
            record("d27", 27, true, false),
            safety("s28", 28, false),
            record("d29", 29, true, false),
            safety("s30", 30, true),
        ];
        let policy = Retention {
            keep_last: Some(2),
            max_age: None,
        };
        // d29 and d27 are the team's two newest; s30 is a restore's undo
        // (pinned); s28's restore is over.
        assert_eq!(prune(&records, policy, now()), ["d26", "s28"]);
        // Only safety backups: the newest of them is what is restorable.
        let only = [safety("s1", 1, false), safety("s2", 2, false)];
        assert_eq!(prune(&only, policy, now()), ["s1"]);
    }
}
