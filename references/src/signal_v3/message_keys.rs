//! A message's keys (libsignal's `MessageKeys::derive_keys`): HKDF-SHA-256 over the chain's
//! message key seed, default (zero) salt, info [`MESSAGE_KEYS_INFO`], 80 bytes: AES-256 key
//! (32), HMAC-SHA-256 key (32), CBC IV (16). A receiver stores the seed of a skipped message
//! (as libsignal's `MessageKeyGenerator::Seed` does) and derives the keys when it comes.

use super::error::SignalV3Error;
use super::primitives::hkdf_sha256;
use std::fmt;

/// HKDF info of a message's keys.
pub const MESSAGE_KEYS_INFO: &[u8] = b"WhisperMessageKeys";

/// The seed of one message's keys, HMAC-SHA-256(ck, `01`), with the message's counter.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageKeySeed {
    pub(super) seed: [u8; 32],
    pub(super) counter: u32,
}

impl MessageKeySeed {
    /// The seed `seed` of message `counter` (from a stored state).
    pub fn new(seed: [u8; 32], counter: u32) -> Self {
        MessageKeySeed { seed, counter }
    }

    /// The counter of the message these keys belong to.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The message's cipher key, MAC key and IV.
    pub fn derive(&self) -> Result<MessageKeys, SignalV3Error> {
        let okm = hkdf_sha256::<80>(None, &self.seed, MESSAGE_KEYS_INFO)?;
        let mut keys = MessageKeys {
            cipher_key: [0; 32],
            mac_key: [0; 32],
            iv: [0; 16],
            counter: self.counter,
        };
        keys.cipher_key.copy_from_slice(&okm[..32]);
        keys.mac_key.copy_from_slice(&okm[32..64]);
        keys.iv.copy_from_slice(&okm[64..]);
        Ok(keys)
    }
}

impl fmt::Debug for MessageKeySeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageKeySeed")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

/// One message's keys.
pub struct MessageKeys {
    /// The AES-256-CBC key.
    pub(super) cipher_key: [u8; 32],
    /// The HMAC-SHA-256 key of the message's MAC.
    pub(super) mac_key: [u8; 32],
    /// The CBC IV.
    pub(super) iv: [u8; 16],
    /// The message's counter.
    pub(super) counter: u32,
}

impl fmt::Debug for MessageKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageKeys")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}
