#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The interop matrix: every known peer, per family, each ordered pair; and the failure path,
//! with peers broken on purpose.

use ratchet_bench::interop::{self, CellResult};
use ratchet_bench::peer::{BoxRng, Family, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};
use ratchet_bench::peers::{self, ReferenceSignalDr};
use ratchet_bench::report::{Expectations, FindingKind};
use std::path::Path;

/// Every known peer's matrix. A failing cell must be listed in ci/expectations.json with its
/// reason; the snapshot shows every cell, so a change of interop is a reviewable diff.
#[test]
fn the_matrix_of_every_known_peer_is_stable() {
    let matrices = interop::run(&peers::known(), &[], 1);
    let expectations =
        Expectations::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/expectations.json"))
            .unwrap();
    for s in interop::sightings(&matrices, 1) {
        assert!(
            expectations.lists(&s.signature),
            "interop cell {} failed and is not in ci/expectations.json: {}",
            s.signature,
            s.detail
        );
    }
    for m in &matrices {
        let n = m.peers.len();
        assert_eq!(
            m.cells.len(),
            n * n,
            "{}: one cell per ordered pair",
            m.family
        );
    }
    insta::assert_snapshot!(interop::render(&matrices));
}

/// Whether a matrix is the same twice from one seed (outcomes; the report holds no bytes).
#[test]
fn one_seed_gives_the_same_matrix() {
    let a = interop::run(&peers::known(), &[Family::SIGNAL_DR], 9);
    let b = interop::run(&peers::known(), &[Family::SIGNAL_DR], 9);
    assert_eq!(a, b);
    assert_eq!(a.len(), 1, "only the family asked for runs");
}

/// How a broken peer misbehaves.
#[derive(Clone, Copy)]
enum Flaw {
    /// Its fifth decryption returns one flipped bit.
    WrongPlaintext,
    /// Its third decryption panics.
    Panics,
}

/// The reference with one flaw in its receiving side.
struct Broken(Flaw);

struct BrokenParty {
    inner: Box<dyn Party>,
    flaw: Flaw,
    decrypted: u32,
}

impl Party for BrokenParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.inner.encrypt(ad, plaintext)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        self.decrypted += 1;
        let mut out = self.inner.decrypt(ad, wire)?;
        match self.flaw {
            Flaw::WrongPlaintext if self.decrypted == 5 => out[0] ^= 1,
            Flaw::Panics if self.decrypted == 3 => panic!("planted panic"),
            _ => {}
        }
        Ok(out)
    }
}

impl Peer for Broken {
    fn info(&self) -> PeerInfo {
        let mut info = ReferenceSignalDr.info();
        info.name = match self.0 {
            Flaw::WrongPlaintext => "broken-plaintext".into(),
            Flaw::Panics => "broken-panic".into(),
        };
        info
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (inner, bundle) = ReferenceSignalDr.respond(init, rng)?;
        let party = BrokenParty {
            inner,
            flaw: self.0,
            decrypted: 0,
        };
        Ok((Box::new(party), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let inner = ReferenceSignalDr.initiate(init, bundle, rng)?;
        Ok(Box::new(BrokenParty {
            inner,
            flaw: self.0,
            decrypted: 0,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalDr.layout(wire)
    }
}

#[test]
fn a_wrong_plaintext_fails_its_cell_at_the_first_bad_step() {
    let peers: Vec<Box<dyn Peer>> = vec![
        Box::new(ReferenceSignalDr),
        Box::new(Broken(Flaw::WrongPlaintext)),
    ];
    let matrices = interop::run(&peers, &[], 3);
    assert_eq!(matrices.len(), 1);
    let m = &matrices[0];
    assert_eq!(m.peers, ["reference", "broken-plaintext"]);
    let result = |a: &str, b: &str| {
        &m.cells
            .iter()
            .find(|c| c.initiator == a && c.responder == b)
            .unwrap()
            .result
    };
    assert!(matches!(
        result("reference", "reference"),
        CellResult::Pass { delivered: 19 }
    ));
    // The broken responder's fifth decryption is the first delivery of turn 2 (A0); the
    // broken initiator decrypts 3 in turn 1 and 1 in turn 2 (B2 of turn 2 is held back until
    // after turn 3's batch), so its fifth is turn 3's first (B3).
    match result("reference", "broken-plaintext") {
        CellResult::Fail { step, class, .. } => {
            assert_eq!(step, "turn 2: responder decrypts A0");
            assert_eq!(class, "wrong-plaintext");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    match result("broken-plaintext", "reference") {
        CellResult::Fail { step, class, .. } => {
            assert_eq!(step, "turn 3: initiator decrypts B3");
            assert_eq!(class, "wrong-plaintext");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let sightings = interop::sightings(&matrices, 3);
    assert_eq!(sightings.len(), 3, "every cell with the broken peer fails");
    let s = sightings
        .iter()
        .find(|s| s.signature == "reference+broken-plaintext/interop/decrypt/wrong-plaintext")
        .expect("the signature names both peers, the step kind and the class");
    assert_eq!(s.kind, FindingKind::InteropFailed);
    assert_eq!(
        s.reproducer,
        "ratchet-bench interop --family signal-dr --peer reference --peer broken-plaintext --seed 3"
    );
    let text = interop::render(&matrices);
    assert!(text.contains("FAIL 1: reference -> broken-plaintext: turn 2: responder decrypts A0"));
}

#[test]
fn a_panicking_peer_fails_its_cells_and_the_matrix_goes_on() {
    let peers: Vec<Box<dyn Peer>> =
        vec![Box::new(Broken(Flaw::Panics)), Box::new(ReferenceSignalDr)];
    let matrices = interop::run(&peers, &[], 4);
    let m = &matrices[0];
    let failed: Vec<_> = m.failures().collect();
    assert_eq!(failed.len(), 3);
    for c in failed {
        match &c.result {
            CellResult::Fail { class, detail, .. } => {
                assert_eq!(class, "panic");
                assert!(detail.contains("planted panic"), "{detail}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
    let last = m.cells.last().unwrap();
    assert_eq!(last.initiator, "reference");
    assert!(matches!(last.result, CellResult::Pass { .. }));
}
