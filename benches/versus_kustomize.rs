//! Render throughput beside `kubectl kustomize` producing the same number
//! of objects, measured in the same run: `cargo bench --bench versus_kustomize`.
//!
//! The kustomization holds the very objects `render` produces for 1,000
//! generated ChatbotDeployments and asks kustomize for the work a platform
//! team's overlay does (a namespace and common labels), so both sides read
//! input and write the same objects as YAML.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use chatbot_operator::render;

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

/// Runs of our render per size (the median is reported).
const RENDER_RUNS: usize = 5;
/// Runs of kustomize per size: it needs minutes for thousands of objects,
/// so one run unless `KUSTOMIZE_RUNS` asks for more.
fn kustomize_runs() -> usize {
    std::env::var("KUSTOMIZE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn compare(renderer: &render::Renderer, count: usize) {
    let deployments = common::fleet::generated(count);
    let mut objects = 0;
    let mut yaml = String::new();
    let mut render_times = Vec::new();
    for _ in 0..RENDER_RUNS {
        let start = Instant::now();
        let mut out = String::new();
        let mut produced = 0;
        for deployment in &deployments {
            let rendered = renderer.render(deployment, 1).expect("renders");
            produced += rendered.children.len();
            out.push_str(&render::to_yaml(&rendered.children).expect("yaml"));
        }
        render_times.push(start.elapsed());
        objects = produced;
        yaml = out;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("objects.yaml"), &yaml).expect("write objects");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: bench\nlabels:\n  - pairs:\n      team: platform\nresources:\n  - objects.yaml\n",
    )
    .expect("write kustomization");
    let mut kustomize_times = Vec::new();
    for _ in 0..kustomize_runs() {
        let start = Instant::now();
        let output = Command::new("kubectl")
            .args(["kustomize"])
            .arg(dir.path())
            .output()
            .expect("kubectl is installed");
        kustomize_times.push(start.elapsed());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let produced = String::from_utf8_lossy(&output.stdout)
            .matches("\napiVersion: ")
            .count()
            + 1;
        assert_eq!(
            produced, objects,
            "kustomize produced a different number of objects"
        );
    }

    let render_time = median(render_times);
    let kustomize_time = median(kustomize_times);
    let per_second = |time: Duration| objects as f64 / time.as_secs_f64();
    println!("{count} ChatbotDeployments -> {objects} objects");
    println!(
        "  chatbot-operator render: {render_time:?} = {:.0} objects/s (median of {RENDER_RUNS})",
        per_second(render_time)
    );
    println!(
        "  kubectl kustomize:       {kustomize_time:?} = {:.0} objects/s (median of {})",
        per_second(kustomize_time),
        kustomize_runs()
    );
    println!(
        "  ratio (render / kustomize throughput): {:.1}",
        per_second(render_time) / per_second(kustomize_time)
    );
}

fn main() {
    let renderer = render::Renderer::embedded().expect("renderer");
    for count in [5, 100, 1000] {
        compare(&renderer, count);
    }
}
