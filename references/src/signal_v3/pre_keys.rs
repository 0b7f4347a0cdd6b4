//! The responder's pre-keys (libsignal's `SignedPreKeyRecord` and `PreKeyRecord`, held in its
//! `SignedPreKeyStore` and `PreKeyStore`): one signed pre-key, kept, and one-time pre-keys,
//! each removed by the first session made from it (libsignal's `remove_pre_key` after a
//! pre-key message decrypts), so that a second session from the same one-time pre-key is
//! refused.

use super::keys::KeyPair;
use super::xeddsa::SIGNATURE_LEN;

/// A signed pre-key: its id, key pair and the identity key's signature of its public key.
#[derive(Clone, Debug)]
pub struct SignedPreKey {
    /// The id.
    pub id: u32,
    /// The key pair.
    pub pair: KeyPair,
    /// XEdDSA by the identity key over the serialised public key.
    pub signature: [u8; SIGNATURE_LEN],
}

/// A one-time pre-key not used yet.
#[derive(Clone, Debug)]
pub struct OneTimePreKey {
    /// The id.
    pub id: u32,
    /// The key pair.
    pub pair: KeyPair,
}
