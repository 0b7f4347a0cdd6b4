//! The message key M_{i,j} and the authenticated encryption it keys (olm.md, "Olm
//! Authenticated Encryption", version 1).

use super::cipher::CipherKeys;
use super::KEYS_INFO;
use std::fmt;

/// M_{i,j}: the key of one message, and its chain index j.
#[derive(Clone)]
pub struct MessageKey {
    pub(super) key: [u8; 32],
    pub(super) index: u32,
}

impl MessageKey {
    /// The message key `key` of index `index`.
    pub fn new(key: [u8; 32], index: u32) -> Self {
        MessageKey { key, index }
    }

    /// j.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// AES_KEY || HMAC_KEY || AES_IV = HKDF(0, M_{i,j}, "OLM_KEYS", 80).
    pub fn cipher_keys(&self) -> CipherKeys {
        CipherKeys::derive(&self.key, KEYS_INFO)
    }

    /// The raw key, for known-answer tests.
    #[doc(hidden)]
    pub fn to_bytes_for_testing_only(&self) -> [u8; 32] {
        self.key
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageKey")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}
