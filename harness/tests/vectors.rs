//! Our vector files, replayed on every peer of their family: one insta snapshot per file
//! per peer, and the errors a bad file must give.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ratchet_bench::peer::Peer;
use ratchet_bench::peers::{bundled, KsiDoubleRatchet, ReferenceSignalDr};
use ratchet_bench::vectors::{
    generate, generated_families, replay_file, run_suites, CaseStatus, VectorError,
};
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
    assert_eq!(written.len(), 3 * generated_families().len());
    for (path, _) in &written {
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("-new", "");
        let family = path.parent().unwrap().file_name().unwrap();
        let committed =
            std::fs::read_to_string(common::vectors_dir().join(family).join(&name)).unwrap();
        let fresh = std::fs::read_to_string(path).unwrap();
        assert!(
            committed == fresh,
            "{name}: the generator's output differs from the committed file"
        );
    }
    let again = generate(&dir).unwrap_err();
    assert!(matches!(again, VectorError::Exists { .. }), "{again}");
}

/// The peers of `family` that take injected randomness, which replay its vectors byte for
/// byte.
fn injectable(family: &str) -> Vec<Box<dyn Peer>> {
    bundled()
        .into_iter()
        .filter(|p| {
            let info = p.info();
            info.family.name() == family && info.capabilities.injectable_rng
        })
        .collect()
}

#[test]
fn olm_and_megolm_vectors_on_each_peer() {
    insta::glob!("../../vectors", "{olm,megolm}/*.json", |path| {
        if path.to_string_lossy().ends_with("-new.json") {
            return;
        }
        let family = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        for peer in injectable(&family) {
            let name = peer.info().name;
            insta::assert_snapshot!(name.clone(), table(path, peer.as_ref()));
        }
    });
}

/// The reference made the Olm and Megolm vectors; libolm, given the same random bytes at the
/// same calls, is the independent check, byte for byte.
#[test]
#[cfg_attr(
    not(feature = "libolm"),
    ignore = "libolm is the check; built only with the libolm feature"
)]
fn olm_and_megolm_suites_pass_on_the_reference_and_libolm_byte_for_byte() {
    let expectations = ratchet_bench::report::Expectations::load(
        &common::vectors_dir().join("../ci/expectations.json"),
    )
    .unwrap();
    let reports: Vec<_> = run_suites(&common::vectors_dir(), None, &bundled(), &[], false)
        .unwrap()
        .into_iter()
        .filter(|r| r.suite.starts_with("olm-") || r.suite.starts_with("megolm-"))
        .collect();
    assert_eq!(reports.len(), 6 * 2, "six files, each on two peers");
    let mut listed = 0;
    for r in &reports {
        assert_eq!(r.not_run, None, "{} must run on {}", r.file, r.peer);
        assert_eq!(r.skipped, 0, "{} on {}", r.file, r.peer);
        for c in &r.cases {
            // A failure passes only where ci/expectations.json explains it (libolm accepts
            // a pre-key message with bytes appended); the reference fails none.
            let signature = format!("{}/vector-failed/{}/tc{}", r.peer, r.suite, c.tc_id);
            if c.status == CaseStatus::Fail && expectations.lists(&signature) {
                assert!(r.peer.starts_with("libolm-"), "{signature}");
                listed += 1;
                continue;
            }
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
    assert_eq!(listed, 1, "the one listed libolm deviation shows");
    let peers: std::collections::BTreeSet<&str> = reports.iter().map(|r| r.peer.as_str()).collect();
    assert_eq!(
        peers.into_iter().collect::<Vec<_>>(),
        [
            "libolm-megolm",
            "libolm-olm",
            "reference-megolm",
            "reference-olm"
        ]
    );
}

/// vodozemac draws its own randomness, so it cannot replay the Megolm vectors; it decrypts
/// them instead. Each case's session keys are rebuilt from the vector's random bytes by the
/// reference (responder's bundle, initiator's handshake); vodozemac imports them and must
/// decrypt every message of the vector to the vector's plaintext. A wrong key export,
/// ratchet or message encoding in the vector would fail here.
#[test]
fn vodozemac_decrypts_every_megolm_vector_message() {
    use ratchet_bench::peer::SessionInit;
    use ratchet_bench::peers::ReferenceMegolm;
    use ratchet_bench::rng::Scripted;
    use ratchet_bench::vectors::SessionFile;
    use vodozemac::megolm::{InboundGroupSession, MegolmMessage, SessionConfig, SessionKey};

    let (mut decrypted, mut sent) = (0, 0);
    for stem in ["honest", "out-of-order", "invalid"] {
        let path = common::vectors_dir().join(format!("megolm/{stem}.json"));
        let file: SessionFile =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let ad = &file.test_groups[0].ad.0;
        for test in &file.test_groups[0].tests {
            sent += test.steps.iter().filter(|s| s.outcome == "sent").count();
            let init = SessionInit {
                shared_secret: test.shared_secret.0.as_slice().try_into().unwrap(),
            };
            let (_, bundle) = ReferenceMegolm
                .respond(&init, Box::new(Scripted::new(test.random_b.0.clone()).0))
                .unwrap();
            let mut a = ReferenceMegolm
                .initiate(
                    &init,
                    &bundle,
                    Box::new(Scripted::new(test.random_a.0.clone()).0),
                )
                .unwrap();
            let handshake = a.handshake().unwrap().unwrap();
            let import = |key: &[u8]| {
                InboundGroupSession::new(
                    &SessionKey::from_bytes(key).unwrap(),
                    SessionConfig::version_1(),
                )
            };
            // Messages from A are read with A's key (the handshake), from B with B's (the
            // bundle).
            let mut from_a = import(&handshake);
            let mut from_b = import(&bundle);
            for s in test.steps.iter().filter(|s| s.outcome == "sent") {
                let message = MegolmMessage::from_bytes(&s.output.0).unwrap();
                let session = if s.party == "A" {
                    &mut from_a
                } else {
                    &mut from_b
                };
                let payload = session
                    .decrypt(&message)
                    .unwrap_or_else(|e| {
                        panic!(
                            "{stem} tcId {} step {}: vodozemac refused: {e}",
                            test.tc_id, s.step
                        )
                    })
                    .plaintext;
                // The payload binds the associated data: u32 length, the data, the plaintext.
                let len = u32::from_be_bytes(payload[..4].try_into().unwrap()) as usize;
                assert_eq!(&payload[4..4 + len], ad.as_slice());
                assert_eq!(
                    &payload[4 + len..],
                    s.input.0.as_slice(),
                    "{stem} tcId {} step {}",
                    test.tc_id,
                    s.step
                );
                decrypted += 1;
            }
        }
    }
    assert_eq!(decrypted, sent, "every sent message of the vectors");
}
