//! The on-call `Maintenance` action (`kubectl chatbot maintenance NAME
//! on|off`): `On` holds the page on through the resource's status, `Off`
//! lets go of that hold; each ends once the route shows it. Pure: the
//! action and the target's status in, what to do next out. The spec is
//! never edited, so a GitOps tool sees no drift.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{
    ChatbotDeploymentSpec, ChatbotDeploymentStatus, MaintenanceCause, MaintenanceHold,
    MaintenanceMode,
};

/// What the action does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Write this hold (`None`: remove it) to the target's status.
    Hold(Option<MaintenanceHold>),
    /// The hold is written; the route has not followed yet.
    Wait(String),
    /// The action ends: succeeded or not, and why.
    Done(bool, String),
}

/// Judges `mode` asked by action `name` for `reason`.
pub fn judge(
    name: &str,
    mode: MaintenanceMode,
    reason: &str,
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    now: &Time,
) -> Progress {
    if spec.maintenance.is_none() {
        return Progress::Done(
            false,
            "spec.maintenance is not set, so there is no page to serve; nothing was changed".into(),
        );
    }
    let page = status.maintenance.as_ref();
    let hold = status.maintenance_hold.as_ref();
    match mode {
        MaintenanceMode::On => match hold {
            None => Progress::Hold(Some(MaintenanceHold {
                action: name.to_string(),
                reason: reason.to_string(),
                at: Some(now.clone()),
            })),
            Some(hold) if hold.action != name => Progress::Done(
                true,
                format!(
                    "the page was already held on by ChatbotAction {}: {}",
                    hold.action, hold.reason
                ),
            ),
            Some(_) if page.is_some_and(|p| p.serving) => Progress::Done(
                true,
                "users get the maintenance page until `maintenance NAME off`".into(),
            ),
            Some(_) => Progress::Wait("the route is being switched to the page".into()),
        },
        MaintenanceMode::Off => match (hold, page) {
            (Some(_), _) => Progress::Hold(None),
            (None, Some(page)) if page.serving && page.cause == Some(MaintenanceCause::OnCall) => {
                Progress::Wait("the route is being switched back to the app".into())
            }
            (None, Some(page)) if page.serving => Progress::Done(
                true,
                format!(
                    "the on-call hold is off, but the page still serves: {}",
                    page.message
                ),
            ),
            (None, _) => Progress::Done(true, "users reach the app".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Maintenance, MaintenanceStatus};

    fn spec() -> ChatbotDeploymentSpec {
        ChatbotDeploymentSpec {
            maintenance: Some(Maintenance::default()),
            ..Default::default()
        }
    }

    fn now() -> Time {
        Time("2027-01-15T08:00:00Z".parse().unwrap())
    }

    #[test]
    fn on_holds_the_page_and_ends_once_the_route_shows_it() {
        let mut status = ChatbotDeploymentStatus::default();
        let Progress::Hold(Some(hold)) = judge(
            "a1",
            MaintenanceMode::On,
            "db upgrade",
            &spec(),
            &status,
            &now(),
        ) else {
            panic!("a hold is written first");
        };
        assert_eq!(
            (hold.action.as_str(), hold.reason.as_str()),
            ("a1", "db upgrade")
        );
        status.maintenance_hold = Some(hold);
        assert!(matches!(
            judge("a1", MaintenanceMode::On, "", &spec(), &status, &now()),
            Progress::Wait(_)
        ));
        status.maintenance = Some(MaintenanceStatus {
            serving: true,
            cause: Some(MaintenanceCause::OnCall),
            ..Default::default()
        });
        assert!(matches!(
            judge("a1", MaintenanceMode::On, "", &spec(), &status, &now()),
            Progress::Done(true, _)
        ));
        assert!(matches!(
            judge("a2", MaintenanceMode::On, "", &spec(), &status, &now()),
            Progress::Done(true, message) if message.contains("already held on by ChatbotAction a1")
        ));
    }

    #[test]
    fn off_lets_go_and_says_when_the_page_serves_for_another_reason() {
        let mut status = ChatbotDeploymentStatus {
            maintenance_hold: Some(MaintenanceHold::default()),
            ..Default::default()
        };
        assert_eq!(
            judge("b1", MaintenanceMode::Off, "", &spec(), &status, &now()),
            Progress::Hold(None)
        );
        status.maintenance_hold = None;
        status.maintenance = Some(MaintenanceStatus {
            serving: true,
            cause: Some(MaintenanceCause::Unavailable),
            message: "users get the maintenance page: no app pod is ready".into(),
            since: None,
        });
        let Progress::Done(true, message) =
            judge("b1", MaintenanceMode::Off, "", &spec(), &status, &now())
        else {
            panic!("ends");
        };
        assert!(message.contains("no app pod is ready"), "{message}");
    }

    #[test]
    fn without_a_page_in_the_spec_nothing_changes() {
        let status = ChatbotDeploymentStatus::default();
        let spec = ChatbotDeploymentSpec::default();
        assert!(matches!(
            judge("c1", MaintenanceMode::On, "", &spec, &status, &now()),
            Progress::Done(false, message) if message.contains("spec.maintenance")
        ));
    }
}
