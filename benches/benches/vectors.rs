//! Replay time of the vector suites: every suite of vectors/MANIFEST.json in one go (what
//! `ratchet-bench vectors replay` and the start of `run` pay), then each suite alone for the
//! split. Throughput counts the cases judged (a case on two peers counts twice).
//!
//! The MLS working group's suites are read from RATCHET_BENCH_MLS_VECTORS; without it they
//! are left out, and the bench says so.

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// Setup failures are bugs in the bench or the vectors, and a bench has nobody to report to.
#![allow(clippy::expect_used, clippy::panic)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ratchet_bench::peer::Peer;
use ratchet_bench::peers::bundled;
use ratchet_bench::vectors::mls::{mls_vectors_dir, MlsFile, MLS_VECTORS_ENV};
use ratchet_bench::vectors::{run_suites, Manifest, SuiteReport};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Replays `only` (every suite when empty); the cases judged.
fn replay(peers: &[Box<dyn Peer>], mls: Option<&Path>, only: &[String]) -> Vec<SuiteReport> {
    run_suites(&vectors_dir(), mls, peers, only, false).expect("the pinned vectors should load")
}

fn cases(reports: &[SuiteReport]) -> u64 {
    reports
        .iter()
        .map(|r| (r.passed + r.failed + r.skipped) as u64)
        .sum()
}

fn vectors(c: &mut Criterion) {
    let peers = bundled();
    let mls = mls_vectors_dir(None).filter(|d| d.is_dir());
    let manifest =
        Manifest::load(&vectors_dir().join("MANIFEST.json")).expect("the manifest should load");
    let (mut run, mut left_out) = (Vec::new(), Vec::new());
    for s in &manifest.suites {
        if MlsFile::from_loader(&s.loader).is_some() && mls.is_none() {
            left_out.push(s.name.clone());
        } else {
            run.push(s.name.clone());
        }
    }
    if left_out.is_empty() {
        eprintln!("vectors bench: every suite, MLS ones included");
    } else {
        eprintln!(
            "vectors bench: {MLS_VECTORS_ENV} is not set (or not a folder), so these suites \
             are not benched: {}",
            left_out.join(", ")
        );
    }

    // Every suite in one go: a replay that passes, so the time is that of a real run.
    let all = replay(&peers, mls.as_deref(), &run);
    let failed: Vec<_> = all.iter().filter(|r| r.failed > 0).collect();
    assert!(
        failed.is_empty(),
        "the benched replay should pass: {failed:?}"
    );
    let mut group = c.benchmark_group("vectors");
    // One replay of everything takes a good fraction of a second: ten samples are enough.
    group.sample_size(10);
    group.throughput(Throughput::Elements(cases(&all)));
    group.bench_function("all_suites", |b| {
        b.iter(|| black_box(replay(&peers, mls.as_deref(), &run)));
    });
    group.finish();

    let mut group = c.benchmark_group("vectors_suite");
    group.sample_size(10);
    for name in &run {
        let only = vec![name.clone()];
        group.throughput(Throughput::Elements(cases(&replay(
            &peers,
            mls.as_deref(),
            &only,
        ))));
        group.bench_function(name.as_str(), |b| {
            b.iter(|| black_box(replay(&peers, mls.as_deref(), &only)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine is small and noisy.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = vectors
}
criterion_main!(benches);
