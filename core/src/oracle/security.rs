//! The security oracles, beside the delivery oracle: what an attacker who copies a party's
//! state, or who reads every wire message, must not gain, and what one message may cost.
//!
//! The executor drives an [`Attacker`] alongside each session: it tells it every honest
//! send, every genuine message a party accepted, every `compromise` step and the work each
//! decryption cost. The attacker restores copies of exported states (only on peers with the
//! `export_state` capability, and only at compromise steps and at a sample of decryptions,
//! so a campaign stays cheap) and writes what it saw as [`Probe`]s into the transcript;
//! [`findings`] turns the breaches among them into findings.
//!
//! The four properties, and where each applies:
//!
//! - **Forward secrecy** (`forward-secrecy`): after a party decrypted a message, a copy of
//!   its state taken after that point cannot decrypt that message again, nor any earlier
//!   one. Checked at every `compromise` step (every message the party accepted before it)
//!   and after every fourth accepted message (that message). Applies to the families that
//!   delete a message key once used ([`Family::deletes_used_keys`]): signal-dr, dr2, olm,
//!   mls, libsignal. Not to Megolm: a receiver keeps the sender's ratchet at the first index
//!   it knows and decrypts every later index again by design; Megolm's forward secrecy is
//!   the sharer exporting the session at a later index, which a two-party session never
//!   does, so there is nothing to check and the probe says so.
//! - **Post-compromise healing** (`no-healing`): an attacker holding a copy of party X's
//!   state from step k, and following every message X accepts after k (the strongest
//!   passive attacker: its copy's receiving state stays the same as X's), must decrypt no
//!   message the peer Y sent after healing. For the Double Ratchet families (signal-dr,
//!   dr2, libsignal) and Olm, healing is a full round trip after k: X accepted a message
//!   with a ratchet key new to X (so X drew a new key pair the copy does not know), X sent
//!   with that new key, and Y accepted such a message (so Y's next chain comes from a DH
//!   the copy cannot compute); every message Y sends after that must stay closed to the
//!   copy. Not applied to Megolm (a sender's ratchet is a hash chain: a copy of it reads
//!   every later index of the session for ever) nor to MLS without commits (one epoch
//!   secret for the whole session): neither heals within a session, the probe says so.
//!   The copy cannot play X's own sends (a party decrypts only what the other side sent),
//!   so only Y's messages are probed. Healing is judged per session (after a `renew` the
//!   parties hold several): a session held at k heals by its own round trip, and a session
//!   started after k is closed to the copy from its first message, since the copy lacks the
//!   key that set it up (the initiator's new base key, or the one-time pre-key and signed
//!   pre-key of the bundle the responder published after k; X3DH, section 4.5, gives the
//!   new session's secrecy to those keys, not to the identity key the copy holds).
//! - **No reuse** (`key-reuse`), every family, from the wire only: no two honest sends of
//!   one side carry the same header (for these formats the header holds the ratchet key
//!   or epoch and the counter, so the same header is the same message key and nonce) or
//!   the same ciphertext body (with a deterministic cipher the same key and IV give the
//!   same body for the same plaintext: the empty plaintexts of a jump's lost messages show
//!   it); and, for the families that turn the DH ratchet, a side's new sending chain never
//!   carries a ratchet public key already used by either side, and a side that accepted a
//!   new ratchet key from the other starts a new chain before it sends again (else its
//!   chain is stale and healing cannot happen).
//! - **Bounded work** (`unbounded-work`), peers that count their work ([`Party::work`]):
//!   one decryption, genuine or forged, derives at most `2 * max_skip + 1` chain keys (the
//!   declared MAX_SKIP in each of the two chains a message can touch, the rest of the old
//!   receiving chain and the new one, plus the message's own key; `max_skip + 1` for Olm,
//!   whose messages carry no previous-chain length and touch one chain) and leaves at most
//!   the declared `max_stored` keys stored, each bound once per session the party holds
//!   (after a `renew` a party keeps the earlier sessions and may try a message on each, as
//!   libsignal's session record tries the current state and then every archived one).
//!   Derivations are counted, never timed, so the check is the same on any machine.
//!
//! After a `renew` the parties hold more than one session and move between them, so the
//! reuse checks and healing follow each session apart ([`Attacker::use_session`]).

