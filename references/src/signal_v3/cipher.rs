//! AES-256-CBC with PKCS#7 padding, libsignal's `signal_crypto::aes_256_cbc_encrypt` and
//! `aes_256_cbc_decrypt`: the body of every SignalMessage. The MAC is the message's
//! (see [`super::signal_message`]), checked before this runs.

use super::error::SignalV3Error;
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// The AES block size.
pub const BLOCK_LEN: usize = 16;

/// The ciphertext of `plaintext`: PKCS#7 always adds 1 to 16 bytes.
pub fn encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    Aes256CbcEnc::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext)
}

/// The plaintext of `ciphertext`, or [`SignalV3Error::BadPadding`] if it is empty, not whole
/// blocks, or not PKCS#7-padded (libsignal's "failed to decrypt").
pub fn decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK_LEN) {
        return Err(SignalV3Error::BadPadding);
    }
    Aes256CbcDec::new(key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| SignalV3Error::BadPadding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_nist_sp_800_38a_f_2_5_on_its_first_block() {
        // NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), block 1; PKCS#7 then adds a full
        // block of 0x10, which the decryption takes off again.
        let key: [u8; 32] =
            hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .unwrap()
                .try_into()
                .unwrap();
        let iv: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .unwrap()
            .try_into()
            .unwrap();
        let pt = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let ct = encrypt(&key, &iv, &pt);
        assert_eq!(hex::encode(&ct[..16]), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
        assert_eq!(ct.len(), 32);
        assert_eq!(decrypt(&key, &iv, &ct).unwrap(), pt);
    }

    #[test]
    fn refuses_empty_partial_and_badly_padded_bodies() {
        let (key, iv) = ([1; 32], [2; 16]);
        let ct = encrypt(&key, &iv, b"hello");
        assert_eq!(decrypt(&key, &iv, &[]), Err(SignalV3Error::BadPadding));
        assert_eq!(
            decrypt(&key, &iv, &ct[..15]),
            Err(SignalV3Error::BadPadding)
        );
        // A wrong key garbles the padding (with overwhelming probability for this input).
        assert_eq!(decrypt(&[3; 32], &iv, &ct), Err(SignalV3Error::BadPadding));
    }
}
