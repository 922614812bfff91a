use k8s_openapi::jiff::Timestamp;

use super::*;

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

fn history(hashes: &[&str]) -> Vec<RevisionRecord> {
    let mut history = Vec::new();
    for (index, hash) in hashes.iter().enumerate() {
        history = record(
            &history,
            index as i64 + 1,
            "bot:1",
            hash,
            &at(index as i64),
            10,
        );
    }
    history
}

#[test]
fn the_first_template_is_revision_one() {
    assert_eq!(
        choose(&[], None, "a"),
        Choice {
            number: 1,
            record: true
        }
    );
}

#[test]
fn an_unchanged_template_keeps_its_revision() {
    assert_eq!(
        choose(&history(&["a", "b"]), None, "b"),
        Choice {
            number: 2,
            record: false
        }
    );
}

#[test]
fn a_changed_template_is_the_next_number_even_when_it_was_seen_before() {
    assert_eq!(
        choose(&history(&["a", "b"]), None, "a"),
        Choice {
            number: 3,
            record: true
        }
    );
}

/// Stable revision 1 promoted, then an A/B test of candidates 2, 3, 4
/// (2 the lead, recorded first).
fn a_test_of_three() -> Vec<RevisionRecord> {
    let mut history = promote(&history(&["stable"]), 1, &at(1));
    history = record(&history, 2, "bot:1", "lead", &at(2), 10);
    for (number, hash) in [(3, "second"), (4, "third")] {
        history = record_beside(&history, number, "bot:1", hash, &at(2), 10);
    }
    history
}

fn outcomes(history: &[RevisionRecord]) -> Vec<(i64, &str)> {
    history
        .iter()
        .map(|r| (r.revision, r.outcome.as_deref().unwrap_or("")))
        .collect()
}

#[test]
fn every_candidate_of_a_test_keeps_its_number_while_the_test_runs() {
    let history = a_test_of_three();
    for (hash, number) in [("lead", 2), ("second", 3), ("third", 4)] {
        assert_eq!(
            choose(&history, None, hash),
            Choice {
                number,
                record: false
            },
            "{hash}"
        );
    }
    assert_eq!(
        outcomes(&history),
        [
            (1, outcome::PROMOTED),
            (2, outcome::IN_PROGRESS),
            (3, outcome::IN_PROGRESS),
            (4, outcome::IN_PROGRESS)
        ]
    );
    // The stable template is not a candidate: going back to it is new.
    assert_eq!(choose(&history, None, "stable").number, 5);
}

#[test]
fn a_winning_candidate_becomes_the_newest_revision_and_the_others_are_superseded() {
    let history = promote(&a_test_of_three(), 3, &at(9));
    assert_eq!(
        outcomes(&history),
        [
            (1, outcome::PROMOTED),
            (2, outcome::SUPERSEDED),
            (4, outcome::SUPERSEDED),
            (3, outcome::PROMOTED)
        ]
    );
    assert_eq!(
        choose(&history, None, "second"),
        Choice {
            number: 3,
            record: false
        }
    );
    // A loser's template afterwards is a new revision.
    assert_eq!(choose(&history, None, "third").number, 5);
    // Promoted again (an on-call rollback to 1): nothing moves.
    assert_eq!(promote(&history, 1, &at(10)), history);
}

#[test]
fn a_lost_history_is_recovered_from_the_cluster() {
    let found = Recovered {
        revision: 4,
        template_hash: "x".into(),
    };
    assert_eq!(
        choose(&[], Some(&found), "x"),
        Choice {
            number: 4,
            record: true
        }
    );
    assert_eq!(
        choose(&[], Some(&found), "y"),
        Choice {
            number: 5,
            record: true
        }
    );
}

#[test]
fn a_new_revision_supersedes_the_one_in_flight_and_the_history_is_bounded() {
    let mut history = history(&["a"]);
    history = promote(&history, 1, &at(5));
    history = record(&history, 2, "bot:2", "b", &at(6), 2);
    history = record(&history, 3, "bot:3", "c", &at(7), 2);
    let summary: Vec<_> = history
        .iter()
        .map(|r| (r.revision, r.outcome.clone().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [(2, "Superseded".to_string()), (3, "InProgress".to_string())]
    );
    assert_eq!(history[0].aborted_at, Some(at(7)));
}

#[test]
fn promotion_is_recorded_once() {
    let history = promote(&history(&["a"]), 1, &at(10));
    let again = promote(&history, 1, &at(20));
    assert_eq!(again[0].promoted_at, Some(at(10)));
    assert_eq!(again[0].outcome.as_deref(), Some("Promoted"));
}

/// Revisions 1..=3 promoted in turn, then 4 in progress.
fn promoted_three_then_one_in_flight() -> Vec<RevisionRecord> {
    let mut history = history(&["a", "b", "c"]);
    for n in 1..=3 {
        history = promote(&history, n, &at(100 + n));
    }
    record(&history, 4, "bot:4", "d", &at(200), 10)
}

#[test]
fn a_rollback_goes_to_the_newest_promoted_revision_before_the_current() {
    let history = promoted_three_then_one_in_flight();
    assert_eq!(rollback_target(&history, Some(4), None), Ok(3));
    assert_eq!(rollback_target(&history, Some(3), None), Ok(2));
    assert_eq!(rollback_target(&history, Some(4), Some(1)), Ok(1));
}

#[test]
fn an_impossible_rollback_says_why() {
    let first = history(&["a"]);
    let history = promoted_three_then_one_in_flight();
    assert_eq!(
        rollback_target(&history, Some(4), Some(9)),
        Err("revision 9 is not in the history (known: 1, 2, 3, 4)".into())
    );
    assert_eq!(
        rollback_target(&history, Some(4), Some(4)),
        Err("revision 4 is already the current revision".into())
    );
    assert_eq!(
        rollback_target(&first, Some(1), None),
        Err("no earlier revision was ever promoted, nothing to roll back to (history: 1)".into())
    );
}

#[test]
fn the_revision_rolled_back_from_is_marked_once() {
    let history = promoted_three_then_one_in_flight();
    let marked = rolled_back(&history, 4, &at(300));
    assert_eq!(marked[3].outcome.as_deref(), Some("RolledBack"));
    assert_eq!(marked[3].aborted_at, Some(at(300)));
    let again = rolled_back(&marked, 4, &at(400));
    assert_eq!(again[3].aborted_at, Some(at(300)));
}
