//! When the route sends users to the maintenance page, and the status and
//! Event of each switch. Pure: facts and `now` in, the next status out.
//! The page serves when the spec turns it on, an on-call action holds it
//! on, a restore has the app stopped, or (with `whenUnavailable`) no app
//! pod is ready; it hands back as soon as none of these holds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{Maintenance, MaintenanceCause, MaintenanceHold, MaintenanceStatus};

/// What the switch is decided from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'a> {
    /// `spec.maintenance`; without it there is no page to switch to.
    pub spec: Option<&'a Maintenance>,
    /// The on-call hold, when an action turned the page on.
    pub hold: Option<&'a MaintenanceHold>,
    /// The restore that has the app stopped, if one does.
    pub restore: Option<&'a str>,
    /// Ready pods of the app (stable and candidate).
    pub ready_app_pods: i32,
}

/// Why the page should serve now, most deliberate cause first; `None`
/// while the app should.
pub fn cause(facts: &Facts) -> Option<MaintenanceCause> {
    let spec = facts.spec?;
    if spec.enabled.unwrap_or(false) {
        Some(MaintenanceCause::Spec)
    } else if facts.hold.is_some() {
        Some(MaintenanceCause::OnCall)
    } else if facts.restore.is_some() {
        Some(MaintenanceCause::Restore)
    } else if spec.when_unavailable.unwrap_or(false) && facts.ready_app_pods == 0 {
        Some(MaintenanceCause::Unavailable)
    } else {
        None
    }
}

/// A switch to or from the page, for its Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Switch {
    /// `MaintenancePageOn` or `MaintenancePageOff`.
    pub reason: &'static str,
    pub message: String,
}

fn words(cause: MaintenanceCause, facts: &Facts) -> String {
    match cause {
        MaintenanceCause::Spec => "spec.maintenance.enabled is true".to_string(),
        MaintenanceCause::OnCall => match facts.hold {
            Some(hold) if !hold.reason.is_empty() => {
                format!(
                    "turned on by ChatbotAction {}: {}",
                    hold.action, hold.reason
                )
            }
            Some(hold) => format!("turned on by ChatbotAction {}", hold.action),
            None => "turned on by an on-call action".to_string(),
        },
        MaintenanceCause::Restore => format!(
            "restore {} has the app stopped",
            facts.restore.unwrap_or_default()
        ),
        MaintenanceCause::Unavailable => {
            "no app pod is ready (spec.maintenance.whenUnavailable)".to_string()
        }
    }
}

/// The page's next status and, when the route switches, its Event. `None`
/// without `spec.maintenance`.
pub fn next(
    previous: Option<&MaintenanceStatus>,
    facts: &Facts,
    now: &Time,
) -> (Option<MaintenanceStatus>, Option<Switch>) {
    if facts.spec.is_none() {
        return (None, None);
    }
    let cause = cause(facts);
    let serving = cause.is_some();
    let was_serving = previous.is_some_and(|p| p.serving);
    let message = match cause {
        Some(cause) => format!("users get the maintenance page: {}", words(cause, facts)),
        None => "users reach the app".to_string(),
    };
    let switched = serving != was_serving || previous.and_then(|p| p.cause) != cause;
    let since = if switched || previous.is_none() {
        Some(now.clone())
    } else {
        previous.and_then(|p| p.since.clone())
    };
    let event = (serving != was_serving).then(|| match cause {
        Some(_) => Switch {
            reason: "MaintenancePageOn",
            message: message.clone(),
        },
        None => Switch {
            reason: "MaintenancePageOff",
            message: "the app has a ready pod again: users reach the app".to_string(),
        },
    });
    // A first look at a resource whose app serves is no switch.
    let event = event.filter(|_| previous.is_some() || serving);
    (
        Some(MaintenanceStatus {
            serving,
            cause,
            message,
            since,
        }),
        event,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
    }

    fn unavailable_page() -> Maintenance {
        Maintenance {
            when_unavailable: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn the_page_takes_over_when_no_pod_is_ready_and_hands_back_when_one_is() {
        let spec = unavailable_page();
        let up = Facts {
            spec: Some(&spec),
            ready_app_pods: 2,
            ..Default::default()
        };
        let (status, event) = next(None, &up, &at(0));
        let status = status.unwrap();
        assert!(!status.serving);
        assert_eq!(event, None, "the first look at a serving app is no switch");

        let down = Facts {
            ready_app_pods: 0,
            ..up
        };
        let (on, event) = next(Some(&status), &down, &at(60));
        let on = on.unwrap();
        assert!(on.serving);
        assert_eq!(on.cause, Some(MaintenanceCause::Unavailable));
        assert_eq!(on.since, Some(at(60)));
        assert_eq!(event.unwrap().reason, "MaintenancePageOn");

        let (still, event) = next(Some(&on), &down, &at(120));
        assert_eq!(still.unwrap().since, Some(at(60)), "no switch, no new time");
        assert_eq!(event, None);

        let (off, event) = next(Some(&on), &up, &at(180));
        let off = off.unwrap();
        assert!(!off.serving);
        assert_eq!(off.cause, None);
        assert_eq!(event.unwrap().reason, "MaintenancePageOff");
    }

    #[test]
    fn deliberate_causes_win_and_need_no_outage() {
        let mut spec = unavailable_page();
        let hold = MaintenanceHold {
            action: "mindmitra-maintenance-x1".into(),
            reason: "database upgrade".into(),
            at: None,
        };
        let facts = Facts {
            spec: Some(&spec),
            hold: Some(&hold),
            restore: Some("r7"),
            ready_app_pods: 3,
        };
        assert_eq!(cause(&facts), Some(MaintenanceCause::OnCall));
        let (status, _) = next(None, &facts, &at(0));
        assert!(status.unwrap().message.contains("database upgrade"));
        assert_eq!(
            cause(&Facts {
                hold: None,
                ..facts
            }),
            Some(MaintenanceCause::Restore)
        );
        let hold = hold.clone();
        spec.enabled = Some(true);
        let facts = Facts {
            spec: Some(&spec),
            hold: Some(&hold),
            restore: Some("r7"),
            ready_app_pods: 3,
        };
        assert_eq!(cause(&facts), Some(MaintenanceCause::Spec));
    }

    #[test]
    fn without_when_unavailable_an_outage_keeps_the_route_on_the_app() {
        let spec = Maintenance::default();
        let facts = Facts {
            spec: Some(&spec),
            ready_app_pods: 0,
            ..Default::default()
        };
        assert_eq!(cause(&facts), None);
        assert_eq!(next(None, &Facts::default(), &at(0)), (None, None));
    }
}
