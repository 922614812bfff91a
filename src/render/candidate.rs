//! The children a rollout adds beside the rendered ones: the candidate's
//! ConfigMap, Deployment and Service, made from the rendered app ConfigMap,
//! Deployment and Service so they run exactly the spec's pod template and
//! config, while the stable pods keep their own.

use super::{
    children::{Child, ChildKind, Object},
    metadata::stamp,
    pipeline::Rendered,
};
use crate::names;

/// Which candidate to build, and how many of its pods.
#[derive(Clone, Copy, Debug)]
pub struct CandidateOf<'a> {
    pub replicas: i32,
    /// The component label its pods are selected by.
    pub component: &'a str,
    /// Its position among an A/B test's candidates (0 for a canary or a
    /// blue-green preview), which names its children.
    pub position: usize,
    /// The A/B test variant it runs.
    pub variant: Option<&'a str>,
}

/// The candidate's ConfigMap, its Deployment (`replicas` pods whose
/// component label is `component`, reading that ConfigMap) and its
/// Service, from the rendered app ConfigMap, Deployment and Service,
/// named for its position. Empty when the rendering has no app
/// Deployment. The pods of an A/B test's candidate `variant` get
/// `CHATBOT_VARIANT` and the label `chatbot.dev/variant` (which their
/// metrics keep); the revision's template hash stays the rendered one's.
pub fn candidate_children(rendered: &Rendered, of: CandidateOf) -> Vec<Child> {
    let CandidateOf {
        replicas,
        component,
        position,
        variant,
    } = of;
    let context = &rendered.context;
    let name = context.names.candidate_at(position);
    let selector = names::candidate_selector_labels(&context.name, component);
    let mut children = Vec::new();
    let find = |kind: ChildKind| rendered.children.iter().find(|c| c.kind() == kind);
    let config = match find(ChildKind::ConfigMap).map(Child::object) {
        Some(Object::ConfigMap(app)) if find(ChildKind::Deployment).is_some() => {
            let mut config = app.clone();
            config.metadata.name = Some(name.clone());
            let mut child = Child::built(ChildKind::CandidateConfigMap, Object::ConfigMap(config));
            stamp(&mut child, context);
            children.push(child);
            true
        }
        _ => false,
    };
    if let Some(Object::Deployment(app)) = find(ChildKind::Deployment).map(Child::object) {
        let mut deployment = app.as_ref().clone();
        deployment.metadata.name = Some(name.clone());
        let labels = deployment
            .metadata
            .labels
            .get_or_insert_with(Default::default);
        labels.extend(selector.clone());
        if let Some(spec) = deployment.spec.as_mut() {
            spec.replicas = Some(replicas.max(0));
            spec.selector.match_labels = Some(selector.clone());
            let template = spec.template.metadata.get_or_insert_with(Default::default);
            template
                .labels
                .get_or_insert_with(Default::default)
                .extend(selector.clone());
            if let Some(variant) = variant {
                name_variant(&mut spec.template, variant);
            }
            if config {
                read_config(&mut spec.template, &context.names.config_map, &name);
            }
            for constraint in spec
                .template
                .spec
                .iter_mut()
                .flat_map(|pod| pod.topology_spread_constraints.iter_mut().flatten())
            {
                if let Some(selector_of) = constraint.label_selector.as_mut() {
                    selector_of.match_labels = Some(selector.clone());
                }
            }
        }
        let mut child = Child::built(
            ChildKind::CandidateDeployment,
            Object::Deployment(Box::new(deployment)),
        );
        stamp(&mut child, context);
        children.push(child);
    }
    if let Some(Object::Service(app)) = find(ChildKind::Service).map(Child::object) {
        let mut service = app.clone();
        service.metadata.name = Some(name.clone());
        if let Some(spec) = service.spec.as_mut() {
            spec.selector = Some(selector.clone());
        }
        let mut child = Child::built(ChildKind::CandidateService, Object::Service(service));
        stamp(&mut child, context);
        children.push(child);
    }
    children
}

/// The containers read the ConfigMap `to` where they read `from`.
fn read_config(template: &mut k8s_openapi::api::core::v1::PodTemplateSpec, from: &str, to: &str) {
    for container in template
        .spec
        .iter_mut()
        .flat_map(|pod| pod.containers.iter_mut())
    {
        for source in container.env_from.iter_mut().flatten() {
            if let Some(reference) = source.config_map_ref.as_mut()
                && reference.name == from
            {
                reference.name = to.to_string();
            }
        }
    }
}

/// `CHATBOT_VARIANT` beside `CHATBOT_REVISION` (the app's container) and
/// the variant label on the pods.
fn name_variant(template: &mut k8s_openapi::api::core::v1::PodTemplateSpec, variant: &str) {
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(Default::default)
        .insert(names::keys::VARIANT.into(), variant.into());
    for container in template
        .spec
        .iter_mut()
        .flat_map(|pod| pod.containers.iter_mut())
    {
        let env = container.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|var| var.name == "CHATBOT_REVISION") {
            continue;
        }
        env.push(k8s_openapi::api::core::v1::EnvVar {
            name: "CHATBOT_VARIANT".into(),
            value: Some(variant.into()),
            ..Default::default()
        });
    }
}