use crate::guard::{guarded_call, watch, within_deadline};
use crate::peer::{BoxRng, Family, Limits, Party, Peer, WireLayout, Work};
use crate::report::{Finding, FindingKind};
use crate::rng;
use crate::scenario::{MsgId, Side, Transcript};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Accepted messages a compromise's forward-secrecy probe tries, newest first.
const FS_TRIES: usize = 16;
/// One accepted message in this many is followed by an export-and-retry probe.
const FS_SAMPLE: u64 = 4;
/// The most copies followed for healing at once (see [`evictee`] for the one dropped).
const MAX_COPIES: usize = 4;
/// The most probes one transcript keeps (a broken peer can breach at every step).
const MAX_PROBES: usize = 32;

/// Which property a probe is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// A copy taken after a decryption cannot decrypt that message or an earlier one.
    ForwardSecrecy,
    /// A copy from before a full ratchet round trip cannot decrypt what is sent after it.
    Healing,
    /// No key and nonce, no ratchet key, used twice.
    NoReuse,
    /// One input costs at most the declared derivations and storage.
    BoundedWork,
    /// What a compromise step did (exported, or why not).
    Compromise,
}

/// What the attacker did at one step and whether a property broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Index of the scenario step.
    pub step: usize,
    /// The step kind it showed at, for the finding's signature.
    pub step_kind: &'static str,
    /// The property.
    pub property: Property,
    /// The party whose state or sends are concerned.
    pub party: Side,
    /// The message concerned, if one.
    pub msg: Option<MsgId>,
    /// Whether the property broke (a finding), or this is a note.
    pub breach: bool,
    /// A finer class for the signature (`body`, `header`, `derivations`, ...).
    pub class: Option<&'static str>,
    /// What happened, in a sentence (never key material).
    pub note: String,
}

/// A genuine message a party accepted.
struct Accepted {
    msg: MsgId,
    wire: Vec<u8>,
    plaintext: Vec<u8>,
}

/// Byte strings seen so far (a side's headers, or its bodies), for the reuse checks: kept
/// in one buffer and found through a fast 64-bit hash of the bytes, then compared in full, so
/// that the thousands of sends of a jump cost no allocation or keyed hash each and a match is
/// exact.
#[derive(Default)]
struct SeenBytes {
    /// Every string, one after another.
    arena: Vec<u8>,
    /// The first string with each hash: where it sits in `arena`.
    first: HashMap<u64, (usize, usize), BuildHasherDefault<WordHasher>>,
    /// Later strings whose hash an earlier, different one already has (rare).
    clashes: Vec<(u64, usize, usize)>,
}

impl SeenBytes {
    /// Records `bytes`; false if they were seen before.
    fn insert(&mut self, bytes: &[u8]) -> bool {
        self.insert_hashed(word_hash(bytes), bytes)
    }

    fn insert_hashed(&mut self, hash: u64, bytes: &[u8]) -> bool {
        let same = |at: (usize, usize)| self.arena.get(at.0..at.0 + at.1) == Some(bytes);
        if let Some(&at) = self.first.get(&hash) {
            if same(at)
                || self
                    .clashes
                    .iter()
                    .any(|&(h, start, len)| h == hash && same((start, len)))
            {
                return false;
            }
            self.clashes.push((hash, self.arena.len(), bytes.len()));
        } else {
            self.first.insert(hash, (self.arena.len(), bytes.len()));
        }
        self.arena.extend_from_slice(bytes);
        true
    }
}

