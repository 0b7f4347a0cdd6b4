//! ENCRYPT and DECRYPT: the AEAD built from AES-256-CBC and HMAC-SHA-256 under one message
//! key.

use super::error::DecryptError;
use super::keys::MessageKey;
use super::primitives::{hkdf_sha256, new_hmac};
use super::ENCRYPT_INFO;
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::Mac;

/// Length of the appended HMAC-SHA-256 tag.
pub const MAC_LEN: usize = 32;

const BLOCK: usize = 16;

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// The three keys ENCRYPT derives from a message key.
struct Derived {
    enc_key: [u8; 32],
    auth_key: [u8; 32],
    iv: [u8; 16],
}

fn derive(mk: &MessageKey) -> Derived {
    let okm: [u8; 80] = hkdf_sha256(&[0u8; 32], &mk.0, ENCRYPT_INFO);
    let mut d = Derived {
        enc_key: [0; 32],
        auth_key: [0; 32],
        iv: [0; 16],
    };
    d.enc_key.copy_from_slice(&okm[..32]);
    d.auth_key.copy_from_slice(&okm[32..64]);
    d.iv.copy_from_slice(&okm[64..]);
    d
}

/// ENCRYPT(mk, plaintext, associated_data): `ciphertext || HMAC(auth_key, ad || ciphertext)`.
pub fn encrypt(mk: &MessageKey, plaintext: &[u8], associated_data: &[u8]) -> Vec<u8> {
    let d = derive(mk);
    let mut out = Aes256CbcEnc::new(&d.enc_key.into(), &d.iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    let mut mac = new_hmac(&d.auth_key);
    mac.update(associated_data);
    mac.update(&out);
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
}

/// DECRYPT(mk, ciphertext, associated_data): checks the tag in constant time before touching
/// the ciphertext, then decrypts and removes the padding.
pub fn decrypt(
    mk: &MessageKey,
    ciphertext: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if ciphertext.len() < BLOCK + MAC_LEN || !(ciphertext.len() - MAC_LEN).is_multiple_of(BLOCK) {
        return Err(DecryptError::Malformed(format!(
            "expected a ciphertext of a positive multiple of {BLOCK} bytes and a {MAC_LEN}-byte MAC, got {} bytes",
            ciphertext.len()
        )));
    }
    let (body, tag) = ciphertext.split_at(ciphertext.len() - MAC_LEN);
    let d = derive(mk);
    let mut mac = new_hmac(&d.auth_key);
    mac.update(associated_data);
    mac.update(body);
    mac.verify_slice(tag).map_err(|_| DecryptError::BadMac)?;
    open_body(&d, body)
}

fn open_body(d: &Derived, body: &[u8]) -> Result<Vec<u8>, DecryptError> {
    Aes256CbcDec::new(&d.enc_key.into(), &d.iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(body)
        .map_err(|_| DecryptError::BadPadding)
}

/// The shortest tag the [`Flaw::TruncatedMacAccepted`](super::Flaw) mutant takes: the body
/// is whole blocks, so a tag of `MAC_LEN - BLOCK` bytes or fewer cannot be told from a
/// longer body.
const SHORTEST_TAG: usize = MAC_LEN - BLOCK + 1;

/// DECRYPT as the [`Flaw::TruncatedMacAccepted`](super::Flaw) mutant does it: the body is
/// whole blocks, the rest (17 to 32 bytes) the tag, compared with as many leading bytes of
/// the HMAC as it has.
pub(super) fn decrypt_short_tag(
    mk: &MessageKey,
    ciphertext: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if ciphertext.len() < BLOCK + SHORTEST_TAG {
        return Err(DecryptError::Malformed(format!(
            "expected a ciphertext of at least {BLOCK} bytes and a tag of at least {SHORTEST_TAG}, got {} bytes",
            ciphertext.len()
        )));
    }
    let tag_len = (ciphertext.len() - SHORTEST_TAG) % BLOCK + SHORTEST_TAG;
    let (body, tag) = ciphertext.split_at(ciphertext.len() - tag_len);
    let d = derive(mk);
    let mut mac = new_hmac(&d.auth_key);
    mac.update(associated_data);
    mac.update(body);
    mac.verify_truncated_left(tag)
        .map_err(|_| DecryptError::BadMac)?;
    open_body(&d, body)
}

/// DECRYPT without the MAC check, as the [`Flaw::SkippedKeyUnchecked`](super::Flaw) mutant
/// does it for a message whose key was stored: the length is checked, the tag ignored.
pub(super) fn decrypt_unchecked(
    mk: &MessageKey,
    ciphertext: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    if ciphertext.len() < BLOCK + MAC_LEN || !(ciphertext.len() - MAC_LEN).is_multiple_of(BLOCK) {
        return Err(DecryptError::Malformed(format!(
            "expected a ciphertext of a positive multiple of {BLOCK} bytes and a {MAC_LEN}-byte MAC, got {} bytes",
            ciphertext.len()
        )));
    }
    open_body(&derive(mk), &ciphertext[..ciphertext.len() - MAC_LEN])
}
