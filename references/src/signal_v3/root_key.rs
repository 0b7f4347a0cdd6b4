//! The root key and its DH ratchet step (libsignal's `RootKey::create_chain`):
//! HKDF-SHA-256 with the root key as salt, the X25519 output as input and info
//! [`ROOT_INFO`], 64 bytes: the new root key, then the new chain's key (at index 0).

use super::chain_key::ChainKey;
use super::error::SignalV3Error;
use super::keys::{PrivateKey, PublicKey};
use super::primitives::hkdf_sha256;
use std::fmt;

/// HKDF info of a root step.
pub const ROOT_INFO: &[u8] = b"WhisperRatchet";

/// A root key.
#[derive(Clone, PartialEq, Eq)]
pub struct RootKey(pub(super) [u8; 32]);

impl RootKey {
    /// The root key `key`.
    pub fn new(key: [u8; 32]) -> Self {
        RootKey(key)
    }

    /// KDF_RK(rk, DH(ours, theirs)): the next root key and a new chain key.
    pub fn create_chain(
        &self,
        theirs: &PublicKey,
        ours: &PrivateKey,
    ) -> Result<(RootKey, ChainKey), SignalV3Error> {
        let okm = hkdf_sha256::<64>(Some(&self.0), &ours.agree(theirs), ROOT_INFO)?;
        let mut root = [0u8; 32];
        let mut chain = [0u8; 32];
        root.copy_from_slice(&okm[..32]);
        chain.copy_from_slice(&okm[32..]);
        Ok((RootKey(root), ChainKey::new(chain, 0)))
    }

    /// The key bytes, for known-answer tests.
    #[doc(hidden)]
    pub fn key_for_testing_only(&self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKey").finish_non_exhaustive()
    }
}
