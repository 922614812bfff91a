//! The config each revision ran with, kept beside the pods: the app
//! ConfigMap has one name and holds the config of the revision that runs,
//! so a rollback that puts an earlier pod template back must put that
//! revision's config back too, or its pods come up reading the config
//! they were rolled back from. The ConfigMap `<name>-config-history`
//! holds the app ConfigMap's data of each revision in the history: each
//! distinct config once (`config-<hash>`, its data as JSON; an image-only
//! change shares its revision's config with the one before) and which
//! revision ran which (`revisions`: revision → config key). Pure.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::{
    children::{Child, ChildKind, Object},
    metadata::stamp,
    pipeline::Rendered,
};
use crate::hash::hash_hex;

/// A revision's config: the app ConfigMap's data.
pub type Config = BTreeMap<String, String>;

/// The key that says which config each revision ran.
const REVISIONS: &str = "revisions";
/// Each config's key: this, then its hash.
const CONFIG: &str = "config-";

/// The most a history keeps, in bytes of its data: half of what a
/// ConfigMap may hold. The oldest revisions go first; a rollback to one
/// that went says its config was not kept.
pub const MAX_BYTES: usize = 512 * 1024;

/// The app ConfigMap of `rendered`.
fn app_config_map(rendered: &Rendered) -> Option<&ConfigMap> {
    rendered
        .children
        .iter()
        .find_map(|child| match child.object() {
            Object::ConfigMap(config) if child.kind() == ChildKind::ConfigMap => Some(config),
            _ => None,
        })
}

/// The app ConfigMap's data of `rendered`.
pub fn app_config(rendered: &Rendered) -> Option<Config> {
    app_config_map(rendered).map(|config| config.data.clone().unwrap_or_default())
}

/// `rendered` with the app ConfigMap's data set to `config` (a held
/// revision's), stamped anew.
pub fn set_app_config(rendered: &mut Rendered, config: Config) {
    let context = &rendered.context;
    for child in rendered.children.iter_mut() {
        if child.kind() != ChildKind::ConfigMap {
            continue;
        }
        if let Object::ConfigMap(app) = child.object_mut() {
            app.data = Some(config.clone());
        }
        stamp(child, context);
    }
}

/// The configs a history ConfigMap's `data` keeps, by revision; a
/// revision whose config cannot be read is left out.
pub fn parse(data: &BTreeMap<String, String>) -> BTreeMap<i64, Config> {
    let Some(revisions) = data
        .get(REVISIONS)
        .and_then(|r| serde_json::from_str::<BTreeMap<i64, String>>(r).ok())
    else {
        return BTreeMap::new();
    };
    revisions
        .into_iter()
        .filter_map(|(revision, key)| {
            let config = serde_json::from_str(data.get(&key)?).ok()?;
            Some((revision, config))
        })
        .collect()
}

