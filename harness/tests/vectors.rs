//! Our vector files, replayed on every peer of their family: one insta snapshot per file
//! per peer, and the errors a bad file must give.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ratchet_bench::peer::Peer;
use ratchet_bench::peers::{bundled, KsiDoubleRatchet, ReferenceSignalDr};
use ratchet_bench::vectors::{generate, replay_file, run_suites, CaseStatus, VectorError};
use std::fmt::Write;
use std::path::Path;

/// A normalised table of tcId -> outcome; failures keep their expected and actual hex, which
/// are the vector's own test data.
fn table(path: &Path, peer: &dyn Peer) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let rel = path.file_name().unwrap().to_string_lossy().to_string();
    match replay_file(path, &rel, "snapshot", &text, peer) {
        Err(e) => format!("error: {e}\n"),
        Ok(report) => {
            let mut out = format!(
                "{} on {}: {} passed, {} failed, {} skipped\n",
                rel, report.peer, report.passed, report.failed, report.skipped
            );
            for c in &report.cases {
                let _ = writeln!(out, "tcId {:>2}: {:?}  {}", c.tc_id, c.status, c.trace);
                if !c.reason.is_empty() {
                    let _ = writeln!(out, "         {}", c.reason);
                }
            }
            out
        }
    }
}

#[test]
fn signal_dr_vectors_on_each_peer() {
    insta::glob!("../../vectors/signal-dr", "*.json", |path| {
        if path.to_string_lossy().ends_with("-new.json") {
            return;
        }
        let peers: [&dyn Peer; 2] = [&ReferenceSignalDr, &KsiDoubleRatchet];
        for peer in peers {
            let name = peer.info().name;
            insta::assert_snapshot!(name.clone(), table(path, peer));
        }
    });
}

#[test]
fn every_suite_passes_on_the_reference_and_ksi_byte_for_byte() {
    // The Wycheproof suites run on primitive backends; tests/wycheproof.rs covers them.
    let reports: Vec<_> = run_suites(&common::vectors_dir(), None, &bundled(), &[], false)
        .unwrap()
        .into_iter()
        .filter(|r| r.suite.starts_with("signal-dr-"))
        .collect();
    let cases: usize = reports.iter().map(|r| r.passed).sum();
    assert!(
        cases >= 40,
        "expected every case of the three suites on two peers, got {cases}"
    );
    for r in &reports {
        assert_eq!(r.not_run, None, "{} must run on {}", r.file, r.peer);
        for c in &r.cases {
            assert_eq!(
                c.status,
                CaseStatus::Pass,
                "{} tcId {} on {}: {}",
                r.file,
                c.tc_id,
                r.peer,
                c.reason
            );
        }
    }
    let peers: std::collections::BTreeSet<&str> = reports.iter().map(|r| r.peer.as_str()).collect();
    assert_eq!(
        peers.into_iter().collect::<Vec<_>>(),
        ["ksi-double-ratchet", "reference"]
    );
}

#[test]
fn a_bad_hex_field_names_file_case_and_field() {
    let dir = common::vectors_copy("bad-hex");
    let path = dir.join("signal-dr/invalid.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["testGroups"][0]["tests"][2]["steps"][1]["input"] = "0xzz".into();
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();

    let err = run_suites(&dir, None, &bundled(), &[], false).unwrap_err();
    assert!(
        matches!(err, VectorError::Hash { .. }),
        "a changed file must fail its pin first: {err}"
    );

    let err = run_suites(&dir, None, &bundled(), &[], true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid.json"), "{err}");
    assert!(err.contains("tcId 3"), "{err}");
    assert!(
        err.contains("testGroups[0].tests[2].steps[1].input"),
        "{err}"
    );
    assert!(err.contains("expected hex"), "{err}");
}

#[test]
fn a_changed_wire_byte_fails_the_case_with_expected_and_actual_hex() {
    let dir = common::vectors_copy("changed-byte");
    let path = dir.join("signal-dr/honest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let output = json["testGroups"][0]["tests"][0]["steps"][0]["output"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = format!(
        "{}{}",
        if output.starts_with('0') { "1" } else { "0" },
        &output[1..]
    );
    json["testGroups"][0]["tests"][0]["steps"][0]["output"] = changed.clone().into();
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();

    let reports = run_suites(
        &dir,
        None,
        &[Box::new(ReferenceSignalDr)],
        &["signal-dr-honest".into()],
        true,
    )
    .unwrap();
    let case = &reports[0].cases[0];
    assert_eq!(case.status, CaseStatus::Fail);
    assert!(
        case.reason
            .contains(&format!("expected {}", &changed[..32])),
        "{}",
        case.reason
    );
    assert!(
        case.reason.contains(&format!("got {}", &output[..32])),
        "{}",
        case.reason
    );
    assert_eq!(reports[0].passed, 4, "the other cases still pass");
}

#[test]
fn a_missing_file_is_not_run_with_the_command_that_gets_it() {
    let dir = common::vectors_copy("missing");
    std::fs::remove_file(dir.join("signal-dr/honest.json")).unwrap();
    let reports = run_suites(&dir, None, &bundled(), &["signal-dr-honest".into()], false).unwrap();
    assert_eq!(
        reports.len(),
        2,
        "one not-run entry per peer that takes the suite"
    );
    for r in reports {
        let why = r.not_run.expect("the suite must be reported as not run");
        assert!(why.contains("ratchet-bench vectors generate"), "{why}");
    }
}

#[test]
fn an_unknown_suite_is_an_error() {
    let err = run_suites(
        &common::vectors_dir(),
        None,
        &bundled(),
        &["nope".into()],
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no suite named \"nope\""), "{err}");
}

#[test]
fn the_generator_reproduces_the_committed_files_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-generate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let written = generate(&dir).unwrap();
    assert_eq!(written.len(), 3);
    for (path, _) in &written {
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("-new", "");
        let committed =
            std::fs::read_to_string(common::vectors_dir().join("signal-dr").join(&name)).unwrap();
        let fresh = std::fs::read_to_string(path).unwrap();
        assert!(
            committed == fresh,
            "{name}: the generator's output differs from the committed file"
        );
    }
    let again = generate(&dir).unwrap_err();
    assert!(matches!(again, VectorError::Exists { .. }), "{again}");
}
