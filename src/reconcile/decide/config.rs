//! The config each revision runs with, kept with the revision: the
//! current revision's app ConfigMap data goes into the config history, a
//! revision that leaves the history leaves it too, and while an on-call
//! rollback holds an earlier revision the app ConfigMap holds that
//! revision's config (its pods would otherwise read the config they were
//! rolled back from).

use super::Inputs;
use crate::{
    reconcile::{rollback, status::Assessment},
    render::{
        Child, Rendered,
        config_history::{app_config, history_child, set_app_config},
    },
};

/// Sets the held revision's config on the app ConfigMap, and adds the
/// config history to `rendered`'s children. `chosen`: this reconcile chose
/// the pods' revision (the spec's, or the held one).
pub(super) fn keep(
    inputs: &Inputs,
    rendered: &mut Rendered,
    assessment: &Assessment,
    chosen: bool,
) {
    let mut configs = inputs.observed.config_history.clone();
    configs.retain(|revision, _| assessment.revisions.iter().any(|r| r.revision == *revision));
    let held = rollback::held(inputs.cbd).map(|held| held.revision);
    match (held, assessment.current_revision) {
        (Some(revision), _) => {
            // Kept since the revision ran: put back. Not kept (it ran
            // before its config was kept): its pods read the spec's.
            if let Some(config) = configs.get(&revision) {
                set_app_config(rendered, config.clone());
            }
        }
        (None, Some(current)) if chosen => {
            if let Some(config) = app_config(rendered) {
                configs.insert(current, config);
            }
        }
        _ => {}
    }
    if let Some(child) = history_child(rendered, &configs) {
        rendered.children.push(child);
        rendered.children.sort_by_key(Child::kind);
    }
}
