//! Megolm (Matrix's group ratchet), written from megolm.md, with libolm's use of randomness.
//!
//! [`MegolmRatchet`] is the four-part hash ratchet with its O(log) `advance_to`;
//! [`OutboundSession`] encrypts and exports its [`SessionKey`] in the shared signed format
//! (version 2, index, R_i, Ed25519 public key, signature: 229 bytes); [`InboundSession`]
//! imports one (checking its signature) and decrypts any index from the first it knows on,
//! keeping that first ratchet so that every later index stays decryptable (megolm.md, "Partial
//! Forward Secrecy"). Messages are signed with Ed25519 and MACed with HMAC-SHA-256 truncated
//! to 8 bytes, with keys from HKDF(0, R_i, "MEGOLM_KEYS", 80). [`state`] encodes a party's
//! whole state as bytes for the security oracles.
//!
//! Randomness: [`OutboundSession::new`] draws 160 bytes in one go
//! (`olm_init_outbound_group_session_random_length`): bytes 0..128 are R_0 (R_{0,0} ..
//! R_{0,3}), bytes 128..160 the Ed25519 seed (outbound_group_session.c
//! `olm_init_outbound_group_session`). Nothing else draws randomness: Ed25519 signatures are
//! deterministic.
//!
//! Bounds: none forward. An inbound session decrypts any index at or after its first one
//! (u32 order, as vodozemac; libolm compares modulo 2^32 and refuses an index 2^31 or more
//! past the first). There is no store of skipped keys and a replay decrypts again
//! (megolm.md, "Message Replays").

mod error;
pub mod message;
pub mod ratchet;
pub mod session;
pub mod state;

pub use error::MegolmError;
pub use message::MegolmMessage;
pub use ratchet::MegolmRatchet;
pub use session::{InboundSession, OutboundSession, SessionKey};

/// HKDF info of a message's AES key, HMAC key and IV (megolm.md, "Message encryption").
pub const KEYS_INFO: &[u8] = b"MEGOLM_KEYS";
