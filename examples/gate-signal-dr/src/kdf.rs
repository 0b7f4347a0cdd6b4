//! The two ratchets' key derivations: the root chain (KDF_RK) and the symmetric chains
//! (KDF_CK).

use hkdf::Hkdf;
use hmac::digest::generic_array::GenericArray;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A 32-byte key.
pub(crate) type Key = [u8; 32];

/// KDF_RK: the next root key and a new chain key from the root key and a DH output.
pub(crate) fn root_step(root: &Key, dh_output: &Key, info: &[u8]) -> (Key, Key) {
    let mut out = [0u8; 64];
    // 64 bytes is far below HKDF-SHA-256's limit of 8160, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(root), dh_output).expand(info, &mut out);
    let (mut next_root, mut chain) = ([0u8; 32], [0u8; 32]);
    next_root.copy_from_slice(&out[..32]);
    chain.copy_from_slice(&out[32..]);
    (next_root, chain)
}

/// KDF_CK: the message key of this step and the next chain key.
pub(crate) fn chain_step(chain: &Key) -> (Key, Key) {
    (hmac(chain, 0x01), hmac(chain, 0x02))
}

fn hmac(key: &Key, byte: u8) -> Key {
    let mut mac = keyed_mac(key);
    mac.update(&[byte]);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA-256 under a 32-byte key. RFC 2104 pads a key shorter than the hash's 64-byte
/// block with zeros; padding it here gives the block-sized key the fixed-size constructor
/// takes, with nothing that can fail.
pub(crate) fn keyed_mac(key: &Key) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(GenericArray::from_slice(&block))
}