/// A fast, unkeyed hash of `bytes` eight at a time (the bytes are a peer's ciphertext and
/// headers, not chosen by whoever feeds the bench, and every match is compared in full).
fn word_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = bytes.len() as u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(chunk) {
            *w = *b;
        }
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    // A multiplication mixes only upwards; fold the high bits down so that the low bits a
    // hash table indexes by depend on every byte too.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Hashes a `u64` key as itself (it is already a hash).
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An attacker's copy of party `of`'s state, followed for healing, session by session.
struct Copy {
    of: Side,
    step: usize,
    party: Box<dyn Party>,
    /// The sessions held when the copy was taken (numbered from 0): the later ones are
    /// closed to it from their first message.
    held: usize,
    /// The sessions in which X accepted a ratchet key new to it after the copy: its later
    /// keys there are fresh.
    turned: HashSet<usize>,
    /// Ratchet keys X sent with after turning (each names its session, as keys are unique).
    fresh: HashSet<Vec<u8>>,
    /// Per session, messages numbered from this one were sent after healing.
    healed_from: HashMap<usize, u32>,
    /// Sessions in which the copy was tried on a message sent after healing: it has said
    /// what it can there, and is not tried there again.
    judged: HashSet<usize>,
}

impl Copy {
    /// Whether message `msg` of `session` was sent after that session healed for this copy.
    fn healed(&self, session: usize, msg: MsgId) -> bool {
        session >= self.held || self.healed_from.get(&session).is_some_and(|&h| msg.0 >= h)
    }

    /// Whether every session held when the copy was taken has been judged: the copy then
    /// has only the sessions started later to judge, as every other copy of its side does.
    fn settled(&self) -> bool {
        (0..self.held).all(|s| self.judged.contains(&s))
    }
}

/// Which copy to drop for a new one, given whether each (oldest first) is settled: the
/// oldest settled copy, else the oldest. Dropping a copy still waiting for its round trip
/// would let a peer that never heals from it pass unseen.
fn evictee(settled: impl IntoIterator<Item = bool>) -> usize {
    settled.into_iter().position(|s| s).unwrap_or(0)
}

/// The attacker beside one session: see the module doc.
pub struct Attacker {
    family: Family,
    limits: Limits,
    can_export: bool,
    ad: Vec<u8>,
    accepted: [Vec<Accepted>; 2],
    accepted_count: u64,
    copies: Vec<Copy>,
    headers: [SeenBytes; 2],
    bodies: [SeenBytes; 2],
    /// The ratchet key each side sends with, per session (`(side, session)`).
    current_key: HashMap<(usize, usize), Vec<u8>>,
    used_keys: HashSet<Vec<u8>>,
    heard_keys: [HashSet<Vec<u8>>; 2],
    /// Whether a side must start a new chain before it sends again, per session.
    must_turn: HashSet<(usize, usize)>,
    /// The session each side sends on and hears in now (the executor's `sending`).
    session: [usize; 2],
    /// The session of each message sent, by message number.
    sent_in: Vec<usize>,
    /// The sessions the parties hold (1, and one more per `renew`): a receiver that keeps
    /// several may try a message on each, so the work bound is per session held.
    sessions: u64,
    sent: u32,
    probes: Vec<Probe>,
}

/// An X25519 public key's value rather than its encoding: the u-coordinate with its top bit
/// masked and reduced modulo p = 2^255 - 19, as RFC 7748 §5 has X25519 read it (a 33-byte
/// key keeps its type byte). A forged copy that only re-encodes a ratchet key (the top bit
/// set) carries the same key: a party that accepts it hears nothing new and need not turn.
/// Other lengths are returned as they are.
pub(crate) fn key_value(bytes: &[u8]) -> Vec<u8> {
    let mut key = bytes.to_vec();
    let at = match key.len() {
        32 => 0,
        33 => 1,
        _ => return key,
    };
    let u = &mut key[at..];
    u[31] &= 0x7f;
    // The masked values from p up are p + 0 ..= p + 18: 0xed..=0xff, then 30 bytes 0xff, 0x7f.
    if u[31] == 0x7f && u[1..31].iter().all(|&b| b == 0xff) && u[0] >= 0xed {
        let low = u[0] - 0xed;
        u.fill(0);
        u[0] = low;
    }
    key
}

