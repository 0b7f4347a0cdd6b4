//! key-schedule.json (RFC 9420 §8): the schema and checks are in [`super::mls`]'s module
//! documentation.

use super::mls::{same, Parts};
use super::HexBytes;
use ratchet_bench_references::mls::hpke::derive_key_pair;
use ratchet_bench_references::mls::key_schedule::{key_schedule, mls_exporter, GroupContext};
use ratchet_bench_references::mls::CipherSuite;
use serde::Deserialize;

/// One case of key-schedule.json: one cipher suite's chain of epochs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyScheduleCase {
    /// The cipher suite's number.
    pub cipher_suite: u16,
    /// The group.
    pub group_id: HexBytes,
    /// The init secret the first epoch starts from.
    pub initial_init_secret: HexBytes,
    /// Epochs 0, 1, ... in order.
    pub epochs: Vec<Epoch>,
}

/// One epoch: its inputs, then what the key schedule must derive.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epoch {
    /// Input: the tree hash of the GroupContext.
    pub tree_hash: HexBytes,
    /// Input: the commit secret.
    pub commit_secret: HexBytes,
    /// Input: the PSK secret.
    pub psk_secret: HexBytes,
    /// Input: the confirmed transcript hash of the GroupContext.
    pub confirmed_transcript_hash: HexBytes,
    /// The serialised GroupContext.
    pub group_context: HexBytes,
    /// `joiner_secret`.
    pub joiner_secret: HexBytes,
    /// `welcome_secret`.
    pub welcome_secret: HexBytes,
    /// `init_secret` of the next epoch.
    pub init_secret: HexBytes,
    /// `sender_data_secret`.
    pub sender_data_secret: HexBytes,
    /// `encryption_secret`.
    pub encryption_secret: HexBytes,
    /// `exporter_secret`.
    pub exporter_secret: HexBytes,
    /// `epoch_authenticator`.
    pub epoch_authenticator: HexBytes,
    /// `external_secret`.
    pub external_secret: HexBytes,
    /// `confirmation_key`.
    pub confirmation_key: HexBytes,
    /// `membership_key`.
    pub membership_key: HexBytes,
    /// `resumption_psk`.
    pub resumption_psk: HexBytes,
    /// The KEM public key DeriveKeyPair(external_secret) gives.
    pub external_pub: HexBytes,
    /// An exporter call and its output.
    pub exporter: Exporter,
}

/// MLS-Exporter(label, context, length) = secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exporter {
    /// The label: text, used as its UTF-8 bytes. It looks like hex, but the file's
    /// generators pass the string itself (decoding it gives other outputs).
    pub label: String,
    /// The context.
    pub context: HexBytes,
    /// The output length.
    pub length: u16,
    /// The output.
    pub secret: HexBytes,
}

impl Epoch {
    fn expected(&self) -> [(&'static str, &[u8]); 12] {
        [
            ("joiner_secret", &self.joiner_secret),
            ("welcome_secret", &self.welcome_secret),
            // The file does not list epoch_secret; it is checked through every secret
            // derived from it.
            ("epoch_secret", &[]),
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

/// Checks one key-schedule case, epoch after epoch, each starting from the `init_secret`
/// the reference derived in the one before; the error is the first difference.
pub fn check_key_schedule(suite: CipherSuite, case: &KeyScheduleCase) -> Result<Parts, String> {
    let mut init_secret = case.initial_init_secret.0.clone();
    let mut external_skip = None;
    for (n, epoch) in case.epochs.iter().enumerate() {
        let at = |what: &str| format!("epochs[{n}].{what}");
        let context = GroupContext {
            suite,
            group_id: case.group_id.0.clone(),
            epoch: n as u64,
            tree_hash: epoch.tree_hash.0.clone(),
            confirmed_transcript_hash: epoch.confirmed_transcript_hash.0.clone(),
            extensions: Vec::new(),
        }
        .serialize()
        .map_err(|e| format!("{}: {e}", at("group_context")))?;
        same(at("group_context"), &epoch.group_context, &context)?;
        let secrets = key_schedule(
            suite,
            &init_secret,
            &epoch.commit_secret,
            &epoch.psk_secret,
            &context,
        )
        .map_err(|e| format!("{}: {e}", at("key schedule")))?;
        for ((name, want), (_, got)) in epoch.expected().into_iter().zip(secrets.named()) {
            if name != "epoch_secret" {
                same(at(name), want, got)?;
            }
        }
        let x = &epoch.exporter;
        let exported = mls_exporter(
            suite,
            &secrets.exporter_secret,
            x.label.as_bytes(),
            &x.context,
            usize::from(x.length),
        )
        .map_err(|e| format!("{}: {e}", at("exporter")))?;
        same(at("exporter.secret"), &x.secret, &exported)?;
        match derive_key_pair(suite, &secrets.external_secret) {
            Ok((_, public)) => same(at("external_pub"), &epoch.external_pub, &public)?,
            Err(why) => external_skip = Some(why),
        }
        init_secret = secrets.init_secret.clone();
    }
    let mut parts = Parts::new(format!(
        "suite {}, {} chained epochs",
        suite.id(),
        case.epochs.len()
    ));
    for name in ["group_context", "secrets", "exporter"] {
        parts.checked(name);
    }
    match external_skip {
        None => parts.checked("external_pub"),
        Some(why) => parts.skipped("external_pub", why),
    }
    Ok(parts)
}
