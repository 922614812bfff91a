//! The spec rendered at a revision, with the monitoring children left out
//! where the cluster does not serve them; and a render error as the
//! blocker status reports.

use crate::{
    api::ChatbotDeployment,
    reconcile::{observe::Observed, outcome::Blocker},
    render::{RenderError, Rendered, Renderer},
};

pub(super) fn render_blocker(error: &RenderError) -> Blocker {
    Blocker {
        reason: error.reason(),
        path: error.field(),
        message: error.to_string(),
    }
}

/// `cbd` rendered at `revision`, without the Prometheus Operator's kinds
/// where the cluster does not serve them (said in the Monitored
/// condition; nothing else waits for them). Every render of a reconcile
/// goes through here: a new revision leaves them out as the first did.
pub(super) fn render_at(
    renderer: &Renderer,
    cbd: &ChatbotDeployment,
    revision: i64,
    observed: &Observed,
) -> Result<Rendered, RenderError> {
    let mut rendered = renderer.render(cbd, revision)?;
    if observed.monitoring_missing {
        rendered
            .children
            .retain(|c| !c.kind().object_type().is_monitoring());
    }
    Ok(rendered)
}
