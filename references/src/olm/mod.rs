//! Olm v1 (Matrix's pairwise ratchet), written from olm.md, with libolm's limits and
//! libolm's use of randomness, so that one seed gives the same wire bytes here and in the
//! libolm peer.
//!
//! One file per concept, named after olm.md: [`Account`] (identity and one-time keys),
//! [`RootKey`] / [`ChainKey`] / [`MessageKey`] (the KDF chain), [`Ratchet`] (sender and
//! receiver chains, skipped keys), [`Session`] (pre-key wrapping), `message` (the encodings),
//! [`cipher`] (AES-256-CBC + truncated HMAC-SHA-256), [`state`] (a party's whole state as
//! bytes, for the security oracles). [`ChainKey::advance`] counts its steps per thread
//! ([`chain_key_advances_on_this_thread`]) for the bounded-work oracle.
//!
//! Randomness: every byte comes from the caller's RNG, drawn exactly when and as libolm's C
//! API asks for it (its `*_random_length` functions), in this order:
//! - [`Account::new`]: 64 bytes (`olm_create_account_random_length`): bytes 0..32 are the
//!   Ed25519 seed (account.cpp `new_account` passes them first to
//!   `_olm_crypto_ed25519_generate_key`, whose `ed25519_create_keypair` is RFC 8032's key
//!   generation, as ed25519-dalek's `SigningKey::from_bytes`), bytes 32..64 the Curve25519
//!   identity private key.
//! - [`Account::generate_one_time_keys`]: 32 bytes per key, each the key's private key.
//! - [`Account::create_outbound_session`]: 64 bytes
//!   (`olm_create_outbound_session_random_length`): bytes 0..32 the base key E_A, bytes
//!   32..64 the first ratchet key T_0 (session.cpp `new_outbound_session`).
//! - [`Session::encrypt`]: 32 bytes, the new ratchet key, when the side has no sender chain
//!   (its first message as responder, its first after receiving a new chain), else nothing
//!   (`olm_encrypt_random_length`, ratchet.cpp `encrypt_random_length`).
//! - Making an inbound session or decrypting draws nothing.
//!
//! A Curve25519 private key is the 32 drawn bytes as they are (clamped when used, as libolm's
//! curve25519-donna does).
//!
//! Limits, from libolm's `include/olm/ratchet.hh` and `src/ratchet.cpp`:
//! [`MAX_RECEIVER_CHAINS`] = 5 receiver chains, [`MAX_SKIPPED_MESSAGE_KEYS`] = 40 skipped
//! keys for all chains together, both evicting the oldest, and [`MAX_MESSAGE_GAP`] = 2000: a
//! message more than 2000 past its chain's next index is refused.

pub mod account;
pub mod chain_key;
pub mod cipher;
mod error;
mod kdf;
pub mod keys;
pub mod message;
pub mod message_key;
pub mod ratchet;
pub mod root_key;
pub mod session;
pub mod state;

pub use account::Account;
pub use chain_key::{chain_key_advances_on_this_thread, ChainKey};
pub use error::OlmError;
pub use keys::Curve25519KeyPair;
pub use message_key::MessageKey;
pub use ratchet::Ratchet;
pub use root_key::RootKey;
pub use session::{MessageType, Session};
pub use state::OlmPartyState;

pub use kdf::hmac_sha256;

/// HKDF info of R_0 || C_{0,0} (olm.md, "Initial setup").
pub const ROOT_INFO: &[u8] = b"OLM_ROOT";
/// HKDF info of each root key advance (olm.md, "Advancing the root key").
pub const RATCHET_INFO: &[u8] = b"OLM_RATCHET";
/// HKDF info of a message's AES key, HMAC key and IV (olm.md, "Version 1").
pub const KEYS_INFO: &[u8] = b"OLM_KEYS";

/// libolm's `MAX_RECEIVER_CHAINS` (ratchet.hh).
pub const MAX_RECEIVER_CHAINS: usize = 5;
/// libolm's `MAX_SKIPPED_MESSAGE_KEYS` (ratchet.hh), for all receiver chains together.
pub const MAX_SKIPPED_MESSAGE_KEYS: usize = 40;
/// libolm's `MAX_MESSAGE_GAP` (ratchet.cpp): the largest `index - next index` taken.
pub const MAX_MESSAGE_GAP: u32 = 2000;
/// libolm's `MAX_ONE_TIME_KEYS` (account.hh): an account keeps this many, newest first.
pub const MAX_ONE_TIME_KEYS: usize = 100;
