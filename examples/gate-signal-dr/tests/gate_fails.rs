//! The same gate fails, with a message a person can act on, when the implementation breaks:
//! here a build with the tag check removed. And an expectation that no longer shows fails it
//! too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Example;
use ratchet_bench_core::gate::{Gate, GateError};
use ratchet_bench_references::peers::ReferenceSignalDr;

/// `gate.replay("<scenario>", <seed>)` out of a reproduce line.
fn reproducer(line: &str) -> (String, u64) {
    let call = line
        .trim()
        .strip_prefix("reproduce: gate.replay(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("a campaign finding's reproducer is a gate.replay call: {line}"));
    let (scenario, seed) = call
        .rsplit_once(", ")
        .expect("the call has a scenario and a seed");
    let scenario = scenario
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .expect("the scenario is a string literal");
    (
        scenario.to_string(),
        seed.parse().expect("the seed is a number"),
    )
}

#[test]
fn without_its_tag_check_the_example_fails_with_the_finding_and_its_reproducer() {
    let broken = Example::NO_TAG_CHECK;
    let gate = Gate::new(&broken)
        .against(&ReferenceSignalDr)
        .scenarios(200)
        .seed(1)
        .vectors("../../vectors")
        .expectations("gate-expectations.json");
    let text = match gate.check() {
        Err(GateError::Failed(failure)) => failure.text,
        Err(other) => panic!("the gate should run and fail, not: {other}"),
        Ok(_) => panic!("a build that checks no tag must not pass its gate"),
    };
    assert!(
        text.starts_with("ratchet-bench gate: FAIL: "),
        "the verdict comes first:\n{text}"
    );
    // A tampered tag accepted with the message's own plaintext: the missing check itself.
    let signature = "example/accepted-malleated/tamper-mac";
    let at = text
        .find(&format!("[NEW] {signature}  ("))
        .unwrap_or_else(|| panic!("the finding {signature} is listed as new:\n{text}"));
    let mut lines = text[at..].lines().skip(1);
    let detail = lines.next().expect("a detail line follows the signature");
    assert!(
        detail.contains("expected a rejection (forged), the peer decrypted"),
        "{detail}"
    );
    let reproduce = lines.next().expect("a reproducer line follows the detail");
    // The reproducer is shrunk and shows the finding again.
    let (scenario, seed) = reproducer(reproduce);
    assert!(scenario.contains("tamper m"), "{scenario}");
    assert!(scenario.split(';').count() <= 4, "shrunk: {scenario}");
    let replayed = gate.replay(&scenario, seed).expect("the reproducer parses");
    assert!(
        replayed.findings.iter().any(|f| f.signature == signature),
        "the reproducer shows {signature} again:\n{replayed}"
    );
    // The reference refused what the broken build took: the peers' bytes part there.
    assert!(
        text.contains("[NEW] example+reference/divergence-bytes/"),
        "{text}"
    );
    // The invalid vectors' tampered tags fail on the broken build, each named by its case.
    assert!(
        text.contains("[NEW] example/vector-failed/signal-dr-invalid/tc"),
        "{text}"
    );
    assert!(text.contains("\nthe whole report:\n"), "{text}");
}

#[test]
fn an_expectation_that_no_longer_shows_fails_the_gate_as_stale() {
    let dir = std::env::temp_dir().join(format!("gate-signal-dr-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("expectations.json");
    std::fs::write(
        &file,
        r#"{ "expectations": [
            { "signature": "example/accepted-forgery/tamper-body",
              "reason": "an old bug, fixed since" } ] }"#,
    )
    .unwrap();
    let error = Gate::new(&Example::SIGNAL_DR)
        .against(&ReferenceSignalDr)
        .scenarios(40)
        .expectations(&file)
        .check()
        .expect_err("a stale expectation fails the gate");
    let text = format!("{error:?}");
    assert!(
        text.starts_with("ratchet-bench gate: FAIL: 0 new findings, 1 stale expectations"),
        "{text}"
    );
    assert!(
        text.contains("[STALE] example/accepted-forgery/tamper-body  (an old bug, fixed since)"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