/// The result of trying a message on a copy: whether it gave the sent plaintext back.
fn opens(copy: &mut Box<dyn Party>, ad: &[u8], m: &Accepted) -> bool {
    matches!(guarded_call(|| copy.decrypt(ad, &m.wire)), Ok(Ok(pt)) if pt == m.plaintext)
}

impl Attacker {
    /// The attacker of a session of a peer described by `family`, `limits` and whether it
    /// exports its state; `ad` is the session's associated data.
    pub fn new(family: Family, limits: Limits, can_export: bool, ad: Vec<u8>) -> Self {
        Attacker {
            family,
            limits,
            can_export,
            ad,
            accepted: [Vec::new(), Vec::new()],
            accepted_count: 0,
            copies: Vec::new(),
            headers: Default::default(),
            bodies: Default::default(),
            current_key: HashMap::new(),
            used_keys: HashSet::new(),
            heard_keys: Default::default(),
            must_turn: HashSet::new(),
            session: [0, 0],
            sent_in: Vec::new(),
            sessions: 1,
            sent: 0,
            probes: Vec::new(),
        }
    }

    /// The ratchet key `wire` carries, as its value (see [`key_value`]), for a family whose
    /// parties draw a new one each turn.
    fn ratchet_key(&self, peer: &dyn Peer, wire: &[u8]) -> Option<Vec<u8>> {
        if !self.family.ratchets_per_turn() {
            return None;
        }
        self.key_in(&peer.layout(wire), wire)
    }

    /// [`Self::ratchet_key`] from a layout already asked for: a shim answers a jump's lost
    /// message's layout once (it came with the batch), so a second ask is a round trip.
    fn key_in(&self, layout: &WireLayout, wire: &[u8]) -> Option<Vec<u8>> {
        if !self.family.ratchets_per_turn() {
            return None;
        }
        wire.get(layout.ratchet_key.clone()?).map(key_value)
    }

    /// The probes written so far.
    pub fn into_probes(self) -> Vec<Probe> {
        self.probes
    }

    #[allow(clippy::too_many_arguments)]
    fn probe(
        &mut self,
        step: usize,
        step_kind: &'static str,
        property: Property,
        party: Side,
        msg: Option<MsgId>,
        breach: bool,
        class: Option<&'static str>,
        note: String,
    ) {
        if self.probes.len() < MAX_PROBES {
            self.probes.push(Probe {
                step,
                step_kind,
                property,
                party,
                msg,
                breach,
                class,
                note,
            });
        }
    }

    /// Restores a copy of `state` with randomness of its own (the attacker's device).
    fn restore(peer: &dyn Peer, state: &[u8], step: usize, what: &str) -> Option<Box<dyn Party>> {
        let rng: BoxRng = Box::new(rng::stream(step as u64, &format!("attacker {what}")));
        let name = peer.info().name;
        match guarded_call(|| within_deadline(&name, "restore", || peer.restore(state, rng))) {
            Ok(Ok(party)) => Some(watch(party, &name)),
            _ => None,
        }
    }

    /// A breach of the no-reuse property seen at a send (`what`: header, body, ratchet-key,
    /// stale-ratchet-key).
    fn reuse(
        &mut self,
        step: usize,
        from: Side,
        msg: Option<MsgId>,
        what: &'static str,
        detail: String,
    ) {
        self.probe(
            step,
            "send",
            Property::NoReuse,
            from,
            msg,
            true,
            Some(what),
            detail,
        );
    }

