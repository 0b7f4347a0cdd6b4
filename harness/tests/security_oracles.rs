//! The security oracles: each catches a deliberately weak peer written here (a wrapper
//! around the reference with one weakness), and none fires on the real reference.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand_core::{CryptoRng, RngCore};
use ratchet_bench::campaign::{check_scenario, scenario_for};
use ratchet_bench::oracle::security::Property;
use ratchet_bench::peer::{
    BoxRng, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit, WireLayout, Work,
};
use ratchet_bench::peers::ReferenceSignalDr;
use ratchet_bench::reference::signal_dr::{kdf_ck, ChainKey};
use ratchet_bench::report::{Finding, FindingKind};
use ratchet_bench::scenario::{execute, Scenario, Setup, Transcript};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Which weakness a [`Weak`] peer has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weakness {
    /// Keeps every message it decrypted, in its exported state too, and opens it again.
    KeepsMessages,
    /// Sends its first message again for every later send (same header, key and IV).
    RepeatsFirstMessage,
    /// Draws its key pairs from an RNG whose seed and position are part of its exported
    /// state: a copy draws the same keys, follows every ratchet step, and the session never
    /// heals.
    RngInState,
    /// Derives a chain step for every counter a header claims (up to 50 000) before
    /// checking anything.
    DerivesFirst,
}

struct Weak(Weakness);

/// A counter posing as an RNG: draw `n` of seed `s` is the bytes of (s, n), over and over.
/// The party keeps a handle on the counter, so its export can carry it.
#[derive(Clone)]
struct Counter {
    seed: u8,
    n: Arc<AtomicU64>,
}

impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let mut pattern = vec![self.seed];
        pattern.extend_from_slice(&n.to_le_bytes());
        for (d, p) in dest.iter_mut().zip(pattern.iter().cycle()) {
            *d = *p;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Counter {}

struct WeakParty {
    weakness: Weakness,
    inner: Box<dyn Party>,
    /// (wire, plaintext) of every message decrypted (KeepsMessages).
    kept: Vec<(Vec<u8>, Vec<u8>)>,
    first: Option<Vec<u8>>,
    extra: u64,
    counter: Option<Counter>,
}

impl WeakParty {
    fn new(weakness: Weakness, inner: Box<dyn Party>) -> Self {
        WeakParty {
            weakness,
            inner,
            kept: Vec::new(),
            first: None,
            extra: 0,
            counter: None,
        }
    }
}

impl Weak {
    /// The party's RNG, and the counter behind it for RngInState.
    fn rng(&self, rng: BoxRng, seed: u8, n: u64) -> (BoxRng, Option<Counter>) {
        if self.0 == Weakness::RngInState {
            let c = Counter {
                seed,
                n: Arc::new(AtomicU64::new(n)),
            };
            (Box::new(c.clone()), Some(c))
        } else {
            (rng, None)
        }
    }
}

impl Peer for Weak {
    fn info(&self) -> PeerInfo {
        let mut info = ReferenceSignalDr.info();
        info.name = format!("weak-{:?}", self.0).to_lowercase();
        info
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (rng, counter) = self.rng(rng, 1, 0);
        let (inner, bundle) = ReferenceSignalDr.respond(init, rng)?;
        let mut party = WeakParty::new(self.0, inner);
        party.counter = counter;
        Ok((Box::new(party), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let (rng, counter) = self.rng(rng, 2, 0);
        let inner = ReferenceSignalDr.initiate(init, bundle, rng)?;
        let mut party = WeakParty::new(self.0, inner);
        party.counter = counter;
        Ok(Box::new(party))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalDr.layout(wire)
    }

    /// The export is the reference's state, then (RngInState) the RNG's seed and position,
    /// or (KeepsMessages) the kept messages as length-prefixed pairs.
    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let n = u32::from_be_bytes(state[..4].try_into().unwrap()) as usize;
        let mut rest = &state[4 + n..];
        let (rng, counter) = if self.0 == Weakness::RngInState {
            let at = u64::from_be_bytes(rest[1..9].try_into().unwrap());
            let seed = rest[0];
            rest = &rest[9..];
            self.rng(rng, seed, at)
        } else {
            (rng, None)
        };
        let inner = ReferenceSignalDr.restore(&state[4..4 + n], rng)?;
        let mut party = WeakParty::new(self.0, inner);
        party.counter = counter;
        fn take(rest: &mut &[u8]) -> Vec<u8> {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let out = rest[4..4 + len].to_vec();
            *rest = &rest[4 + len..];
            out
        }
        while !rest.is_empty() {
            let wire = take(&mut rest);
            let pt = take(&mut rest);
            party.kept.push((wire, pt));
        }
        Ok(Box::new(party))
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

impl Party for WeakParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let wire = self.inner.encrypt(ad, plaintext)?;
        if self.weakness == Weakness::RepeatsFirstMessage {
            return Ok(self.first.get_or_insert(wire).clone());
        }
        Ok(wire)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        if let Some((_, pt)) = self.kept.iter().find(|(w, _)| w == wire) {
            return Ok(pt.clone());
        }
        if self.weakness == Weakness::DerivesFirst && wire.len() >= 40 {
            let n = u32::from_be_bytes(wire[32..36].try_into().unwrap());
            let mut ck = ChainKey::from_bytes([1; 32]);
            for _ in 0..n.min(50_000) {
                ck = kdf_ck(&ck).0;
                self.extra += 1;
            }
        }
        let pt = self.inner.decrypt(ad, wire)?;
        if self.weakness == Weakness::KeepsMessages {
            self.kept.push((wire.to_vec(), pt.clone()));
        }
        Ok(pt)
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let mut out = Vec::new();
        put(&mut out, &self.inner.export_state()?);
        if let Some(c) = &self.counter {
            out.push(c.seed);
            out.extend_from_slice(&c.n.load(Ordering::SeqCst).to_be_bytes());
        }
        for (wire, pt) in &self.kept {
            put(&mut out, wire);
            put(&mut out, pt);
        }
        Ok(out)
    }

    fn work(&self) -> Option<Work> {
        self.inner.work().map(|w| Work {
            derivations: w.derivations + self.extra,
            ..w
        })
    }
}

fn run(peer: &dyn Peer, text: &str, seed: u64) -> (Transcript, Vec<Finding>) {
    let scenario: Scenario = text.parse().expect("the scenario parses");
    let (mut ts, findings) = check_scenario(&[peer], &scenario, seed);
    (ts.remove(0), findings)
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind).collect()
}

/// A full round trip after B is compromised, then a message from A that must be closed to
/// the copy; earlier messages are there for forward secrecy.
const ROUND_TRIP: &str = "send A 10; deliver m0; send A 11; deliver m1; compromise B; \
    send B 12; deliver m2; send A 13; deliver m3; send B 14; deliver m4; \
    send A 15; deliver m5; send A 16; deliver m6";

#[test]
fn the_reference_passes_every_security_oracle_and_the_copy_is_made() {
    for seed in 0..5 {
        let (t, findings) = run(&ReferenceSignalDr, ROUND_TRIP, seed);
        assert!(findings.is_empty(), "seed {seed}: {findings:#?}");
        let notes: Vec<_> = t
            .probes
            .iter()
            .filter(|p| p.property == Property::Compromise)
            .collect();
        assert_eq!(notes.len(), 1, "one compromise note: {:#?}", t.probes);
        assert!(
            notes[0].note.contains("copied")
                && notes[0].note.contains("2 earlier messages tried")
                && notes[0].note.contains("the copy follows"),
            "{}",
            notes[0].note
        );
    }
}

#[test]
fn forward_secrecy_catches_a_peer_that_keeps_decrypted_messages() {
    let (_, findings) = run(&Weak(Weakness::KeepsMessages), ROUND_TRIP, 1);
    let fs: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::ForwardSecrecy)
        .collect();
    assert!(
        fs.iter()
            .any(|f| f.signature == "weak-keepsmessages/forward-secrecy/compromise"),
        "{findings:#?}"
    );
    // The sampled check after the first accepted message, without any compromise step.
    let (_, findings) = run(&Weak(Weakness::KeepsMessages), "send A 3; deliver m0", 1);
    assert_eq!(
        findings
            .iter()
            .map(|f| f.signature.as_str())
            .collect::<Vec<_>>(),
        ["weak-keepsmessages/forward-secrecy/deliver/after-decrypt"]
    );
}

