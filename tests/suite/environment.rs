//! Environment defaults and the merge rule: explicit spec fields always
//! win, maps merge deeply, lists replace.

use chatbot_operator::{
    api::{DeletionPolicy, StoreMode},
    environment::{Environments, Origin},
};

use crate::common;

/// Replicas with only a minimum, leaving the rest to the environment.
fn only_min(min: i32) -> chatbot_operator::api::Replicas {
    chatbot_operator::api::Replicas {
        min: Some(min),
        ..Default::default()
    }
}

#[test]
fn an_explicit_field_wins_and_its_siblings_keep_their_defaults() {
    let mut cbd = common::sample_deployment("brigade-sales");
    cbd.spec.replicas = Some(only_min(3));
    let resolution = Environments::embedded()
        .unwrap()
        .resolve(&cbd.spec)
        .unwrap();
    let replicas = resolution.spec.replicas.unwrap();
    assert_eq!(replicas.min, Some(3), "the spec's value survives the merge");
    assert_eq!(
        replicas.max,
        Some(10),
        "the environment fills the rest of the map"
    );
    assert_eq!(resolution.origins["replicas.min"], Origin::Spec);
    assert_eq!(
        resolution.origins["replicas.max"],
        Origin::Environment("production".into())
    );
}

#[test]
fn lists_replace_the_default_whole() {
    let environments = Environments::from_sources([(
        "production".to_string(),
        "args: [--workers, \"8\", --timeout, \"60\"]\nsecrets: {generated: [SECRET_KEY, ADMIN_KEY]}\n".to_string(),
    )])
    .unwrap();
    let mut cbd = common::sample_deployment("brigade-sales");
    cbd.spec.args = Some(vec!["--workers".into(), "2".into()]);
    let resolution = environments.resolve(&cbd.spec).unwrap();
    assert_eq!(resolution.spec.args.unwrap(), ["--workers", "2"]);
    // The sample lists its own generated secrets: the default list is not appended.
    assert_eq!(
        resolution.spec.secrets.unwrap().generated.unwrap(),
        ["ADMIN_KEY"]
    );
}

#[test]
fn production_defaults_are_what_a_careful_platform_team_chooses() {
    let cbd = common::sample_deployment("brigade-sales");
    let mut spec = cbd.spec.clone();
    spec.replicas = None;
    spec.database = None;
    spec.cache = None;
    spec.backup = None;
    spec.rollout = None;
    let spec = Environments::embedded()
        .unwrap()
        .resolve(&spec)
        .unwrap()
        .spec;
    let replicas = spec.replicas.unwrap();
    assert!(replicas.min.unwrap() >= 2);
    assert_eq!(replicas.max, Some(10));
    let database = spec.database.unwrap();
    assert_eq!(database.mode, Some(StoreMode::Managed));
    assert_eq!(database.multi_az, Some(true));
    assert_eq!(database.deletion_policy, Some(DeletionPolicy::Snapshot));
    assert_eq!(spec.cache.unwrap().mode, Some(StoreMode::Managed));
    let backup = spec.backup.unwrap();
    assert_eq!(backup.enabled, Some(true));
    assert_eq!(backup.schedule.as_deref(), Some("0 3 * * *"), "daily");
    assert_eq!(backup.retention_days, Some(30));
    let rollout = spec.rollout.unwrap();
    assert_eq!(rollout.auto_rollback, Some(true));
    assert_eq!(rollout.analysis.unwrap().enabled, Some(true));
    // Two or more replicas bring a PodDisruptionBudget.
    let rendered = chatbot_operator::render::Renderer::embedded()
        .unwrap()
        .render(&common::sample_deployment("brigade-sales"), 1)
        .unwrap();
    assert!(rendered.context.disruption_budget);
}

#[test]
fn dev_defaults_are_one_replica_in_cluster_stores_and_no_backups() {
    let mut cbd = common::sample_deployment("stock-consultant");
    cbd.spec.environment = "dev".into();
    cbd.spec.database = None;
    cbd.spec.cache = None;
    cbd.spec.backup = None;
    let spec = Environments::embedded()
        .unwrap()
        .resolve(&cbd.spec)
        .unwrap()
        .spec;
    assert_eq!(spec.replicas.as_ref().unwrap().min, Some(1));
    assert_eq!(spec.replicas.as_ref().unwrap().max, Some(1));
    assert_eq!(spec.database.unwrap().mode, Some(StoreMode::InCluster));
    assert_eq!(spec.cache.unwrap().mode, Some(StoreMode::InCluster));
    assert_eq!(spec.backup.unwrap().enabled, Some(false));
}

#[test]
fn environments_can_be_replaced_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("production.yaml"), "port: 9090\n").unwrap();
    let environments = Environments::from_dir(dir.path()).unwrap();
    assert_eq!(environments.names(), ["production"]);
    let spec = common::sample_deployment("brigade-sales").spec;
    assert_eq!(environments.resolve(&spec).unwrap().spec.port, Some(9090));
    let mut staging = spec.clone();
    staging.environment = "staging".into();
    let error = environments.resolve(&staging).unwrap_err().to_string();
    assert_eq!(
        error,
        "spec.environment: unknown environment \"staging\"; known: production"
    );
}

#[test]
fn a_default_maximum_below_an_explicit_minimum_follows_it() {
    // dev's default is exactly one replica; a team asking for three gets three.
    let mut cbd = common::sample_deployment("stock-consultant");
    cbd.spec.environment = "dev".into();
    cbd.spec.replicas = Some(only_min(3));
    let resolution = Environments::embedded()
        .unwrap()
        .resolve(&cbd.spec)
        .unwrap();
    let replicas = resolution.spec.replicas.unwrap();
    assert_eq!((replicas.min, replicas.max), (Some(3), Some(3)));
    assert_eq!(resolution.origins["replicas.max"], Origin::Spec);
}
