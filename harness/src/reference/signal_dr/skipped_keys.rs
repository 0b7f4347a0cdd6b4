//! MKSKIPPED: the bounded store of message keys skipped over by out-of-order delivery.

use super::keys::MessageKey;
use std::collections::BTreeMap;

/// Skipped message keys indexed by (ratchet public key, message number). Bounded by the
/// caller, which checks [`SkippedKeys::len`] against its limit before inserting; a key is
/// removed as soon as it is used, so a replay finds nothing.
#[derive(Clone, Debug, Default)]
pub struct SkippedKeys {
    keys: BTreeMap<([u8; 32], u32), MessageKey>,
}

impl SkippedKeys {
    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key for message `n` of the chain of `dh`, if stored.
    pub fn get(&self, dh: &[u8; 32], n: u32) -> Option<&MessageKey> {
        self.keys.get(&(*dh, n))
    }

    /// Every stored key with its (ratchet public key, message number), for the state export.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&([u8; 32], u32), &MessageKey)> {
        self.keys.iter()
    }

    /// Deletes the key for message `n` of the chain of `dh`.
    pub fn remove(&mut self, dh: &[u8; 32], n: u32) {
        self.keys.remove(&(*dh, n));
    }

    /// Stores `keys` for the chain of `dh`, numbered from `first`.
    pub fn extend(&mut self, dh: &[u8; 32], first: u32, keys: Vec<MessageKey>) {
        for (n, mk) in (first..).zip(keys) {
            self.keys.insert((*dh, n), mk);
        }
    }
}