#[test]
fn healing_catches_a_peer_whose_key_pairs_a_copy_draws_again() {
    let (_, findings) = run(&Weak(Weakness::RngInState), ROUND_TRIP, 2);
    assert!(
        kinds(&findings).contains(&FindingKind::NoHealing),
        "{findings:#?}"
    );
    let healing = findings
        .iter()
        .find(|f| f.kind == FindingKind::NoHealing)
        .unwrap();
    assert_eq!(healing.signature, "weak-rnginstate/no-healing/deliver");
    assert!(healing.detail.contains("m5"), "{}", healing.detail);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    // The healing point is stated, not guessed: cut before B's message from its new key
    // is accepted by A (m4), the copy may still read A's messages.
    let before = "send A 10; deliver m0; compromise B; send B 12; deliver m1; send A 13; \
        deliver m2; send B 14; send A 15; deliver m4";
    let (_, findings) = run(&Weak(Weakness::RngInState), before, 2);
    assert!(
        !kinds(&findings).contains(&FindingKind::NoHealing),
        "{findings:#?}"
    );
}

#[test]
fn no_reuse_catches_a_peer_that_sends_one_message_twice() {
    let (_, findings) = run(
        &Weak(Weakness::RepeatsFirstMessage),
        "send A 8; send A 8; send A 0",
        3,
    );
    let sigs: Vec<&str> = findings.iter().map(|f| f.signature.as_str()).collect();
    assert!(
        sigs.contains(&"weak-repeatsfirstmessage/key-reuse/send/header")
            && sigs.contains(&"weak-repeatsfirstmessage/key-reuse/send/body"),
        "{sigs:?}"
    );
    // The reference's lost jump messages (empty plaintexts) all differ.
    let (_, findings) = run(&ReferenceSignalDr, "send A 1; deliver m0; jump B +1", 3);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn bounded_work_catches_a_peer_that_derives_before_checking_the_counter() {
    // Bit 263 is the top bit of the header's counter N: the copy claims N = 2^31.
    let text = "send A 4; tamper m0 header 263; deliver m0";
    let (_, findings) = run(&Weak(Weakness::DerivesFirst), text, 4);
    let work: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::UnboundedWork)
        .collect();
    assert_eq!(work.len(), 1, "{findings:#?}");
    assert_eq!(
        work[0].signature,
        "weak-derivesfirst/unbounded-work/tamper-header/derivations"
    );
    assert!(work[0].detail.contains("50000"), "{}", work[0].detail);
    let (t, findings) = run(&ReferenceSignalDr, text, 4);
    assert!(findings.is_empty(), "{findings:#?}");
    assert!(t.probes.is_empty());
}

#[test]
fn a_peer_without_export_says_why_and_has_no_finding() {
    let peer = ratchet_bench::peers::KsiDoubleRatchet;
    let (t, findings) = run(&peer, ROUND_TRIP, 5);
    assert!(findings.is_empty(), "{findings:#?}");
    assert_eq!(t.probes.len(), 1);
    assert_eq!(
        t.probes[0].note,
        "not applied: the peer cannot export a party's state"
    );
    assert!(!t.probes[0].breach);
}

