//! Render throughput: the five team samples, and 1,000 generated
//! ChatbotDeployments (every sample, renamed and re-tagged). Reports
//! objects per second. `cargo bench --bench render`.

use std::hint::black_box;

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use chatbot_operator::{api::ChatbotDeployment, render};
use common::fleet::{generated, samples};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
