//! The logic of the fuzz targets, kept in the library so that tests and targets share it.
//!
//! A target is a few lines calling one function here. Each function panics when, and only
//! when, it finds something new: the panic message starts with the finding's signature, so
//! libFuzzer and ClusterFuzz deduplicate crashes by signature. Findings the checked-in
//! expectations file lists are not crashes.

use crate::campaign::check_scenario;
use crate::peer::{Peer, SessionInit};
use crate::peers::{self, ReferenceSignalDr};
use crate::report::{Expectations, Finding, FindingKind};
use crate::rng;
use crate::scenario::{Scenario, SESSION_AD};
use std::sync::OnceLock;

/// The expectations compiled into fuzz builds (ci/expectations.json at build time).
const EXPECTATIONS: &str = include_str!("../../ci/expectations.json");

fn expectations() -> &'static Expectations {
    static PARSED: OnceLock<Expectations> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(EXPECTATIONS).unwrap_or_default())
}

fn bundled() -> &'static [Box<dyn Peer>] {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    PEERS.get_or_init(peers::bundled)
}

/// The findings of `scenario` on every bundled peer that fail a run and that the
/// expectations file does not list.
pub fn unexpected(scenario: &Scenario, seed: u64) -> Vec<Finding> {
    let (_, findings) = check_scenario(bundled(), scenario, seed);
    let known = expectations();
    findings
        .into_iter()
        .filter(|f| f.kind != FindingKind::DivergenceOutcome && !known.lists(&f.signature))
        .collect()
}

/// Target `diff_session`: runs `scenario` on every bundled peer and crashes on the first
/// unexpected finding, with its signature first in the message.
#[allow(clippy::panic)]
pub fn diff(scenario: Scenario) {
    if let Some(f) = unexpected(&scenario, 0).first() {
        // The panic is the fuzzer's signal; the signature leads so crashes deduplicate.
        panic!("{}: {} | scenario: {scenario}", f.signature, f.detail);
    }
}

/// Target `reference_decrypt`: feeds `bytes` to both parties of an established reference
/// session. Anything but a rejection (or a genuine message's exact plaintext) is a crash,
/// and so is a session that no longer works afterwards.
#[allow(clippy::panic)]
pub fn reference_decrypt(bytes: &[u8]) {
    let peer = ReferenceSignalDr;
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (Ok((mut bob, bundle)), rng_a) = (
        peer.respond(&init, Box::new(rng::stream(0, "fuzz B"))),
        Box::new(rng::stream(0, "fuzz A")),
    ) else {
        panic!("reference/setup-failed: the reference could not respond");
    };
    let Ok(mut alice) = peer.initiate(&init, &bundle, rng_a) else {
        panic!("reference/setup-failed: the reference could not initiate");
    };
    // One turn each way, so both parties hold receiving chains and skipped keys.
    let exchange = |from: &mut Box<dyn crate::peer::Party>,
                    to: &mut Box<dyn crate::peer::Party>,
                    pt: &[u8]| {
        let wire = from
            .encrypt(SESSION_AD, pt)
            .unwrap_or_else(|e| panic!("reference/send-failed: {e}"));
        match to.decrypt(SESSION_AD, &wire) {
            Ok(got) if got == pt => wire,
            other => panic!("reference/rejected-genuine: expected {pt:?}, got {other:?}"),
        }
    };
    let _ = alice.encrypt(SESSION_AD, b"skipped");
    exchange(&mut alice, &mut bob, b"hello");
    exchange(&mut bob, &mut alice, b"hi");
    if let Ok(pt) = bob.decrypt(SESSION_AD, bytes) {
        panic!(
            "reference/accepted-forgery/inject: B decrypted {} bytes of fuzz input",
            pt.len()
        );
    }
    if let Ok(pt) = alice.decrypt(SESSION_AD, bytes) {
        panic!(
            "reference/accepted-forgery/inject: A decrypted {} bytes of fuzz input",
            pt.len()
        );
    }
    exchange(&mut alice, &mut bob, b"still there?");
    exchange(&mut bob, &mut alice, b"yes");
}
