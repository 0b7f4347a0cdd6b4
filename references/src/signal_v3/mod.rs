//! The Signal Protocol's version-3 session as libsignal speaks it (X3DH with a signed
//! pre-key and an optional one-time pre-key, no Kyber pre-key, no SPQR; then libsignal's
//! Double Ratchet and wire format): the bench's reference of the `signal-v3` family, written
//! from the facts of libsignal's published source (rust/protocol/src and
//! rust/core/src/curve; release 0.72.1 for everything version 3, checked against today's
//! where they differ) and checked against libsignal-client 0.72.1 itself.
//!
//! One file per concept, in the order a session uses them:
//! - [`keys`]: the serialised public key (`05` || X25519), clamped private keys, strict
//!   parsing;
//! - [`xeddsa`]: libsignal's XEdDSA, the signed pre-key's signature;
//! - [`bundle`], [`pre_keys`], [`draws`]: the responder's bundle (the bench's fixed layout),
//!   its pre-keys, and how drawn bytes become ids;
//! - [`x3dh`]: the master secret and both sides' session initialisation;
//! - [`root_key`], [`chain_key`], [`message_keys`], [`cipher`]: KDF_RK ("WhisperRatchet"),
//!   the chain step (HMAC seeds `01` / `02`), the message keys ("WhisperMessageKeys", 80
//!   bytes), AES-256-CBC;
//! - [`protobuf`], [`signal_message`], [`pre_key_signal_message`], [`wire`]: the messages,
//!   their strict reader and where their regions lie;
//! - [`receiver_chain`], [`session_state`], [`session_record`]: skipped keys, one session
//!   state's Double Ratchet, the current and archived states;
//! - [`party`], [`export`], [`error`]: the bench's party (with its order of random draws),
//!   its state as bytes, and the refusals with their classes.
//!
//! **Limits** (libsignal's consts.rs): [`MAX_FORWARD_JUMPS`] 25,000 (the value since January
//! 2021, in 0.72.1 and today; the 2,000 of older releases and of the older implementations
//! of the family is not libsignal's for any release that speaks this format in Rust),
//! [`MAX_MESSAGE_KEYS`] 2,000 skipped keys per receiving chain (oldest dropped),
//! [`MAX_RECEIVER_CHAINS`] 5 per state (oldest dropped), [`ARCHIVED_STATES_MAX_LENGTH`] 40
//! archived states (oldest dropped). libsignal's `MAX_UNACKNOWLEDGED_SESSION_AGE` (30 days)
//! needs a clock; the reference has none and never expires a session.
//!
//! **Strictness**: every reader accepts exactly what a genuine sender of the family writes
//! and refuses the rest naming the field, where libsignal is lenient in many places (see
//! [`protobuf`], [`keys`], [`pre_key_signal_message`]). Two things cannot be made strict and
//! are accepted as libsignal accepts them: a pre-key message's registration id (nothing
//! authenticates it) and its version byte's low nibble (`33` or `34`). XEdDSA signatures are
//! verified as libsignal does, including its second encoding of s (see [`xeddsa`]).

pub mod bundle;
pub mod chain_key;
pub mod cipher;
pub mod draws;
pub mod error;
pub mod export;
pub mod keys;
pub mod message_keys;
pub mod party;
pub mod pre_key_signal_message;
pub mod pre_keys;
mod primitives;
pub mod protobuf;
pub mod receiver_chain;
pub mod root_key;
pub mod session_record;
pub mod session_state;
pub mod signal_message;
pub mod wire;
pub mod x3dh;
pub mod xeddsa;

#[cfg(test)]
mod tests;

pub use chain_key::chain_key_steps_on_this_thread;
pub use error::{ErrorClass, SignalV3Error};
pub use message_keys::MESSAGE_KEYS_INFO;
pub use party::{BoxRng, Party, PartyRng, Role, Work, PRE_KEY_TYPE, WHISPER_TYPE};
pub use receiver_chain::MAX_MESSAGE_KEYS;
pub use root_key::ROOT_INFO;
pub use session_record::ARCHIVED_STATES_MAX_LENGTH;
pub use session_state::{MAX_FORWARD_JUMPS, MAX_RECEIVER_CHAINS};
pub use x3dh::X3DH_INFO;

impl Party {
    /// The party's whole state as bytes ([`export`]).
    pub fn export_state(&self) -> Vec<u8> {
        export::export_state(self)
    }

    /// A party from bytes [`Party::export_state`] gave, drawing later randomness from `rng`.
    pub fn restore(state: &[u8], rng: BoxRng) -> Result<Party, SignalV3Error> {
        export::restore_state(state, rng)
    }
}
