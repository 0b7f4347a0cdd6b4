//! The attacker-schedule language.
//!
//! A [`Scenario`] is a list of [`Step`]s over one session between an initiator `A` and a
//! responder `B`: sends, deliveries in any order, drops, replays, tampered, truncated and
//! extended copies, injected bytes, messages of another session, a second initiator reusing
//! the bundle's one-time key, a session set up again, jumps past the receiver's limit, and
//! compromises (the attacker copies a party's state, for the security oracles). Messages are named `m0`, `m1`, ... in the order they are sent. The
//! same scenario runs on every peer of every family.
//!
//! Scenarios come from three places: text (`send A 5; deliver m0; tamper m0 mac 3`), which
//! parses back to what it prints; [`Event`] lists drawn by `arbitrary` (fuzzers and the
//! seeded campaign), which are normalised into steps; and vector files.

pub mod event;
mod executor;
mod text;

pub use event::{Event, Past};
pub use executor::{
    execute, hex_preview, jump_base, Delivery, Outcome, Plaintexts, Record, Setup, Transcript,
    SESSION_AD,
};
pub use text::ParseError;

use crate::codec::ops::{FieldSel, Op};
use arbitrary::Arbitrary;
use serde::{Deserialize, Serialize};

/// One side of the session.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary, Serialize, Deserialize,
)]
pub enum Side {
    /// The initiator (the Double Ratchet's Alice).
    A,
    /// The responder (Bob).
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// The part of a message a tamper step flips a bit in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary, Serialize, Deserialize,
)]
pub enum Region {
    /// The cleartext header.
    Header,
    /// The ciphertext body.
    Body,
    /// The authentication tag.
    Mac,
    /// Not the message: the associated data the receiver is given.
    Ad,
}

/// A message, by the order it was sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MsgId(pub u32);

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// `send A 12`: a side encrypts a plaintext of `len` bytes; the message is pending.
    Send {
        /// The sender.
        from: Side,
        /// The plaintext's length.
        len: u16,
    },
    /// `deliver m3`: delivers a message to its receiver (again, if it was delivered before).
    Deliver {
        /// The message.
        msg: MsgId,
    },
    /// `drop m3`: the network loses a pending message; `deliver-all` skips it.
    Drop {
        /// The message.
        msg: MsgId,
    },
    /// `deliver-all`: delivers every pending message, oldest first.
    DeliverAll,
    /// `replay m3`: delivers a message again.
    Replay {
        /// The message.
        msg: MsgId,
    },
    /// `tamper m3 body 17`: delivers a copy with one bit flipped (bit index modulo the
    /// region's size; the whole message if the region is empty). For `ad` the message is
    /// intact and a bit of the associated data is flipped instead.
    Tamper {
        /// The message copied.
        msg: MsgId,
        /// Where the bit is.
        region: Region,
        /// Which bit.
        bit: u32,
    },
    /// `rekey m3`: delivers a copy whose header carries the responder's published ratchet
    /// key (the bundle an initiator starts from) in place of the sender's own. The key is
    /// public, so any attacker can do this; a party that has that key but no chain for it
    /// must still refuse the message.
    Rekey {
        /// The message copied.
        msg: MsgId,
    },
    /// `truncate m3 5`: delivers a copy cut to `keep` bytes (modulo its length, so always
    /// shorter).
    Truncate {
        /// The message copied.
        msg: MsgId,
        /// How many bytes are kept.
        keep: u32,
    },
    /// `extend m3 00ff`: delivers a copy with bytes appended.
    Extend {
        /// The message copied.
        msg: MsgId,
        /// The bytes appended (at least one).
        bytes: Vec<u8>,
    },
    /// `inject B 00ff`: delivers bytes no party sent.
    Inject {
        /// The receiver.
        to: Side,
        /// The bytes (`-` for none).
        bytes: Vec<u8>,
    },
    /// `foreign B 2`: delivers message `index` from the initiator of a second, unrelated
    /// session of the same peer.
    Foreign {
        /// The receiver.
        to: Side,
        /// Which message of the other session.
        index: u8,
    },
    /// `jump A +1`: the side sends `max_skip + past` messages (the receiver's declared
    /// MAX_SKIP) that are lost, then one more that is delivered at once.
    Jump {
        /// The sender.
        from: Side,
        /// How far past the limit.
        past: i8,
    },
    /// `mutate m3 x25519-key.0 low-order 5`: delivers a copy with one typed field changed by
    /// an operator that knows the protocol (a low-order key, an overlong varint, a truncated
    /// tag, a duplicated field: [`crate::codec::ops`]), through the peer's codec. The field
    /// is chosen by kind and number so that one scenario runs on every family; on a peer
    /// without a codec, or whose message has no such field, the step is skipped with the
    /// reason.
    Mutate {
        /// The message copied.
        msg: MsgId,
        /// The field changed.
        field: FieldSel,
        /// How.
        op: Op,
    },
    /// `bundle signed-pre-key-signature.0 s-plus-l`: the initiator starts from a copy of the
    /// responder's bundle with one typed field changed (a forged signature, a swapped or
    /// low-order key). Applies before the session is set up, wherever it stands in the
    /// scenario; a bundle the initiator refuses leaves no session, and every later step says
    /// so.
    Bundle {
        /// The field changed.
        field: FieldSel,
        /// How.
        op: Op,
    },
    /// `second`: a second initiator sets up its own session from the responder's published
    /// bundle, so with the same one-time key (Olm's one-time key, the Signal Protocol's
    /// one-time pre-key), and its first message is delivered to B, once B has accepted a
    /// message of A. That message used the one-time key up, and it comes to B as A's address
    /// from another identity key: B must refuse the second initiator's (for either reason;
    /// after a `renew` the first one-time key may be unused, and the identity is left) and go
    /// on with A's session unchanged. Skipped with the reason where the
    /// bundle carries no one-time key (the signal-dr profile's secret is given, not agreed;
    /// MLS and Megolm have no such handshake) or B has accepted nothing of A yet.
    Second,
    /// `fresh m3`: delivers A's message to a fresh responder: B built again as it was when
    /// it published its bundle (a device that lost its state but kept its keys, or one
    /// restored from a backup taken then), beside the session's B, which it leaves as it is.
    /// The fresh responder holds every key A's first chain needs (the messages that carry
    /// the session's set-up: Olm's and the Signal Protocol's pre-key messages, the Double
    /// Ratchet's first chain), so it must decrypt such a message within its forward limit:
    /// nothing tells a replay from a first delivery there, which is why a responder deletes
    /// its one-time key once used (X3DH, section 4.2), and why a responder restored to a
    /// state from before that deletion takes the replay. A message of A's later chains is
    /// DH'd with a ratchet key of B's replies, which the fresh responder never made: it must
    /// refuse it. Skipped with the reason where the family has no set-up message (Megolm's
    /// and MLS's receivers are given the session's secret out of band), where the message
    /// is B's, or where B built again is not the B of the session.
    Fresh {
        /// The message.
        msg: MsgId,
    },
    /// `renew A`: B's device publishes a new bundle (its identity key, its signed pre-key,
    /// a new one-time pre-key) and A starts a new session to B from it, as a device does
    /// that fetches a correspondent's bundle again: A's next messages are the new session's
    /// set-up messages, and both devices keep the earlier session to decrypt with. Each
    /// side sends on the session of the last message it accepted, or the one it last
    /// started (libsignal's session record: the state a message decrypts with becomes
    /// current). `renew A; renew B` before either hears the other is both sides initiating
    /// at once. Skipped with the reason on a party that keeps no such record.
    Renew {
        /// The side that starts the new session.
        side: Side,
    },
    /// `compromise A`: the attacker copies the side's whole state (the peer's
    /// `export_state`) and keeps it; the security oracles then check that the copy cannot
    /// decrypt what the side had already decrypted (forward secrecy) nor what is sent once
    /// both sides have turned the DH ratchet (healing). The parties do not notice: nothing
    /// is delivered. On a peer that cannot export its state the step does nothing, and the
    /// transcript's probes say so.
    Compromise {
        /// The side whose device is copied.
        side: Side,
    },
}