    /// An honest send by `from` (`msg` is `None` for a jump's lost messages): the reuse
    /// checks, and the ratchet keys a compromised side sends with after turning.
    pub fn on_sent(
        &mut self,
        peer: &dyn Peer,
        step: usize,
        from: Side,
        msg: Option<MsgId>,
        wire: &[u8],
    ) {
        let i = from.index();
        if let Some(m) = msg {
            self.sent = self.sent.max(m.0 + 1);
            let at = m.0 as usize;
            if self.sent_in.len() <= at {
                self.sent_in.resize(at + 1, 0);
            }
            self.sent_in[at] = self.session[i];
        }
        let layout = peer.layout(wire);
        let slice = |r: std::ops::Range<usize>| wire.get(r).unwrap_or_default();
        let header = slice(layout.header.clone());
        let body = slice(layout.body.clone());
        let shown =
            || msg.map_or_else(|| "a lost message of a jump".to_string(), |m| m.to_string());
        if !header.is_empty() && !self.headers[i].insert(header) {
            self.reuse(
                step,
                from,
                msg,
                "header",
                format!(
                    "{} of {from} carries the header of an earlier send of {from}: the \
                     same ratchet key and counter, so the same message key and nonce",
                    shown()
                ),
            );
        }
        if !body.is_empty() && !self.bodies[i].insert(body) {
            self.reuse(
                step,
                from,
                msg,
                "body",
                format!(
                    "{} of {from} carries the ciphertext of an earlier send of {from}: \
                     one key and IV encrypted twice",
                    shown()
                ),
            );
        }
        let Some(key) = self.key_in(&layout, wire) else {
            return;
        };
        let key = key.as_slice();
        let chain = (i, self.session[i]);
        if self.current_key.get(&chain).map(Vec::as_slice) != Some(key) {
            if self.used_keys.contains(key) {
                self.reuse(
                    step,
                    from,
                    msg,
                    "ratchet-key",
                    format!(
                        "{} of {from} starts a chain with a ratchet public key already \
                         used in this session",
                        shown()
                    ),
                );
            }
            self.used_keys.insert(key.to_vec());
            self.current_key.insert(chain, key.to_vec());
            self.must_turn.remove(&chain);
        } else if self.must_turn.remove(&chain) {
            self.reuse(
                step,
                from,
                msg,
                "stale-ratchet-key",
                format!(
                    "{} of {from} goes on with its old ratchet key after {from} accepted a \
                     new one from {}: no new DH ratchet step",
                    shown(),
                    from.other()
                ),
            );
        }
        let session = self.session[i];
        for c in self
            .copies
            .iter_mut()
            .filter(|c| c.of == from && c.turned.contains(&session))
        {
            if !c.fresh.contains(key) {
                c.fresh.insert(key.to_vec());
            }
        }
    }

    /// A forged copy (of message `original`, if it copies one) that `to` accepted anyway:
    /// the party acted on its ratchet key, so that key counts as heard (a later genuine
    /// message with it makes no new turn). The forgery itself is the delivery oracle's
    /// finding.
    pub fn on_forged_accepted(
        &mut self,
        peer: &dyn Peer,
        to: Side,
        bytes: &[u8],
        original: Option<&[u8]>,
    ) {
        // `ratchet_key` is `None` for a family whose parties do not turn.
        let key = self
            .ratchet_key(peer, bytes)
            .or_else(|| original.and_then(|o| self.ratchet_key(peer, o)));
        if let Some(key) = key {
            let i = to.index();
            if self.heard_keys[i].insert(key) {
                self.must_turn.insert((i, self.session[i]));
            }
        }
    }