/// The history ConfigMap that keeps `configs`, labelled as the app
/// ConfigMap of `rendered`; `None` when there is nothing to keep or no
/// app ConfigMap.
pub fn history_child(rendered: &Rendered, configs: &BTreeMap<i64, Config>) -> Option<Child> {
    if configs.is_empty() {
        return None;
    }
    let app = app_config_map(rendered)?;
    let mut data: BTreeMap<String, String> = BTreeMap::new();
    let mut revisions: BTreeMap<i64, String> = BTreeMap::new();
    let mut bytes = 0;
    // Newest first, while they fit (the newest always); a config already
    // kept costs only its revision's entry.
    for (revision, config) in configs.iter().rev() {
        let json = serde_json::to_string(config).unwrap_or_default();
        let key = format!("{CONFIG}{}", hash_hex(json.as_bytes()));
        let new = !data.contains_key(&key);
        let cost = 32 + if new { key.len() + json.len() } else { 0 };
        if bytes + cost > MAX_BYTES && !revisions.is_empty() {
            break;
        }
        bytes += cost;
        if new {
            data.insert(key.clone(), json);
        }
        revisions.insert(*revision, key);
    }
    data.insert(
        REVISIONS.into(),
        serde_json::to_string(&revisions).unwrap_or_default(),
    );
    let mut metadata = app.metadata.clone();
    metadata.name = Some(rendered.context.names.config_history.clone());
    let history = ConfigMap {
        metadata,
        data: Some(data),
        ..ConfigMap::default()
    };
    let mut child = Child::built(ChildKind::ConfigHistory, Object::ConfigMap(history));
    stamp(&mut child, &rendered.context);
    Some(child)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{api::ChatbotDeployment, render::Renderer};

    /// The revisions a history child keeps, and its data.
    fn kept(child: &Child) -> (Vec<i64>, BTreeMap<String, String>) {
        let Object::ConfigMap(history) = child.object() else {
            panic!("a ConfigMap");
        };
        let data = history.data.clone().unwrap_or_default();
        (parse(&data).into_keys().collect(), data)
    }

    fn rendered() -> Rendered {
        let cbd: ChatbotDeployment =
            serde_yaml_ng::from_str(include_str!("../../manifests/samples/mindmitra.yaml"))
                .unwrap();
        Renderer::embedded().unwrap().render(&cbd, 1).unwrap()
    }

    fn config(prompt: &str) -> Config {
        [
            ("PORT".to_string(), "8000".to_string()),
            ("SYSTEM_PROMPT".to_string(), prompt.to_string()),
        ]
        .into()
    }

    #[test]
    fn each_revision_s_config_is_kept_under_its_own_key_and_read_back_as_it_was() {
        let rendered = rendered();
        let configs: BTreeMap<i64, Config> = [
            (1, config("You are a kind listener.")),
            (2, config("Listen first.\nThen answer: \"briefly\".")),
        ]
        .into();
        let child = history_child(&rendered, &configs).expect("a history");
        assert_eq!(child.kind(), ChildKind::ConfigHistory);
        assert_eq!(child.name(), "mindmitra-config-history");
        let (revisions, data) = kept(&child);
        assert_eq!(revisions, [1, 2]);
        assert_eq!(parse(&data), configs);
        assert_eq!(data.len(), 3, "two configs and the revisions: {data:?}");
        assert!(child.spec_hash().is_some(), "stamped like every child");
        assert_eq!(history_child(&rendered, &BTreeMap::new()), None);
    }

    #[test]
    fn the_oldest_configs_go_first_when_the_history_outgrows_its_budget() {
        let prompt = |r: i64| format!("{r}{}", "x".repeat(MAX_BYTES / 3));
        let configs: BTreeMap<i64, Config> = (1..=5).map(|r| (r, config(&prompt(r)))).collect();
        let child = history_child(&rendered(), &configs).expect("a history");
        assert_eq!(kept(&child).0, [4, 5]);
        let huge: BTreeMap<i64, Config> = [(7, config(&"y".repeat(MAX_BYTES * 2)))].into();
        let child = history_child(&rendered(), &huge).expect("the newest, whatever its size");
        assert_eq!(kept(&child).0, [7]);
    }

    #[test]
    fn revisions_that_ran_one_config_keep_it_once() {
        let configs: BTreeMap<i64, Config> = [
            (3, config("You are a kind listener.")),
            (4, config("You are a kind listener.")),
            (5, config("Listen first.")),
            (6, config("You are a kind listener.")),
        ]
        .into();
        let child = history_child(&rendered(), &configs).expect("a history");
        let (revisions, data) = kept(&child);
        assert_eq!(revisions, [3, 4, 5, 6]);
        assert_eq!(parse(&data), configs);
        let stored: Vec<_> = data.keys().filter(|k| k.starts_with(CONFIG)).collect();
        assert_eq!(stored.len(), 2, "{data:?}");
    }

    #[test]
    fn a_revision_whose_config_cannot_be_read_is_left_out() {
        let data: BTreeMap<String, String> = [
            (
                REVISIONS.to_string(),
                r#"{"3":"config-a","4":"config-gone","5":"config-b"}"#.to_string(),
            ),
            ("config-a".to_string(), r#"{"A":"1"}"#.to_string()),
            ("config-b".to_string(), "not json".to_string()),
        ]
        .into();
        assert_eq!(parse(&data).into_keys().collect::<Vec<_>>(), [3]);
        let broken: BTreeMap<String, String> =
            [(REVISIONS.to_string(), "[1, 2]".to_string())].into();
        assert!(parse(&broken).is_empty());
    }

    #[test]
    fn a_held_revision_s_config_replaces_the_app_config_and_its_hash() {
        let mut rendered = rendered();
        let before = rendered
            .children
            .iter()
            .find(|c| c.kind() == ChildKind::ConfigMap)
            .and_then(|c| c.spec_hash().map(str::to_string));
        set_app_config(&mut rendered, config("You are a kind listener."));
        assert_eq!(
            app_config(&rendered),
            Some(config("You are a kind listener."))
        );
        let after = rendered
            .children
            .iter()
            .find(|c| c.kind() == ChildKind::ConfigMap)
            .and_then(|c| c.spec_hash().map(str::to_string));
        assert_ne!(before, after, "applied again, not taken for up to date");
    }
}