impl Step {
    /// The step's kind, as used in finding signatures.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Send { .. } => "send",
            Step::Deliver { .. } => "deliver",
            Step::Drop { .. } => "drop",
            Step::DeliverAll => "deliver-all",
            Step::Replay { .. } => "replay",
            Step::Tamper { region, .. } => match region {
                Region::Header => "tamper-header",
                Region::Body => "tamper-body",
                Region::Mac => "tamper-mac",
                Region::Ad => "tamper-ad",
            },
            Step::Rekey { .. } => "rekey",
            Step::Truncate { .. } => "truncate",
            Step::Extend { .. } => "extend",
            Step::Inject { .. } => "inject",
            Step::Foreign { .. } => "foreign",
            Step::Jump { .. } => "jump",
            Step::Compromise { .. } => "compromise",
            Step::Mutate { .. } => "mutate",
            Step::Bundle { .. } => "bundle",
            Step::Second => "second",
            Step::Fresh { .. } => "fresh",
            Step::Renew { .. } => "renew",
        }
    }

    /// Whether the step creates a message (and so takes the next [`MsgId`]).
    pub fn creates_message(&self) -> bool {
        matches!(self, Step::Send { .. } | Step::Jump { .. })
    }

    /// The message the step refers to, if any.
    pub fn refers_to(&self) -> Option<MsgId> {
        match self {
            Step::Deliver { msg }
            | Step::Drop { msg }
            | Step::Replay { msg }
            | Step::Tamper { msg, .. }
            | Step::Rekey { msg }
            | Step::Truncate { msg, .. }
            | Step::Extend { msg, .. }
            | Step::Mutate { msg, .. }
            | Step::Fresh { msg } => Some(*msg),
            _ => None,
        }
    }
}

/// An attacker schedule over one session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scenario {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Checks that every step refers only to messages sent before it.
    pub fn validate(&self) -> Result<(), ParseError> {
        let mut sent = 0u32;
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(MsgId(m)) = step.refers_to() {
                if m >= sent {
                    return Err(ParseError::new(
                        i,
                        format!("step refers to m{m}, but only {sent} messages are sent before it"),
                    ));
                }
            }
            if step.creates_message() {
                sent += 1;
            }
        }
        Ok(())
    }

    /// The scenario cut after step `last`, the shortest prefix that still contains it, and
    /// the first bundle step after it if the prefix has none: a bundle step changes the
    /// session's set-up wherever it stands, so the steps before it ran on the changed one.
    pub fn prefix(&self, last: usize) -> Scenario {
        let mut steps: Vec<Step> = self.steps.iter().take(last + 1).cloned().collect();
        if !steps.iter().any(|s| matches!(s, Step::Bundle { .. })) {
            steps.extend(
                self.steps
                    .iter()
                    .skip(last + 1)
                    .find(|s| matches!(s, Step::Bundle { .. }))
                    .cloned(),
            );
        }
        Scenario { steps }
    }

    /// How many messages the scenario sends (not counting a jump's lost messages).
    pub fn message_count(&self) -> u32 {
        self.steps.iter().filter(|s| s.creates_message()).count() as u32
    }
}