    /// A genuine message `msg` (sent by the other side) that `to` accepted as `plaintext`:
    /// the copies of `to` follow it (healing), the turn and healing bookkeeping moves on,
    /// and a sample of them (one in `FS_SAMPLE`) is retried on a fresh copy of `to`
    /// (forward secrecy).
    #[allow(clippy::too_many_arguments)]
    pub fn on_accepted(
        &mut self,
        peer: &dyn Peer,
        step: usize,
        step_kind: &'static str,
        to: Side,
        party: &dyn Party,
        msg: MsgId,
        wire: &[u8],
        plaintext: &[u8],
    ) {
        let m = Accepted {
            msg,
            wire: wire.to_vec(),
            plaintext: plaintext.to_vec(),
        };
        // Healing: every copy of `to` reads what `to` read, in the message's session.
        let session = self.sent_in.get(msg.0 as usize).copied().unwrap_or(0);
        let ad = self.ad.clone();
        let mut breaches = Vec::new();
        for c in self.copies.iter_mut().filter(|c| c.of == to) {
            if c.judged.contains(&session) {
                continue;
            }
            let post_heal = c.healed(session, msg);
            let opened = opens(&mut c.party, &ad, &m);
            if post_heal {
                c.judged.insert(session);
                if opened {
                    breaches.push((c.step, session >= c.held));
                }
            }
        }
        for (k, new_session) in breaches {
            let (class, how) = if new_session {
                (
                    Some("new-session"),
                    "in a session set up after the copy was taken",
                )
            } else {
                (None, "after a full ratchet round trip")
            };
            self.probe(
                step,
                step_kind,
                Property::Healing,
                to,
                Some(msg),
                true,
                class,
                format!(
                    "a copy of {to}'s state from step {k}, following what {to} accepted, \
                     decrypted {msg}, sent by {} {how}",
                    to.other()
                ),
            );
        }
        // Turns: a ratchet key new to `to` makes it draw a new key pair.
        if let Some(key) = self.ratchet_key(peer, wire) {
            let i = to.index();
            if self.heard_keys[i].insert(key.clone()) {
                self.must_turn.insert((i, self.session[i]));
                for c in self.copies.iter_mut().filter(|c| c.of == to) {
                    c.turned.insert(session);
                }
            }
            let next = self.sent;
            for c in self.copies.iter_mut() {
                if c.of == to.other() && c.fresh.contains(&key) {
                    c.healed_from.entry(session).or_insert(next);
                }
            }
        }
        // Forward secrecy, sampled.
        self.accepted_count += 1;
        if self.can_export
            && self.family.deletes_used_keys()
            && self.accepted_count % FS_SAMPLE == 1
        {
            if let Ok(Ok(state)) = guarded_call(|| party.export_state()) {
                if let Some(mut copy) = Self::restore(peer, &state, step, "sample") {
                    if opens(&mut copy, &ad, &m) {
                        self.probe(
                            step,
                            step_kind,
                            Property::ForwardSecrecy,
                            to,
                            Some(msg),
                            true,
                            Some("after-decrypt"),
                            format!(
                                "a copy of {to}'s state exported right after it decrypted \
                                 {msg} decrypted {msg} again"
                            ),
                        );
                    }
                }
            }
        }
        self.accepted[to.index()].push(m);
    }

    /// `side` now sends on, and last heard in, `session` (the executor's session record
    /// rule): the reuse checks follow each side's chains per session.
    pub fn use_session(&mut self, side: Side, session: usize) {
        self.session[side.index()] = session;
    }

    /// A `renew`: `side` started `session`, which every copy taken before is judged in
    /// from its first message (see the module doc).
    pub fn on_renew(&mut self, side: Side, session: usize) {
        self.use_session(side, session);
        self.sessions += 1;
    }

