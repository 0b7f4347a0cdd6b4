//! The reference's errors.

use ratchet_bench_core::peer::{Reject, RejectClass};

/// Why RatchetDecrypt refused a message. The state is unchanged whenever this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The bytes are not a message of this profile.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The MAC did not verify.
    #[error("MAC mismatch")]
    BadMac,
    /// The MAC verified but the padding did not (the sender encrypted badly).
    #[error("bad PKCS#7 padding under a valid MAC")]
    BadPadding,
    /// The message's key was used already or never kept.
    #[error("message {n} of this chain was already received or its key was dropped")]
    AlreadyUsed {
        /// The header's N.
        n: u32,
    },
    /// The header asks the receiver to skip more than MAX_SKIP keys.
    #[error("expected at most {max} skipped message keys, got {skip}")]
    TooFarAhead {
        /// How many keys the message would make the receiver skip.
        skip: u64,
        /// MAX_SKIP.
        max: u32,
    },
    /// Keeping the skipped keys would overflow the store.
    #[error("expected room for {needed} skipped keys beside {stored} stored, the limit is {max}")]
    StoreFull {
        /// Keys already stored.
        stored: usize,
        /// Keys this message would add.
        needed: usize,
        /// The store's bound.
        max: u32,
    },
}

impl From<DecryptError> for Reject {
    fn from(e: DecryptError) -> Self {
        let class = match e {
            DecryptError::Malformed(_) => RejectClass::Malformed,
            DecryptError::BadMac | DecryptError::BadPadding => RejectClass::Auth,
            DecryptError::AlreadyUsed { .. } => RejectClass::Replay,
            DecryptError::TooFarAhead { .. } => RejectClass::TooFarAhead,
            DecryptError::StoreFull { .. } => RejectClass::StorageFull,
        };
        Reject::new(class, e.to_string())
    }
}

/// Why RatchetEncrypt could not encrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// Bob has no sending chain until he has received Alice's first message.
    #[error("no sending chain yet: a responder must receive a message before it sends")]
    NoSendingChain,
}

impl From<EncryptError> for Reject {
    fn from(e: EncryptError) -> Self {
        Reject::new(RejectClass::UnknownSession, e.to_string())
    }
}
