//! The root key R_i and its two derivations (olm.md, "Initial setup" and "Advancing the root
//! key").

use super::chain_key::ChainKey;
use super::kdf::hkdf_sha256;
use super::keys::Curve25519KeyPair;
use super::{RATCHET_INFO, ROOT_INFO};
use std::fmt;

/// R_i: the root key, replaced at every ratchet step.
#[derive(Clone)]
pub struct RootKey(pub(crate) [u8; 32]);

impl RootKey {
    /// R_0 || C_{0,0} = HKDF(0, S, "OLM_ROOT", 64), where S is the triple-DH secret.
    pub fn from_shared_secret(shared_secret: &[u8; 96]) -> (RootKey, ChainKey) {
        split(hkdf_sha256::<64>(None, shared_secret, ROOT_INFO))
    }

    /// R_i || C_{i,0} = HKDF(R_{i-1}, ECDH(T_{i-1}, T_i), "OLM_RATCHET", 64).
    pub fn advance(&self, ours: &Curve25519KeyPair, theirs: &[u8; 32]) -> (RootKey, ChainKey) {
        split(hkdf_sha256::<64>(
            Some(&self.0),
            &ours.dh(theirs),
            RATCHET_INFO,
        ))
    }
}

fn split(okm: [u8; 64]) -> (RootKey, ChainKey) {
    let mut root = [0; 32];
    let mut chain = [0; 32];
    root.copy_from_slice(&okm[..32]);
    chain.copy_from_slice(&okm[32..]);
    (RootKey(root), ChainKey::new(chain, 0))
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKey").finish_non_exhaustive()
    }
}
