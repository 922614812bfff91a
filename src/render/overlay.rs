//! An A/B test's candidate as an overlay: the variant's `image`, `config`,
//! `env`, `envFrom`, `args` and `resources` set over the spec, so a new
//! prompt or model runs as its own revision of the same image; and the
//! merge patch that makes the spec say what a promoted overlay runs.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};
use serde_json::{Value, json};

use super::{
    contract::{check_config_key, reject_contract_key},
    error::RenderError,
};
use crate::api::{ChatbotDeploymentSpec, Strategy, Variant};

/// The A/B test's candidates (every variant but the baseline) with their
/// indices among the variants, first to last; empty unless the spec's
/// strategy is the A/B test.
pub fn candidates(spec: &ChatbotDeploymentSpec) -> Vec<(usize, &Variant)> {
    let Some(rollout) = spec.rollout.as_ref() else {
        return Vec::new();
    };
    if rollout.strategy != Some(Strategy::AbTest) {
        return Vec::new();
    }
    rollout
        .ab_test
        .iter()
        .flat_map(|test| test.variants.iter().enumerate())
        .filter(|(_, v)| v.baseline != Some(true))
        .collect()
}

/// The spec the pods of the candidate at `position` run: its overlay set
/// over `spec`. `None` when the spec has no such candidate or it sets
/// nothing (it runs the spec's new revision). An overlay that sets what
/// the app contract owns is refused with its path.
pub fn candidate_spec_at(
    spec: &ChatbotDeploymentSpec,
    position: usize,
) -> Result<Option<ChatbotDeploymentSpec>, RenderError> {
    let Some((index, variant)) = candidates(spec)
        .get(position)
        .copied()
        .filter(|(_, v)| v.is_overlay())
    else {
        return Ok(None);
    };
    let path = format!("spec.rollout.abTest.variants[{index}]");
    for key in variant.config.iter().flat_map(BTreeMap::keys) {
        check_config_key(&format!("{path}.config.{key}"), key)?;
    }
    for (at, var) in variant.env.iter().flatten().enumerate() {
        reject_contract_key(format!("{path}.env[{at}].name"), &var.name)?;
    }
    let mut merged = spec.clone();
    if let Some(image) = &variant.image {
        merged.image.clone_from(image);
    }
    if let Some(config) = &variant.config {
        let into = merged.config.get_or_insert_with(BTreeMap::new);
        into.extend(config.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(env) = &variant.env {
        merged.env = Some(env_over(spec.env.as_deref().unwrap_or_default(), env));
    }
    if let Some(env_from) = &variant.env_from {
        let into = merged.env_from.get_or_insert_with(Vec::new);
        into.extend(env_from.iter().cloned());
    }
    if let Some(args) = &variant.args {
        merged.args = Some(args.clone());
    }
    if let Some(resources) = &variant.resources {
        merged.resources = Some(resources_over(spec.resources.as_ref(), resources));
    }
    Ok(Some(merged))
}

/// Every candidate's overlay checked: the first that sets what the app
/// contract owns is refused with its path, and so is a second image among
/// several candidates when the spec migrates its database (the migration
/// runs once per test, for the candidate that leads).
pub fn check_overlays(spec: &ChatbotDeploymentSpec) -> Result<(), RenderError> {
    let candidates = candidates(spec);
    (0..candidates.len()).try_for_each(|position| candidate_spec_at(spec, position).map(|_| ()))?;
    let migrates = spec
        .database
        .as_ref()
        .is_some_and(|d| d.migrations.is_some());
    if !migrates || candidates.len() < 2 {
        return Ok(());
    }
    let image_of = |v: &Variant| v.image.clone().unwrap_or_else(|| spec.image.clone());
    let first = image_of(candidates[0].1);
    match candidates.iter().find(|(_, v)| image_of(v) != first) {
        Some((index, variant)) => Err(RenderError::Spec {
            path: format!("spec.rollout.abTest.variants[{index}].image"),
            message: format!(
                "runs {} beside a candidate on {first}: with spec.database.migrations the candidates of a test run one image, whose migration runs once before the test; test another image on its own",
                image_of(variant)
            ),
        }),
        None => Ok(()),
    }
}

/// `over` set over `base` by name: a variable of the same name is
/// replaced where it stands, a new one goes last.
fn env_over(base: &[EnvVar], over: &[EnvVar]) -> Vec<EnvVar> {
    let mut env = base.to_vec();
    for var in over {
        match env.iter_mut().find(|e| e.name == var.name) {
            Some(existing) => existing.clone_from(var),
            None => env.push(var.clone()),
        }
    }
    env
}

/// `over`'s requests and limits set over `base`'s by resource name (as a
/// JSON merge patch merges them); its claims replace the base's.
fn resources_over(
    base: Option<&ResourceRequirements>,
    over: &ResourceRequirements,
) -> ResourceRequirements {
    let mut merged = base.cloned().unwrap_or_default();
    for (into, from) in [
        (&mut merged.requests, &over.requests),
        (&mut merged.limits, &over.limits),
    ] {
        if let Some(from) = from {
            into.get_or_insert_with(BTreeMap::new)
                .extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if over.claims.is_some() {
        merged.claims.clone_from(&over.claims);
    }
    merged
}

/// The JSON merge patch (`kubectl patch --type merge`, or the same change
/// in Git) that makes the spec say what the candidate at `position` runs:
/// its overlay's fields set in the spec and every candidate's overlay
/// taken off the variants (the test is over; a candidate that lost is
/// written again over the new baseline to be tested again). Applied, the
/// spec renders the promoted revision's pod template exactly, so no new
/// revision rolls out. `None` when that candidate sets nothing.
pub fn promotion_patch(spec: &ChatbotDeploymentSpec, position: usize) -> Option<Value> {
    let (_, variant) = candidates(spec).get(position).copied()?;
    let merged = candidate_spec_at(spec, position).ok()??;
    let mut patch = serde_json::Map::new();
    if variant.image.is_some() {
        patch.insert("image".into(), json!(merged.image));
    }
    if let Some(config) = &variant.config {
        patch.insert("config".into(), json!(config));
    }
    if variant.env.is_some() {
        patch.insert("env".into(), json!(merged.env));
    }
    if variant.env_from.is_some() {
        patch.insert("envFrom".into(), json!(merged.env_from));
    }
    if let Some(args) = &variant.args {
        patch.insert("args".into(), json!(args));
    }
    if let Some(resources) = &variant.resources {
        patch.insert("resources".into(), json!(resources));
    }
    let variants: Vec<Variant> = spec
        .rollout
        .as_ref()?
        .ab_test
        .as_ref()?
        .variants
        .iter()
        .map(|v| Variant {
            name: v.name.clone(),
            weight: v.weight,
            baseline: v.baseline,
            ..Variant::default()
        })
        .collect();
    patch.insert(
        "rollout".into(),
        json!({ "abTest": { "variants": variants } }),
    );
    Some(json!({ "spec": patch }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AbTest, Rollout};

    fn spec_with(candidate: Variant) -> ChatbotDeploymentSpec {
        ChatbotDeploymentSpec {
            image: "ghcr.io/mindmitra/chatbot:2.3.0".into(),
            config: Some(BTreeMap::from([
                ("SYSTEM_PROMPT".into(), "You are MindMitra.".into()),
                ("LLM_MODEL".into(), "gpt-4o-mini".into()),
            ])),
            env: Some(vec![EnvVar {
                name: "LLM_TEMPERATURE".into(),
                value: Some("0.7".into()),
                ..Default::default()
            }]),
            rollout: Some(Rollout {
                strategy: Some(Strategy::AbTest),
                ab_test: Some(AbTest {
                    variants: vec![
                        Variant {
                            name: "baseline".into(),
                            weight: 50,
                            baseline: Some(true),
                            ..Default::default()
                        },
                        Variant {
                            name: "new-prompt".into(),
                            weight: 50,
                            ..candidate
                        },
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_candidate_without_an_overlay_runs_the_spec() {
        assert_eq!(
            candidate_spec_at(&spec_with(Variant::default()), 0).unwrap(),
            None
        );
        assert_eq!(promotion_patch(&spec_with(Variant::default()), 0), None);
    }

    #[test]
    fn the_overlay_sets_config_by_key_and_env_by_name() {
        let spec = spec_with(Variant {
            config: Some(BTreeMap::from([(
                "SYSTEM_PROMPT".into(),
                "You are MindMitra. Answer in two sentences.".into(),
            )])),
            env: Some(vec![
                EnvVar {
                    name: "LLM_TEMPERATURE".into(),
                    value: Some("0.3".into()),
                    ..Default::default()
                },
                EnvVar {
                    name: "RETRIEVAL_TOP_K".into(),
                    value: Some("8".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        });
        let merged = candidate_spec_at(&spec, 0).unwrap().unwrap();
        let config = merged.config.unwrap();
        assert_eq!(
            config["SYSTEM_PROMPT"],
            "You are MindMitra. Answer in two sentences."
        );
        assert_eq!(config["LLM_MODEL"], "gpt-4o-mini");
        let env: Vec<(String, Option<String>)> = merged
            .env
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.value))
            .collect();
        assert_eq!(
            env,
            [
                ("LLM_TEMPERATURE".to_string(), Some("0.3".to_string())),
                ("RETRIEVAL_TOP_K".to_string(), Some("8".to_string())),
            ]
        );
        assert_eq!(merged.image, spec.image);
    }

    #[test]
    fn an_overlay_may_not_set_what_the_contract_owns() {
        let spec = spec_with(Variant {
            config: Some(BTreeMap::from([("PORT".into(), "9000".into())])),
            ..Default::default()
        });
        let error = candidate_spec_at(&spec, 0).unwrap_err();
        assert_eq!(error.field(), "spec.rollout.abTest.variants[1].config.PORT");
        let spec = spec_with(Variant {
            env: Some(vec![EnvVar {
                name: "CHATBOT_VARIANT".into(),
                value: Some("mine".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let error = candidate_spec_at(&spec, 0).unwrap_err();
        assert_eq!(error.field(), "spec.rollout.abTest.variants[1].env[0].name");
    }

    #[test]
    fn several_candidates_of_a_migrated_database_run_one_image() {
        let mut spec = spec_with(Variant {
            config: Some(BTreeMap::from([(
                "SYSTEM_PROMPT".into(),
                "Be brief.".into(),
            )])),
            ..Default::default()
        });
        let test = spec.rollout.as_mut().unwrap().ab_test.as_mut().unwrap();
        test.variants[1].weight = 25;
        test.variants.push(Variant {
            name: "new-model".into(),
            weight: 25,
            image: Some("ghcr.io/mindmitra/chatbot:2.4.0".into()),
            ..Default::default()
        });
        // Without migrations each candidate may run its own image.
        assert!(check_overlays(&spec).is_ok());
        spec.database = Some(crate::api::Database {
            migrations: Some(crate::api::Migrations {
                command: vec!["alembic".into(), "upgrade".into(), "head".into()],
                ..Default::default()
            }),
            ..Default::default()
        });
        let error = check_overlays(&spec).unwrap_err();
        assert_eq!(error.field(), "spec.rollout.abTest.variants[2].image");
        assert!(
            error.to_string().contains(
                "runs ghcr.io/mindmitra/chatbot:2.4.0 beside a candidate on ghcr.io/mindmitra/chatbot:2.3.0"
            ),
            "{error}"
        );
        // The same image set on both is one image.
        let test = spec.rollout.as_mut().unwrap().ab_test.as_mut().unwrap();
        test.variants[1].image = Some("ghcr.io/mindmitra/chatbot:2.4.0".into());
        assert!(check_overlays(&spec).is_ok());
    }

    #[test]
    fn the_promotion_patch_applied_to_the_spec_gives_the_candidate_spec() {
        let spec = spec_with(Variant {
            image: Some("ghcr.io/mindmitra/chatbot:2.4.0".into()),
            config: Some(BTreeMap::from([(
                "LLM_MODEL".into(),
                "ft:gpt-4o-mini:mm".into(),
            )])),
            env: Some(vec![EnvVar {
                name: "LLM_TEMPERATURE".into(),
                value: Some("0.2".into()),
                ..Default::default()
            }]),
            args: Some(vec!["--stream".into()]),
            ..Default::default()
        });
        let patch = promotion_patch(&spec, 0).unwrap();
        let mut document = serde_json::to_value(&spec).unwrap();
        json_patch::merge(&mut document, &patch["spec"]);
        let patched: ChatbotDeploymentSpec = serde_json::from_value(document).unwrap();
        let mut expected = candidate_spec_at(&spec, 0).unwrap().unwrap();
        // The overlay itself is what the patch takes off.
        let variants = &mut expected
            .rollout
            .as_mut()
            .unwrap()
            .ab_test
            .as_mut()
            .unwrap()
            .variants;
        variants[1] = Variant {
            name: "new-prompt".into(),
            weight: 50,
            ..Default::default()
        };
        assert_eq!(patched, expected);
        assert_eq!(candidate_spec_at(&patched, 0).unwrap(), None);
    }
}
