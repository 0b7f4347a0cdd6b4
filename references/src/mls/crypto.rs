//! The suite's primitives beyond HKDF-Expand: `Hash`, `KDF.Extract`, `MAC` (HMAC over the
//! suite's hash) and the AEAD's open (RFC 9420 §5.1, §17.1).

use super::{AeadAlg, CipherSuite, Hash};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// Why a primitive refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key or nonce of the wrong size.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Size {
        /// Which input.
        what: &'static str,
        /// The size the primitive takes.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// The AEAD tag did not verify.
    #[error("{0:?} open: the tag does not verify")]
    Open(AeadAlg),
    /// A labelled derivation failed.
    #[error(transparent)]
    Label(#[from] super::LabelError),
}

/// `Hash(data)` with the suite's hash.
pub fn hash(suite: CipherSuite, data: &[u8]) -> Vec<u8> {
    match suite.hash() {
        Hash::Sha256 => Sha256::digest(data).to_vec(),
        Hash::Sha384 => Sha384::digest(data).to_vec(),
        Hash::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// `KDF.Extract(salt, ikm)`: HKDF-Extract with `hash`.
pub fn extract(hash: Hash, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha256 => Hkdf::<Sha256>::extract(Some(salt), ikm).0.to_vec(),
        Hash::Sha384 => Hkdf::<Sha384>::extract(Some(salt), ikm).0.to_vec(),
        Hash::Sha512 => Hkdf::<Sha512>::extract(Some(salt), ikm).0.to_vec(),
    }
}

/// `MAC(key, data)`: HMAC with the suite's hash (RFC 9420 §5.1).
pub fn mac(suite: CipherSuite, key: &[u8], data: &[u8]) -> Vec<u8> {
    macro_rules! hmac {
        ($h:ty) => {
            // HMAC takes keys of any length, so this never fails.
            match <Hmac<$h> as Mac>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        };
    }
    match suite.hash() {
        Hash::Sha256 => hmac!(Sha256),
        Hash::Sha384 => hmac!(Sha384),
        Hash::Sha512 => hmac!(Sha512),
    }
}

fn open_with<C: Aead + KeyInit>(
    alg: AeadAlg,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = C::new_from_slice(key).map_err(|_| CryptoError::Size {
        what: "AEAD key",
        expected: if alg == AeadAlg::Aes128Gcm { 16 } else { 32 },
        got: key.len(),
    })?;
    if nonce.len() != 12 {
        return Err(CryptoError::Size {
            what: "AEAD nonce",
            expected: 12,
            got: nonce.len(),
        });
    }
    cipher
        .decrypt(
            aes_gcm::Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Open(alg))
}

/// `AEAD.Open(key, nonce, aad, ciphertext)` with `alg`; the tag ends the ciphertext.
pub fn aead_open(
    alg: AeadAlg,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    match alg {
        AeadAlg::Aes128Gcm => open_with::<Aes128Gcm>(alg, key, nonce, aad, ciphertext),
        AeadAlg::Aes256Gcm => open_with::<Aes256Gcm>(alg, key, nonce, aad, ciphertext),
        AeadAlg::ChaCha20Poly1305 => {
            open_with::<ChaCha20Poly1305>(alg, key, nonce, aad, ciphertext)
        }
    }
}
