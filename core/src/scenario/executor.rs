//! Runs a scenario on one peer and records what happened, step by step, beside the
//! oracle's ruling on each input.
//!
//! The executor owns the network: the messages sent, which are pending, the copies an
//! attacker makes. Every call into the peer runs under a panic guard, so a peer that panics
//! produces a record, never a crashed run.

use super::{MsgId, Region, Scenario, Side, Step};
use crate::codec::ops::{self, Donors, FieldSel, Op};
use crate::codec::Message as Parsed;
use crate::codec::{Body, FieldKind};
use crate::guard::{guarded_call, watch, within_deadline, Stopped};
use crate::oracle::chains::Position;
use crate::oracle::security::{key_value, Attacker, Probe};
use crate::oracle::{ChainModel, Verdict, Why};
use crate::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit};
use crate::rng;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, OnceLock};

/// Where the plaintexts of sends come from.
pub enum Plaintexts {
    /// Drawn from a seeded stream, in send order.
    Stream(Box<ChaCha20Rng>),
    /// Taken from a vector file, in send order.
    Listed(VecDeque<Vec<u8>>),
}

impl Plaintexts {
    fn next(&mut self, len: usize) -> Vec<u8> {
        match self {
            Plaintexts::Stream(rng) => {
                let mut pt = vec![0u8; len];
                rng.fill_bytes(&mut pt);
                pt
            }
            Plaintexts::Listed(list) => list.pop_front().unwrap_or_default(),
        }
    }
}

/// Hex of at most the first `max` bytes, with the length when cut, for messages that show
/// bytes without flooding a terminal.
pub fn hex_preview(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        hex::encode(bytes)
    } else {
        format!("{}... ({} bytes)", hex::encode(&bytes[..max]), bytes.len())
    }
}

/// How many messages a jump loses before `past` is added, on a receiver that declares
/// `max_skip`: `max_skip` itself, or `UNBOUNDED_JUMP` where no scenario could reach it.
pub fn jump_base(max_skip: u32) -> u32 {
    if max_skip > EFFECTIVELY_UNBOUNDED {
        UNBOUNDED_JUMP
    } else {
        max_skip
    }
}

/// The bundle fields that hold a one-time key in the families' codecs: Olm's one-time key,
/// the Signal Protocol's one-time pre-key. A [`Step::Second`] reuses them.
const ONE_TIME_KEY_FIELDS: [&str; 2] = ["one-time-key", "pre-key"];

/// The kind of a `fresh` step's record: a delivery to a fresh responder beside B, not to B.
const FRESH: &str = "fresh";

/// Everything a session starts from besides the scenario.
pub struct Setup {
    /// The shared secret both parties start from.
    pub init: SessionInit,
    /// A's randomness.
    pub rng_a: BoxRng,
    /// B's randomness.
    pub rng_b: BoxRng,
    /// The plaintexts of the sends.
    pub plaintexts: Plaintexts,
    /// The associated data of every message.
    pub ad: Vec<u8>,
    /// The seed of the second session `foreign` steps draw from, if there is one.
    pub foreign_seed: Option<u64>,
    /// The seed this session's inputs come from, if they come from one: a `fresh` step
    /// builds B again from it.
    pub seed: Option<u64>,
}

/// The associated data of every message in seeded sessions.
pub const SESSION_AD: &[u8] = b"ratchet-bench session ad";

/// How many messages a jump loses on a peer whose forward limit is larger (Megolm has
/// none): far enough to move a Megolm ratchet's R2 twice (R3 wraps every 2^8 indices), few
/// enough that a jump's signed messages stay cheap.
pub const UNBOUNDED_JUMP: u32 = 600;

/// A forward limit above this is one no scenario can reach by sending (Megolm's: none in
/// vodozemac and the reference, 2^31 - 2 in libolm); such peers jump [`UNBOUNDED_JUMP`].
pub const EFFECTIVELY_UNBOUNDED: u32 = 1 << 24;

impl Setup {
    /// The session inputs of `seed`: key, randomness and plaintexts each from their own
    /// stream.
    pub fn seeded(seed: u64) -> Setup {
        let mut shared_secret = [0u8; 32];
        rng::stream(seed, "shared secret").fill_bytes(&mut shared_secret);
        Setup {
            init: SessionInit { shared_secret },
            rng_a: Box::new(rng::stream(seed, "party A")),
            rng_b: Box::new(rng::stream(seed, "party B")),
            plaintexts: Plaintexts::Stream(Box::new(rng::stream(seed, "plaintexts"))),
            ad: SESSION_AD.to_vec(),
            foreign_seed: Some(seed ^ 0x666f_7265_6967_6e00),
            seed: Some(seed),
        }
    }
}

/// What a delivered input was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// A message as sent (for the first time or again).
    Genuine,
    /// Bytes or associated data no party produced.
    Forged,
    /// A message of another session.
    Foreign,
}

/// What the peer did with one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "data", rename_all = "kebab-case")]
pub enum Outcome {
    /// A send produced these wire bytes.
    Sent(#[serde(with = "hex::serde")] Vec<u8>),
    /// A delivery decrypted to this plaintext.
    Accepted(#[serde(with = "hex::serde")] Vec<u8>),
    /// The peer refused the input.
    Rejected(Reject),
    /// The peer panicked; the panic's text.
    Panicked(String),
    /// The call outlasted the per-call budget ([`crate::guard::call_budget`]) and was
    /// abandoned; the party is dead after it.
    Hung {
        /// The party method that hung (`encrypt`, `decrypt`, ...).
        call: String,
        /// What happened.
        detail: String,
    },
    /// The input could not be made (a message whose send failed); why.
    Skipped(String),
}

impl Outcome {
    /// The outcome's kind: sent, accepted, rejected, panic or skipped.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Sent(_) => "sent",
            Outcome::Accepted(_) => "accepted",
            Outcome::Rejected(_) => "rejected",
            Outcome::Panicked(_) => "panic",
            Outcome::Hung { .. } => "hang",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// A short label: the kind, with the reject class for a rejection.
    pub fn label(&self) -> String {
        match self {
            Outcome::Rejected(r) => format!("rejected:{}", r.class),
            other => other.kind().into(),
        }
    }

    /// The wire bytes of a send or the plaintext of an accepted delivery.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Outcome::Sent(b) | Outcome::Accepted(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the input went through (a send produced bytes, a delivery decrypted).
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Sent(_) | Outcome::Accepted(_))
    }
}

