use super::*;

const STEPS: [Step; 3] = [Step::SetWeight(20), Step::Pause(None), Step::SetWeight(50)];

fn pods(revision: i64, desired: i32, rolled_out: bool) -> Pods {
    Pods {
        revision: Some(revision),
        desired,
        rolled_out,
    }
}

fn inputs<'a>(previous: Option<&'a RolloutStatus>, now: i64) -> Inputs<'a> {
    Inputs {
        strategy: Strategy::Canary,
        steps: &STEPS,
        spec_revision: 2,
        stable: Some(pods(1, 4, true)),
        candidate: Some(pods(2, 4, true)),
        previous,
        command: None,
        analysis: None,
        comparison: None,
        smoke: None,
        now,
        progress_deadline: Duration::from_secs(600),
        auto_rollback: true,
        scale_down_delay: Duration::from_secs(30),
        weight_by_replicas: false,
    }
}

/// Runs `next` and returns the progress, feeding its status back.
fn run(previous: &mut Option<RolloutStatus>, edit: impl Fn(&mut Inputs)) -> Progress {
    let held = previous.clone();
    let mut given = inputs(held.as_ref(), 1_000);
    edit(&mut given);
    let progress = next(&given);
    *previous = progress.status.clone();
    progress
}

#[test]
fn the_first_revision_and_a_stable_already_at_the_spec_roll_out_plainly() {
    let first = next(&Inputs {
        stable: None,
        candidate: None,
        ..inputs(None, 0)
    });
    assert!(first.apply_stable);
    assert_eq!(first.candidate_replicas, None);
    assert_eq!(first.status, None);

    let same = next(&Inputs {
        stable: Some(pods(2, 4, true)),
        ..inputs(None, 0)
    });
    assert!(same.apply_stable);
    assert_eq!(same.candidate_replicas, None);
}

#[test]
fn a_new_revision_starts_beside_the_stable_one_with_no_traffic() {
    let progress = next(&Inputs {
        candidate: None,
        ..inputs(None, 100)
    });
    assert!(
        !progress.apply_stable,
        "the stable pods keep their template"
    );
    assert_eq!(progress.candidate_replicas, Some(4));
    assert_eq!(progress.candidate_weight, 0);
    let status = progress.status.unwrap();
    assert_eq!((status.revision, status.stable_revision), (2, 1));
    assert_eq!((status.step, status.steps, status.weight), (0, 3, 0));
    assert_eq!(status.phase, "Progressing");
    assert_eq!(status.started_at.unwrap().0.as_second(), 100);
}

#[test]
fn weights_move_one_step_per_look_and_a_pause_holds_until_promoted() {
    let mut status = None;
    run(&mut status, |i| i.candidate = None);
    // The candidate is not ready yet: no weight moves.
    let waiting = run(&mut status, |i| i.candidate = Some(pods(2, 4, false)));
    assert_eq!(waiting.candidate_weight, 0);
    let first = run(&mut status, |_| {});
    assert_eq!(first.candidate_weight, 20);
    let paused = run(&mut status, |_| {});
    assert_eq!(paused.candidate_weight, 20);
    assert_eq!(status.as_ref().unwrap().phase, "Paused");
    assert_eq!(paused.transition.as_ref().map(|t| t.0), Some(Phase::Paused));
    // Looking again changes nothing: the same status, no transition.
    let before = status.clone();
    let again = run(&mut status, |_| {});
    assert_eq!(status, before);
    assert_eq!(again.transition, None);

    let promoted = run(&mut status, |i| {
        i.command = Some((Command::Promote, "promote-1"));
    });
    assert_eq!(
        promoted.candidate_weight, 100,
        "all traffic on the candidate"
    );
    assert!(
        promoted.apply_stable,
        "the stable Deployment takes the template"
    );
    assert_eq!(promoted.candidate_replicas, Some(4));
    let status_now = status.clone().unwrap();
    assert_eq!(status_now.phase, "Promoted");
    assert_eq!(status_now.last_action.as_deref(), Some("promote-1"));
}

#[test]
fn a_promoted_candidate_hands_back_to_the_stable_deployment_then_goes_after_the_delay() {
    let mut status = Some(RolloutStatus {
        revision: 2,
        stable_revision: 1,
        phase: "Promoted".into(),
        replicas: 4,
        weight: 100,
        ..Default::default()
    });
    // The stable Deployment is still rolling to revision 2.
    let rolling = run(&mut status, |i| i.stable = Some(pods(2, 4, false)));
    assert_eq!(rolling.candidate_weight, 100);
    assert!(rolling.apply_stable);
    // Caught up at 1,000: traffic back to it, the candidate kept 30 s.
    let caught_up = run(&mut status, |i| i.stable = Some(pods(2, 4, true)));
    assert_eq!(caught_up.candidate_weight, 0);
    assert_eq!(caught_up.candidate_replicas, Some(4));
    let stable_at = status.as_ref().unwrap().stable_updated_at.clone().unwrap();
    assert_eq!(stable_at.0.as_second(), 1_000);
    // A brief unavailability of a stable pod does not send traffic back.
    let blip = run(&mut status, |i| {
        i.stable = Some(pods(2, 4, false));
        i.now = 1_010;
    });
    assert_eq!(blip.candidate_weight, 0);
    let later = run(&mut status, |i| {
        i.stable = Some(pods(2, 4, true));
        i.now = 1_030;
    });
    assert_eq!(later.candidate_replicas, None, "removed after the delay");
    assert_eq!(status.unwrap().phase, "Promoted");
}

