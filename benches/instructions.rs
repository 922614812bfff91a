//! The same work on every run, for counting instructions with valgrind's
//! callgrind (a timing on a shared two-core machine moves by more than the
//! 5 % a change may cost; an instruction count does not):
//!
//! - `measured_render`: 100 generated ChatbotDeployments rendered to YAML;
//! - `measured_first_reconcile`: the first reconcile of 100 of them against
//!   the in-memory API server (every child applied);
//! - `measured_settled_reconcile`: three reconciles of each once settled
//!   (no request).
//!
//! ```sh
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*instructions::measured_*' \
//!     target/release/deps/instructions-<hash>
//! ```
//!
//! Each `measured_` function's inclusive count is its figure
//! (`callgrind_annotate --inclusive=yes`). Without valgrind the binary just
//! runs the work once.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::hint::black_box;

use chatbot_operator::{api::ChatbotDeployment, render};
use common::{fleet, harness::Harness};
use tokio::runtime::Runtime;

const RESOURCES: usize = 100;

#[inline(never)]
fn measured_render(renderer: &render::Renderer, deployments: &[ChatbotDeployment]) -> usize {
    let mut objects = 0;
    for deployment in deployments {
        let rendered = renderer.render(deployment, 1).expect("renders");
        objects += rendered.children.len();
        black_box(render::to_yaml(&rendered.children).expect("yaml"));
    }
    objects
}

// The reconciles run to completion inside these (not in a future polled
// elsewhere), so callgrind counts them under these names.
#[inline(never)]
fn measured_first_reconcile(runtime: &Runtime, harness: &mut Harness, paths: &[String]) {
    runtime.block_on(async {
        for path in paths {
            black_box(harness.reconcile_unsynced(path).await);
        }
    });
}

#[inline(never)]
fn measured_settled_reconcile(runtime: &Runtime, harness: &mut Harness, paths: &[String]) {
    runtime.block_on(async {
        for _ in 0..3 {
            for path in paths {
                black_box(harness.reconcile_unsynced(path).await);
            }
        }
    });
}

fn main() {
    let renderer = render::Renderer::embedded().expect("renderer");
    let deployments = fleet::generated(RESOURCES);
    let objects = measured_render(&renderer, &deployments);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut harness, paths) = runtime.block_on(async {
        let mut harness = Harness::new();
        let paths = fleet::populate(&mut harness, RESOURCES);
        (harness, paths)
    });
    measured_first_reconcile(&runtime, &mut harness, &paths);
    runtime.block_on(async {
        harness.sync();
        fleet::settle(&mut harness, &paths).await;
    });
    measured_settled_reconcile(&runtime, &mut harness, &paths);
    assert!(
        harness.api.requests().is_empty(),
        "settled resources send no request"
    );
    println!("rendered {objects} objects; reconciled {RESOURCES} resources");
}