/// One input to one party and what came of it.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Index of the scenario step.
    pub step: usize,
    /// The step's kind (a `deliver-all` records one `deliver` per message).
    pub kind: &'static str,
    /// The party acting: the sender of a send, the receiver of a delivery.
    pub party: Side,
    /// The message sent or copied, if any.
    pub msg: Option<MsgId>,
    /// For deliveries, what the input was.
    pub delivery: Option<Delivery>,
    /// The input: the plaintext of a send, the bytes of a delivery.
    #[serde(with = "hex::serde")]
    pub input: Vec<u8>,
    /// For genuine deliveries, the plaintext that was sent.
    pub expected: Option<Vec<u8>>,
    /// The oracle's ruling.
    pub verdict: Verdict,
    /// What the peer did.
    pub outcome: Outcome,
    /// For a step that changes a message or a bundle with an operator (`mutate`, `bundle`),
    /// the operator's name: the campaign counts each operator's uses and what they found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<&'static str>,
    /// For a changed copy whose change the family's codec names, the field and the change
    /// (`ratchet-key/low-order`, `counter/bit-flip`, `bundle/signature/s-plus-l`): finding
    /// signatures name the cause with it instead of the step's kind, so that one signature
    /// is one cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    /// For a sent message of a family whose senders write one message in several encodings,
    /// its comparison form where that differs from the wire bytes
    /// ([`crate::codec::comparison_form`]): byte comparisons between peers use it. For a
    /// changed copy of a message, the comparison form of the changed bytes: two peers were
    /// handed the same forgery when these (else their inputs) agree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared: Option<Vec<u8>>,
}

impl Record {
    /// What a finding at this record is named after: its cause, else the step's kind.
    pub fn what(&self) -> &'static str {
        self.cause.unwrap_or(self.kind)
    }

    /// The bytes byte comparisons take: a sent message's comparison form where it has one,
    /// else the outcome's bytes.
    pub fn compared_bytes(&self) -> Option<&[u8]> {
        match self.delivery {
            Some(_) => self.outcome.bytes(),
            None => self.compared.as_deref().or(self.outcome.bytes()),
        }
    }

    /// The input as peers' inputs compare: its comparison form where it has one.
    pub fn compared_input(&self) -> &[u8] {
        match self.delivery {
            Some(_) => self.compared.as_deref().unwrap_or(&self.input),
            None => &self.input,
        }
    }
}

/// What a peer did over a whole scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Transcript {
    /// The peer's self-description.
    pub peer: PeerInfo,
    /// Why the session could not be set up, if it could not.
    pub setup_failure: Option<Outcome>,
    /// Every input, in order.
    pub records: Vec<Record>,
    /// SHA-256 over every wire message sent, the lost ones of jumps included, each in its
    /// comparison form where its family compares one.
    #[serde(with = "hex::serde")]
    pub sent_digest: [u8; 32],
    /// What the security oracles' attacker did beside the session: its notes (a compromise
    /// and what it checked, or why it could not) and any breach, judged by
    /// [`crate::oracle::security::findings`]. Kept apart from `records` so that peers with
    /// and without state export still line up step by step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Probe>,
}

struct Message {
    from: Side,
    plaintext: Vec<u8>,
    wire: Option<Vec<u8>>,
    position: Option<Position>,
    /// The session it was sent in: 0 for the scenario's own, then one per `renew` step.
    session: usize,
}

struct Foreign {
    alice: Box<dyn Party>,
    sent: Vec<Vec<u8>>,
}

struct Run<'p> {
    peer: &'p dyn Peer,
    info: PeerInfo,
    parties: [Box<dyn Party>; 2],
    /// What the responder published (its ratchet key, for signal-dr).
    bundle: Vec<u8>,
    /// The oracle's model of each session: the scenario's own, then one per `renew` step.
    sessions: Vec<ChainModel>,
    /// The session each side sends on (`[A, B]`): the session of the last message it
    /// accepted, or the one it last started.
    sending: [usize; 2],
    plaintexts: Plaintexts,
    ad: Vec<u8>,
    foreign_seed: Option<u64>,
    foreign: Option<Result<Foreign, String>>,
    /// The seed B was built from, for a fresh responder.
    seed: Option<u64>,
    /// B's state as it was right after it published its bundle, where the scenario has a
    /// `fresh` step and the peer can export a party's state: the fresh responder's backup.
    backup: Option<Vec<u8>>,
    messages: Vec<Message>,
    pending: Vec<MsgId>,
    records: Vec<Record>,
    digest: Sha256,
    attacker: Attacker,
    /// The record of the scenario's bundle change, kept until its step comes.
    bundle_record: Option<Record>,
    /// Set once the session started from a changed bundle the initiator took: the oracle no
    /// longer models it (its keys may not be the responder's), so every later ruling is
    /// `May`.
    unmodelled: bool,
}

fn call(f: impl FnOnce() -> Result<Vec<u8>, Reject>, ok: fn(Vec<u8>) -> Outcome) -> Outcome {
    match guarded_call(f) {
        Ok(Ok(bytes)) => ok(bytes),
        Ok(Err(reject)) => Outcome::Rejected(reject),
        Err(stopped) => stopped_outcome(stopped),
    }
}

/// A call that gave no result: its panic, its hang, or (a party that hung earlier) skipped.
fn stopped_outcome(stopped: Stopped) -> Outcome {
    match stopped {
        Stopped::Panicked(text) => Outcome::Panicked(text),
        Stopped::Hung { call, .. } => Outcome::Hung {
            call: call.into(),
            detail: stopped.to_string(),
        },
        other => Outcome::Skipped(other.to_string()),
    }
}

/// Both parties of a new session, `[A, B]`, and what the responder published.
type Established = ([Box<dyn Party>; 2], Vec<u8>);

/// A scenario's bundle change: its step, the field and the operator.
type BundleChange = (usize, FieldSel, Op);

/// How a session with a bundle change went: set up (the change's record, if it was
/// applied or skipped), or refused by the initiator (the change's record).
enum Started {
    Session(Established, Option<Record>),
    Refused(Record),
}

