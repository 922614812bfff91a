//! Render throughput: the five team samples, and 1,000 generated
//! ChatbotDeployments (every sample, renamed and re-tagged). Reports
//! objects per second. `cargo bench --bench render`.

use std::hint::black_box;

use chatbot_operator::{api::ChatbotDeployment, manifest, render};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SAMPLES: [&str; 5] = [
    "brigade-sales",
    "claude-saas",
    "finance-assistant",
    "mindmitra",
    "stock-consultant",
];

fn samples() -> Vec<ChatbotDeployment> {
    SAMPLES
        .iter()
        .flat_map(|name| {
            let path = format!(
                "{}/manifests/samples/{name}.yaml",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("sample");
            manifest::parse_deployments(&path, &text).expect("sample parses")
        })
        .collect()
}

/// `count` deployments cycling through the samples, each with its own name,
/// image tag and autoscaling ceiling.
pub fn generated(count: usize) -> Vec<ChatbotDeployment> {
    let samples = samples();
    (0..count)
        .map(|index| {
            let mut deployment = samples[index % samples.len()].clone();
            let name = format!(
                "{}-{index}",
                deployment.metadata.name.as_deref().unwrap_or("bot")
            );
            deployment.metadata.name = Some(name);
            let image = deployment
                .spec
                .image
                .rsplit_once(':')
                .map_or(deployment.spec.image.clone(), |(repo, _)| repo.to_string());
            deployment.spec.image = format!("{image}:1.0.{index}");
            if let Some(replicas) = deployment.spec.replicas.as_mut() {
                replicas.max = Some(replicas.min.unwrap_or(2) + (index % 8) as i32);
            }
            deployment
        })
        .collect()
}

fn render_all(renderer: &render::Renderer, deployments: &[ChatbotDeployment]) -> usize {
    let mut objects = 0;
    for deployment in deployments {
        let rendered = renderer.render(deployment, 1).expect("renders");
        objects += rendered.children.len();
        black_box(render::to_yaml(&rendered.children).expect("yaml"));
    }
    objects
}

fn bench(c: &mut Criterion) {
    let renderer = render::Renderer::embedded().expect("renderer");
    let mut group = c.benchmark_group("render");
    for (label, deployments) in [
        ("five_samples", samples()),
        ("generated_1000", generated(1000)),
    ] {
        let objects = render_all(&renderer, &deployments);
        group.throughput(Throughput::Elements(objects as u64));
        group.bench_function(label, |b| {
            b.iter(|| render_all(&renderer, black_box(&deployments)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
