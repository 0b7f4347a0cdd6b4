//! The key schedule (RFC 9420 §8): from the previous epoch's `init_secret`, the commit
//! secret, the PSK secret and the new GroupContext, the epoch's secrets.
//!
//! ```text
//!                  init_secret_[n-1]
//!                        |
//!   commit_secret -> KDF.Extract
//!                        |
//!      ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh) = joiner_secret
//!                        |
//!      psk_secret -> KDF.Extract                              = member secret
//!                        +--> DeriveSecret(., "welcome")      = welcome_secret
//!      ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)  = epoch_secret
//!                        |
//!                        +--> DeriveSecret(., <label>)        = <secret>
//!                        V
//!                  DeriveSecret(., "init")                    = init_secret_[n]
//! ```
//!
//! with the labels of §8 table 4: "sender data", "encryption", "exporter", "external",
//! "confirm", "membership", "resumption", "authentication". The exporter (§8.5):
//! `MLS-Exporter(Label, Context, Length) = ExpandWithLabel(DeriveSecret(exporter_secret,
//! Label), "exported", Hash(Context), Length)`.

use super::crypto::{extract, hash};
use super::labels::{derive_secret, encode_opaque, expand_with_label, LabelError};
use super::CipherSuite;
use std::fmt;

/// The GroupContext (RFC 9420 §8.1), with the extensions already encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupContext {
    /// The cipher suite.
    pub suite: CipherSuite,
    /// `group_id`.
    pub group_id: Vec<u8>,
    /// `epoch`.
    pub epoch: u64,
    /// `tree_hash`.
    pub tree_hash: Vec<u8>,
    /// `confirmed_transcript_hash`.
    pub confirmed_transcript_hash: Vec<u8>,
    /// The encoded `Extension` entries, without the vector's length prefix (empty for none).
    pub extensions: Vec<u8>,
}

impl GroupContext {
    /// The TLS presentation-language encoding: `uint16 version = mls10 (1)`,
    /// `uint16 cipher_suite`, `group_id<V>`, `uint64 epoch`, `tree_hash<V>`,
    /// `confirmed_transcript_hash<V>`, `extensions<V>`.
    pub fn serialize(&self) -> Result<Vec<u8>, LabelError> {
        let mut out = Vec::new();
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&self.suite.id().to_be_bytes());
        encode_opaque(&self.group_id, &mut out)?;
        out.extend_from_slice(&self.epoch.to_be_bytes());
        encode_opaque(&self.tree_hash, &mut out)?;
        encode_opaque(&self.confirmed_transcript_hash, &mut out)?;
        encode_opaque(&self.extensions, &mut out)?;
        Ok(out)
    }
}

/// The secrets of one epoch.
#[derive(Clone, PartialEq, Eq)]
pub struct EpochSecrets {
    /// `joiner_secret`.
    pub joiner_secret: Vec<u8>,
    /// `welcome_secret`.
    pub welcome_secret: Vec<u8>,
    /// `epoch_secret`.
    pub epoch_secret: Vec<u8>,
    /// `sender_data_secret`.
    pub sender_data_secret: Vec<u8>,
    /// `encryption_secret`.
    pub encryption_secret: Vec<u8>,
    /// `exporter_secret`.
    pub exporter_secret: Vec<u8>,
    /// `external_secret`.
    pub external_secret: Vec<u8>,
    /// `confirmation_key`.
    pub confirmation_key: Vec<u8>,
    /// `membership_key`.
    pub membership_key: Vec<u8>,
    /// `resumption_psk`.
    pub resumption_psk: Vec<u8>,
    /// `epoch_authenticator`.
    pub epoch_authenticator: Vec<u8>,
    /// `init_secret` of the next epoch.
    pub init_secret: Vec<u8>,
}

impl fmt::Debug for EpochSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpochSecrets").finish_non_exhaustive()
    }
}

impl EpochSecrets {
    /// Every derived secret with its RFC name, in the order of §8 (for reports).
    pub fn named(&self) -> [(&'static str, &[u8]); 12] {
        [
            ("joiner_secret", &self.joiner_secret),
            ("welcome_secret", &self.welcome_secret),
            ("epoch_secret", &self.epoch_secret),
            ("sender_data_secret", &self.sender_data_secret),
            ("encryption_secret", &self.encryption_secret),
            ("exporter_secret", &self.exporter_secret),
            ("external_secret", &self.external_secret),
            ("confirmation_key", &self.confirmation_key),
            ("membership_key", &self.membership_key),
            ("resumption_psk", &self.resumption_psk),
            ("epoch_authenticator", &self.epoch_authenticator),
            ("init_secret", &self.init_secret),
        ]
    }
}

/// Runs the key schedule for one epoch.
pub fn key_schedule(
    suite: CipherSuite,
    init_secret: &[u8],
    commit_secret: &[u8],
    psk_secret: &[u8],
    group_context: &[u8],
) -> Result<EpochSecrets, LabelError> {
    let nh = suite.hash_len();
    let extracted = extract(suite.hash(), init_secret, commit_secret);
    let joiner_secret = expand_with_label(suite, &extracted, b"joiner", group_context, nh)?;
    let member_secret = extract(suite.hash(), &joiner_secret, psk_secret);
    let welcome_secret = derive_secret(suite, &member_secret, b"welcome")?;
    let epoch_secret = expand_with_label(suite, &member_secret, b"epoch", group_context, nh)?;
    let d = |label: &[u8]| derive_secret(suite, &epoch_secret, label);
    Ok(EpochSecrets {
        sender_data_secret: d(b"sender data")?,
        encryption_secret: d(b"encryption")?,
        exporter_secret: d(b"exporter")?,
        external_secret: d(b"external")?,
        confirmation_key: d(b"confirm")?,
        membership_key: d(b"membership")?,
        resumption_psk: d(b"resumption")?,
        epoch_authenticator: d(b"authentication")?,
        init_secret: d(b"init")?,
        joiner_secret,
        welcome_secret,
        epoch_secret,
    })
}

/// MLS-Exporter(label, context, length) over `exporter_secret` (§8.5).
pub fn mls_exporter(
    suite: CipherSuite,
    exporter_secret: &[u8],
    label: &[u8],
    context: &[u8],
    length: usize,
) -> Result<Vec<u8>, LabelError> {
    let secret = derive_secret(suite, exporter_secret, label)?;
    expand_with_label(suite, &secret, b"exported", &hash(suite, context), length)
}
