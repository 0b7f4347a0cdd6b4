//! The two keyed hash calls the profile is built from, with their impossible errors handled
//! once here.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA-256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_hmac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// An HMAC-SHA-256 instance keyed with `key`.
#[allow(clippy::expect_used)]
pub(crate) fn new_hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (long keys are hashed), so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts a key of any length")
}

/// HKDF-SHA-256 with `N` bytes of output.
#[allow(clippy::expect_used)]
pub(crate) fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; N] {
    const { assert!(N <= 255 * 32, "HKDF-SHA-256 yields at most 8160 bytes") };
    let mut okm = [0u8; N];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut okm)
        .expect("the output length is checked at compile time to be within HKDF's limit");
    okm
}
