//! The security oracles: each catches a deliberately weak peer written here (a wrapper
//! around the reference with one weakness), and none fires on the real reference.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand_core::{CryptoRng, RngCore};
use ratchet_bench::campaign::{check_scenario, scenario_for};
use ratchet_bench::codec::Codec;
use ratchet_bench::oracle::security::Property;
use ratchet_bench::peer::{
    BoxRng, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit, WireLayout, Work,
};
use ratchet_bench::peers::{ReferenceOlm, ReferenceSignalDr};
use ratchet_bench::reference::signal_dr::{kdf_ck, ChainKey};
use ratchet_bench::report::{Finding, FindingKind};
use ratchet_bench::scenario::{execute, Outcome, Scenario, Setup, Transcript};
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

/// The Olm reference reading a ratchet key as X25519 does (its top bit masked) before it
/// checks the MAC, so a copy that only sets that bit decrypts as the genuine message: the
/// shape of an implementation that authenticates the message it re-encodes, and of
/// vodozemac built with cfg(fuzzing), which accepts every MAC.
struct ReadsKeyValues;

struct ReadsKeyValuesParty(Box<dyn Party>);

impl Peer for ReadsKeyValues {
    fn info(&self) -> PeerInfo {
        let mut info = ReferenceOlm.info();
        info.name = "reads-key-values".into();
        info
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = ReferenceOlm.respond(init, rng)?;
        Ok((Box::new(ReadsKeyValuesParty(party)), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let party = ReferenceOlm.initiate(init, bundle, rng)?;
        Ok(Box::new(ReadsKeyValuesParty(party)))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceOlm.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ReferenceOlm.codec()
    }
}

impl Party for ReadsKeyValuesParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.encrypt(ad, plaintext)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let mut read = wire.to_vec();
        if let Some(key) = ReferenceOlm.layout(wire).ratchet_key {
            if let Some(last) = key.end.checked_sub(1).and_then(|i| read.get_mut(i)) {
                *last &= 0x7f;
            }
        }
        self.0.decrypt(ad, &read)
    }
}

