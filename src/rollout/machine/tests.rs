use std::time::Duration;

use super::*;
use crate::api::{BlueGreen, Canary, CanaryStep, Pause};

fn canary() -> Vec<Step> {
    let step = |weight: Option<i32>, pause: Option<&str>, analysis: bool| CanaryStep {
        set_weight: weight,
        pause: pause.map(|d| Pause {
            duration: (!d.is_empty()).then(|| d.to_string()),
        }),
        analysis: analysis.then_some(true),
    };
    canary_plan(&Canary {
        steps: vec![
            step(Some(10), None, false),
            step(None, Some("5m"), false),
            step(None, None, true),
            step(Some(50), None, false),
            step(None, Some(""), false),
        ],
    })
    .unwrap()
}

fn facts(now: i64) -> Facts {
    Facts {
        now,
        candidate_ready: true,
        candidate_created_at: 0,
        progress_deadline: Duration::from_secs(600),
        analysis: None,
        comparison: None,
        smoke: None,
        command: None,
        auto_rollback: true,
    }
}

fn state(step: usize, weight: i32, phase: Phase) -> State {
    State {
        step,
        step_started_at: 0,
        weight,
        phase,
        message: String::new(),
    }
}

#[test]
fn plans_come_from_the_spec() {
    assert_eq!(
        canary(),
        [
            Step::SetWeight(10),
            Step::Pause(Some(Duration::from_secs(300))),
            Step::Analysis,
            Step::SetWeight(50),
            Step::Pause(None),
        ]
    );
    let manual = BlueGreen {
        auto_promotion: Some(false),
        ..Default::default()
    };
    assert_eq!(
        blue_green_plan(&manual, true),
        [
            Step::SetWeight(0),
            Step::Analysis,
            Step::Pause(None),
            Step::SetWeight(100)
        ]
    );
    assert_eq!(
        blue_green_plan(&BlueGreen::default(), false),
        [Step::SetWeight(0), Step::SetWeight(100)]
    );
    assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
    assert_eq!(
        parse_duration("14d"),
        Some(Duration::from_secs(14 * 86_400))
    );
    assert_eq!(parse_duration("10"), None);
    assert_eq!(parse_duration("5w"), None);
}

