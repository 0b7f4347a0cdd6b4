//! KDF_CK: the symmetric-key ratchet of a sending or receiving chain.

use super::keys::{ChainKey, MessageKey};
use super::primitives::hmac_sha256;

/// KDF_CK(ck): the message key is HMAC-SHA-256(ck, 0x01) and the next chain key
/// HMAC-SHA-256(ck, 0x02), as the spec recommends. Returns (next chain key, message key).
pub fn kdf_ck(ck: &ChainKey) -> (ChainKey, MessageKey) {
    let mk = hmac_sha256(&ck.0, &[&[0x01]]);
    let next = hmac_sha256(&ck.0, &[&[0x02]]);
    (ChainKey(next), MessageKey(mk))
}
