//! A receiving chain and its skipped message keys (libsignal's `SessionStructure.Chain` in
//! `receiver_chains`, rust/protocol/src/state/session.rs).
//!
//! A chain is found by the sender's ratchet key. When a message jumps ahead, the seeds of
//! the messages it skips are stored, newest last; past [`MAX_MESSAGE_KEYS`] the oldest is
//! dropped (libsignal inserts at the front and pops the back: the same order, since a chain's
//! keys come in counter order). A stored key is removed when used.

use super::chain_key::ChainKey;
use super::keys::PublicKey;
use super::message_keys::MessageKeySeed;
use std::collections::VecDeque;

/// libsignal's `MAX_MESSAGE_KEYS` (consts.rs): skipped message keys kept per receiving chain.
pub const MAX_MESSAGE_KEYS: usize = 2000;

/// One receiving chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiverChain {
    /// The sender's ratchet key this chain belongs to.
    pub(super) ratchet_key: PublicKey,
    /// The chain key of the next message not yet received in order.
    pub(super) chain_key: ChainKey,
    /// Seeds of skipped messages, oldest first, at most [`MAX_MESSAGE_KEYS`].
    pub(super) skipped: VecDeque<MessageKeySeed>,
}

impl ReceiverChain {
    /// A new chain for `ratchet_key` starting at `chain_key`.
    pub fn new(ratchet_key: PublicKey, chain_key: ChainKey) -> Self {
        ReceiverChain {
            ratchet_key,
            chain_key,
            skipped: VecDeque::new(),
        }
    }

    /// The sender's ratchet key.
    pub fn ratchet_key(&self) -> &PublicKey {
        &self.ratchet_key
    }

    /// The index of the next message not yet received in order.
    pub fn index(&self) -> u32 {
        self.chain_key.index()
    }

    /// How many skipped message keys the chain holds.
    pub fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// Where the stored seed of message `counter` is, if the chain holds it.
    pub(super) fn find_skipped(&self, counter: u32) -> Option<usize> {
        self.skipped.iter().position(|s| s.counter == counter)
    }

    /// Stores `seeds` (in counter order) after the chain's own, dropping the oldest beyond
    /// [`MAX_MESSAGE_KEYS`].
    pub(super) fn store(&mut self, seeds: impl IntoIterator<Item = MessageKeySeed>) {
        for seed in seeds {
            self.skipped.push_back(seed);
            if self.skipped.len() > MAX_MESSAGE_KEYS {
                self.skipped.pop_front();
            }
        }
    }
}