    /// `compromise side`: export the party, check forward secrecy on every message it
    /// accepted before, and keep a copy to follow for healing.
    pub fn on_compromise(&mut self, peer: &dyn Peer, step: usize, side: Side, party: &dyn Party) {
        let note = |this: &mut Self, note: String| {
            this.probe(
                step,
                "compromise",
                Property::Compromise,
                side,
                None,
                false,
                None,
                note,
            )
        };
        if !self.can_export {
            return note(
                self,
                "not applied: the peer cannot export a party's state".into(),
            );
        }
        let state = match guarded_call(|| party.export_state()) {
            Ok(Ok(state)) => state,
            Ok(Err(reject)) => {
                return note(
                    self,
                    format!("not applied: the export was refused: {reject}"),
                )
            }
            Err(_) => return note(self, "not applied: the export stopped".into()),
        };
        let mut said = vec![format!("{side}'s state copied ({} bytes)", state.len())];
        if self.family.deletes_used_keys() {
            match Self::restore(peer, &state, step, "forward secrecy") {
                Some(mut copy) => {
                    let ad = self.ad.clone();
                    let tried: Vec<&Accepted> = self.accepted[side.index()]
                        .iter()
                        .rev()
                        .take(FS_TRIES)
                        .collect();
                    let opened = tried
                        .iter()
                        .find(|m| opens(&mut copy, &ad, m))
                        .map(|m| m.msg);
                    said.push(format!(
                        "forward secrecy: {} earlier messages tried",
                        tried.len()
                    ));
                    if let Some(msg) = opened {
                        self.probe(
                            step,
                            "compromise",
                            Property::ForwardSecrecy,
                            side,
                            Some(msg),
                            true,
                            None,
                            format!(
                                "a copy of {side}'s state taken at step {step} decrypted {msg}, \
                                 which {side} had already decrypted"
                            ),
                        );
                    }
                }
                None => said.push("forward secrecy: the copy could not be restored".into()),
            }
        } else {
            said.push(format!(
                "forward secrecy not applied: {} keeps the ratchet at the first known index by \
                 design",
                self.family
            ));
        }
        if self.family.ratchets_per_turn() {
            match Self::restore(peer, &state, step, "healing") {
                Some(party) => {
                    if self.copies.len() >= MAX_COPIES {
                        let at = evictee(self.copies.iter().map(Copy::settled));
                        self.copies.remove(at);
                    }
                    self.copies.push(Copy {
                        of: side,
                        step,
                        party,
                        held: self.sessions as usize,
                        turned: HashSet::new(),
                        fresh: HashSet::new(),
                        healed_from: HashMap::new(),
                        judged: HashSet::new(),
                    });
                    said.push("healing: the copy follows".into());
                }
                None => said.push("healing: the copy could not be restored".into()),
            }
        } else {
            said.push(format!(
                "healing not applied: {} has no DH ratchet and never heals within a session",
                self.family
            ));
        }
        note(self, said.join("; "));
    }

    /// The work one decryption by `to` cost, from the party's counts before and after.
    pub fn on_work(
        &mut self,
        step: usize,
        step_kind: &'static str,
        to: Side,
        msg: Option<MsgId>,
        before: Option<Work>,
        after: Option<Work>,
    ) {
        let (Some(before), Some(after)) = (before, after) else {
            return;
        };
        let spent = after.derivations.saturating_sub(before.derivations);
        // Without a previous-chain length in the header (Olm) the old receiving chain is
        // kept as it is when a new ratchet key arrives: one message touches one chain.
        let chains = if self.family.uses_previous_length() {
            2
        } else {
            1
        };
        // A party holding several sessions with its correspondent (after a `renew`) may try
        // a message on each of them, as libsignal's session record does (the current state,
        // then every archived one): the bound holds per session.
        let per_session = chains * u64::from(self.limits.max_skip) + 1;
        let bound = per_session * self.sessions;
        if spent > bound {
            self.probe(
                step,
                step_kind,
                Property::BoundedWork,
                to,
                msg,
                true,
                Some("derivations"),
                format!(
                    "one decryption by {to} derived {spent} chain keys; the declared MAX_SKIP \
                     {} allows at most {bound} ({per_session} in each of {} sessions)",
                    self.limits.max_skip, self.sessions
                ),
            );
        }
        if let Some(max) = self.limits.max_stored {
            let max = u64::from(max) * self.sessions;
            if after.stored_keys > max {
                self.probe(
                    step,
                    step_kind,
                    Property::BoundedWork,
                    to,
                    msg,
                    true,
                    Some("stored-keys"),
                    format!(
                        "{to} holds {} skipped keys after one decryption; it declares at most {max}",
                        after.stored_keys
                    ),
                );
            }
        }
    }
}

