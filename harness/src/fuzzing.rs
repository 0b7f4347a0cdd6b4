//! The logic of the fuzz targets, kept in the library so that tests and targets share it.
//!
//! A target is a few lines calling one function here. Each function panics when, and only
//! when, it finds something new: the panic message starts with the finding's signature, so
//! libFuzzer and ClusterFuzz deduplicate crashes by signature. Findings the checked-in
//! expectations file lists are not crashes.

use crate::campaign::check_scenario;
use crate::peer::Peer;
use crate::peers;
use crate::reference::signal_dr::{DoubleRatchet, KeyPair, RootKey};
use crate::report::{Expectations, Finding, FindingKind};
use crate::rng;
use crate::scenario::{Scenario, SESSION_AD};
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;

/// The expectations compiled into fuzz builds (ci/expectations.json at build time).
const EXPECTATIONS: &str = include_str!("../../ci/expectations.json");

fn expectations() -> &'static Expectations {
    static PARSED: OnceLock<Expectations> = OnceLock::new();
    PARSED.get_or_init(|| serde_json::from_str(EXPECTATIONS).unwrap_or_default())
}

fn bundled() -> Vec<&'static dyn Peer> {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    PEERS
        .get_or_init(peers::bundled)
        .iter()
        .map(|p| p.as_ref())
        .collect()
}

/// The findings of `scenario` on every bundled peer that fail a run and that the
/// expectations file does not list.
pub fn unexpected(scenario: &Scenario, seed: u64) -> Vec<Finding> {
    let (_, findings) = check_scenario(&bundled(), scenario, seed);
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

type Reference = DoubleRatchet<ChaCha20Rng>;

/// An established reference session, built once: one message each way (so both parties
/// hold receiving chains) and one message A sent that B has not received (so B holds no
/// key for it yet and A's chain is ahead).
fn template() -> &'static Result<(Reference, Reference), String> {
    static SESSION: OnceLock<Result<(Reference, Reference), String>> = OnceLock::new();
    SESSION.get_or_init(|| {
        let sk = RootKey::from_bytes([7; 32]);
        let mut rng_b = rng::stream(0, "fuzz B");
        let bob_pair = KeyPair::generate(&mut rng_b);
        let mut alice =
            Reference::init_alice(sk.clone(), bob_pair.public(), rng::stream(0, "fuzz A"));
        let mut bob = Reference::init_bob(sk, bob_pair, rng_b);
        let _ = alice.ratchet_encrypt(b"never delivered", SESSION_AD);
        exchange(&mut alice, &mut bob, b"hello")?;
        exchange(&mut bob, &mut alice, b"hi")?;
        Ok((alice, bob))
    })
}

fn exchange(from: &mut Reference, to: &mut Reference, pt: &[u8]) -> Result<(), String> {
    let wire = from
        .ratchet_encrypt(pt, SESSION_AD)
        .map_err(|e| format!("reference/send-failed: {e}"))?;
    match to.ratchet_decrypt(&wire, SESSION_AD) {
        Ok(got) if got == pt => Ok(()),
        other => Err(format!(
            "reference/rejected-genuine: expected {pt:?}, got {other:?}"
        )),
    }
}

/// Target `reference_decrypt`: feeds `bytes` to both parties of a copy of an established
/// reference session. Any acceptance is a crash (fuzz input cannot carry a valid MAC), and
/// so is a session that no longer works afterwards.
#[allow(clippy::panic)]
pub fn reference_decrypt(bytes: &[u8]) {
    let (mut alice, mut bob) = match template() {
        Ok((a, b)) => (a.clone(), b.clone()),
        Err(e) => panic!("{e}"),
    };
    if let Ok(pt) = bob.ratchet_decrypt(bytes, SESSION_AD) {
        panic!(
            "reference/accepted-forgery/inject: B decrypted {} bytes of fuzz input",
            pt.len()
        );
    }
    if let Ok(pt) = alice.ratchet_decrypt(bytes, SESSION_AD) {
        panic!(
            "reference/accepted-forgery/inject: A decrypted {} bytes of fuzz input",
            pt.len()
        );
    }
    let after = exchange(&mut alice, &mut bob, b"still there?")
        .and_then(|()| exchange(&mut bob, &mut alice, b"yes"));
    if let Err(e) = after {
        panic!("{e} (after fuzz input)");
    }
}
