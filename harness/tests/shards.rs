//! `run --shard K/N` and `merge`: the shards' reports, written as JSON and read back, merge
//! into the report the unsharded run gives for the same seed, byte for byte, for N = 1, 2, 3.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ratchet_bench::bench::{self, RunOptions};
use ratchet_bench::merge;
use ratchet_bench::peer::Peer;
use ratchet_bench::shard::Shard;
use std::path::Path;

/// Peers of three families, with known findings of every source: campaign divergences and
/// panics (ksi-double-ratchet, double-ratchet-2), pinned regressions, a failed vector case
/// (libolm-olm tcId 10), interop cells, mutation operators, and the MLS group part
/// (openmls: group schedules and group interop cells).
fn peers() -> Vec<Box<dyn Peer>> {
    let names = [
        "reference",
        "ksi-double-ratchet",
        "double-ratchet-2",
        "reference-olm",
        "libolm-olm",
        "vodozemac-olm",
        "openmls",
    ];
    let peers: Vec<Box<dyn Peer>> = ratchet_bench::peers::bundled()
        .into_iter()
        .filter(|p| names.contains(&p.info().name.as_str()))
        .collect();
    assert_eq!(peers.len(), names.len(), "every peer of the test is built");
    peers
}

fn options(shard: Option<Shard>) -> RunOptions {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    RunOptions {
        seed: 7,
        scenarios: Some(24),
        peers: Vec::new(),
        // The project's file: entries with and without reproducers, some about peers that
        // do not run here.
        expectations: vec![root.join("ci/expectations.json")],
        vectors_dir: Some(root.join("vectors")),
        mls_vectors_dir: None,
        regressions: Some(root.join("vectors/regressions/scenarios.txt")),
        suites: Vec::new(),
        accept_changed_vectors: false,
        workers: 2,
        today: "2026-11-23".into(),
        shim_scenarios: bench::DEFAULT_SHIM_SCENARIOS,
        shard,
        group_schedules: Some(4),
        group_regressions: Some(root.join("vectors/regressions/groups.txt")),
        release_matrices: false,
    }
}

/// The report as JSON, what peers drew from the OS masked ([`common::unseeded`]).
fn json<T: serde::Serialize>(value: &T) -> String {
    common::unseeded(&serde_json::to_string_pretty(value).unwrap())
}

#[test]
fn merged_shards_give_the_unsharded_report_byte_for_byte() {
    let whole = bench::run_on(&options(None), peers(), &|| {}).unwrap();
    assert!(whole.shard.is_none());
    assert!(
        !whole.findings.is_empty() && !whole.vectors.is_empty() && !whole.interop.is_empty(),
        "the run must have findings, vectors and interop to merge"
    );
    assert!(
        whole.groups.is_some() && !whole.operators.is_empty(),
        "the run must have a group part and operator uses to merge"
    );
    let expected = json(&whole);
    let dir = common::temp_dir("shards");
    for n in 1..=3u64 {
        let mut paths = Vec::new();
        for k in 1..=n {
            let shard = Shard::new(k, n).unwrap();
            let report = bench::run_on(&options(Some(shard)), peers(), &|| {}).unwrap();
            assert_eq!(report.shard.as_ref().map(|s| s.shard), Some(shard));
            let path = dir.join(format!("shard-{k}-of-{n}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
            paths.push(path);
        }
        // Shards given in another order merge the same.
        paths.reverse();
        let merged = merge::merge(&paths).unwrap();
        let got = json(&merged);
        if got != expected {
            let line = got
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "the merge of {n} shards differs from the unsharded report at line {}:\n  merged:    {:?}\n  unsharded: {:?}",
                line + 1,
                got.lines().nth(line),
                expected.lines().nth(line)
            );
        }
        if n == 3 {
            // Not the shards of one run: one missing, one twice.
            let err = merge::merge(&paths[..2]).unwrap_err().to_string();
            assert!(err.contains("is missing"), "{err}");
            let mut twice = paths.clone();
            twice.push(paths[0].clone());
            let err = merge::merge(&twice).unwrap_err().to_string();
            assert!(err.contains("given twice"), "{err}");
        }
    }
    // An unsharded report is refused by merge, with the reason.
    let plain = dir.join("plain.json");
    std::fs::write(&plain, serde_json::to_string_pretty(&whole).unwrap()).unwrap();
    let err = merge::merge(&[plain]).unwrap_err().to_string();
    assert!(err.contains("not a shard's report"), "{err}");
}
