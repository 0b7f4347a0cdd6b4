//! The chain key C_{i,j} (olm.md, "Advancing the chain key" and "Creating a message key").

use super::kdf::hmac_sha256;
use super::message_key::MessageKey;
use std::cell::Cell;
use std::fmt;

thread_local! {
    /// Chain-key steps (C_{i,j} to C_{i,j+1}) taken on this thread, for the bounded-work
    /// oracle: a header claiming a far index must cost at most the declared number of
    /// derivations, counted, not timed.
    static ADVANCES: Cell<u64> = const { Cell::new(0) };
}

/// How many times [`ChainKey::advance`] ran on this thread. A party reads it before and
/// after a call (the call runs on one thread) to learn how many chain steps the call took,
/// planned decryptions that were then refused included.
pub fn chain_key_advances_on_this_thread() -> u64 {
    ADVANCES.with(Cell::get)
}

/// The seed of a message key: M_{i,j} = HMAC(C_{i,j}, "\x01").
const MESSAGE_KEY_SEED: &[u8] = &[0x01];
/// The seed of the next chain key: C_{i,j+1} = HMAC(C_{i,j}, "\x02").
const CHAIN_KEY_SEED: &[u8] = &[0x02];

/// C_{i,j}: a chain key and its index j.
#[derive(Clone)]
pub struct ChainKey {
    pub(super) key: [u8; 32],
    pub(super) index: u32,
}

impl ChainKey {
    /// The chain key `key` at index `index`.
    pub fn new(key: [u8; 32], index: u32) -> Self {
        ChainKey { key, index }
    }

    /// j.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// M_{i,j}.
    pub fn message_key(&self) -> MessageKey {
        MessageKey::new(hmac_sha256(&self.key, MESSAGE_KEY_SEED), self.index)
    }

    /// Replaces C_{i,j} with C_{i,j+1}. The index wraps as libolm's `uint32_t` does; a
    /// receiver never advances that far (the gap is bounded).
    pub fn advance(&mut self) {
        ADVANCES.with(|a| a.set(a.get().wrapping_add(1)));
        self.key = hmac_sha256(&self.key, CHAIN_KEY_SEED);
        self.index = self.index.wrapping_add(1);
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainKey")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
