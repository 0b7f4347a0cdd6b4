//! The keyed hashes the protocol is built from: HMAC-SHA-256 (chain steps, message MACs) and
//! HKDF-SHA-256 (X3DH, root steps, message keys). HKDF's one impossible error (an output
//! longer than 255 hashes) is carried as [`SignalV3Error::Internal`], never a panic.

use super::error::SignalV3Error;
use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// HMAC-SHA-256 keyed with a 32-byte key.
///
/// RFC 2104 pads a key shorter than the hash's 64-byte block with zeros; building the
/// instance from that block directly is the same HMAC and has no error path.
pub(super) fn hmac_sha256(key: &[u8; 32]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

/// HMAC-SHA-256 of the concatenation of `parts` under `key`.
pub(super) fn hmac_sha256_of(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = hmac_sha256(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA-256 with `N` bytes of output; `salt: None` is RFC 5869's default salt (32 zero
/// bytes), as libsignal's `Hkdf::new(None, ...)`.
pub(super) fn hkdf_sha256<const N: usize>(
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
) -> Result<[u8; N], SignalV3Error> {
    let mut okm = [0u8; N];
    Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut okm)
        .map_err(|_| SignalV3Error::Internal("HKDF-SHA-256 output longer than 8160 bytes"))?;
    Ok(okm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_of_a_32_byte_key_is_rfc_2104_hmac() {
        // RFC 4231 test case 2 uses a 4-byte key; pad-free equality with the slice
        // constructor over many keys shows the block construction is the same function.
        for seed in 0u8..32 {
            let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(seed) ^ 0x5c);
            let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(b"message");
            assert_eq!(
                hmac_sha256_of(&key, &[b"mess", b"age"]),
                <[u8; 32]>::from(reference.finalize().into_bytes())
            );
        }
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_3() {
        // RFC 5869 A.3: zero-length salt and info (the default salt: HashLen zero bytes).
        let okm = hkdf_sha256::<42>(None, &[0x0b; 22], &[]).unwrap();
        assert_eq!(
            hex::encode(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
             9d201395faa4b61a96c8"
        );
    }
}
