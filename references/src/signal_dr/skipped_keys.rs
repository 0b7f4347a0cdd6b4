//! MKSKIPPED: the bounded store of message keys skipped over by out-of-order delivery.

use super::keys::{ChainKey, MessageKey};
use std::collections::BTreeMap;

/// Skipped message keys indexed by (ratchet public key, message number). Bounded by the
/// caller, which checks [`SkippedKeys::len`] against its limit before inserting; a key is
/// removed as soon as it is used, so a replay finds nothing.
#[derive(Clone, Debug, Default)]
pub struct SkippedKeys {
    keys: BTreeMap<([u8; 32], u32), MessageKey>,
    /// Old receiving chains kept whole, by ratchet public key, with their next message
    /// number: only the [`Flaw::OldChainKept`](super::Flaw) mutant fills this, in place of
    /// the keys of a chain's late messages; it stays empty (unallocated) for the reference.
    kept: Vec<([u8; 32], ChainKey, u32)>,
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

    /// The kept old chain of `dh` and its next message number, if kept.
    pub(super) fn kept_chain(&self, dh: &[u8; 32]) -> Option<(&ChainKey, u32)> {
        self.kept
            .iter()
            .find(|(d, _, _)| d == dh)
            .map(|(_, ck, nr)| (ck, *nr))
    }

    /// Keeps (or moves on) the old chain of `dh` at chain key `ck`, next message `nr`.
    pub(super) fn keep_chain(&mut self, dh: [u8; 32], ck: ChainKey, nr: u32) {
        match self.kept.iter_mut().find(|(d, _, _)| *d == dh) {
            Some(kept) => *kept = (dh, ck, nr),
            None => self.kept.push((dh, ck, nr)),
        }
    }

    /// Every kept old chain: ratchet public key, chain key, next message number.
    pub(super) fn kept_chains(&self) -> impl Iterator<Item = &([u8; 32], ChainKey, u32)> {
        self.kept.iter()
    }

    /// Stores `keys` for the chain of `dh`, numbered from `first`.
    pub fn extend(&mut self, dh: &[u8; 32], first: u32, keys: Vec<MessageKey>) {
        for (n, mk) in (first..).zip(keys) {
            self.keys.insert((*dh, n), mk);
        }
    }
}
