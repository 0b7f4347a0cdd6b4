#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every operator of the protocol-aware attacker catches a real peer made lenient to exactly
//! that operator.
//!
//! [`Lenient`] wraps a real peer (vodozemac, ksi-double-ratchet, openmls, mls-rs, ...) so
//! that it takes one operator's change of a genuine message (or bundle) for the genuine one:
//! when it is given bytes that no party of its sessions sent, it looks for the genuine
//! message (or bundle) that the operator, on some field and argument, turns into those
//! bytes, and hands the wrapped peer that one instead. That is the weakness of a reader that
//! skips whatever the operator changes (an unknown field, a second encoding of an integer, a
//! key it does not check, a cut tag). Such a wrapper is weak to its operator alone: a bit flip,
//! a cut or any other operator's change reaches the wrapped peer as it came.
//!
//! For each operator the test finds a peer and a field where the real peer is not flagged
//! for that operator and the lenient wrapper is, and holds the whole list to a snapshot (the
//! non-canonical key operator, whose change a reader may take, is shown on the real peer it
//! caught: see [`caught`]).

use ratchet_bench::campaign;
use ratchet_bench::codec::ops::{self, Donors, FieldSel, Op};
use ratchet_bench::codec::{Codec, Message};
use ratchet_bench::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout, Work};
use ratchet_bench::peers;
use ratchet_bench::scenario::Scenario;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// What the sessions of one lenient peer sent: every genuine message and bundle.
#[derive(Default)]
struct Sent {
    messages: Vec<Vec<u8>>,
    bundles: Vec<Vec<u8>>,
}

/// A real peer that takes `op`'s change of a genuine message or bundle for the genuine one.
struct Lenient {
    inner: Box<dyn Peer>,
    op: Op,
    sent: Arc<Mutex<Sent>>,
}

impl Lenient {
    fn new(inner: Box<dyn Peer>, op: Op) -> Self {
        Lenient {
            inner,
            op,
            sent: Arc::default(),
        }
    }
}

/// The genuine candidate of `candidates` that `op`, on some field of its kinds and some
/// argument, turns into `bytes`; donors (for the operators that take a field from another
/// message) are tried among `donors`.
fn undone(
    op: Op,
    bytes: &[u8],
    candidates: &[Vec<u8>],
    donors: &[Message],
    codec: &dyn Codec,
    parse: &dyn Fn(&[u8]) -> Option<Message>,
) -> Option<Vec<u8>> {
    let args: Vec<Op> = match op.arg() {
        Some(_) => (0..=7).map(|a| op.with_arg(a)).collect(),
        None => vec![op],
    };
    let donor_sets: Vec<Donors<'_>> = match op {
        Op::Reflect | Op::EarlierKey | Op::ForeignKey => donors
            .iter()
            .map(|d| Donors {
                receiver: Some(d),
                earlier: vec![d],
                foreign: Some(d),
            })
            .collect(),
        _ => vec![Donors::default()],
    };
    candidates.iter().find_map(|genuine| {
        let parsed = parse(genuine)?;
        for op in &args {
            for &kind in op.kinds() {
                for nth in 0..4 {
                    let sel = FieldSel { kind, nth };
                    for donors in &donor_sets {
                        if let Ok((changed, _)) = ops::apply(&parsed, sel, *op, codec, donors) {
                            if changed == bytes {
                                return Some(genuine.clone());
                            }
                        }
                    }
                }
            }
        }
        None
    })
}

