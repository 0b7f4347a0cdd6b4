//! The default run (`ratchet-bench run` with no options): its summary is snapshotted, so
//! that any change of behaviour of a peer, the oracle or the scenarios is a reviewable diff.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::bench::{self, RunOptions, DEFAULT_SEED};
use ratchet_bench::report::{render_text, ExpectationSet, FindingKind};
use std::path::Path;

#[test]
fn the_default_run_passes_and_its_summary_is_stable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let opts = RunOptions {
        seed: DEFAULT_SEED,
        scenarios: None,
        peers: Vec::new(),
        expectations: vec![root.join("ci/expectations.json")],
        vectors_dir: Some(root.join("vectors")),
        // Without the MLS working group's files (not in the repository), so that the snapshot
        // is the same on every machine; tests/mls.rs checks those suites where they exist.
        mls_vectors_dir: None,
        regressions: Some(root.join("vectors/regressions/scenarios.txt")),
        suites: Vec::new(),
        accept_changed_vectors: false,
        workers: 2,
        today: "2026-11-23".into(),
        shim_scenarios: ratchet_bench::bench::DEFAULT_SHIM_SCENARIOS,
        shard: None,
    };
    let report = bench::run(&opts, &|| {}).unwrap();
    let text = render_text(&report);
    assert_eq!(report.exit_code, 0, "the default run must pass:\n{text}");
    // Paths differ between machines; the rest is a function of the seed.
    let text = text.replace(&root.display().to_string(), "<root>");
    insta::assert_snapshot!(text);

    // Every scenario reproducer shows its finding again (failed vector cases and interop
    // cells name the command that runs them again; tests/vectors.rs and tests/interop.rs
    // check those).
    let peers = ratchet_bench::peers::bundled();
    for seen in report.findings.iter().chain(&report.notes).filter(|s| {
        !matches!(
            s.kind,
            FindingKind::VectorFailed | FindingKind::InteropFailed
        )
    }) {
        let scenario: ratchet_bench::scenario::Scenario = seen.scenario.parse().unwrap();
        let named: Vec<&dyn ratchet_bench::peer::Peer> = peers
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| {
                seen.signature
                    .split('/')
                    .next()
                    .unwrap()
                    .split('+')
                    .any(|n| n == p.info().name)
            })
            .collect();
        let (_, findings) = ratchet_bench::campaign::check_scenario(&named, &scenario, seen.seed);
        assert!(
            findings.iter().any(|f| f.signature == seen.signature),
            "the reproducer of {} must show it: {}",
            seen.signature,
            seen.reproducer
        );
    }

    // Dropping any entry from the expectations file must make the same findings fail.
    let set = ExpectationSet::load(&[root.join("ci/expectations.json")]).unwrap();
    let ran: Vec<String> = report.peers.iter().map(|p| p.name.clone()).collect();
    for (i, listed) in set.entries.iter().enumerate() {
        let entry = &listed.entry;
        // Entries about peers the default run leaves out (the MLS peers) are held against
        // runs that name those peers.
        let about = entry.signature.split('/').next().unwrap_or_default();
        if !about.split('+').all(|p| ran.iter().any(|r| r == p)) {
            continue;
        }
        let mut fewer = set.clone();
        fewer.entries.remove(i);
        let checks = report
            .triage
            .entries
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, e)| e.check.clone())
            .collect();
        let mut findings = report.findings.clone();
        let expired = fewer.expired_on("2026-11-23");
        let triage = fewer.triage(&mut findings, &expired, checks);
        assert!(
            triage.fails(),
            "without {:?} the run must fail",
            entry.signature
        );
        assert!(
            triage.new.iter().any(|s| entry.matches(s)),
            "without {:?} its findings must be reported as new: {:?}",
            entry.signature,
            triage.new
        );
    }
}
