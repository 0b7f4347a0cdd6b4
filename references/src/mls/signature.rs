//! SignWithLabel and VerifyWithLabel (RFC 9420 §5.1.2):
//!
//! ```text
//! SignWithLabel(SignatureKey, Label, Content) = Signature.Sign(SignatureKey, SignContent)
//! VerifyWithLabel(VerificationKey, Label, Content, SignatureValue) =
//!     Signature.Verify(VerificationKey, SignContent, SignatureValue)
//!
//! struct {
//!     opaque label<V> = "MLS 1.0 " + Label;
//!     opaque content<V> = Content;
//! } SignContent;
//! ```
//!
//! The reference signs and verifies with Ed25519 only (ed25519-dalek); the ECDSA and Ed448
//! suites are refused with [`SignatureError::Unsupported`], so that callers report a skip.

use super::labels::{encode_opaque, LabelError, MLS_LABEL_PREFIX};
use super::{CipherSuite, SignatureScheme};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

/// Why a signature could not be made or checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The reference has no implementation of this scheme.
    #[error("the reference has no {0:?} signatures; it has Ed25519 only")]
    Unsupported(SignatureScheme),
    /// A key or signature of the wrong size.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Size {
        /// Which input.
        what: &'static str,
        /// The size Ed25519 takes.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// The public key is not a valid Ed25519 point.
    #[error("the public key is not a valid Ed25519 key")]
    PublicKey,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Invalid,
    /// The SignContent cannot be encoded.
    #[error(transparent)]
    Label(#[from] LabelError),
}

/// The serialised SignContent for `label` (without its "MLS 1.0 " prefix) and `content`.
pub fn sign_content(label: &[u8], content: &[u8]) -> Result<Vec<u8>, LabelError> {
    let full: Vec<u8> = MLS_LABEL_PREFIX.iter().chain(label).copied().collect();
    let mut out = Vec::new();
    encode_opaque(&full, &mut out)?;
    encode_opaque(content, &mut out)?;
    Ok(out)
}

fn array<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N], SignatureError> {
    bytes.try_into().map_err(|_| SignatureError::Size {
        what,
        expected: N,
        got: bytes.len(),
    })
}

fn ed25519_only(suite: CipherSuite) -> Result<(), SignatureError> {
    match suite.signature() {
        SignatureScheme::Ed25519 => Ok(()),
        other => Err(SignatureError::Unsupported(other)),
    }
}

/// VerifyWithLabel; Ed25519 verification is strict (RFC 8032 §5.1.7 with canonical `S`
/// and no small-order keys).
pub fn verify_with_label(
    suite: CipherSuite,
    public: &[u8],
    label: &[u8],
    content: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    ed25519_only(suite)?;
    let key = VerifyingKey::from_bytes(&array::<32>(public, "public key")?)
        .map_err(|_| SignatureError::PublicKey)?;
    let sig = ed25519_dalek::Signature::from_bytes(&array::<64>(signature, "signature")?);
    key.verify_strict(&sign_content(label, content)?, &sig)
        .map_err(|_| SignatureError::Invalid)
}

/// SignWithLabel with the private key `private` (Ed25519 is deterministic, so the result
/// can be compared with a published signature).
pub fn sign_with_label(
    suite: CipherSuite,
    private: &[u8],
    label: &[u8],
    content: &[u8],
) -> Result<Vec<u8>, SignatureError> {
    ed25519_only(suite)?;
    let key = SigningKey::from_bytes(&array::<32>(private, "private key")?);
    Ok(key.sign(&sign_content(label, content)?).to_bytes().to_vec())
}

/// The public key of the private key `private`.
pub fn signature_public_key(suite: CipherSuite, private: &[u8]) -> Result<Vec<u8>, SignatureError> {
    ed25519_only(suite)?;
    let key = SigningKey::from_bytes(&array::<32>(private, "private key")?);
    Ok(key.verifying_key().to_bytes().to_vec())
}
