//! KDF_RK: the root chain, advanced by each DH ratchet step.

use super::keys::{ChainKey, RootKey};
use super::primitives::hkdf_sha256;
use super::KDF_RK_INFO;

/// KDF_RK(rk, dh_out): HKDF-SHA-256 with the root key as salt and the DH output as input
/// key material; the first 32 bytes are the new root key, the next 32 the new chain key.
pub fn kdf_rk(rk: &RootKey, dh_out: &[u8; 32]) -> (RootKey, ChainKey) {
    let okm: [u8; 64] = hkdf_sha256(&rk.0, dh_out, KDF_RK_INFO);
    let (root, chain) = okm.split_at(32);
    (RootKey(to_key(root)), ChainKey(to_key(chain)))
}

fn to_key(bytes: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(bytes);
    key
}
