//! The HPKE pieces MLS uses (RFC 9180), for DHKEM(X25519, HKDF-SHA256) only: the KEM's
//! DeriveKeyPair (§7.1.3), which turns an epoch's `external_secret` into `external_pub`
//! (RFC 9420 §8), and the base-mode open behind DecryptWithLabel (RFC 9420 §5.1.3):
//!
//! ```text
//! LabeledExtract(salt, label, ikm)      = Extract(salt, "HPKE-v1" || suite_id || label || ikm)
//! LabeledExpand(prk, label, info, L)    = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id
//!                                                     || label || info, L)
//! DeriveKeyPair(ikm): dkp_prk = LabeledExtract("", "dkp_prk", ikm)       (suite_id "KEM" || 0x0020)
//!                     sk      = LabeledExpand(dkp_prk, "sk", "", 32)
//!
//! DecryptWithLabel(PrivateKey, Label, Context, KEMOutput, Ciphertext) =
//!     OpenBase(KEMOutput, PrivateKey, EncryptContext, "", Ciphertext)
//! struct { opaque label<V> = "MLS 1.0 " + Label; opaque context<V> = Context; } EncryptContext;
//! ```
//!
//! The other KEMs (P-256, P-384, P-521, X448) are refused with [`HpkeError::Unsupported`].

use super::crypto::{aead_open, extract, CryptoError};
use super::labels::{encode_opaque, hkdf_expand, LabelError, MLS_LABEL_PREFIX};
use super::{AeadAlg, CipherSuite, Hash, Kem};
use x25519_dalek::{PublicKey, StaticSecret};

/// Why an HPKE operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HpkeError {
    /// The reference has no implementation of this KEM.
    #[error("the reference has no {0:?} KEM; it implements DHKEM(X25519, HKDF-SHA256) only")]
    Unsupported(Kem),
    /// A key of the wrong size.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Size {
        /// Which input.
        what: &'static str,
        /// The size X25519 takes.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// The shared secret is all zeros (a small-order public key, RFC 9180 §7.1.4).
    #[error("the X25519 shared secret is all zeros")]
    ZeroSharedSecret,
    /// A derivation failed.
    #[error(transparent)]
    Label(#[from] LabelError),
    /// The AEAD refused the ciphertext.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// DHKEM(X25519, HKDF-SHA256).
const KEM_ID: [u8; 2] = [0x00, 0x20];
/// HKDF-SHA256.
const KDF_ID: [u8; 2] = [0x00, 0x01];

fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Vec<u8> {
    let input: Vec<u8> = [b"HPKE-v1", suite_id, label, ikm].concat();
    extract(Hash::Sha256, salt, &input)
}

fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8],
    label: &[u8],
    info: &[u8],
    length: u16,
) -> Result<Vec<u8>, LabelError> {
    let input: Vec<u8> = [&length.to_be_bytes()[..], b"HPKE-v1", suite_id, label, info].concat();
    hkdf_expand(Hash::Sha256, prk, &input, usize::from(length))
}

fn kem_suite_id() -> Vec<u8> {
    [&b"KEM"[..], &KEM_ID].concat()
}

fn x25519_only(suite: CipherSuite) -> Result<(), HpkeError> {
    match suite.kem() {
        Kem::X25519 => Ok(()),
        other => Err(HpkeError::Unsupported(other)),
    }
}

fn key32(bytes: &[u8], what: &'static str) -> Result<[u8; 32], HpkeError> {
    bytes.try_into().map_err(|_| HpkeError::Size {
        what,
        expected: 32,
        got: bytes.len(),
    })
}

/// The KEM key pair `DeriveKeyPair(ikm)` gives, as (private, public) bytes.
pub fn derive_key_pair(suite: CipherSuite, ikm: &[u8]) -> Result<(Vec<u8>, Vec<u8>), HpkeError> {
    x25519_only(suite)?;
    let id = kem_suite_id();
    let dkp_prk = labeled_extract(&id, b"", b"dkp_prk", ikm);
    let sk = labeled_expand(&id, &dkp_prk, b"sk", b"", 32)?;
    let public = kem_public_key(suite, &sk)?;
    Ok((sk, public))
}

/// The KEM public key of `private`.
pub fn kem_public_key(suite: CipherSuite, private: &[u8]) -> Result<Vec<u8>, HpkeError> {
    x25519_only(suite)?;
    let secret = StaticSecret::from(key32(private, "KEM private key")?);
    Ok(PublicKey::from(&secret).as_bytes().to_vec())
}

/// The serialised EncryptContext for `label` (without its prefix) and `context`.
pub fn encrypt_context(label: &[u8], context: &[u8]) -> Result<Vec<u8>, LabelError> {
    let full: Vec<u8> = MLS_LABEL_PREFIX.iter().chain(label).copied().collect();
    let mut out = Vec::new();
    encode_opaque(&full, &mut out)?;
    encode_opaque(context, &mut out)?;
    Ok(out)
}

fn aead_id(alg: AeadAlg) -> [u8; 2] {
    match alg {
        AeadAlg::Aes128Gcm => [0x00, 0x01],
        AeadAlg::Aes256Gcm => [0x00, 0x02],
        AeadAlg::ChaCha20Poly1305 => [0x00, 0x03],
    }
}

/// DecryptWithLabel: HPKE OpenBase of `ciphertext` under `kem_output`, with the
/// EncryptContext of `label` and `context` as info and an empty AAD.
pub fn decrypt_with_label(
    suite: CipherSuite,
    private: &[u8],
    label: &[u8],
    context: &[u8],
    kem_output: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, HpkeError> {
    x25519_only(suite)?;
    // Decap (RFC 9180 §4.1).
    let sk = StaticSecret::from(key32(private, "KEM private key")?);
    let pk_e = PublicKey::from(key32(kem_output, "kem_output")?);
    let dh = sk.diffie_hellman(&pk_e);
    if !dh.was_contributory() {
        return Err(HpkeError::ZeroSharedSecret);
    }
    let pk_rm = PublicKey::from(&sk);
    let kem_context = [kem_output, pk_rm.as_bytes()].concat();
    let kem_id = kem_suite_id();
    let eae_prk = labeled_extract(&kem_id, b"", b"eae_prk", dh.as_bytes());
    let shared_secret = labeled_expand(&kem_id, &eae_prk, b"shared_secret", &kem_context, 32)?;
    // KeySchedule in mode_base (§5.1), empty psk and psk_id.
    let hpke_id = [&b"HPKE"[..], &KEM_ID, &KDF_ID, &aead_id(suite.aead())].concat();
    let info = encrypt_context(label, context)?;
    let psk_id_hash = labeled_extract(&hpke_id, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&hpke_id, b"", b"info_hash", &info);
    let ks_context = [&[0u8][..], &psk_id_hash, &info_hash].concat();
    let secret = labeled_extract(&hpke_id, &shared_secret, b"secret", b"");
    let nk =
        u16::try_from(suite.key_len()).map_err(|_| LabelError::LengthTooLong(suite.key_len()))?;
    let key = labeled_expand(&hpke_id, &secret, b"key", &ks_context, nk)?;
    let base_nonce = labeled_expand(&hpke_id, &secret, b"base_nonce", &ks_context, 12)?;
    // The first message: sequence number 0, so the nonce is the base nonce.
    Ok(aead_open(suite.aead(), &key, &base_nonce, b"", ciphertext)?)
}
