//! What each fuzz target does with its input, shared by the targets
//! (`cargo +nightly fuzz run <target>`) and by the plain `cargo test` that
//! replays their corpus (`tests/suite/fuzz_corpus.rs`): no panic, whatever
//! the bytes, and the same output for the same input.

use chatbot_operator::{backup, cli, manifest, plan, render};
use clap::Parser;

/// A ChatbotDeployment stream as `render` and `plan` read it: parsing,
/// admission, rendering and planning, twice to prove the output is
/// deterministic.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(deployments) = manifest::parse_deployments("fuzz.yaml", text) else {
        return;
    };
    let renderer = render::Renderer::embedded().expect("the embedded templates load");
    for deployment in &deployments {
        let Ok(first) = renderer.render(deployment, 1) else {
            continue;
        };
        let second = renderer
            .render(deployment, 1)
            .expect("a spec that rendered once renders again");
        let yaml = render::to_yaml(&first.children).expect("rendered children serialise");
        assert_eq!(
            yaml,
            render::to_yaml(&second.children).expect("rendered children serialise"),
            "rendering is deterministic"
        );
        let planned = plan::plan(&first.context.name, &first.resolution);
        let _ = plan::to_text(&planned);
    }
}

/// What a backup store and a Job hand back: a manifest as the agent and
/// the CLI read it, a `pg_restore --list` listing, an agent's report in a
/// Job's termination message.
pub fn backup_records(data: &[u8]) {
    if let Ok(read) = serde_json::from_slice::<backup::manifest::Manifest>(data) {
        let _ = backup::manifest::compare(&read, 0, "", 0, &[]);
        let again = serde_json::to_vec(&read).expect("a manifest serialises");
        let reread: backup::manifest::Manifest =
            serde_json::from_slice(&again).expect("a written manifest reads back");
        assert_eq!(read, reread, "a manifest survives a round trip");
    }
    let text = String::from_utf8_lossy(data);
    let _ = backup::manifest::toc_entries(&text);
    if let Some(report) = backup::report::Report::parse(&text) {
        let _ = report.succeeded();
        let _ = report.failure();
    }
}

/// The command line, split at NUL bytes: parsed as the binary parses it
/// (a parse error is rendered as it would be printed). Nothing is run.
pub fn cli_args(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let args = std::iter::once("chatbot-operator").chain(text.split('\0'));
    match cli::Cli::try_parse_from(args) {
        Ok(parsed) => {
            let _ = format!("{parsed:?}");
        }
        Err(error) => {
            let _ = error.render().to_string();
        }
    }
}
