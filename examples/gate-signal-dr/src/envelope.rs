//! ENCRYPT and DECRYPT of one message under its message key: AES-256-CBC, then
//! HMAC-SHA-256 over the associated data and the body.

use crate::kdf::{keyed_mac, Key};
use crate::{Config, Error, TAG_LEN};
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const BLOCK: usize = 16;

/// The AES key, the HMAC key and the IV a message key expands into.
struct Expanded {
    cipher_key: [u8; 32],
    mac_key: [u8; 32],
    iv: [u8; 16],
}

fn expand(message_key: &Key, config: &Config) -> Expanded {
    let mut out = [0u8; 80];
    // 80 bytes is far below HKDF-SHA-256's limit, so expand cannot fail.
    let _ =
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), message_key).expand(config.message_info, &mut out);
    let mut e = Expanded {
        cipher_key: [0; 32],
        mac_key: [0; 32],
        iv: [0; 16],
    };
    e.cipher_key.copy_from_slice(&out[..32]);
    e.mac_key.copy_from_slice(&out[32..64]);
    e.iv.copy_from_slice(&out[64..]);
    e
}

fn tag(e: &Expanded, associated: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut mac = keyed_mac(&e.mac_key);
    mac.update(associated);
    mac.update(body);
    mac
}

/// The body and tag of `plaintext` under `message_key`, binding `associated`.
pub(crate) fn seal(
    message_key: &Key,
    config: &Config,
    associated: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let e = expand(message_key, config);
    let mut out = cbc::Encryptor::<aes::Aes256>::new(&e.cipher_key.into(), &e.iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
    let mac = tag(&e, associated, &out).finalize().into_bytes();
    out.extend_from_slice(&mac);
    out
}

/// The plaintext of `sealed` (body and tag) under `message_key`, if its tag binds
/// `associated` (and the configuration checks tags at all).
pub(crate) fn open(
    message_key: &Key,
    config: &Config,
    associated: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, Error> {
    let body_len = sealed.len().saturating_sub(TAG_LEN);
    if sealed.len() < BLOCK + TAG_LEN || !body_len.is_multiple_of(BLOCK) {
        return Err(Error::Malformed(format!(
            "a body of {body_len} bytes is not a positive multiple of {BLOCK}"
        )));
    }
    let (body, received) = sealed.split_at(body_len);
    let e = expand(message_key, config);
    if config.check_tag {
        tag(&e, associated, body)
            .verify_slice(received)
            .map_err(|_| Error::BadTag)?;
    }
    cbc::Decryptor::<aes::Aes256>::new(&e.cipher_key.into(), &e.iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(body)
        .map_err(|_| Error::BadPadding)
}