#[test]
fn a_candidate_that_never_becomes_ready_is_rolled_back_at_its_deadline_and_stays_so() {
    let mut status = None;
    run(&mut status, |i| {
        i.candidate = None;
        i.now = 0;
    });
    let early = run(&mut status, |i| {
        i.candidate = Some(pods(2, 4, false));
        i.now = 599;
    });
    assert_eq!(early.candidate_replicas, Some(4));
    let late = run(&mut status, |i| {
        i.candidate = Some(pods(2, 4, false));
        i.now = 600;
    });
    assert_eq!(
        late.candidate_replicas, None,
        "the candidate is scaled away"
    );
    assert_eq!(late.candidate_weight, 0);
    assert!(!late.apply_stable, "the spec's template is held back");
    assert_eq!(
        late.transition.as_ref().map(|t| t.0),
        Some(Phase::RolledBack)
    );
    let rolled_back = status.clone().unwrap();
    assert!(
        rolled_back.message.contains("progress deadline"),
        "{}",
        rolled_back.message
    );
    for now in [700, 10_000] {
        let again = run(&mut status, |i| i.now = now);
        assert_eq!(status.as_ref(), Some(&rolled_back), "sticks at {now}");
        assert!(!again.apply_stable);
        assert_eq!(again.transition, None);
    }
}

#[test]
fn the_deadline_counts_from_when_a_ready_candidate_stopped_being_ready() {
    let mut status = Some(RolloutStatus {
        revision: 2,
        stable_revision: 1,
        phase: "Paused".into(),
        step: 1,
        steps: 3,
        weight: 20,
        replicas: 4,
        started_at: time(0),
        ..Default::default()
    });
    // Ready through an hour-long pause, then a pod restarts.
    run(&mut status, |i| i.now = 3_600);
    let restarting = run(&mut status, |i| {
        i.candidate = Some(pods(2, 4, false));
        i.now = 3_700;
    });
    assert_eq!(restarting.candidate_weight, 20, "not rolled back at once");
    let gone = run(&mut status, |i| {
        i.candidate = Some(pods(2, 4, false));
        i.now = 4_300;
    });
    assert_eq!(gone.candidate_weight, 0);
    assert_eq!(status.unwrap().phase, "RolledBack");
}

#[test]
fn a_failed_analysis_or_an_abort_sends_all_traffic_back_at_once() {
    let steps = [Step::SetWeight(20), Step::Analysis, Step::SetWeight(50)];
    let in_analysis = RolloutStatus {
        revision: 2,
        stable_revision: 1,
        phase: "Progressing".into(),
        step: 1,
        steps: 3,
        weight: 20,
        replicas: 4,
        started_at: time(0),
        ..Default::default()
    };
    let failed = next(&Inputs {
        steps: &steps,
        analysis: Some(RunVerdict::Failed {
            reason: "error-rate = 12 (wants <= 1)".into(),
        }),
        ..inputs(Some(&in_analysis), 100)
    });
    assert_eq!(failed.candidate_weight, 0);
    assert_eq!(failed.candidate_replicas, None);
    let status = failed.status.unwrap();
    assert_eq!(status.phase, "RolledBack");
    assert!(
        status.message.contains("error-rate = 12"),
        "{}",
        status.message
    );

    let aborted = next(&Inputs {
        steps: &steps,
        command: Some((Command::Abort, "abort-7")),
        ..inputs(Some(&in_analysis), 100)
    });
    assert_eq!(aborted.candidate_weight, 0);
    let status = aborted.status.unwrap();
    assert_eq!(status.phase, "RolledBack");
    assert_eq!(status.last_action.as_deref(), Some("abort-7"));
}

#[test]
fn a_newer_spec_revision_restarts_from_no_traffic() {
    let in_flight = RolloutStatus {
        revision: 2,
        stable_revision: 1,
        phase: "Progressing".into(),
        step: 2,
        steps: 3,
        weight: 50,
        replicas: 4,
        ..Default::default()
    };
    let progress = next(&Inputs {
        spec_revision: 3,
        ..inputs(Some(&in_flight), 100)
    });
    assert_eq!(progress.candidate_weight, 0);
    let status = progress.status.unwrap();
    assert_eq!(
        (status.revision, status.stable_revision, status.step),
        (3, 1, 0)
    );
}

#[test]
fn with_no_traffic_provider_the_candidate_runs_its_share_of_the_pods() {
    assert_eq!(candidate_pods(4, 0, true), 1, "at least one, to be judged");
    assert_eq!(candidate_pods(4, 20, true), 1);
    assert_eq!(candidate_pods(4, 50, true), 4);
    assert_eq!(candidate_pods(10, 20, true), 3);
    assert_eq!(candidate_pods(4, 100, true), 4);
    assert_eq!(candidate_pods(4, 20, false), 4, "routed: full size");
}

#[test]
fn time_alone_wakes_a_timed_pause_and_the_scale_down_delay() {
    let steps = [Step::Pause(Some(Duration::from_secs(600)))];
    let pausing = RolloutStatus {
        phase: "Progressing".into(),
        step_started_at: time(1_000),
        ..Default::default()
    };
    let given = Inputs {
        steps: &steps,
        ..inputs(None, 1_100)
    };
    assert_eq!(wake_after(&given, &pausing), Some(Duration::from_secs(500)));
    let promoted = RolloutStatus {
        phase: "Promoted".into(),
        stable_updated_at: time(1_090),
        ..Default::default()
    };
    assert_eq!(wake_after(&given, &promoted), Some(Duration::from_secs(20)));
}
