//! libolm's known values (vectors/libolm-known/) on every Olm and Megolm peer: a snapshot of
//! each peer's results (passes, and the cases a peer cannot take with the reason), and that a
//! case with one byte changed fails on every peer that takes it.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::peers;
use ratchet_bench::vectors::libolm_known::replay_text;
use ratchet_bench::vectors::{run_suites, CaseStatus, SuiteReport, VectorError};
use std::fmt::Write;
use std::path::{Path, PathBuf};

const SUITES: [&str; 2] = ["libolm-known-megolm", "libolm-known-olm-primitives"];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn table(reports: &[SuiteReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(
            out,
            "{} on {}: {} passed, {} failed, {} skipped{}",
            r.file,
            r.peer,
            r.passed,
            r.failed,
            r.skipped,
            r.not_run
                .as_ref()
                .map(|w| format!("; not run: {w}"))
                .unwrap_or_default()
        );
        for c in &r.cases {
            let what = if c.trace.is_empty() {
                &c.reason
            } else {
                &c.trace
            };
            let _ = writeln!(out, "  tcId {:>2} {:?}: {what}", c.tc_id, c.status);
            if !c.reason.is_empty() && !c.trace.is_empty() {
                let _ = writeln!(out, "          {}", c.reason);
            }
        }
    }
    out
}

#[test]
fn every_peer_replays_libolms_known_values() {
    let all = peers::bundled();
    let only: Vec<String> = SUITES.iter().map(|s| s.to_string()).collect();
    let reports = run_suites(&vectors_dir(), None, &all, &only, false).unwrap();
    let names: Vec<String> = reports.iter().map(|r| r.peer.clone()).collect();
    for peer in [
        "reference-megolm",
        "vodozemac-megolm",
        "reference-olm",
        "vodozemac-olm",
    ] {
        assert!(
            names.contains(&peer.to_string()),
            "{peer} should replay the suite: {names:?}"
        );
    }
    #[cfg(feature = "libolm")]
    for peer in ["libolm-megolm", "libolm-olm"] {
        assert!(
            names.contains(&peer.to_string()),
            "{peer} should replay the suite: {names:?}"
        );
    }
    for r in &reports {
        assert_eq!(r.failed, 0, "no known value may fail:\n{}", table(&reports));
        assert!(
            r.passed > 0,
            "every peer takes some cases:\n{}",
            table(&reports)
        );
        for c in r.cases.iter().filter(|c| c.status == CaseStatus::Skip) {
            assert!(
                !c.reason.is_empty(),
                "a skip says why: {} tcId {}",
                r.peer,
                c.tc_id
            );
        }
    }
    // The bundled references take every case.
    for r in reports.iter().filter(|r| r.peer.starts_with("reference-")) {
        assert_eq!(r.skipped, 0, "{}", table(&reports));
    }
    insta::assert_snapshot!(table(&reports));
}

/// The file's text with the first occurrence of `from` (inside the case `tc_id`) replaced.
fn changed(file: &str, tc_id: u64, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(vectors_dir().join(file)).unwrap();
    let at = text
        .find(&format!("\"tcId\": {tc_id},"))
        .unwrap_or_else(|| panic!("{file} has tcId {tc_id}"));
    let rel = text[at..]
        .find(from)
        .unwrap_or_else(|| panic!("tcId {tc_id} holds {from:?}"));
    let mut out = text.clone();
    out.replace_range(at + rel..at + rel + from.len(), to);
    assert_ne!(out, text);
    out
}

/// Replays `text` on `peers` and requires case `tc_id` to fail on each.
fn fails_on(file: &str, text: &str, tc_id: u64, peers: &[&str]) {
    for peer in peers {
        let r = replay_text(Path::new(file), file, "changed", text, peer).unwrap();
        let c = r.cases.iter().find(|c| c.tc_id == tc_id).unwrap();
        assert_eq!(
            c.status,
            CaseStatus::Fail,
            "{peer} tcId {tc_id} should fail once a byte changed: {c:?}"
        );
        assert!(!c.reason.is_empty(), "a failure says where");
        let others = r.cases.iter().filter(|c| c.tc_id != tc_id);
        assert!(
            others.into_iter().all(|c| c.status != CaseStatus::Fail),
            "only the changed case fails on {peer}"
        );
    }
}