impl Peer for Lenient {
    fn info(&self) -> PeerInfo {
        let info = self.inner.info();
        PeerInfo {
            name: format!("{}+lenient", info.name),
            ..info
        }
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = self.inner.respond(init, rng)?;
        self.sent.lock().unwrap().bundles.push(bundle.clone());
        Ok((self.party(party), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let genuine = {
            let sent = self.sent.lock().unwrap();
            match self.inner.codec() {
                Some(codec) if !sent.bundles.iter().any(|b| b == bundle) => {
                    undone(self.op, bundle, &sent.bundles, &[], codec, &|b| {
                        codec.bundle(b).and_then(Result::ok)
                    })
                }
                _ => None,
            }
        };
        let party = self
            .inner
            .initiate(init, genuine.as_deref().unwrap_or(bundle), rng)?;
        Ok(self.party(party))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        self.inner.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        self.inner.codec()
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        Ok(self.party(self.inner.restore(state, rng)?))
    }
}

impl Lenient {
    fn party(&self, inner: Box<dyn Party>) -> Box<dyn Party> {
        Box::new(LenientParty {
            inner,
            op: self.op,
            sent: Arc::clone(&self.sent),
            codec: self.inner.codec(),
        })
    }
}

struct LenientParty {
    inner: Box<dyn Party>,
    op: Op,
    sent: Arc<Mutex<Sent>>,
    codec: Option<&'static dyn Codec>,
}

impl Party for LenientParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let wire = self.inner.encrypt(ad, plaintext)?;
        self.sent.lock().unwrap().messages.push(wire.clone());
        Ok(wire)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let genuine = {
            let sent = self.sent.lock().unwrap();
            match self.codec {
                Some(codec) if !sent.messages.iter().any(|m| m == wire) => {
                    let donors: Vec<Message> = sent
                        .messages
                        .iter()
                        .filter_map(|m| codec.message(m).ok())
                        .collect();
                    undone(self.op, wire, &sent.messages, &donors, codec, &|m| {
                        codec.message(m).ok()
                    })
                }
                _ => None,
            }
        };
        self.inner.decrypt(ad, genuine.as_deref().unwrap_or(wire))
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        self.inner.handshake()
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        self.inner.export_state()
    }

    fn work(&self) -> Option<Work> {
        self.inner.work()
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.inner.join(handshake)
    }
}

/// Schedules that put the operator's change where a peer must refuse it: on a normal
/// message after a full turn (a new ratchet key, an earlier one to take, the receiver's own
/// to reflect), on the first (pre-key) message, and on the bundle.
fn schedules(sel: FieldSel, op: Op) -> Vec<String> {
    vec![
        format!("send A 7; send A 9; deliver m0; send B 11; deliver m2; send A 13; mutate m3 {sel} {op}"),
        format!("send A 7; mutate m0 {sel} {op}"),
        format!("bundle {sel} {op}; send A 7; deliver m0"),
    ]
}

/// A new instance of the bundled peer `name`.
fn fresh(name: &str) -> Box<dyn Peer> {
    peers::bundled()
        .into_iter()
        .find(|p| p.info().name == name)
        .unwrap()
}

/// The signatures of `peer`'s findings in `scenario` that name `op`'s change.
fn naming(peer: &dyn Peer, scenario: &Scenario, op: Op) -> BTreeSet<String> {
    let (_, findings) = campaign::check_scenario(&[peer], scenario, 7);
    let change = format!("/{}", op.name());
    findings
        .into_iter()
        .filter(|f| f.signature.contains(&change))
        .map(|f| f.signature)
        .collect()
}

/// The pinned regression case that the non-canonical key operator found in vodozemac's Olm
/// (vectors/regressions/scenarios.txt, case vodozemac-olm-non-canonical-one-time-key).
const NON_CANONICAL_CASE: &str =
    "send A 0; send A 0; mutate m1 x25519-key.0 non-canonical; deliver m0";