/// (case, state before, facts, expected step, weight, phase)
#[test]
fn each_situation_leads_where_the_table_says() {
    let steps = canary();
    let passed = Some(RunVerdict::Passed);
    let failed = Some(RunVerdict::Failed {
        reason: "error-rate = 7 (wants <= 1)".into(),
    });
    let inconclusive = Some(RunVerdict::Inconclusive {
        reason: "success-rate: the query returned no series".into(),
    });
    let with = |f: &dyn Fn(&mut Facts)| {
        let mut facts = facts(100);
        f(&mut facts);
        facts
    };
    let cases: Vec<(&str, State, Facts, usize, i32, Phase)> = vec![
        (
            "first weight once ready",
            state(0, 0, Phase::Progressing),
            facts(10),
            1,
            10,
            Phase::Progressing,
        ),
        (
            "no weight before the pods are ready",
            state(0, 0, Phase::Progressing),
            with(&|f| f.candidate_ready = false),
            0,
            0,
            Phase::Progressing,
        ),
        (
            "a timed pause waits",
            state(1, 10, Phase::Progressing),
            facts(100),
            1,
            10,
            Phase::Progressing,
        ),
        (
            "a timed pause ends",
            state(1, 10, Phase::Progressing),
            facts(300),
            2,
            10,
            Phase::Progressing,
        ),
        (
            "analysis under way holds the weight",
            state(2, 10, Phase::Progressing),
            with(&|f| {
                f.analysis = Some(RunVerdict::Running {
                    measured: 1,
                    count: 3,
                })
            }),
            2,
            10,
            Phase::Progressing,
        ),
        (
            "analysis passed moves on",
            state(2, 10, Phase::Progressing),
            with(&|f| f.analysis = passed.clone()),
            3,
            10,
            Phase::Progressing,
        ),
        (
            "the next weight after it",
            state(3, 10, Phase::Progressing),
            facts(100),
            4,
            50,
            Phase::Progressing,
        ),
        (
            "a failed analysis rolls back at once",
            state(2, 10, Phase::Progressing),
            with(&|f| f.analysis = failed.clone()),
            2,
            0,
            Phase::RolledBack,
        ),
        (
            "without autoRollback a failure holds",
            state(2, 10, Phase::Progressing),
            with(&|f| {
                f.analysis = failed.clone();
                f.auto_rollback = false;
            }),
            2,
            10,
            Phase::Paused,
        ),
        (
            "inconclusive pauses, weight kept",
            state(2, 10, Phase::Progressing),
            with(&|f| f.analysis = inconclusive.clone()),
            2,
            10,
            Phase::Inconclusive,
        ),
        (
            "inconclusive stays without a person",
            state(2, 10, Phase::Inconclusive),
            with(&|f| f.analysis = inconclusive.clone()),
            2,
            10,
            Phase::Inconclusive,
        ),
        (
            "Resume measures again",
            state(2, 10, Phase::Inconclusive),
            with(&|f| {
                f.analysis = inconclusive.clone();
                f.command = Some(Command::Resume);
            }),
            2,
            10,
            Phase::Progressing,
        ),
        (
            "a pause without duration waits for a person",
            state(4, 50, Phase::Progressing),
            facts(100),
            4,
            50,
            Phase::Paused,
        ),
        (
            "and stays paused",
            state(4, 50, Phase::Paused),
            facts(5000),
            4,
            50,
            Phase::Paused,
        ),
        (
            "Resume continues past it",
            state(4, 50, Phase::Paused),
            with(&|f| f.command = Some(Command::Resume)),
            5,
            50,
            Phase::Progressing,
        ),
        (
            "after the last step: promoted",
            state(5, 50, Phase::Progressing),
            facts(100),
            5,
            100,
            Phase::Promoted,
        ),
        (
            "Promote skips every remaining step",
            state(1, 10, Phase::Progressing),
            with(&|f| f.command = Some(Command::Promote)),
            5,
            100,
            Phase::Promoted,
        ),
        (
            "Abort sends all traffic back",
            state(3, 50, Phase::Progressing),
            with(&|f| f.command = Some(Command::Abort)),
            3,
            0,
            Phase::RolledBack,
        ),
        (
            "Pause holds the weight",
            state(3, 50, Phase::Progressing),
            with(&|f| f.command = Some(Command::Pause)),
            3,
            50,
            Phase::Paused,
        ),
        (
            "a crash-looping candidate is rolled back at its deadline",
            state(1, 10, Phase::Progressing),
            with(&|f| {
                f.candidate_ready = false;
                f.now = 600;
            }),
            1,
            0,
            Phase::RolledBack,
        ),
        (
            "even one that never had a ready pod",
            state(0, 0, Phase::Progressing),
            with(&|f| {
                f.candidate_ready = false;
                f.now = 601;
            }),
            0,
            0,
            Phase::RolledBack,
        ),
        (
            "a rolled-back rollout stays rolled back",
            state(1, 0, Phase::RolledBack),
            with(&|f| f.command = Some(Command::Resume)),
            1,
            0,
            Phase::RolledBack,
        ),
        (
            "a promoted one stays promoted",
            state(5, 100, Phase::Promoted),
            with(&|f| f.command = Some(Command::Abort)),
            5,
            100,
            Phase::Promoted,
        ),
    ];
    for (case, before, facts, step, weight, phase) in cases {
        let after = next(&steps, &before, &facts);
        assert_eq!(
            (after.step, after.weight, after.phase),
            (step, weight, phase),
            "{case}: {}",
            after.message
        );
    }
}

#[test]
fn a_failure_says_why_and_what_a_person_can_do() {
    let mut f = facts(100);
    f.analysis = Some(RunVerdict::Failed {
        reason: "error-rate = 7 (wants <= 1)".into(),
    });
    f.auto_rollback = false;
    let held = next(&canary(), &state(2, 10, Phase::Progressing), &f);
    assert_eq!(
        held.message,
        "analysis failed: error-rate = 7 (wants <= 1); autoRollback is off: Abort or Promote"
    );
}

#[test]
fn the_same_state_and_facts_give_the_same_step_after_a_restart() {
    // The state is all a restarted operator has: replaying a reconcile
    // from it lands on the same step and weight, so traffic never jumps.
    let steps = canary();
    let mut state = State::start(0);
    let mut now = 0;
    for _ in 0..4 {
        now += 10;
        let mut f = facts(now);
        f.analysis = Some(RunVerdict::Passed);
        let again = next(&steps, &state, &f);
        assert_eq!(next(&steps, &state, &f), again, "deterministic");
        assert!(again.weight >= state.weight, "weights only grow: {again:?}");
        state = again;
        now += 300;
    }
    assert_eq!((state.step, state.weight), (4, 50));
}
