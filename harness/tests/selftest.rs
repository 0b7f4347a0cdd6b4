#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The planted-bug catalogue: every flaw of every family is caught by the campaign, each
//! mutant is its reference wherever its flaw does not act (so the flaw is planted, not a
//! broken peer), and each real reference, hunted the same way under another name, is never
//! flagged.

use ratchet_bench::peer::{BoxRng, Family, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};
use ratchet_bench::peers::mutant::{MutantReference, Planted};
use ratchet_bench::peers::{
    self, ReferenceMegolm, ReferenceOlm, ReferenceSignalDr, ReferenceSignalV3,
};
use ratchet_bench::reference::signal_dr::Flaw;
use ratchet_bench::report::Expectations;
use ratchet_bench::rng;
use ratchet_bench::selftest::{self, SelftestOptions};
use std::path::Path;

fn expectations() -> Expectations {
    Expectations::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/expectations.json"))
        .unwrap()
}

/// The selftest's own defaults (seed 1, each family's campaign size in `run`) catch every
/// flaw of every family; measured, the slowest needs a few dozen scenarios, so this stays
/// quick. The tables, without their times, are a snapshot: a change in what catches a flaw,
/// or how soon, is a reviewable diff.
#[test]
fn every_flaw_is_caught_by_the_default_campaign() {
    let opts = SelftestOptions::default();
    let report = selftest::run(&opts, Some(&expectations()));
    let missed: Vec<&str> = report
        .flaws
        .iter()
        .filter(|r| !r.caught)
        .map(|r| r.flaw.as_str())
        .collect();
    assert!(missed.is_empty(), "flaws not caught: {missed:?}");
    assert_eq!(report.flaws.len(), Planted::all().len());
    assert_eq!(report.exit_code, 0);
    let sizes: Vec<(&str, u64)> = report
        .families
        .iter()
        .map(|f| (f.family.as_str(), f.scenarios))
        .collect();
    assert_eq!(
        sizes,
        [
            ("signal-dr", 2000),
            ("olm", 300),
            ("megolm", 300),
            ("signal-v3", 200)
        ],
        "each family's campaign size in run"
    );
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
        scenarios: Some(0),
        flaws: vec![Planted::SignalDr(Flaw::TruncatedMacAccepted)],
        ..SelftestOptions::default()
    };
    let report = selftest::run(&opts, Some(&expectations()));
    assert_eq!(report.caught, 0);
    assert_eq!(report.exit_code, 1);
    assert!(selftest::render_text(&report, false).contains("NO"));
}

/// Asking for a family runs its flaws only, at its own campaign size.
#[test]
fn a_family_runs_its_own_flaws() {
    let opts = SelftestOptions {
        families: vec![Family::MEGOLM],
        scenarios: Some(0),
        ..SelftestOptions::default()
    };
    let report = selftest::run(&opts, None);
    assert!(report.flaws.iter().all(|r| r.family == "megolm"));
    assert_eq!(report.flaws.len(), 2);
    assert_eq!(report.families.len(), 1);
    assert_eq!(
        report.families[0].beside,
        ["reference-megolm", "vodozemac-megolm"]
    );
}

/// A reference under another name, hunted like a mutant.
struct Renamed(&'static dyn Peer);

impl Peer for Renamed {
    fn info(&self) -> PeerInfo {
        let info = self.0.info();
        PeerInfo {
            name: format!("{}-copy", info.name),
            ..info
        }
    }
    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        self.0.respond(init, rng)
    }
    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        self.0.initiate(init, bundle, rng)
    }
    fn layout(&self, wire: &[u8]) -> WireLayout {
        self.0.layout(wire)
    }
    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        self.0.restore(state, rng)
    }
    fn codec(&self) -> Option<&'static dyn ratchet_bench::codec::Codec> {
        self.0.codec()
    }
}

/// The control: each real reference, in the mutant's place, is not flagged over more
/// scenarios than any flaw of its family needs (the independent peers' known divergences
/// from the reference are the real peers' own, and do not count).
#[test]
fn the_real_references_are_not_flagged() {
    let references: [(&'static dyn Peer, u64); 4] = [
        (&ReferenceSignalDr, 300),
        (&ReferenceOlm, 150),
        (&ReferenceMegolm, 150),
        (&ReferenceSignalV3, 150),
    ];
    for (reference, limit) in references {
        let family = reference.info().family;
        let r = selftest::hunt(
            &Renamed(reference),
            &selftest::companions(family),
            1,
            limit,
            Some(&expectations()),
            &[],
        );
        assert!(
            !r.caught,
            "{family}: the reference was flagged: {:?} {:?} in {:?}",
            r.signature, r.detail, r.scenario
        );
        assert_eq!(r.scenarios, limit);
    }
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
    let mut alice = a
        .initiate(&init, &bundle, Box::new(rng::stream(seed, "party A")))
        .map_err(|e| format!("initiate: {e}"))?;
    let mut bob = bob;
    if let Some(handshake) = alice.handshake().map_err(|e| format!("handshake: {e}"))? {
        bob.join(&handshake).map_err(|e| format!("join: {e}"))?;
    }
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

/// The mutants of the other families carry honest traffic with their reference on either
/// side and with themselves, sending exactly the reference's bytes: each flaw acts only on
/// an input the attacker makes (a re-encoded field, a low-order key, S + L, a bad signature).
#[test]
fn each_mutant_of_another_family_is_its_reference_on_honest_traffic() {
    for planted in Planted::all() {
        if planted.family() == Family::SIGNAL_DR {
            continue;
        }
        let mutant = planted.mutant();
        let reference = selftest::companions(planted.family()).remove(0);
        let expected = exchange(reference.as_ref(), reference.as_ref(), 4, 3, b"ad").unwrap();
        for (a, b, sides) in [
            (mutant.as_ref(), reference.as_ref(), "mutant to reference"),
            (reference.as_ref(), mutant.as_ref(), "reference to mutant"),
            (mutant.as_ref(), mutant.as_ref(), "mutant with itself"),
        ] {
            let got =
                exchange(a, b, 4, 3, b"ad").unwrap_or_else(|e| panic!("{planted}, {sides}: {e}"));
            assert_eq!(
                got, expected,
                "{planted}, {sides}: the reference's wire bytes"
            );
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
    for flaw in Flaw::ALL {
        let name = MutantReference::new(flaw).info().name;
        assert_eq!(name, format!("reference+{}", flaw.name()));
        assert_eq!(Flaw::from_name(flaw.name()), Some(flaw));
    }
    let mut names = Vec::new();
    for planted in Planted::all() {
        let name = planted.mutant().info().name;
        assert!(!known.contains(&name), "{name} is not bundled");
        names.push(name);
    }
    names.sort();
    names.dedup();
    assert_eq!(
        names.len(),
        Planted::all().len(),
        "mutant names are distinct"
    );
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