/// A re-encoded ratchet key is the key the party already heard, so accepting the copy asks
/// for no new turn: B's next send with the ratchet key it has is no stale-key finding. Seen
/// in a fuzz build, where vodozemac accepted such a copy (its MAC checks off) and the oracle
/// took the re-encoding for a new key.
#[test]
fn no_reuse_takes_a_re_encoded_ratchet_key_for_the_key_it_is() {
    // m2 is A's first normal message (A heard B's m1); B turns for it and sends m3; m4, on
    // A's same chain, is re-encoded; then B sends again.
    let text = "send A 0; deliver m0; send B 1; deliver m1; send A 2; deliver m2; send B 3; \
        send A 4; mutate m4 x25519-key.0 non-canonical; send B 5";
    let outcome = |t: &Transcript| {
        let r = t.records.iter().find(|r| r.kind == "mutate").unwrap();
        r.outcome.clone()
    };
    let (t, findings) = run(&ReadsKeyValues, text, 5);
    assert!(
        matches!(outcome(&t), Outcome::Accepted(_)),
        "the wrapper reads the re-encoded copy: {:?}",
        outcome(&t)
    );
    assert!(findings.is_empty(), "{findings:#?}");
    // On the reference itself the copy fails its MAC, and nothing is found either.
    let (t, findings) = run(&ReferenceOlm, text, 5);
    assert!(
        matches!(outcome(&t), Outcome::Rejected(_)),
        "{:?}",
        outcome(&t)
    );
    assert!(findings.is_empty(), "{findings:#?}");
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

/// Randomness of one party of the state tests below.
fn party_rng(seed: u64, label: &str) -> BoxRng {
    Box::new(ratchet_bench::rng::stream(seed, label))
}

/// Alice (initiator) and Bob (responder) of a session of `peer`, the handshake taken.
fn pair_of(peer: &dyn Peer, seed: u64) -> (Box<dyn Party>, Box<dyn Party>) {
    let init = SessionInit {
        shared_secret: [4; 32],
    };
    let (mut bob, bundle) = peer.respond(&init, party_rng(seed, "B")).unwrap();
    let mut alice = peer.initiate(&init, &bundle, party_rng(seed, "A")).unwrap();
    if let Some(handshake) = alice.handshake().unwrap() {
        bob.join(&handshake).unwrap();
    }
    (alice, bob)
}

/// A restored copy of `party`, drawing from its own randomness.
fn copy_of(peer: &dyn Peer, party: &dyn Party, seed: u64) -> Box<dyn Party> {
    let state = party.export_state().expect("the party exports its state");
    peer.restore(&state, party_rng(seed, "copy"))
        .expect("the peer restores its own export")
}

/// The Olm peers that export a party's state (vodozemac-olm has its own test above).
fn olm_peers() -> [Box<dyn Peer>; 2] {
    [
        Box::new(ratchet_bench::peers::ReferenceOlm),
        Box::new(ratchet_bench::peers::LibolmOlm),
    ]
}

#[test]
fn olm_states_restore_a_party_that_reads_what_the_original_would_and_no_more() {
    for peer in olm_peers() {
        let peer = peer.as_ref();
        let name = peer.info().name;
        assert!(peer.info().capabilities.export_state, "{name}");
        let (mut alice, mut bob) = pair_of(peer, 21);
        let m: Vec<Vec<u8>> = ["zero", "one", "two", "three"]
            .iter()
            .map(|p| alice.encrypt(b"ad", p.as_bytes()).unwrap())
            .collect();
        assert_eq!(bob.decrypt(b"ad", &m[0]).unwrap(), b"zero", "{name}");
        assert_eq!(bob.decrypt(b"ad", &m[2]).unwrap(), b"two", "{name}");
        let reply = bob.encrypt(b"ad", b"reply").unwrap();
        assert_eq!(alice.decrypt(b"ad", &reply).unwrap(), b"reply", "{name}");
        // Alice's next message starts a new chain (a DH ratchet step).
        let four = alice.encrypt(b"ad", b"four").unwrap();
        let state = bob.export_state().unwrap();
        assert_eq!(
            peer.restore(&state, party_rng(1, "x"))
                .unwrap()
                .export_state()
                .unwrap(),
            state,
            "{name}: the export of a restored party is the same bytes"
        );
        // Round trip: the copy reads what the original would, in any order.
        let mut copy = copy_of(peer, bob.as_ref(), 1);
        assert_eq!(copy.decrypt(b"ad", &four).unwrap(), b"four", "{name}");
        assert_eq!(copy.decrypt(b"ad", &m[1]).unwrap(), b"one", "{name}");
        assert_eq!(copy.decrypt(b"ad", &m[3]).unwrap(), b"three", "{name}");
        assert_eq!(bob.decrypt(b"ad", &m[3]).unwrap(), b"three", "{name}");
        // Forward secrecy: what Bob decrypted before the export stays closed to a copy.
        let mut copy = copy_of(peer, bob.as_ref(), 2);
        for (i, wire) in [(0, &m[0]), (2, &m[2]), (3, &m[3])] {
            let refused = copy.decrypt(b"ad", wire).unwrap_err();
            assert_eq!(refused.class, RejectClass::Replay, "{name} m{i}: {refused}");
        }
        assert_eq!(bob.decrypt(b"ad", &four).unwrap(), b"four", "{name}");
        let refused = copy_of(peer, bob.as_ref(), 3)
            .decrypt(b"ad", &four)
            .unwrap_err();
        assert_eq!(refused.class, RejectClass::Replay, "{name}: {refused}");
    }
}

#[test]
fn a_restored_libolm_party_sends_and_reads_what_the_reference_and_vodozemac_do() {
    // libolm and the reference draw the same bytes from one seed, so a restored libolm party
    // must make the reference's wire bytes: its pickled state is the whole ratchet, as an
    // independent implementation of the spec computes it.
    let libolm = ratchet_bench::peers::LibolmOlm;
    let reference = ratchet_bench::peers::ReferenceOlm;
    let (mut la, mut lb) = pair_of(&libolm, 22);
    let (mut ra, mut rb) = pair_of(&reference, 22);
    let mut sent = Vec::new();
    for p in ["a", "b", "c"] {
        let (l, r) = (
            la.encrypt(b"", p.as_bytes()).unwrap(),
            ra.encrypt(b"", p.as_bytes()).unwrap(),
        );
        assert_eq!(l, r, "one seed, the same wire bytes");
        sent.push(l);
    }
    lb.decrypt(b"", &sent[0]).unwrap();
    rb.decrypt(b"", &sent[0]).unwrap();
    let mut lcopy = copy_of(&libolm, lb.as_ref(), 5);
    let mut rcopy = copy_of(&reference, rb.as_ref(), 5);
    assert_eq!(lcopy.decrypt(b"", &sent[2]).unwrap(), b"c");
    assert_eq!(rcopy.decrypt(b"", &sent[2]).unwrap(), b"c");
    // The copies' first replies draw a new ratchet key from the same stream: one DH step
    // from the restored root key, the same bytes in both.
    let (l, r) = (
        lcopy.encrypt(b"", b"back").unwrap(),
        rcopy.encrypt(b"", b"back").unwrap(),
    );
    assert_eq!(hex::encode(&l), hex::encode(&r));
    assert_eq!(la.decrypt(b"", &l).unwrap(), b"back");
    assert_eq!(lcopy.decrypt(b"", &sent[1]).unwrap(), b"b");

    // vodozemac starts a session with libolm's bundle; a restored libolm responder reads
    // vodozemac's later message.
    let init = SessionInit {
        shared_secret: [4; 32],
    };
    let (mut bob, bundle) = libolm.respond(&init, party_rng(23, "B")).unwrap();
    let vodozemac = ratchet_bench::peers::VodozemacOlm;
    let mut alice = vodozemac
        .initiate(&init, &bundle, party_rng(23, "A"))
        .unwrap();
    let first = alice.encrypt(b"ad", b"first").unwrap();
    let second = alice.encrypt(b"ad", b"second").unwrap();
    // Before any message Bob has only his account: the copy takes the pre-key message.
    assert_eq!(
        copy_of(&libolm, bob.as_ref(), 6)
            .decrypt(b"ad", &first)
            .unwrap(),
        b"first"
    );
    assert_eq!(bob.decrypt(b"ad", &first).unwrap(), b"first");
    let mut copy = copy_of(&libolm, bob.as_ref(), 6);
    assert_eq!(copy.decrypt(b"ad", &second).unwrap(), b"second");
    assert_eq!(
        copy_of(&libolm, bob.as_ref(), 7)
            .decrypt(b"ad", &first)
            .unwrap_err()
            .class,
        RejectClass::Replay
    );
    let back = copy.encrypt(b"ad", b"back").unwrap();
    assert_eq!(alice.decrypt(b"ad", &back).unwrap(), b"back");
}

#[test]
fn megolm_states_restore_and_a_copy_reads_earlier_indices_by_design() {
    let libolm = ratchet_bench::peers::LibolmMegolm;
    let reference = ratchet_bench::peers::ReferenceMegolm;
    let mut replies = Vec::new();
    for peer in [&libolm as &dyn Peer, &reference] {
        let name = peer.info().name;
        assert!(peer.info().capabilities.export_state, "{name}");
        let (mut alice, mut bob) = pair_of(peer, 24);
        let m0 = alice.encrypt(b"ad", b"zero").unwrap();
        let m1 = alice.encrypt(b"ad", b"one").unwrap();
        assert_eq!(bob.decrypt(b"ad", &m0).unwrap(), b"zero", "{name}");
        let state = bob.export_state().unwrap();
        assert_eq!(
            peer.restore(&state, party_rng(1, "x"))
                .unwrap()
                .export_state()
                .unwrap(),
            state,
            "{name}"
        );
        let mut copy = copy_of(peer, bob.as_ref(), 8);
        assert_eq!(copy.decrypt(b"ad", &m1).unwrap(), b"one", "{name}");
        // Megolm keeps the ratchet at the first known index (megolm.md, "Partial Forward
        // Secrecy"): a copy reads an index the party already read. The oracle does not
        // check forward secrecy on Megolm for this reason.
        assert_eq!(copy.decrypt(b"ad", &m0).unwrap(), b"zero", "{name}");
        // The copy's own ratchet goes on where Bob's stood.
        let reply = copy.encrypt(b"ad", b"reply").unwrap();
        assert_eq!(alice.decrypt(b"ad", &reply).unwrap(), b"reply", "{name}");
        replies.push(reply);
    }
    assert_eq!(
        replies[0], replies[1],
        "libolm's restored party signs and encrypts the reference's bytes"
    );
}

#[test]
fn truncated_or_garbled_states_are_refused_naming_the_field() {
    let peers: [Box<dyn Peer>; 4] = [
        Box::new(ratchet_bench::peers::ReferenceOlm),
        Box::new(ratchet_bench::peers::LibolmOlm),
        Box::new(ratchet_bench::peers::ReferenceMegolm),
        Box::new(ratchet_bench::peers::LibolmMegolm),
    ];
    for peer in peers {
        let peer = peer.as_ref();
        let name = peer.info().name;
        let (mut alice, mut bob) = pair_of(peer, 25);
        let wire = alice.encrypt(b"", b"x").unwrap();
        let _ = alice.encrypt(b"", b"y").unwrap();
        bob.decrypt(b"", &alice.encrypt(b"", b"z").unwrap())
            .unwrap();
        let _ = wire;
        let state = bob.export_state().unwrap();
        for cut in 0..state.len() {
            let refused = match peer.restore(&state[..cut], party_rng(1, "x")) {
                Ok(_) => panic!("{name}: a state cut at {cut} of {} was taken", state.len()),
                Err(e) => e,
            };
            assert_eq!(
                refused.class,
                RejectClass::Malformed,
                "{name} cut {cut}: {refused}"
            );
            assert!(
                refused.detail.contains("state: ") && refused.detail.contains("expected"),
                "{name} cut {cut}: {refused}"
            );
        }
        let mut version = state.clone();
        version[0] ^= 0x40;
        let refused = peer.restore(&version, party_rng(1, "x")).err().unwrap();
        assert!(refused.detail.contains("version"), "{name}: {refused}");
        let mut longer = state.clone();
        longer.push(0);
        let refused = peer.restore(&longer, party_rng(1, "x")).err().unwrap();
        assert!(
            refused.detail.contains("after the last field"),
            "{name}: {refused}"
        );
        // Garbage of every length up to 600 bytes: refused, never a panic.
        for len in 0..600 {
            let garbage: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            assert!(peer.restore(&garbage, party_rng(1, "x")).is_err(), "{name}");
        }
    }
    // A flipped bit inside libolm's pickle of the session: libolm's MAC over the pickle
    // fails, and the refusal names the field.
    let libolm = ratchet_bench::peers::LibolmOlm;
    let (mut alice, mut bob) = pair_of(&libolm, 26);
    bob.decrypt(b"", &alice.encrypt(b"", b"x").unwrap())
        .unwrap();
    let mut state = bob.export_state().unwrap();
    let account_len = u32::from_be_bytes(state[1..5].try_into().unwrap()) as usize;
    let session_at = 5 + account_len + 1 + 4;
    state[session_at + 20] ^= 0x01;
    let refused = libolm.restore(&state, party_rng(1, "x")).err().unwrap();
    assert_eq!(refused.class, RejectClass::Malformed, "{refused}");
    assert!(
        refused
            .detail
            .starts_with("libolm-olm state: session pickle: olm_unpickle_session: "),
        "{refused}"
    );
}

#[test]
fn the_olm_reference_counts_one_chain_step_per_index_it_passes() {
    // olm.md: C_{i,j+1} = HMAC(C_{i,j}, 0x02), one step per index. A message g indices past
    // the chain's next one costs g steps and its own; Olm's header has no previous-chain
    // length, so one message touches one chain and costs at most MAX_MESSAGE_GAP + 1.
    let peer = ratchet_bench::peers::ReferenceOlm;
    let (mut alice, mut bob) = pair_of(&peer, 27);
    let work = |p: &dyn Party| p.work().expect("the Olm reference counts its work");
    let sent: Vec<Vec<u8>> = (0..10).map(|i| alice.encrypt(b"", &[i]).unwrap()).collect();
    let before = work(bob.as_ref());
    bob.decrypt(b"", &sent[0]).unwrap();
    let after = work(bob.as_ref());
    assert_eq!(
        (after.derivations - before.derivations, after.stored_keys),
        (1, 0)
    );
    bob.decrypt(b"", &sent[9]).unwrap();
    let later = work(bob.as_ref());
    assert_eq!(
        (later.derivations - after.derivations, later.stored_keys),
        (9, 8)
    );
    // A stored key costs no step.
    bob.decrypt(b"", &sent[4]).unwrap();
    assert_eq!(work(bob.as_ref()).derivations, later.derivations);
    assert_eq!(work(bob.as_ref()).stored_keys, 7);
    // The largest gap libolm takes (2000): 2001 steps, 40 keys kept.
    let jump = alice.encrypt_many(b"", b"", 2001).0;
    let before = work(bob.as_ref());
    bob.decrypt(b"", jump.last().unwrap()).unwrap();
    let after = work(bob.as_ref());
    assert_eq!(
        (after.derivations - before.derivations, after.stored_keys),
        (2001, 40)
    );
    // One index further than that is refused before any step.
    let far: Vec<Vec<u8>> = alice.encrypt_many(b"", b"", 2002).0;
    let refused = bob.decrypt(b"", far.last().unwrap()).unwrap_err();
    assert_eq!(refused.class, RejectClass::TooFarAhead, "{refused}");
    assert_eq!(work(bob.as_ref()), after);
    // The campaign's bounded-work oracle sees the same, and finds nothing.
    let (t, findings) = run(
        &peer,
        "send A 1; deliver m0; jump A +0; jump A +1; send A 2; deliver m1",
        27,
    );
    assert!(findings.is_empty(), "{findings:#?} {:#?}", t.probes);
}

#[test]
fn drawn_scenarios_give_no_security_finding_on_the_olm_and_megolm_peers() {
    let peers: [Box<dyn Peer>; 4] = [
        Box::new(ratchet_bench::peers::ReferenceOlm),
        Box::new(ratchet_bench::peers::LibolmOlm),
        Box::new(ratchet_bench::peers::ReferenceMegolm),
        Box::new(ratchet_bench::peers::LibolmMegolm),
    ];
    for peer in peers {
        let peer = peer.as_ref();
        let name = peer.info().name;
        let (t, findings) = run(peer, ROUND_TRIP, 6);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
        let note = compromise_note(&t);
        assert!(note.contains("copied"), "{name}: {note}");
        if peer.info().family.deletes_used_keys() {
            assert!(
                note.contains("2 earlier messages tried") && note.contains("the copy follows"),
                "{name}: {note}"
            );
        }
        let mut copied = 0;
        for i in 0..40 {
            let (scenario, seed) = scenario_for(8, i);
            let t = execute(peer, &scenario, Setup::seeded(seed));
            copied += t
                .probes
                .iter()
                .filter(|p| p.property == Property::Compromise && p.note.contains("copied"))
                .count();
            let breaches: Vec<_> = t.probes.iter().filter(|p| p.breach).collect();
            assert!(
                breaches.is_empty(),
                "{name} scenario {i} ({scenario}): {breaches:#?}"
            );
        }
        assert!(copied > 5, "{name}: {copied} states copied in 40 scenarios");
    }
}
