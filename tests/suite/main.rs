//! The in-memory suite, one module per concern, in one test binary: kube,
//! k8s-openapi and the AWS SDKs are linked once, not once per module.
//! `cargo test --test suite render::` runs one module. The end-to-end
//! tests against a real cluster (`e2e_*`) and the two that capture logs
//! (per thread, so nothing else may run beside them) are binaries of their own.

#[path = "../common/mod.rs"]
mod common;

mod actions;
mod admission;
mod alert_rules;
mod analysis;
mod architecture;
mod backup_jobs;
mod backups;
mod cache_snapshots;
mod cli;
mod cost;
mod crds;
mod dashboards;
mod data_stores;
mod docs;
mod environment;
mod experiments;
mod fuzz_corpus;
mod gitops;
mod in_cluster_stores;
mod install;
mod lease;
mod maintenance;
mod migrations;
mod monitoring;
mod notifications;
mod oncall_cli;
mod openapi;
mod operator_run;
mod progressive;
mod properties;
mod rds_restores;
mod reconcile;
mod render;
mod render_diff;
mod restores;
mod traffic;
