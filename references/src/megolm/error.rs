//! Why the reference Megolm refuses an input. Whenever one of these is returned, the
//! inbound session is as it was before the call.

use ratchet_bench_core::peer::{Reject, RejectClass};

/// A Megolm refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MegolmError {
    /// The bytes are not a version-3 Megolm message or a version-2 session key.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The Ed25519 signature (of a message or of a session key) does not verify.
    #[error("bad Ed25519 signature on the {0}")]
    BadSignature(&'static str),
    /// The MAC did not verify.
    #[error("MAC mismatch")]
    BadMac,
    /// The MAC verified but the padding did not (the sender encrypted badly).
    #[error("bad PKCS#7 padding under a valid MAC")]
    BadPadding,
    /// The message's index is before the first one this session knows.
    #[error("expected a message index of at least {first}, got {index}")]
    UnknownIndex {
        /// The first index the session can decrypt.
        first: u32,
        /// The message's index.
        index: u32,
    },
}

impl From<MegolmError> for Reject {
    fn from(e: MegolmError) -> Self {
        let class = match e {
            MegolmError::Malformed(_) => RejectClass::Malformed,
            MegolmError::BadSignature(_) | MegolmError::BadMac | MegolmError::BadPadding => {
                RejectClass::Auth
            }
            // Its key was ratcheted away before this session began: the "deleted" half of
            // Replay, as the vodozemac adapter classes it.
            MegolmError::UnknownIndex { .. } => RejectClass::Replay,
        };
        Reject::new(class, e.to_string())
    }
}
