//! The sender-data key and nonce (RFC 9420 §6.3.2), which protect a PrivateMessage's
//! sender data and are derived from the epoch's `sender_data_secret` and a sample of the
//! message's ciphertext:
//!
//! ```text
//! ciphertext_sample = ciphertext[0..KDF.Nh]   (the whole ciphertext if shorter)
//! sender_data_key   = ExpandWithLabel(sender_data_secret, "key",   ciphertext_sample, AEAD.Nk)
//! sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce", ciphertext_sample, AEAD.Nn)
//! ```

use super::labels::{expand_with_label, LabelError};
use super::CipherSuite;

/// The sender-data key and nonce.
pub struct SenderDataKeyNonce {
    /// `AEAD.Nk` bytes.
    pub key: Vec<u8>,
    /// `AEAD.Nn` bytes.
    pub nonce: Vec<u8>,
}

impl std::fmt::Debug for SenderDataKeyNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderDataKeyNonce").finish_non_exhaustive()
    }
}

/// The sender-data key and nonce for a message whose ciphertext is `ciphertext`.
pub fn sender_data_key_nonce(
    suite: CipherSuite,
    sender_data_secret: &[u8],
    ciphertext: &[u8],
) -> Result<SenderDataKeyNonce, LabelError> {
    let sample = &ciphertext[..ciphertext.len().min(suite.hash_len())];
    Ok(SenderDataKeyNonce {
        key: expand_with_label(suite, sender_data_secret, b"key", sample, suite.key_len())?,
        nonce: expand_with_label(
            suite,
            sender_data_secret,
            b"nonce",
            sample,
            suite.nonce_len(),
        )?,
    })
}
