#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The planted-bug catalogue: every flaw is caught by the campaign, each mutant is the
//! reference wherever its flaw does not act (so the flaw is planted, not a broken peer), and
//! the real reference, hunted the same way under another name, is never flagged.

use ratchet_bench::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};
use ratchet_bench::peers::{self, mutant::MutantReference, ReferenceSignalDr};
use ratchet_bench::reference::signal_dr::Flaw;
use ratchet_bench::report::Expectations;
use ratchet_bench::rng;
use ratchet_bench::selftest::{self, SelftestOptions};
use std::path::Path;

fn expectations() -> Expectations {
    Expectations::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/expectations.json"))
        .unwrap()
}

/// The selftest's own defaults (seed 1, the signal-dr campaign size of `run`) catch every
/// flaw; measured, the slowest needs a few dozen scenarios, so this stays quick. The table,
/// without its times, is a snapshot: a change in what catches a flaw, or how soon, is a
/// reviewable diff.
#[test]
fn every_flaw_is_caught_by_the_default_campaign() {
    let opts = SelftestOptions::default();
    assert_eq!(
        opts.scenarios, 2000,
        "the default size of a signal-dr campaign"
    );
    let report = selftest::run(&opts, Some(&expectations()));
    let missed: Vec<&str> = report
        .flaws
        .iter()
        .filter(|r| !r.caught)
        .map(|r| r.flaw.as_str())
        .collect();
    assert!(missed.is_empty(), "flaws not caught: {missed:?}");
    assert_eq!(report.flaws.len(), Flaw::ALL.len());
    assert_eq!(report.exit_code, 0);
    for r in &report.flaws {
        let sig = r.signature.as_deref().unwrap();
        assert!(
            sig.contains(&r.peer),
            "{}: the catching finding involves the mutant: {sig}",
            r.flaw
        );
    }
    insta::assert_snapshot!(selftest::render_text(&report, false));
}

/// A flaw the campaign cannot reach is reported as not caught, and the exit code says so.
#[test]
fn a_flaw_not_reached_fails_the_selftest() {
    let opts = SelftestOptions {
        scenarios: 0,
        flaws: vec![Flaw::TruncatedMacAccepted],
        ..SelftestOptions::default()
    };
    let report = selftest::run(&opts, Some(&expectations()));
    assert_eq!(report.caught, 0);
    assert_eq!(report.exit_code, 1);
    assert!(selftest::render_text(&report, false).contains("NO"));
}

/// The reference under another name, hunted like a mutant.
struct ReferenceCopy;

impl Peer for ReferenceCopy {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-copy".into(),
            ..ReferenceSignalDr.info()
        }
    }
    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        ReferenceSignalDr.respond(init, rng)
    }
    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        ReferenceSignalDr.initiate(init, bundle, rng)
    }
    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalDr.layout(wire)
    }
    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        ReferenceSignalDr.restore(state, rng)
    }
    fn codec(&self) -> Option<&'static dyn ratchet_bench::codec::Codec> {
        ReferenceSignalDr.codec()
    }
}

/// The control: the real reference, in the mutant's place, is not flagged over many more
/// scenarios than any flaw needs (ksi-double-ratchet's known divergences from the
/// reference are the real peers' own, and do not count).
#[test]
fn the_real_reference_is_not_flagged() {
    let r = selftest::hunt(
        &ReferenceCopy,
        &selftest::companions(),
        1,
        300,
        Some(&expectations()),
        &[],
    );
    assert!(
        !r.caught,
        "the reference was flagged: {:?} {:?} in {:?}",
        r.signature, r.detail, r.scenario
    );
    assert_eq!(r.scenarios, 300);
}

/// What a session carried: every wire message and every plaintext decrypted.
#[derive(Debug, PartialEq, Eq)]
struct Carried {
    wires: Vec<Vec<u8>>,
}

/// An honest exchange in order: `turns` turns, A first, `per_turn` messages each, with
/// associated data `ad`; every message must decrypt to what was sent.
fn exchange(
    a: &dyn Peer,
    b: &dyn Peer,
    turns: usize,
    per_turn: usize,
    ad: &[u8],
) -> Result<Carried, String> {
    let seed = 42;
    let mut shared_secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rng::stream(seed, "shared secret"), &mut shared_secret);
    let init = SessionInit { shared_secret };
    let (bob, bundle) = b
        .respond(&init, Box::new(rng::stream(seed, "party B")))
        .map_err(|e| format!("respond: {e}"))?;
    let alice = a
        .initiate(&init, &bundle, Box::new(rng::stream(seed, "party A")))
        .map_err(|e| format!("initiate: {e}"))?;
    let mut parties = [alice, bob];
    let mut wires = Vec::new();
    for turn in 0..turns {
        let (s, r) = if turn % 2 == 0 { (0, 1) } else { (1, 0) };
        for i in 0..per_turn {
            let pt = vec![(turn * 16 + i) as u8; 5 + 7 * i];
            let wire = parties[s]
                .encrypt(ad, &pt)
                .map_err(|e| format!("turn {turn} message {i}: encrypt: {e}"))?;
            let got = parties[r]
                .decrypt(ad, &wire)
                .map_err(|e| format!("turn {turn} message {i}: decrypt: {e}"))?;
            if got != pt {
                return Err(format!("turn {turn} message {i}: wrong plaintext"));
            }
            wires.push(wire);
        }
    }
    Ok(Carried { wires })
}

