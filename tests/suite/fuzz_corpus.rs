//! The fuzz targets' corpus (`fuzz/corpus/<target>/`), replayed through the
//! same bodies the fuzzers run (`fuzz/bodies.rs`): every input a fuzzer
//! kept as interesting, and every crash it found once fixed, stays a test.

#[path = "../../fuzz/bodies.rs"]
mod bodies;

use crate::common;

fn replay(target: &str, body: fn(&[u8])) {
    let folder = common::root().join("fuzz/corpus").join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| body(&data));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "{} holds no input", folder.display());
}

#[test]
fn spec_corpus_reads_renders_and_plans_without_a_panic() {
    replay("spec", bodies::spec);
}

#[test]
fn backup_records_corpus_reads_without_a_panic() {
    replay("backup_records", bodies::backup_records);
}

#[test]
fn cli_args_corpus_parses_without_a_panic() {
    replay("cli_args", bodies::cli_args);
}
