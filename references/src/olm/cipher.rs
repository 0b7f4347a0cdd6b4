//! Olm's and Megolm's authenticated encryption, version 1 (olm.md, "Olm Authenticated
//! Encryption"; megolm.md, "Message encryption"): AES-256-CBC with PKCS#7 padding, and
//! HMAC-SHA-256 over the whole message before the MAC, truncated to [`MAC_LEN`] bytes. The
//! keys come from HKDF-SHA-256 with the default (zero) salt and an info string: "OLM_KEYS"
//! over an Olm message key, "MEGOLM_KEYS" over the 128-byte Megolm ratchet.

use super::kdf::{hkdf_sha256, new_hmac};
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::Mac;
use std::fmt;
use subtle::ConstantTimeEq;

/// Bytes of the truncated HMAC-SHA-256 appended to every message.
pub const MAC_LEN: usize = 8;

const BLOCK: usize = 16;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// AES_KEY, HMAC_KEY and AES_IV of one message.
pub struct CipherKeys {
    aes_key: [u8; 32],
    mac_key: [u8; 32],
    iv: [u8; 16],
}

impl CipherKeys {
    /// AES_KEY || HMAC_KEY || AES_IV = HKDF(0, `key`, `info`, 80).
    pub fn derive(key: &[u8], info: &[u8]) -> Self {
        let okm = hkdf_sha256::<80>(None, key, info);
        let mut keys = CipherKeys {
            aes_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
        };
        keys.aes_key.copy_from_slice(&okm[..32]);
        keys.mac_key.copy_from_slice(&okm[32..64]);
        keys.iv.copy_from_slice(&okm[64..]);
        keys
    }

    /// The length of the ciphertext of `plaintext_len` bytes: PKCS#7 always adds 1 to 16.
    pub fn ciphertext_len(plaintext_len: usize) -> usize {
        (plaintext_len / BLOCK + 1) * BLOCK
    }

    /// Appends the ciphertext of `plaintext` to `out`, encrypting in place.
    #[allow(clippy::expect_used)]
    pub fn encrypt_into(&self, out: &mut Vec<u8>, plaintext: &[u8]) {
        let start = out.len();
        out.extend_from_slice(plaintext);
        out.resize(start + Self::ciphertext_len(plaintext.len()), 0);
        Aes256CbcEnc::new(&self.aes_key.into(), &self.iv.into())
            .encrypt_padded_mut::<Pkcs7>(&mut out[start..], plaintext.len())
            .expect("the buffer was sized for the padded ciphertext");
    }

    /// The MAC of `authenticated` (everything before the MAC), truncated.
    pub fn mac(&self, authenticated: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = new_hmac(&self.mac_key);
        mac.update(authenticated);
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// Whether `mac` is the MAC of `authenticated`, compared in constant time.
    pub fn verify_mac(&self, authenticated: &[u8], mac: &[u8]) -> bool {
        bool::from(self.mac(authenticated).ct_eq(mac))
    }

    /// The plaintext of `ciphertext`, or `None` where it is not whole blocks or its padding
    /// is wrong.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Option<Vec<u8>> {
        if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
            return None;
        }
        Aes256CbcDec::new(&self.aes_key.into(), &self.iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .ok()
    }
}

impl fmt::Debug for CipherKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherKeys").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_cbc_matches_libolm_test_crypto_aes_test_case_1() {
        // libolm olm/tests/test_crypto.cpp, "AES Test Case 1": zero key, zero IV, 16 zero
        // bytes encrypt (with a full block of PKCS#7 padding) to these 32 bytes.
        let keys = CipherKeys {
            aes_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
        };
        let mut out = Vec::new();
        keys.encrypt_into(&mut out, &[0; 16]);
        assert_eq!(
            hex::encode(&out),
            "dc95c078a2408989ad48a21492842087f3c003ddc4a7b8a94baedffc3d214c38"
        );
        assert_eq!(keys.decrypt(&out).unwrap(), [0; 16]);
        assert!(keys.decrypt(&out[..31]).is_none());
    }

    #[test]
    fn mac_is_truncated_hmac_and_a_flipped_bit_fails() {
        let keys = CipherKeys::derive(&[7; 32], b"OLM_KEYS");
        let full = super::super::kdf::hmac_sha256(&keys.mac_key, b"abc");
        assert_eq!(keys.mac(b"abc"), full[..MAC_LEN]);
        assert!(keys.verify_mac(b"abc", &full[..MAC_LEN]));
        let mut bad = full;
        bad[0] ^= 1;
        assert!(!keys.verify_mac(b"abc", &bad[..MAC_LEN]));
        assert!(!keys.verify_mac(b"abc", &full[..MAC_LEN - 1]));
        assert_eq!(format!("{keys:?}"), "CipherKeys { .. }");
    }
}