fn megolm_peers() -> Vec<&'static str> {
    let mut p = vec!["reference-megolm", "vodozemac-megolm"];
    if cfg!(feature = "libolm") {
        p.push("libolm-megolm");
    }
    p
}

fn olm_peers() -> Vec<&'static str> {
    let mut p = vec!["reference-olm", "vodozemac-olm"];
    if cfg!(feature = "libolm") {
        p.push("libolm-olm");
    }
    p
}

#[test]
fn one_byte_changed_fails_on_every_peer() {
    // expected3's first byte (tcId 4), 0x54 turned 0x55: the ratchet at 0x1041506.
    let file = "libolm-known/megolm.json";
    let text = changed(
        file,
        4,
        "\"expectedRatchet\": \"54",
        "\"expectedRatchet\": \"55",
    );
    fails_on(file, &text, 4, &megolm_peers());
    // One byte of a group message's ciphertext (tcId 8): every peer must refuse it.
    let text = changed(
        file,
        8,
        "\"message\": \"03080012101c",
        "\"message\": \"03080012101d",
    );
    fails_on(file, &text, 8, &megolm_peers());
    // One byte of the expected plaintext (tcId 9): "Message" becomes "Nessage".
    let text = changed(file, 9, "\"plaintext\": \"4d", "\"plaintext\": \"4e");
    fails_on(file, &text, 9, &megolm_peers());
    // Ed25519 (tcId 5): the message verified is no longer the one signed.
    let file = "libolm-known/crypto.json";
    let text = changed(
        file,
        5,
        "\"verifyMessage\": \"48",
        "\"verifyMessage\": \"49",
    );
    fails_on(file, &text, 5, &olm_peers());
    // SHA-256 (tcId 3): the peers that compute it.
    let text = changed(file, 3, "\"expected\": \"e3", "\"expected\": \"e2");
    let mut sha = vec!["reference-olm"];
    if cfg!(feature = "libolm") {
        sha.push("libolm-olm");
    }
    fails_on(file, &text, 3, &sha);
}

#[test]
fn a_changed_file_is_refused_by_its_pin_and_a_bad_case_names_its_field() {
    let dir = std::env::temp_dir().join(format!("libolm-known-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("libolm-known")).unwrap();
    std::fs::copy(
        vectors_dir().join("MANIFEST.json"),
        dir.join("MANIFEST.json"),
    )
    .unwrap();
    let file = "libolm-known/megolm.json";
    let text = changed(
        file,
        1,
        "\"expectedRatchet\": \"30",
        "\"expectedRatchet\": \"31",
    );
    std::fs::write(dir.join(file), &text).unwrap();
    let only = vec![SUITES[0].to_string()];
    let all = peers::bundled();
    let err = run_suites(&dir, None, &all, &only, false).unwrap_err();
    assert!(matches!(err, VectorError::Hash { .. }), "{err}");
    // Accepted anyway, the changed case fails on every peer: the run turns each into a
    // vector-failed finding.
    let reports = run_suites(&dir, None, &all, &only, true).unwrap();
    for r in &reports {
        assert_eq!(r.failed, 1, "{}", table(&reports));
    }
    std::fs::remove_dir_all(&dir).unwrap();

    let text = changed(file, 2, "\"expectedRatchet\": ", "\"expectedRatchetX\": ");
    let err = replay_text(Path::new(file), file, "bad", &text, "reference-megolm").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(file) && msg.contains("expectedRatchetX"),
        "{msg}"
    );
    let text = changed(
        file,
        3,
        "\"comment\": \"test_megolm.cpp",
        "\"comment\": \"somewhere",
    );
    let err = replay_text(Path::new(file), file, "bad", &text, "reference-megolm").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("tcId 3") && msg.contains("comment"), "{msg}");
}