/// For `op`, the first real peer, field and schedule where the peer itself is not flagged
/// for the operator and its lenient wrapper is: the line of the snapshot, or why none.
///
/// The non-canonical key operator is the exception: its change is the same key in its second
/// encoding (RFC 7748 §5 has X25519 mask the top bit), so a reader that takes it as the
/// genuine key is right, not weak, and the oracle allows it. What the operator catches is a
/// reader that takes the second encoding as another key; it caught one in vodozemac's Olm
/// (and in five Signal implementations through shims), so its line is that real peer's
/// finding on the pinned case, beside the reference, which is not flagged.
fn caught(op: Op) -> String {
    if op == Op::NonCanonical {
        let scenario: Scenario = NON_CANONICAL_CASE.parse().unwrap();
        let reference = fresh("reference-olm");
        assert!(naming(reference.as_ref(), &scenario, op).is_empty());
        let found = campaign::check_scenario(&[fresh("vodozemac-olm").as_ref()], &scenario, 1).1;
        return match found.first() {
            Some(f) => format!(
                "{:<16} {} (the real peer: the second encoding taken as another key)\n    {NON_CANONICAL_CASE}",
                op.name(),
                f.signature
            ),
            None => format!("{:<16} NOT CAUGHT: the pinned case shows nothing", op.name()),
        };
    }
    let real: Vec<Box<dyn Peer>> = peers::bundled()
        .into_iter()
        .filter(|p| !p.info().name.starts_with("reference") && p.codec().is_some())
        .collect();
    for peer in &real {
        let name = peer.info().name;
        for &kind in op.kinds() {
            for nth in 0..2 {
                let sel = FieldSel { kind, nth };
                for text in schedules(sel, op) {
                    let scenario: Scenario = text.parse().unwrap();
                    if !naming(peer.as_ref(), &scenario, op).is_empty() {
                        continue;
                    }
                    let lenient = Lenient::new(fresh(&name), op);
                    let found = naming(&lenient, &scenario, op);
                    if let Some(signature) = found.into_iter().next() {
                        return format!("{:<16} {signature}\n    {text}", op.name());
                    }
                }
            }
        }
    }
    format!("{:<16} NOT CAUGHT on any real peer", op.name())
}

#[test]
fn every_operator_catches_a_real_peer_made_lenient_to_it() {
    let lines: Vec<String> = Op::ALL.into_iter().map(caught).collect();
    let missed: Vec<&String> = lines.iter().filter(|l| l.contains("NOT CAUGHT")).collect();
    assert!(
        missed.is_empty(),
        "operators that caught no lenient peer: {missed:#?}"
    );
    insta::assert_snapshot!(lines.join("\n"));
}

/// A bit flip that only sets the unused top bit of an X25519 key writes the same key in its
/// second encoding (RFC 7748 §5): the step is named `FIELD/non-canonical`, a change a
/// receiver may take, as the `non-canonical` operator's is; a flip of the key's lowest bit is
/// a `FIELD/bit-flip` that must be refused. On the Olm reference (keys of 32 bytes) and the
/// signal-v3 reference (keys behind their type byte).
#[test]
fn a_bit_flip_of_a_key_s_top_bit_is_the_non_canonical_change() {
    use ratchet_bench::codec::{Body, FieldKind};
    use ratchet_bench::oracle::{Verdict, Why};
    use ratchet_bench::scenario::{execute, Outcome, Setup};

    for name in ["reference-olm", "reference-signal-v3"] {
        let peer = peers::bundled()
            .into_iter()
            .find(|p| p.info().name == name)
            .unwrap();
        let run = |text: &str| {
            let scenario: Scenario = text.parse().unwrap();
            execute(peer.as_ref(), &scenario, Setup::seeded(5)).records
        };
        let sent = run("send A 0");
        let Outcome::Sent(wire) = &sent[0].outcome else {
            panic!("{name}: {:?}", sent[0].outcome)
        };
        let parsed = peer.codec().unwrap().message(wire).unwrap();
        // The first key's bytes (a protobuf field holds them in a node of its own).
        let (key, bytes) = parsed
            .walk()
            .into_iter()
            .find_map(|(_, n)| match &n.body {
                Body::Bytes(b) if n.kind == FieldKind::X25519Key => Some((n, b)),
                _ => None,
            })
            .unwrap();
        // The u-coordinate: the key's last 32 bytes (after a type byte, if any).
        let u = &bytes[bytes.len() - 32..];
        let at = wire.windows(32).position(|w| w == u).unwrap();
        let header = peer.layout(wire).header;
        assert!(
            header.contains(&(at + 31)),
            "{name}: the key lies in the header"
        );
        let bit = |byte: usize, b: usize| (byte - header.start) * 8 + b;
        for (flipped, cause, verdict) in [
            (bit(at + 31, 7), "non-canonical", Verdict::May(Why::Benign)),
            (bit(at, 0), "bit-flip", Verdict::MustReject(Why::Forged)),
        ] {
            let records = run(&format!("send A 0; tamper m0 header {flipped}"));
            let r = &records[1];
            assert_eq!(
                r.cause,
                Some(format!("{}/{cause}", key.name).as_str()),
                "{name}: bit {flipped}"
            );
            assert_eq!(r.verdict, verdict, "{name}: bit {flipped}");
        }
    }
}