/// The findings of a transcript's security probes: one per breach.
pub fn findings(t: &Transcript) -> Vec<Finding> {
    t.probes
        .iter()
        .filter(|p| p.breach)
        .filter_map(|p| {
            let kind = match p.property {
                Property::ForwardSecrecy => FindingKind::ForwardSecrecy,
                Property::Healing => FindingKind::NoHealing,
                Property::NoReuse => FindingKind::KeyReuse,
                Property::BoundedWork => FindingKind::UnboundedWork,
                Property::Compromise => return None,
            };
            Some(Finding::new(
                kind,
                vec![t.peer.name.clone()],
                p.step,
                p.step_kind,
                p.class,
                p.note.clone(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new copy displaces a settled one before one still waiting for its round trip,
    /// however old that one is; with none settled, the oldest goes.
    #[test]
    fn a_copy_waiting_for_its_round_trip_is_kept_over_a_settled_one() {
        assert_eq!(evictee([false, true, false, true]), 1);
        assert_eq!(evictee([false, false, false, false]), 0);
        assert_eq!(evictee([true, true]), 0);
    }

    /// Encodings of one X25519 key give one value: the top bit set, and u >= p (p + k is
    /// 2^255 - 19 + k, whose low byte is 0xed + k).
    #[test]
    fn a_key_s_value_masks_the_top_bit_and_reduces_modulo_p() {
        let mut key = [0x42; 32];
        key[31] = 0x12;
        let mut top = key;
        top[31] |= 0x80;
        assert_eq!(key_value(&top), key.to_vec());
        assert_eq!(key_value(&key), key.to_vec());
        for k in 0..19u8 {
            let mut p_plus_k = [0xff; 32];
            p_plus_k[0] = 0xed + k;
            p_plus_k[31] = 0x7f;
            let mut value = [0; 32];
            value[0] = k;
            assert_eq!(key_value(&p_plus_k), value.to_vec(), "p + {k}");
            p_plus_k[31] = 0xff;
            assert_eq!(key_value(&p_plus_k), value.to_vec(), "p + {k}, top bit set");
        }
        let mut below_p = [0xff; 32];
        below_p[0] = 0xec;
        below_p[31] = 0x7f;
        assert_eq!(
            key_value(&below_p),
            below_p.to_vec(),
            "p - 1 is its own value"
        );
        let typed: Vec<u8> = [5].into_iter().chain(top).collect();
        let typed_value: Vec<u8> = [5].into_iter().chain(key).collect();
        assert_eq!(key_value(&typed), typed_value, "the type byte stays");
        assert_eq!(
            key_value(&[0xff; 4]),
            vec![0xff; 4],
            "other lengths as they are"
        );
    }

    /// A breach only past the family's bound: `2 * max_skip + 1` for the Double Ratchet,
    /// `max_skip + 1` for Olm (one chain per message).
    #[test]
    fn the_work_bound_counts_the_chains_a_message_can_touch() {
        let limits = Limits {
            max_skip: 2000,
            max_stored: None,
            max_stored_per_chain: None,
            when_full: crate::peer::WhenFull::Refuse,
            window: None,
            max_chains: None,
        };
        let breaches = |family: Family, spent: u64| {
            let mut a = Attacker::new(family, limits, false, Vec::new());
            let work = |derivations| {
                Some(Work {
                    derivations,
                    stored_keys: 0,
                })
            };
            a.on_work(0, "deliver", Side::B, None, work(10), work(10 + spent));
            a.into_probes().iter().filter(|p| p.breach).count()
        };
        assert_eq!(breaches(Family::SIGNAL_DR, 4001), 0);
        assert_eq!(breaches(Family::SIGNAL_DR, 4002), 1);
        assert_eq!(breaches(Family::OLM, 2001), 0);
        assert_eq!(breaches(Family::OLM, 2002), 1);
    }

    #[test]
    fn seen_bytes_match_exactly_even_when_hashes_clash() {
        let mut seen = SeenBytes::default();
        assert!(seen.insert(b"header one"));
        assert!(seen.insert(b"header two"));
        assert!(!seen.insert(b"header one"));
        assert!(seen.insert(b""));
        assert!(!seen.insert(b""));
        // Three different strings forced onto one hash: each is new once, then seen.
        assert!(seen.insert_hashed(7, b"a"));
        assert!(seen.insert_hashed(7, b"b"));
        assert!(seen.insert_hashed(7, b"c"));
        assert!(!seen.insert_hashed(7, b"b"));
        assert!(!seen.insert_hashed(7, b"c"));
        assert!(!seen.insert_hashed(7, b"a"));
        assert!(seen.insert_hashed(7, b"ab"));
    }
}
