//! The keyed hashes Olm and Megolm are built from (olm.md, "Notation"): HMAC-SHA-256 and
//! HKDF-SHA-256, with their impossible errors handled once here.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA-256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_hmac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// An HMAC-SHA-256 instance keyed with `key`.
#[allow(clippy::expect_used)]
pub(crate) fn new_hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (long keys are hashed), so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts a key of any length")
}

/// HKDF-SHA-256 with `N` bytes of output. `salt: None` is the "default salt" of olm.md (a
/// hash-length string of zeros, which libolm passes as an empty salt: the same HMAC key).
#[allow(clippy::expect_used)]
pub(crate) fn hkdf_sha256<const N: usize>(salt: Option<&[u8]>, ikm: &[u8], info: &[u8]) -> [u8; N] {
    const { assert!(N <= 255 * 32, "HKDF-SHA-256 yields at most 8160 bytes") };
    let mut okm = [0u8; N];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm)
        .expect("the output length is checked at compile time to be within HKDF's limit");
    okm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_libolm_test_crypto_hmac_test_case_1() {
        // libolm olm/tests/test_crypto.cpp, "HMAC Test Case 1": empty key, empty input.
        assert_eq!(
            hex::encode(hmac_sha256(&[], &[])),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        );
    }

    #[test]
    fn hkdf_matches_libolm_test_crypto_hdkf_test_case_1() {
        // libolm olm/tests/test_crypto.cpp, "HDKF Test Case 1" (RFC 5869 A.1): 22 bytes of
        // 0x0b, salt 00..0c, info f0..f9, 42 bytes out; its first check is the extract step's
        // HMAC(salt, ikm).
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        assert_eq!(
            hex::encode(hmac_sha256(&salt, &ikm)),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
        );
        assert_eq!(
            hex::encode(hkdf_sha256::<42>(Some(&salt), &ikm, &info)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }
}
