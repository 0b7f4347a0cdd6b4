//! Signal's Double Ratchet under the bench's `signal-dr` profile.
//!
//! The specification (Perrin and Marlinspike, revision 1) leaves the primitives and the
//! encodings to the application; this profile fixes them:
//!
//! - DH: X25519; GENERATE_DH draws 32 bytes from the injected RNG as the private scalar.
//! - KDF_RK(rk, dh_out): HKDF-SHA-256, salt `rk`, input `dh_out`, info [`KDF_RK_INFO`],
//!   64 bytes: the new root key, then the new chain key.
//! - KDF_CK(ck): message key HMAC-SHA-256(ck, 0x01), next chain key HMAC-SHA-256(ck, 0x02).
//! - ENCRYPT(mk, pt, ad): HKDF-SHA-256 over `mk` with a zero salt of hash length and info
//!   [`ENCRYPT_INFO`], 80 bytes: encryption key, authentication key, IV; AES-256-CBC with
//!   PKCS#7; HMAC-SHA-256 with the authentication key over `ad || ciphertext`, appended whole.
//! - HEADER(dh, pn, n) is encoded as `dh (32) || n (u32 BE) || pn (u32 BE)`, and the AEAD's
//!   associated data is `ad || encoded header`.
//! - The wire message is `encoded header || ciphertext || mac`.
//! - [`MAX_SKIP`] is 1000 keys per message and the store of skipped keys holds at most
//!   [`MAX_STORED`]; a message that would overflow it is refused, never evicting.
//!
//! One file per concept, each named after the spec's function it holds.

mod chain_key;
mod double_ratchet;
mod error;
mod flaw;
mod header;
mod keys;
mod message_key;
mod primitives;
mod root_key;
mod skipped_keys;
mod state;

pub use chain_key::{kdf_ck, kdf_ck_calls_on_this_thread};
pub use double_ratchet::DoubleRatchet;
pub use error::{DecryptError, EncryptError};
pub use flaw::Flaw;
pub use header::{Header, HEADER_LEN};
pub use keys::{ChainKey, KeyPair, MessageKey, RootKey};
pub use message_key::{decrypt, encrypt, MAC_LEN};
pub use root_key::kdf_rk;

/// HKDF info of KDF_RK in the `signal-dr` profile.
pub const KDF_RK_INFO: &[u8] = b"ratchet-bench signal-dr KDF_RK";

/// HKDF info of ENCRYPT's key derivation in the `signal-dr` profile.
pub const ENCRYPT_INFO: &[u8] = b"ratchet-bench signal-dr ENCRYPT";

/// The most message keys one message may make a receiver skip in one chain.
pub const MAX_SKIP: u32 = 1000;

/// The most skipped message keys a party keeps in all.
pub const MAX_STORED: u32 = 2000;
