//! The ideal model: what an ideal secure channel does with each delivery, given a peer's
//! declared limits.
//!
//! The rules, for every family in this module:
//! - a genuine message delivered for the first time, untampered and within the limits, must
//!   decrypt to its plaintext, in any order;
//! - a replay, a forgery (tampered, truncated, extended, injected bytes, wrong associated
//!   data) and a message of another session must be rejected;
//! - a rejected input changes nothing, so every later genuine message still decrypts;
//! - where the declared limits leave room (a store of skipped keys that could be full or
//!   could have evicted a key), either outcome is conformant: [`Verdict::May`].
//!
//! Beside it, [`security`] checks what an attacker who copies a party's state or reads the
//! wire must not gain (forward secrecy, healing, no key reuse) and what one message may cost.

pub mod chains;
pub mod security;

pub use chains::ChainModel;

use serde::{Deserialize, Serialize};

/// What an ideal channel does with one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "why", rename_all = "kebab-case")]
pub enum Verdict {
    /// It must be accepted (for a send: the encryption must succeed).
    MustAccept,
    /// It must be rejected, for this reason.
    MustReject(Why),
    /// Either outcome is conformant, for this reason.
    May(Why),
}

/// Why the oracle rules as it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Why {
    /// The message was accepted before.
    Replay,
    /// No party sent these bytes with this associated data.
    Forged,
    /// The message belongs to another session.
    Foreign,
    /// The message is beyond the receiver's declared MAX_SKIP.
    TooFarAhead,
    /// Storing the keys the message skips would overflow the declared store.
    StoreFull,
    /// An earlier overflow or eviction leaves it open whether this key is still held.
    StoreUncertain,
    /// The message is further behind the newest of its chain than the receiver's declared
    /// window of kept keys.
    OutsideWindow,
    /// The message's receiving chain is older than the newest `max_chains` the receiver
    /// declares it keeps.
    ChainDropped,
    /// The sender has no sending chain yet (a responder before its first message).
    NoSendingChain,
    /// The oracle has no model for this message (it was sent where the model said a send
    /// must fail, or the session started from a changed bundle).
    Unmodelled,
    /// A copy with a change the family declares benign ([`crate::peer::Benign`]).
    Benign,
}

impl Why {
    /// The reason's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Why::Replay => "replay",
            Why::Forged => "forged",
            Why::Foreign => "foreign",
            Why::TooFarAhead => "too-far-ahead",
            Why::StoreFull => "store-full",
            Why::StoreUncertain => "store-uncertain",
            Why::OutsideWindow => "outside-window",
            Why::ChainDropped => "chain-dropped",
            Why::NoSendingChain => "no-sending-chain",
            Why::Unmodelled => "unmodelled",
            Why::Benign => "benign",
        }
    }
}
