//! The default run (`ratchet-bench run` with no options): its reports are snapshotted, so
//! that any change of behaviour of a peer, the oracle or the scenarios is a reviewable diff:
//! the short text it prints (one screen) and the verbose one (`--verbose`: every vector
//! file, matrix and finding, where the details are).

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::unseeded;
use ratchet_bench::bench::{self, RunOptions, DEFAULT_SEED};
use ratchet_bench::report::{render_text, render_verbose, ExpectationSet, FindingKind};
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
        group_schedules: None,
        group_regressions: Some(root.join("vectors/regressions/groups.txt")),
        release_matrices: true,
    };
    let report = bench::run(&opts, &|| {}).unwrap();
    let verbose = render_verbose(&report);
    assert_eq!(report.exit_code, 0, "the default run must pass:\n{verbose}");
    // Paths differ between machines; the rest is a function of the seed.
    let root_text = root.display().to_string();
    // double-ratchet-2 draws its keys from the operating system, so which error its bincode
    // decoder panics on is not a function of the seed; the rest of its lines are.
    let text = unseeded(&render_text(&report).replace(&root_text, "<root>"));
    assert!(
        text.lines().count() < 60,
        "the default report of a clean run fits a screen, got {} lines:\n{text}",
        text.lines().count()
    );
    insta::assert_snapshot!("short", text);
    insta::assert_snapshot!("verbose", unseeded(&verbose.replace(&root_text, "<root>")));

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
        if ratchet_bench::group::is_group_text(&seen.scenario) {
            let schedule: ratchet_bench::group::GroupSchedule = seen.scenario.parse().unwrap();
            let group_peers = ratchet_bench::peers::mls_group::bundled();
            let refs: Vec<&dyn ratchet_bench::group::GroupPeer> =
                group_peers.iter().map(|p| p.as_ref()).collect();
            let shown = ratchet_bench::group::campaign::check_schedule(&refs, &schedule, seen.seed)
                .into_iter()
                .flat_map(|t| t.findings)
                .any(|f| f.signature == seen.signature);
            assert!(
                shown,
                "the reproducer of {} must show it: {}",
                seen.signature, seen.reproducer
            );
            continue;
        }
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
    // The peers of the campaign: the earlier release lines are among the report's peers but
    // take part in the interop matrices only.
    let ran: Vec<String> = report.outcomes.keys().cloned().collect();
    for (i, listed) in set.entries.iter().enumerate() {
        let entry = &listed.entry;
        // Entries about peers the default run leaves out of its campaign (the shims, the
        // earlier release lines) are held against runs that name those peers.
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
