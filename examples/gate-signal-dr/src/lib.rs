//! A small implementation of Signal's Double Ratchet under ratchet-bench's `signal-dr`
//! profile, written for the bench's example of a gate: what a team's own ratchet looks like
//! when it is put under the bench (`tests/gate.rs`).
//!
//! The profile's facts: X25519; KDF_RK = HKDF-SHA-256 (salt the root key, input the DH
//! output, 64 bytes: root key, chain key); KDF_CK = HMAC-SHA-256 of the chain key over
//! `0x01` (message key) and `0x02` (next chain key); a message key is expanded by
//! HKDF-SHA-256 (zero salt) into 80 bytes (AES-256 key, HMAC key, CBC IV); the body is
//! AES-256-CBC with PKCS#7, then a full HMAC-SHA-256 over `ad || header || body`; the header
//! is `ratchet key (32) || n (u32 BE) || pn (u32 BE)`; MAX_SKIP 1000, at most 2000 skipped
//! keys kept, a message that would store more refused.
//!
//! ```
//! use gate_signal_dr::{Config, Session};
//! use rand_core::OsRng;
//!
//! let secret = [7u8; 32]; // what the key agreement left both sides
//! let (mut bob, bundle) = Session::responder(Config::SIGNAL_DR, secret, OsRng);
//! let mut alice = Session::initiator(Config::SIGNAL_DR, secret, bundle, OsRng);
//! let wire = alice.encrypt(b"ad", b"hello").unwrap();
//! assert_eq!(bob.decrypt(b"ad", &wire).unwrap(), b"hello");
//! assert!(bob.decrypt(b"ad", &wire).is_err(), "a replay is refused");
//! ```

mod config;
mod envelope;
mod error;
mod export;
mod header;
mod kdf;
mod session;

pub use config::Config;
pub use error::Error;
pub use header::{Header, HEADER_LEN};
pub use session::Session;

/// The most message keys one message may make a receiver derive in one chain.
pub const MAX_SKIP: u32 = 1000;

/// The most skipped message keys a session keeps.
pub const MAX_STORED: usize = 2000;

/// The length of the authentication tag at the end of a message.
pub const TAG_LEN: usize = 32;