/// `s` as a `&'static str`, stored once: record kinds name fields and operators, a small
/// set of strings per run.
fn intern(s: String) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    let Ok(mut seen) = seen.lock() else {
        return "mutate";
    };
    if let Some(known) = seen.get(s.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(s.into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// The record of a bundle change at `step`: applied (`bytes` given to the initiator, the
/// change named `cause`, with `outcome`), or skipped.
fn bundle_record(
    step: usize,
    cause: Option<&'static str>,
    op: Op,
    bytes: Vec<u8>,
    verdict: Verdict,
    outcome: Outcome,
) -> Record {
    Record {
        step,
        kind: "bundle",
        party: Side::A,
        msg: None,
        delivery: Some(Delivery::Forged),
        input: bytes,
        expected: None,
        verdict,
        outcome,
        op: Some(op.name()),
        cause,
        compared: None,
    }
}

/// The changed bundle for `change`, its record kind and the oracle's ruling; or why the
/// change does not apply.
fn changed_bundle(
    peer: &dyn Peer,
    family: &crate::peer::FamilySpec,
    bundle: &[u8],
    field: FieldSel,
    op: Op,
) -> Result<(Vec<u8>, &'static str, Verdict), String> {
    let codec = peer
        .codec()
        .ok_or("this peer names no codec for its family's bundles")?;
    let parsed = codec
        .bundle(bundle)
        .ok_or("the family's bundle has no fields to change")?
        .map_err(|e| e.to_string())?;
    let (bytes, applied) = ops::apply(&parsed, field, op, codec, &Donors::default())?;
    let verdict = match family.benign(&applied.field, &applied.change) {
        Some(_) => Verdict::May(Why::Benign),
        // What a correct initiator can tell: a key of low order (RFC 7748 §6.1's all-zero
        // check) and a signature that does not verify. Any other field of a bundle is the
        // key server's to choose as far as the initiator can see (a substituted key, an id):
        // taking it is no fault, but the session is then not the one the oracle models.
        None if matches!(
            op,
            Op::LowOrder(_) | Op::SPlusL | Op::SZero | Op::SmallOrderR(_) | Op::ZeroSignature
        ) =>
        {
            Verdict::MustReject(Why::Forged)
        }
        None => Verdict::May(Why::Unmodelled),
    };
    Ok((
        bytes,
        intern(format!("bundle/{}/{}", applied.field, applied.change)),
        verdict,
    ))
}

fn establish(
    peer: &dyn Peer,
    name: &str,
    init: &SessionInit,
    rng_a: BoxRng,
    rng_b: BoxRng,
    change: Option<BundleChange>,
) -> Result<Started, Outcome> {
    // Each party's calls run within the per-call budget from here on (the peer's own
    // respond and initiate run on this thread, the peer being borrowed, not owned: under
    // the watchdog in fuzz targets, without a budget elsewhere).
    match guarded_call(|| -> Result<Started, Reject> {
        let (b, bundle) = within_deadline(name, "respond", || peer.respond(init, rng_b))?;
        let mut b = watch(b, name);
        let mut record = None;
        let mut given = None;
        if let Some((step, field, op)) = change {
            match changed_bundle(peer, peer.info().family.spec(), &bundle, field, op) {
                Ok((bytes, kind, verdict)) => given = Some((step, op, bytes, kind, verdict)),
                Err(why) => {
                    record = Some(bundle_record(
                        step,
                        None,
                        op,
                        Vec::new(),
                        Verdict::May(Why::Unmodelled),
                        Outcome::Skipped(why),
                    ));
                }
            }
        }
        let offered = given.as_ref().map_or(bundle.as_slice(), |g| g.2.as_slice());
        let a = match within_deadline(name, "initiate", || peer.initiate(init, offered, rng_a)) {
            Ok(a) => a,
            Err(reject) => {
                return match given {
                    Some((step, op, bytes, kind, verdict)) => Ok(Started::Refused(bundle_record(
                        step,
                        Some(kind),
                        op,
                        bytes,
                        verdict,
                        Outcome::Rejected(reject),
                    ))),
                    None => Err(reject),
                }
            }
        };
        if let Some((step, op, bytes, kind, verdict)) = given {
            record = Some(bundle_record(
                step,
                Some(kind),
                op,
                bytes,
                verdict,
                Outcome::Accepted(Vec::new()),
            ));
        }
        let mut a = watch(a, name);
        if let Some(handshake) = a.handshake()? {
            b.join(&handshake)?;
        }
        Ok(Started::Session(([a, b], bundle), record))
    }) {
        Ok(Ok(started)) => Ok(started),
        Ok(Err(reject)) => Err(Outcome::Rejected(reject)),
        Err(stopped) => Err(stopped_outcome(stopped)),
    }
}

/// Runs `scenario` on a fresh session of `peer` built from `setup`.
pub fn execute(peer: &dyn Peer, scenario: &Scenario, setup: Setup) -> Transcript {
    let info = peer.info();
    let change = scenario
        .steps
        .iter()
        .enumerate()
        .find_map(|(i, s)| match s {
            Step::Bundle { field, op } => Some((i, *field, *op)),
            _ => None,
        });
    let started = establish(
        peer,
        &info.name,
        &setup.init,
        setup.rng_a,
        setup.rng_b,
        change,
    );
    let (parties, bundle, bundle_record) = match started {
        Ok(Started::Session((parties, bundle), record)) => (parties, bundle, record),
        // The initiator refused the changed bundle: no session, the scenario ends there.
        Ok(Started::Refused(record)) => {
            return Transcript {
                peer: info,
                setup_failure: None,
                records: vec![record],
                sent_digest: Sha256::digest(b"").into(),
                probes: Vec::new(),
            }
        }
        Err(failure) => {
            return Transcript {
                peer: info,
                setup_failure: Some(failure),
                records: Vec::new(),
                sent_digest: Sha256::digest(b"").into(),
                probes: Vec::new(),
            }
        }
    };
    // A changed bundle the initiator took leaves keys the oracle does not model, unless
    // the family declares the change benign.
    let unmodelled = bundle_record.as_ref().is_some_and(|r| {
        matches!(r.outcome, Outcome::Accepted(_)) && r.verdict != Verdict::May(Why::Benign)
    });
    let attacker = Attacker::new(
        info.family,
        info.limits,
        info.capabilities.export_state,
        setup.ad.clone(),
    );
    let mut run = Run {
        peer,
        attacker,
        sessions: vec![ChainModel::new(info.limits, info.family)],
        sending: [0, 0],
        info,
        parties,
        bundle,
        plaintexts: setup.plaintexts,
        ad: setup.ad,
        foreign_seed: setup.foreign_seed,
        foreign: None,
        seed: setup.seed,
        backup: None,
        messages: Vec::new(),
        pending: Vec::new(),
        records: Vec::with_capacity(scenario.steps.len() + 8),
        digest: Sha256::new(),
        bundle_record,
        unmodelled,
    };
    if run.info.capabilities.export_state
        && scenario
            .steps
            .iter()
            .any(|s| matches!(s, Step::Fresh { .. }))
    {
        let b = &run.parties[Side::B.index()];
        run.backup = guarded_call(|| b.export_state()).ok().and_then(Result::ok);
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        run.step(i, step);
    }
    Transcript {
        peer: run.info,
        setup_failure: None,
        records: run.records,
        sent_digest: run.digest.finalize().into(),
        probes: run.attacker.into_probes(),
    }
}

/// Flips bit `bit` (modulo the range's size; the whole message if the range is empty) of
/// `bytes` within `range`; the byte flipped, if any.
fn flip(bytes: &mut [u8], range: std::ops::Range<usize>, bit: u32) -> Option<usize> {
    let range = if range.is_empty() {
        0..bytes.len()
    } else {
        range
    };
    let bits = range.len() * 8;
    if bits == 0 {
        return None;
    }
    let b = bit as usize % bits;
    let at = range.start + b / 8;
    bytes[at] ^= 1 << (b % 8);
    Some(at)
}

impl Run<'_> {
    fn step(&mut self, i: usize, step: &Step) {
        match step {
            Step::Send { from, len } => {
                let pt = self.plaintexts.next(usize::from(*len));
                self.send(i, "send", *from, pt);
            }
            Step::Deliver { msg } | Step::Replay { msg } => self.deliver(i, step.kind(), *msg),
            Step::Drop { msg } => self.pending.retain(|m| m != msg),
            Step::DeliverAll => {
                for msg in std::mem::take(&mut self.pending) {
                    self.deliver(i, "deliver", msg);
                }
            }
            Step::Tamper { msg, region, bit } => {
                let Some((to, mut wire)) = self.copy(i, step.kind(), *msg) else {
                    return;
                };
                let mut ad = self.ad.clone();
                let mut cause = None;
                let mut verdict = Verdict::MustReject(Why::Forged);
                if *region == Region::Ad {
                    let all = 0..ad.len();
                    flip(&mut ad, all, *bit);
                } else {
                    let layout = self.peer.layout(&wire);
                    let range = match region {
                        Region::Header => layout.header,
                        Region::Body => layout.body,
                        _ => layout.mac,
                    };
                    let range = range.start.min(wire.len())..range.end.min(wire.len());
                    let original = wire.clone();
                    if let Some(at) = flip(&mut wire, range, *bit) {
                        // Named by the field the bit lands in, where the family has a codec:
                        // one signature per cause, not per region. A flip that only re-encoded
                        // an X25519 key (its top bit) is the non-canonical change, which a
                        // receiver may take or refuse (RFC 7748 §5), as `mutate ...
                        // non-canonical` makes it.
                        if let Some((field, same_key)) = self.flipped_field(&original, &wire, at) {
                            let change = if same_key {
                                verdict = Verdict::May(Why::Benign);
                                "non-canonical"
                            } else {
                                "bit-flip"
                            };
                            cause = Some(intern(format!("{field}/{change}")));
                        }
                    }
                }
                self.forged_as(
                    i,
                    step.kind(),
                    to,
                    Some(*msg),
                    wire,
                    ad,
                    Delivery::Forged,
                    verdict,
                    None,
                    cause,
                );
            }
            Step::Rekey { msg } => {
                let Some((to, mut wire)) = self.copy(i, step.kind(), *msg) else {
                    return;
                };
                let key = self.peer.layout(&wire).ratchet_key;
                match key.filter(|k| k.len() == self.bundle.len() && k.end <= wire.len()) {
                    Some(k) => {
                        wire[k].copy_from_slice(&self.bundle);
                        let ad = self.ad.clone();
                        self.forged(i, step.kind(), to, Some(*msg), wire, ad, Delivery::Forged);
                    }
                    None => self.skipped(
                        i,
                        step.kind(),
                        to,
                        Some(*msg),
                        "the peer's layout names no ratchet key the size of its bundle".into(),
                    ),
                }
            }
            Step::Truncate { msg, keep } => {
                let Some((to, mut wire)) = self.copy(i, step.kind(), *msg) else {
                    return;
                };
                wire.truncate(*keep as usize % wire.len().max(1));
                let ad = self.ad.clone();
                self.forged(i, step.kind(), to, Some(*msg), wire, ad, Delivery::Forged);
            }
            Step::Extend { msg, bytes } => {
                let Some((to, mut wire)) = self.copy(i, step.kind(), *msg) else {
                    return;
                };
                let original = wire.len();
                wire.extend_from_slice(bytes);
                // Bytes that parse as unknown fields appended to a message are the
                // append-unknown change, named like it.
                let cause = self
                    .peer
                    .codec()
                    .and_then(|c| c.message(&wire).ok())
                    .and_then(|m| m.appended_unknown(original).map(|s| s.to_string()))
                    .map(|name| intern(format!("{name}/append-unknown")));
                let ad = self.ad.clone();
                let verdict = match cause {
                    Some(c) if self.benign_cause(c) => Verdict::May(Why::Benign),
                    _ => Verdict::MustReject(Why::Forged),
                };
                self.forged_as(
                    i,
                    step.kind(),
                    to,
                    Some(*msg),
                    wire,
                    ad,
                    Delivery::Forged,
                    verdict,
                    None,
                    cause,
                );
            }
            Step::Inject { to, bytes } => {
                let ad = self.ad.clone();
                self.forged(
                    i,
                    step.kind(),
                    *to,
                    None,
                    bytes.clone(),
                    ad,
                    Delivery::Forged,
                );
            }
            Step::Foreign { to, index } => match self.foreign_message(usize::from(*index)) {
                Ok(wire) => {
                    let ad = self.ad.clone();
                    self.forged(i, step.kind(), *to, None, wire, ad, Delivery::Foreign);
                }
                Err(why) => self.skipped(i, step.kind(), *to, None, why),
            },
            Step::Jump { from, past } => self.jump(i, *from, *past),
            Step::Mutate { msg, field, op } => {
                let Some((to, wire)) = self.copy(i, step.kind(), *msg) else {
                    return;
                };
                match self.mutated(*msg, to, &wire, *field, *op) {
                    Ok((bytes, applied)) => {
                        let benign = self
                            .info
                            .family
                            .spec()
                            .benign(&applied.field, &applied.change);
                        let verdict = match benign {
                            Some(_) => Verdict::May(Why::Benign),
                            // RFC 7748 §5 asks X25519 to mask the top bit and take u >= p
                            // reduced: the same key in another encoding, which a receiver
                            // may take or refuse.
                            None if matches!(op, Op::NonCanonical) => Verdict::May(Why::Benign),
                            None => Verdict::MustReject(Why::Forged),
                        };
                        let cause = intern(format!("{}/{}", applied.field, applied.change));
                        let ad = self.ad.clone();
                        self.forged_as(
                            i,
                            step.kind(),
                            to,
                            Some(*msg),
                            bytes,
                            ad,
                            Delivery::Forged,
                            verdict,
                            Some(op.name()),
                            Some(cause),
                        );
                    }
                    Err(why) => self.skipped_op(i, "mutate", to, Some(*msg), why, Some(op.name())),
                }
            }
            Step::Bundle { op, .. } => match self.bundle_record.take() {
                Some(record) if record.step == i => self.push(record),
                other => {
                    self.bundle_record = other;
                    self.skipped_op(
                        i,
                        "bundle",
                        Side::A,
                        None,
                        "one bundle change per scenario: the first applies".into(),
                        Some(op.name()),
                    );
                }
            },
            Step::Compromise { side } => {
                let party = &self.parties[side.index()];
                self.attacker
                    .on_compromise(self.peer, i, *side, party.as_ref());
            }
            Step::Second => self.second(i),
            Step::Fresh { msg } => self.fresh(i, *msg),
            Step::Renew { side } => self.renew(i, *side),
        }
    }

    /// A second initiator from the responder's published bundle (with its one-time key),
    /// its first message delivered to B: see [`Step::Second`]. B must refuse it as a message
    /// of another session, whose one-time key A's session has used up.
    fn second(&mut self, i: usize) {
        const KIND: &str = "second";
        if let Err(why) = self.one_time_key() {
            return self.skipped(i, KIND, Side::B, None, why);
        }
        // The session's B: a fresh responder beside it (`fresh`) took the message into a
        // copy of B's state of its own, and B's one-time key is still unused.
        let heard = self.records.iter().any(|r| {
            r.party == Side::B
                && r.kind != FRESH
                && r.delivery == Some(Delivery::Genuine)
                && matches!(r.outcome, Outcome::Accepted(_))
        });
        if !heard {
            let why = "B has accepted no message of A yet: the one-time key is not used up";
            return self.skipped(i, KIND, Side::B, None, why.into());
        }
        let Some(seed) = self.foreign_seed else {
            let why = "this setup has no seed for a second initiator";
            return self.skipped(i, KIND, Side::B, None, why.into());
        };
        let init = Setup::seeded(seed).init;
        let rng: BoxRng = Box::new(rng::stream(seed, "second initiator"));
        let (peer, name, bundle) = (self.peer, self.info.name.clone(), self.bundle.clone());
        let started = guarded_call(|| {
            within_deadline(&name, "initiate", || peer.initiate(&init, &bundle, rng))
        });
        let mut second = match started {
            Ok(Ok(party)) => watch(party, &name),
            Ok(Err(reject)) => {
                let why = format!("the second initiator could not start from the bundle: {reject}");
                return self.skipped(i, KIND, Side::B, None, why);
            }
            Err(stopped) => {
                let why = format!("the second initiator could not start: {stopped}");
                return self.skipped(i, KIND, Side::B, None, why);
            }
        };
        let ad = self.ad.clone();
        let wire = match call(|| second.encrypt(&ad, &[0x5c; 16]), Outcome::Sent) {
            Outcome::Sent(wire) => wire,
            other => {
                let why = format!(
                    "the second initiator's first send failed: {}",
                    other.label()
                );
                return self.skipped(i, KIND, Side::B, None, why);
            }
        };
        let verdict = Verdict::MustReject(Why::Foreign);
        self.forged_as(
            i,
            KIND,
            Side::B,
            None,
            wire,
            ad,
            Delivery::Foreign,
            verdict,
            None,
            None,
        );
    }

    /// Message `id` of A delivered to a fresh responder, B built again from the session's
    /// seed: see [`Step::Fresh`]. The session's own parties are left as they are.
    fn fresh(&mut self, i: usize, id: MsgId) {
        const KIND: &str = FRESH;
        let Some(m) = self.messages.get(id.0 as usize) else {
            return self.skipped(i, KIND, Side::B, Some(id), format!("{id} was never sent"));
        };
        if m.from != Side::A {
            let why = format!("{id} is B's: only A's messages go to a responder");
            return self.skipped(i, KIND, Side::A, Some(id), why);
        }
        if !self.info.family.ratchets_per_turn() {
            let why = "the family has no set-up message: its receivers are given the \
                       session's secret out of band, so a fresh one reads what the session's \
                       does";
            return self.skipped(i, KIND, Side::B, Some(id), why.into());
        }
        let Some(wire) = m.wire.clone() else {
            let why = format!("the send of {id} failed");
            return self.skipped(i, KIND, Side::B, Some(id), why);
        };
        let (expected, position, session) = (m.plaintext.clone(), m.position, m.session);
        let mut fresh = match self.fresh_responder() {
            Ok(party) => party,
            Err(why) => return self.skipped(i, KIND, Side::B, Some(id), why),
        };
        // A's first chain is all a fresh responder can read, from its own position: nothing
        // accepted yet. A later chain needs the ratchet key of a reply it never made, so to
        // it the message belongs to a session it does not hold.
        let verdict = match position {
            // A session set up again after B published (`renew`) is one B's backup never
            // heard of.
            Some(_) if session != 0 => Verdict::MustReject(Why::Foreign),
            Some(p) if p.chain == 0 => {
                ChainModel::new(self.info.limits, self.info.family).judge(&p)
            }
            Some(_) => Verdict::MustReject(Why::Foreign),
            None => Verdict::May(Why::Unmodelled),
        };
        let outcome = call(|| fresh.decrypt(&self.ad, &wire), Outcome::Accepted);
        self.push_genuine(i, KIND, Side::B, id, wire, expected, verdict, outcome);
    }

    /// B as it was when it published its bundle: restored from its backup where the peer
    /// exports state, else built again from the session's seed (and then only if it
    /// publishes the same bundle, so that it is the session's B); or why there is none.
    fn fresh_responder(&self) -> Result<Box<dyn Party>, String> {
        let (peer, name) = (self.peer, self.info.name.clone());
        let seed = self.seed.unwrap_or_default();
        if let Some(state) = &self.backup {
            let rng: BoxRng = Box::new(rng::stream(seed, "fresh responder"));
            return match guarded_call(|| {
                within_deadline(&name, "restore", || peer.restore(state, rng))
            }) {
                Ok(Ok(party)) => Ok(watch(party, &name)),
                Ok(Err(reject)) => Err(format!("B's backup could not be restored: {reject}")),
                Err(stopped) => Err(format!("B's backup could not be restored: {stopped}")),
            };
        }
        let Some(seed) = self.seed else {
            return Err(
                "this setup has no seed to build B again from, and the peer exports \
                        no state to restore it from"
                    .into(),
            );
        };
        let init = Setup::seeded(seed).init;
        let rng: BoxRng = Box::new(rng::stream(seed, "party B"));
        match guarded_call(|| within_deadline(&name, "respond", || peer.respond(&init, rng))) {
            Ok(Ok((party, bundle))) if bundle == self.bundle => Ok(watch(party, &name)),
            Ok(Ok(_)) => Err(
                "B built again from the session's seed publishes another bundle \
                              (its set-up does not take the bench's randomness) and the peer \
                              exports no state to restore it from: there is no fresh B"
                    .into(),
            ),
            Ok(Err(reject)) => Err(format!("B could not be built again: {reject}")),
            Err(stopped) => Err(format!("B could not be built again: {stopped}")),
        }
    }

    /// Whether the responder's bundle carries a one-time key (a field the family's codec
    /// names [`ONE_TIME_KEY_FIELDS`]), or why a second initiator has none to reuse.
    fn one_time_key(&self) -> Result<(), String> {
        let codec = self
            .peer
            .codec()
            .ok_or("this peer names no codec: whether its bundle has a one-time key is unknown")?;
        let parsed = codec
            .bundle(&self.bundle)
            .ok_or("the family's bundle has no fields: no one-time key to reuse")?
            .map_err(|e| format!("the bundle does not parse: {e}"))?;
        if parsed
            .walk()
            .iter()
            .any(|(_, n)| ONE_TIME_KEY_FIELDS.contains(&n.name.as_str()))
        {
            Ok(())
        } else {
            Err(
                "the bundle carries no one-time key: a second initiator from it starts a \
                 session of its own, as the family allows"
                    .into(),
            )
        }
    }

    fn push(&mut self, record: Record) {
        self.records.push(record);
    }

    /// Whether the family declares the change `cause` (`field/change`) benign.
    fn benign_cause(&self, cause: &str) -> bool {
        cause
            .rsplit_once('/')
            .is_some_and(|(field, change)| self.info.family.spec().benign(field, change).is_some())
    }

    /// `verdict`, or `May` once the session started from a changed bundle the initiator took
    /// (the oracle models no such session).
    fn modelled(&self, verdict: Verdict) -> Verdict {
        if self.unmodelled {
            Verdict::May(Why::Unmodelled)
        } else {
            verdict
        }
    }

    /// The field of `original` that holds byte `at`, where `changed` differs from it, and
    /// whether the change only wrote an X25519 key in another encoding of the same key.
    fn flipped_field(
        &self,
        original: &[u8],
        changed: &[u8],
        at: usize,
    ) -> Option<(&'static str, bool)> {
        let parsed = self.peer.codec()?.message(original).ok()?;
        let (start, node) = parsed.node_at(at)?;
        let same_key = match &node.body {
            Body::Bytes(key) if node.kind == FieldKind::X25519Key => changed
                .get(start..start + key.len())
                .is_some_and(|new| key_value(new) == key_value(key)),
            _ => false,
        };
        Some((intern(node.name.clone()), same_key))
    }

    /// Message `id` (bytes `wire`, to `to`) with `op` applied to `field`, through the peer's
    /// codec, with the messages context-dependent operators take a field from.
    fn mutated(
        &mut self,
        id: MsgId,
        to: Side,
        wire: &[u8],
        field: FieldSel,
        op: Op,
    ) -> Result<(Vec<u8>, ops::Applied), String> {
        let codec = self
            .peer
            .codec()
            .ok_or("this peer names no codec for its family's messages")?;
        let parsed = codec.message(wire).map_err(|e| e.to_string())?;
        let parse = |w: &Vec<u8>| codec.message(w).ok();
        let sent_by = |side: Side, before: Option<u32>| -> Vec<Parsed> {
            self.messages
                .iter()
                .enumerate()
                .rev()
                .filter(|(n, m)| m.from == side && before.is_none_or(|b| (*n as u32) < b))
                .filter_map(|(_, m)| m.wire.as_ref().and_then(parse))
                .collect()
        };
        let receiver = match op {
            Op::Reflect => sent_by(to, None).into_iter().next(),
            _ => None,
        };
        let earlier = match op {
            Op::EarlierKey => sent_by(to.other(), Some(id.0)),
            _ => Vec::new(),
        };
        let foreign = match op {
            Op::ForeignKey => self.foreign_message(0).ok().and_then(|w| parse(&w)),
            _ => None,
        };
        let donors = Donors {
            receiver: receiver.as_ref(),
            earlier: earlier.iter().collect(),
            foreign: foreign.as_ref(),
        };
        ops::apply(&parsed, field, op, codec, &donors)
    }

    fn skipped(
        &mut self,
        i: usize,
        kind: &'static str,
        party: Side,
        msg: Option<MsgId>,
        why: String,
    ) {
        self.skipped_op(i, kind, party, msg, why, None);
    }

    fn skipped_op(
        &mut self,
        i: usize,
        kind: &'static str,
        party: Side,
        msg: Option<MsgId>,
        why: String,
        op: Option<&'static str>,
    ) {
        self.push(Record {
            step: i,
            kind,
            party,
            msg,
            delivery: None,
            input: Vec::new(),
            expected: None,
            verdict: Verdict::May(Why::Unmodelled),
            outcome: Outcome::Skipped(why),
            op,
            cause: None,
            compared: None,
        });
    }

    /// Encrypts `plaintext` as the next message of `from`; returns whether it was sent.
    fn send(&mut self, i: usize, kind: &'static str, from: Side, plaintext: Vec<u8>) -> bool {
        let session = self.sending[from.index()];
        let (verdict, position) = self.sessions[session].send(from);
        let ad = &self.ad;
        let party = &mut self.parties[from.index()];
        let outcome = call(|| party.encrypt(ad, &plaintext), Outcome::Sent);
        let id = MsgId(self.messages.len() as u32);
        let mut compared = None;
        let wire = match &outcome {
            Outcome::Sent(wire) => {
                compared = self.compared(wire);
                self.digest.update(compared.as_deref().unwrap_or(wire));
                self.pending.push(id);
                self.attacker.on_sent(self.peer, i, from, Some(id), wire);
                Some(wire.clone())
            }
            _ => None,
        };
        let sent = wire.is_some();
        self.messages.push(Message {
            from,
            plaintext: plaintext.clone(),
            wire,
            position: if sent { position } else { None },
            session,
        });
        self.push(Record {
            step: i,
            kind,
            party: from,
            msg: Some(id),
            delivery: None,
            input: plaintext,
            expected: None,
            verdict: self.modelled(verdict),
            outcome,
            op: None,
            cause: self.renewed(kind),
            compared,
        });
        sent
    }

    /// A sent message's comparison form, where its family compares one
    /// ([`crate::codec::comparison_form`]). Only the bytes of peers that take injected
    /// randomness are ever compared (with each other and with vectors): others skip it.
    fn compared(&self, wire: &[u8]) -> Option<Vec<u8>> {
        if !self.info.capabilities.injectable_rng {
            return None;
        }
        crate::codec::comparison_form(self.peer.codec(), self.info.family.spec(), wire)
    }

    /// Delivers message `id` as it was sent.
    fn deliver(&mut self, i: usize, kind: &'static str, id: MsgId) {
        self.pending.retain(|m| *m != id);
        let Some(m) = self.messages.get(id.0 as usize) else {
            return self.skipped(i, kind, Side::B, Some(id), format!("{id} was never sent"));
        };
        let to = m.from.other();
        let Some(wire) = m.wire.clone() else {
            return self.skipped(i, kind, to, Some(id), format!("the send of {id} failed"));
        };
        let session = m.session;
        let verdict = m.position.map_or(Verdict::May(Why::Unmodelled), |p| {
            self.sessions[session].judge(&p)
        });
        let expected = m.plaintext.clone();
        let position = m.position;
        let ad = &self.ad;
        let party = &mut self.parties[to.index()];
        let before = party.work();
        let outcome = call(|| party.decrypt(ad, &wire), Outcome::Accepted);
        let after = party.work();
        self.attacker.on_work(i, kind, to, Some(id), before, after);
        if let (Outcome::Accepted(_), Some(p)) = (&outcome, position) {
            self.accepted_in(session, to, &p);
        }
        if matches!(&outcome, Outcome::Accepted(pt) if *pt == expected) {
            let party = &self.parties[to.index()];
            self.attacker
                .on_accepted(self.peer, i, kind, to, party.as_ref(), id, &wire, &expected);
        }
        self.push_genuine(i, kind, to, id, wire, expected, verdict, outcome);
    }

    /// The record of genuine message `id` delivered to `to` (the session's party, or a fresh
    /// responder in its place), judged by `verdict` unless the session is unmodelled.
    #[allow(clippy::too_many_arguments)]
    fn push_genuine(
        &mut self,
        i: usize,
        kind: &'static str,
        to: Side,
        id: MsgId,
        wire: Vec<u8>,
        expected: Vec<u8>,
        verdict: Verdict,
        outcome: Outcome,
    ) {
        self.push(Record {
            step: i,
            kind,
            party: to,
            msg: Some(id),
            delivery: Some(Delivery::Genuine),
            input: wire,
            expected: Some(expected),
            verdict: self.modelled(verdict),
            outcome,
            op: None,
            cause: self.renewed(kind),
            compared: None,
        });
    }

    /// Once a `renew` has given the parties a second session, sends and genuine deliveries
    /// are named `renewed/KIND`: a finding there is one of a device holding several
    /// sessions (which one it sends on, what trying a message on each does), a cause apart
    /// from the same step's finding in a single session.
    fn renewed(&self, kind: &'static str) -> Option<&'static str> {
        if self.sessions.len() < 2 {
            return None;
        }
        // The kinds of sends and genuine deliveries, named without a format and a lock on
        // every record; `intern` for any other.
        Some(match kind {
            "send" => "renewed/send",
            "deliver" => "renewed/deliver",
            "replay" => "renewed/replay",
            "jump" => "renewed/jump",
            "fresh" => "renewed/fresh",
            other => intern(format!("renewed/{other}")),
        })
    }

    /// The receiver and a copy of the wire bytes of message `id`, or a skipped record.
    fn copy(&mut self, i: usize, kind: &'static str, id: MsgId) -> Option<(Side, Vec<u8>)> {
        let m = self.messages.get(id.0 as usize)?;
        let to = m.from.other();
        match m.wire.clone() {
            Some(wire) => Some((to, wire)),
            None => {
                self.skipped(i, kind, to, Some(id), format!("the send of {id} failed"));
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn forged(
        &mut self,
        i: usize,
        kind: &'static str,
        to: Side,
        msg: Option<MsgId>,
        bytes: Vec<u8>,
        ad: Vec<u8>,
        delivery: Delivery,
    ) {
        let why = if delivery == Delivery::Foreign {
            Why::Foreign
        } else {
            Why::Forged
        };
        let verdict = Verdict::MustReject(why);
        self.forged_as(i, kind, to, msg, bytes, ad, delivery, verdict, None, None);
    }

    /// Delivers bytes no party sent (a changed copy, another session's message) to `to`,
    /// under `verdict` (or `May` once the session is unmodelled, [`Self::modelled`]).
    #[allow(clippy::too_many_arguments)]
    fn forged_as(
        &mut self,
        i: usize,
        kind: &'static str,
        to: Side,
        msg: Option<MsgId>,
        bytes: Vec<u8>,
        ad: Vec<u8>,
        delivery: Delivery,
        verdict: Verdict,
        op: Option<&'static str>,
        cause: Option<&'static str>,
    ) {
        let party = &mut self.parties[to.index()];
        let before = party.work();
        let outcome = call(|| party.decrypt(&ad, &bytes), Outcome::Accepted);
        let after = party.work();
        self.attacker.on_work(i, kind, to, msg, before, after);
        if let Outcome::Accepted(pt) = &outcome {
            // A copy that decrypted to the message's plaintext has used the message's key:
            // the model counts the message as delivered, so that the genuine one arriving
            // later is judged as the replay it now is (one cause, one finding).
            if let Some((session, p)) = msg
                .and_then(|m| self.messages.get(m.0 as usize))
                .filter(|m| m.plaintext == *pt)
                .and_then(|m| Some((m.session, m.position?)))
            {
                self.accepted_in(session, to, &p);
            }
            let original = msg.and_then(|m| self.messages.get(m.0 as usize)?.wire.as_deref());
            self.attacker
                .on_forged_accepted(self.peer, to, &bytes, original);
        }
        let compared = (delivery == Delivery::Forged)
            .then(|| self.compared(&bytes))
            .flatten();
        self.push(Record {
            step: i,
            kind,
            party: to,
            msg,
            delivery: Some(delivery),
            input: bytes,
            expected: None,
            verdict: self.modelled(verdict),
            outcome,
            op,
            cause,
            compared,
        });
    }

    /// The model's step for the genuine message at `p` of `session`, accepted by `to`: that
    /// session is then the one `to` sends on (the session record's rule, [`Step::Renew`]).
    fn accepted_in(&mut self, session: usize, to: Side, p: &Position) {
        self.sessions[session].accepted(p);
        self.sending[to.index()] = session;
        self.attacker.use_session(to, session);
    }

    /// `renew side`: the other side publishes a new bundle and `side` starts a new session
    /// from it: see [`Step::Renew`]. A side without a session record (the default
    /// [`Party::publish`]) is skipped with its reason; the new session must be taken.
    fn renew(&mut self, i: usize, side: Side) {
        const KIND: &str = "renew";
        let publisher = &mut self.parties[side.other().index()];
        let bundle = match call(|| publisher.publish(), Outcome::Sent) {
            Outcome::Sent(bundle) => bundle,
            Outcome::Rejected(reject) if reject.failure_kind().is_none() => {
                let why = format!(
                    "{} publishes no new bundle: {}",
                    side.other(),
                    reject.detail
                );
                return self.skipped_op(i, KIND, side, None, why, Some(KIND));
            }
            stopped => {
                return self.push(Record {
                    step: i,
                    kind: KIND,
                    party: side.other(),
                    msg: None,
                    delivery: None,
                    input: Vec::new(),
                    expected: None,
                    verdict: Verdict::May(Why::Unmodelled),
                    outcome: stopped,
                    op: Some(KIND),
                    cause: None,
                    compared: None,
                })
            }
        };
        let party = &mut self.parties[side.index()];
        let outcome = call(
            || party.renew(&bundle).map(|()| Vec::new()),
            Outcome::Accepted,
        );
        if outcome.succeeded() {
            let model = ChainModel::initiated_by(side, self.info.limits, self.info.family);
            self.sessions.push(model);
            let session = self.sessions.len() - 1;
            self.sending[side.index()] = session;
            self.attacker.on_renew(side, session);
        }
        // A genuine bundle of the correspondent's own device: an ideal party takes it.
        let verdict = self.modelled(Verdict::MustAccept);
        self.push(Record {
            step: i,
            kind: KIND,
            party: side,
            msg: None,
            delivery: Some(Delivery::Genuine),
            input: bundle,
            expected: Some(Vec::new()),
            verdict,
            outcome,
            op: Some(KIND),
            cause: None,
            compared: None,
        });
    }

    /// Message `index` of the initiator of a second session of the same peer.
    fn foreign_message(&mut self, index: usize) -> Result<Vec<u8>, String> {
        if self.foreign.is_none() {
            let Some(seed) = self.foreign_seed else {
                return Err("this setup has no second session".into());
            };
            let setup = Setup::seeded(seed);
            self.foreign = Some(
                match establish(
                    self.peer,
                    &self.info.name,
                    &setup.init,
                    setup.rng_a,
                    setup.rng_b,
                    None,
                ) {
                    Ok(Started::Session(([alice, _], _), _)) => Ok(Foreign {
                        alice,
                        sent: Vec::new(),
                    }),
                    Ok(Started::Refused(_)) => Err("the second session could not be set up".into()),
                    Err(o) => Err(format!(
                        "the second session could not be set up: {}",
                        o.label()
                    )),
                },
            );
        }
        let foreign = match self.foreign.as_mut() {
            Some(Ok(f)) => f,
            Some(Err(why)) => return Err(why.clone()),
            None => return Err("the second session could not be set up".into()),
        };
        let ad = &self.ad;
        while foreign.sent.len() <= index {
            let n = foreign.sent.len();
            let alice = &mut foreign.alice;
            match call(|| alice.encrypt(ad, &[n as u8; 16]), Outcome::Sent) {
                Outcome::Sent(wire) => foreign.sent.push(wire),
                other => {
                    return Err(format!(
                        "the second session's send failed: {}",
                        other.label()
                    ))
                }
            }
        }
        Ok(foreign.sent[index].clone())
    }

    /// `jump`: `max_skip + past` lost messages, then one delivered at once.
    /// Sends `max_skip + past` messages that are never delivered, then one that is: the
    /// receiver's forward limit probed from both sides. A peer without a reachable forward
    /// limit ([`EFFECTIVELY_UNBOUNDED`]: Megolm's ratchet advances any distance) jumps
    /// [`UNBOUNDED_JUMP`] instead, since each lost message costs an encryption.
    fn jump(&mut self, i: usize, from: Side, past: i8) {
        let limit = jump_base(self.info.limits.max_skip);
        let lost = (i64::from(limit) + i64::from(past)).max(0);
        let count = u32::try_from(lost).unwrap_or(u32::MAX);
        let ad = &self.ad;
        let party = &mut self.parties[from.index()];
        // One call for every lost message: a watched party hands it to its worker once. A
        // panic or hang inside it loses the batch's wire bytes (none are digested).
        let (wires, failure) = match guarded_call(|| party.encrypt_many(ad, &[], count)) {
            Ok((wires, refused)) => (wires, refused.map(Outcome::Rejected)),
            Err(stopped) => (Vec::new(), Some(stopped_outcome(stopped))),
        };
        let session = self.sending[from.index()];
        for wire in &wires {
            self.sessions[session].send(from);
            let compared = self.compared(wire);
            self.digest.update(compared.as_deref().unwrap_or(wire));
            self.attacker.on_sent(self.peer, i, from, None, wire);
        }
        if let Some(outcome) = failure {
            let (verdict, _) = self.sessions[session].send(from);
            return self.push(Record {
                step: i,
                kind: "jump",
                party: from,
                msg: None,
                delivery: None,
                input: Vec::new(),
                expected: None,
                verdict: self.modelled(verdict),
                outcome,
                op: None,
                cause: None,
                compared: None,
            });
        }
        let pt = self.plaintexts.next(16);
        if self.send(i, "jump", from, pt) {
            let id = MsgId(self.messages.len() as u32 - 1);
            self.deliver(i, "jump", id);
        }
    }
}