#[test]
fn the_compromise_step_reads_back_and_is_drawn_by_campaigns() {
    let s: Scenario = "send A 1; compromise B; compromise A".parse().unwrap();
    assert_eq!(s.to_string(), "send A 1; compromise B; compromise A");
    let err = "compromise C".parse::<Scenario>().unwrap_err();
    assert!(err.reason.contains("expected a side"), "{err}");
    let drawn = (0..200)
        .filter(|i| {
            scenario_for(1, *i)
                .0
                .steps
                .iter()
                .any(|s| s.kind() == "compromise")
        })
        .count();
    assert!(
        drawn > 50,
        "{drawn} of 200 drawn scenarios compromise a party"
    );
}

#[test]
fn drawn_scenarios_give_no_security_finding_on_the_reference() {
    let peer = ReferenceSignalDr;
    let mut compromises = 0;
    for i in 0..150 {
        let (scenario, seed) = scenario_for(7, i);
        let t = execute(&peer, &scenario, Setup::seeded(seed));
        compromises += t.probes.iter().filter(|p| !p.breach).count();
        let breaches: Vec<_> = t.probes.iter().filter(|p| p.breach).collect();
        assert!(
            breaches.is_empty(),
            "scenario {i} ({scenario}): {breaches:#?}"
        );
    }
    assert!(compromises > 30, "{compromises} compromise notes");
}

#[test]
fn state_export_restores_a_party_that_reads_what_the_original_would() {
    let peer = ReferenceSignalDr;
    let init = SessionInit {
        shared_secret: [3; 32],
    };
    let rng = |s: &str| -> BoxRng { Box::new(ratchet_bench::rng::stream(9, s)) };
    let (mut bob, bundle) = peer.respond(&init, rng("b")).unwrap();
    let mut alice = peer.initiate(&init, &bundle, rng("a")).unwrap();
    let m0 = alice.encrypt(b"ad", b"zero").unwrap();
    let m1 = alice.encrypt(b"ad", b"one").unwrap();
    let state = bob.export_state().unwrap();
    let mut copy = peer.restore(&state, rng("copy")).unwrap();
    assert_eq!(copy.decrypt(b"ad", &m1).unwrap(), b"one");
    assert_eq!(copy.decrypt(b"ad", &m0).unwrap(), b"zero");
    assert_eq!(bob.decrypt(b"ad", &m0).unwrap(), b"zero");
    let err = peer.restore(&state[..10], rng("copy")).err().unwrap();
    assert_eq!(err.class, RejectClass::Malformed);
}

/// The compromise note of a transcript (there is one compromise in the scenarios here).
fn compromise_note(t: &Transcript) -> String {
    t.probes
        .iter()
        .find(|p| p.property == Property::Compromise)
        .map(|p| p.note.clone())
        .expect("a compromise note")
}

#[test]
fn vodozemac_olm_exports_through_its_pickles_and_passes() {
    let peer = ratchet_bench::peers::VodozemacOlm;
    assert!(peer.info().capabilities.export_state);
    let (t, findings) = run(&peer, ROUND_TRIP, 6);
    assert!(findings.is_empty(), "{findings:#?}");
    let note = compromise_note(&t);
    assert!(
        note.contains("2 earlier messages tried") && note.contains("the copy follows"),
        "{note}"
    );
    for i in 0..40 {
        let (scenario, seed) = scenario_for(8, i);
        let t = execute(&peer, &scenario, Setup::seeded(seed));
        let breaches: Vec<_> = t.probes.iter().filter(|p| p.breach).collect();
        assert!(
            breaches.is_empty(),
            "scenario {i} ({scenario}): {breaches:#?}"
        );
    }
}

#[test]
fn megolm_states_are_copied_and_the_probes_say_why_they_do_not_apply() {
    let peer = ratchet_bench::peers::VodozemacMegolm;
    let (t, findings) = run(&peer, ROUND_TRIP, 7);
    assert!(findings.is_empty(), "{findings:#?}");
    let note = compromise_note(&t);
    assert!(
        note.contains(
            "forward secrecy not applied: megolm keeps the ratchet at the first known index"
        ) && note.contains("healing not applied: megolm has no DH ratchet"),
        "{note}"
    );
}
