//! The symmetric-key ratchet of a sending or receiving chain (libsignal's `ChainKey`,
//! rust/protocol/src/ratchet/keys.rs): the message key seed is HMAC-SHA-256(ck, `01`), the
//! next chain key HMAC-SHA-256(ck, `02`), and the index counts the chain's messages.
//!
//! Every step to the next chain key is counted per thread
//! ([`chain_key_steps_on_this_thread`]), for the bench's bounded-work oracle: a party reads
//! the count around each call, refused calls included.

use super::error::SignalV3Error;
use super::message_keys::MessageKeySeed;
use super::primitives::hmac_sha256_of;
use std::cell::Cell;
use std::fmt;

thread_local! {
    /// Chain-key steps taken on this thread.
    static STEPS: Cell<u64> = const { Cell::new(0) };
}

/// How many times [`ChainKey::next`] ran on this thread. A party reads it before and after
/// a call (a call runs on one thread) to learn how many chain steps that call took.
pub fn chain_key_steps_on_this_thread() -> u64 {
    STEPS.with(Cell::get)
}

/// libsignal's `MESSAGE_KEY_SEED`.
const MESSAGE_KEY_SEED: [u8; 1] = [0x01];
/// libsignal's `CHAIN_KEY_SEED`.
const CHAIN_KEY_SEED: [u8; 1] = [0x02];

/// A chain key and its index (the counter of the next message of the chain).
#[derive(Clone, PartialEq, Eq)]
pub struct ChainKey {
    pub(super) key: [u8; 32],
    pub(super) index: u32,
}

impl ChainKey {
    /// The chain key `key` at index `index`.
    pub fn new(key: [u8; 32], index: u32) -> Self {
        ChainKey { key, index }
    }

    /// The counter of the message this key would encrypt next.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The seed of this index's message keys: HMAC-SHA-256(ck, `01`).
    pub fn message_key_seed(&self) -> MessageKeySeed {
        MessageKeySeed {
            seed: hmac_sha256_of(&self.key, &[&MESSAGE_KEY_SEED]),
            counter: self.index,
        }
    }

    /// The next chain key: HMAC-SHA-256(ck, `02`) at index + 1 (counted), or
    /// [`SignalV3Error::ChainExhausted`] at index `u32::MAX`.
    pub fn next(&self) -> Result<ChainKey, SignalV3Error> {
        let index = self
            .index
            .checked_add(1)
            .ok_or(SignalV3Error::ChainExhausted(self.index))?;
        STEPS.with(|s| s.set(s.get().wrapping_add(1)));
        Ok(ChainKey {
            key: hmac_sha256_of(&self.key, &[&CHAIN_KEY_SEED]),
            index,
        })
    }

    /// The key bytes, for known-answer tests.
    #[doc(hidden)]
    pub fn key_for_testing_only(&self) -> [u8; 32] {
        self.key
    }
}

impl fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainKey")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libsignals_test_chain_key_derivation() {
        // libsignal rust/protocol/src/ratchet/keys.rs, test_chain_key_derivation.
        let seed: [u8; 32] =
            hex::decode("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f")
                .unwrap()
                .try_into()
                .unwrap();
        let chain = ChainKey::new(seed, 0);
        let keys = chain.message_key_seed().derive().unwrap();
        assert_eq!(
            hex::encode(keys.cipher_key),
            "bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217"
        );
        assert_eq!(
            hex::encode(keys.mac_key),
            "c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b"
        );
        assert_eq!(keys.counter, 0);
        let next = chain.next().unwrap();
        assert_eq!(
            hex::encode(next.key),
            "28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d"
        );
        assert_eq!(next.index(), 1);
        assert_eq!(next.message_key_seed().derive().unwrap().counter, 1);
    }

    #[test]
    fn steps_are_counted_and_the_last_index_has_no_successor() {
        let before = chain_key_steps_on_this_thread();
        let chain = ChainKey::new([0; 32], 5).next().unwrap().next().unwrap();
        assert_eq!(chain.index(), 7);
        assert_eq!(chain_key_steps_on_this_thread() - before, 2);
        assert_eq!(
            ChainKey::new([0; 32], u32::MAX).next(),
            Err(SignalV3Error::ChainExhausted(u32::MAX))
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", ChainKey::new([0xab; 32], 3));
        assert!(!shown.contains("ab"), "{shown}");
    }
}