/// The honest exchange in which `flaw` does not act: in order, three messages per turn over
/// four turns, except where the flaw would act on every such message (one message per turn
/// for a sender that reuses its chain's key; empty associated data where it is left out of
/// the MAC; only the initiator's first chain where the root key is frozen).
fn untriggered(flaw: Flaw) -> (usize, usize, &'static [u8]) {
    match flaw {
        Flaw::KeyAndIvReused => (4, 1, b"ad"),
        Flaw::AdNotBound => (4, 3, b""),
        Flaw::RootKeyFrozen => (1, 3, b"ad"),
        _ => (4, 3, b"ad"),
    }
}

/// Each mutant carries honest traffic where its flaw does not act, with the real reference
/// on either side, and sends exactly the reference's bytes there; the header-not-bound
/// mutant changes every message's MAC (its flaw is on the wire), so it is checked with
/// itself, and the reference must refuse its messages.
#[test]
fn each_mutant_is_the_reference_where_its_flaw_does_not_act() {
    let reference = ReferenceSignalDr;
    for flaw in Flaw::ALL {
        let mutant = MutantReference::new(flaw);
        let (turns, per_turn, ad) = untriggered(flaw);
        let expected = exchange(&reference, &reference, turns, per_turn, ad).unwrap();
        if flaw == Flaw::HeaderNotBound {
            let own = exchange(&mutant, &mutant, turns, per_turn, ad)
                .unwrap_or_else(|e| panic!("{flaw} with itself: {e}"));
            assert_ne!(own, expected, "{flaw} leaves the header out of every MAC");
            let err = exchange(&mutant, &reference, turns, per_turn, ad).unwrap_err();
            assert!(err.contains("MAC mismatch"), "{flaw}: {err}");
            continue;
        }
        for (a, b, sides) in [
            (
                &mutant as &dyn Peer,
                &reference as &dyn Peer,
                "mutant to reference",
            ),
            (&reference, &mutant, "reference to mutant"),
            (&mutant, &mutant, "mutant with itself"),
        ] {
            let got = exchange(a, b, turns, per_turn, ad)
                .unwrap_or_else(|e| panic!("{flaw}, {sides}: {e}"));
            assert_eq!(got, expected, "{flaw}, {sides}: the reference's wire bytes");
        }
    }
}

/// Where the flaw does act, the mutant's behaviour departs from the reference's; for the
/// flaws that keep talking to themselves, the departure is the flaw, not a broken session.
#[test]
fn the_wire_flaws_still_talk_to_themselves() {
    for flaw in [Flaw::AdNotBound, Flaw::HeaderNotBound, Flaw::RootKeyFrozen] {
        let mutant = MutantReference::new(flaw);
        exchange(&mutant, &mutant, 4, 3, b"ad").unwrap_or_else(|e| panic!("{flaw}: {e}"));
        let reference = ReferenceSignalDr;
        assert_ne!(
            exchange(&mutant, &mutant, 4, 3, b"ad").unwrap(),
            exchange(&reference, &reference, 4, 3, b"ad").unwrap(),
            "{flaw} changes the wire bytes"
        );
    }
}

/// A mutant's state survives export and restore, the old chains the old-chain-kept
/// mutant keeps included: the copy decrypts a late message of an old chain as the original.
#[test]
fn a_mutant_state_restores_with_its_kept_chains() {
    let mutant = MutantReference::new(Flaw::OldChainKept);
    let init = SessionInit {
        shared_secret: [3; 32],
    };
    let (mut bob, bundle) = mutant
        .respond(&init, Box::new(rng::stream(5, "b")))
        .unwrap();
    let mut alice = mutant
        .initiate(&init, &bundle, Box::new(rng::stream(5, "a")))
        .unwrap();
    let m0 = alice.encrypt(b"ad", b"zero").unwrap();
    let m1 = alice.encrypt(b"ad", b"one").unwrap();
    bob.decrypt(b"ad", &m0).unwrap();
    let reply = bob.encrypt(b"ad", b"reply").unwrap();
    alice.decrypt(b"ad", &reply).unwrap();
    let m2 = alice.encrypt(b"ad", b"two").unwrap();
    bob.decrypt(b"ad", &m2).unwrap();
    // m1 is a late message of A's first chain, which bob kept whole.
    let state = bob.export_state().unwrap();
    let mut copy = mutant
        .restore(&state, Box::new(rng::stream(5, "c")))
        .unwrap();
    assert_eq!(copy.export_state().unwrap(), state);
    assert_eq!(copy.decrypt(b"ad", &m1).unwrap(), b"one");
    assert_eq!(bob.decrypt(b"ad", &m1).unwrap(), b"one");
    assert!(mutant
        .restore(&state[..state.len() - 1], Box::new(rng::stream(5, "c")))
        .is_err());
}

/// Mutants are never run by `run` or `interop`, and their names say which flaw they carry.
#[test]
fn mutants_are_never_bundled() {
    let known: Vec<String> = peers::known().iter().map(|p| p.info().name).collect();
    let mut names = Vec::new();
    for flaw in Flaw::ALL {
        let name = MutantReference::new(flaw).info().name;
        assert_eq!(name, format!("reference+{}", flaw.name()));
        assert!(!known.contains(&name), "{name} is not bundled");
        assert_eq!(Flaw::from_name(flaw.name()), Some(flaw));
        names.push(name);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Flaw::ALL.len(), "flaw names are distinct");
    let info = MutantReference::new(Flaw::NoRollback).info();
    let reference = ReferenceSignalDr.info();
    assert_eq!(
        (info.family, info.limits, info.capabilities, info.weakened),
        (
            reference.family,
            reference.limits,
            reference.capabilities,
            reference.weakened
        ),
        "a mutant claims the reference's contract"
    );
}
