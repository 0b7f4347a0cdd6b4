//! Why the reference Olm refuses an input. Whenever one of these is returned, the session
//! and account are as they were before the call.

use ratchet_bench_core::peer::{Reject, RejectClass};

/// An Olm refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OlmError {
    /// The bytes are not an Olm message of version 3.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The MAC did not verify.
    #[error("MAC mismatch")]
    BadMac,
    /// The MAC verified but the padding did not (the sender encrypted badly).
    #[error("bad PKCS#7 padding under a valid MAC")]
    BadPadding,
    /// The message's key was used already or is no longer kept.
    #[error("message {index} of this chain was already received or its key was dropped")]
    Replay {
        /// The message's chain index.
        index: u32,
    },
    /// The message would make the receiver derive more keys than it will.
    #[error("expected a chain gap of at most {max}, got {gap}")]
    TooFarAhead {
        /// How far past the chain's next index the message is.
        gap: u64,
        /// The largest gap taken.
        max: u32,
    },
    /// A new receiving chain from the other side before we sent a ratchet key it could have
    /// answered (libolm: "They shouldn't move to a new chain until we've sent them a message
    /// acknowledging the last one"): no genuine message gets here.
    #[error("a new ratchet key arrived before this side sent one")]
    UnexpectedChain,
    /// A pre-key message names a one-time key this account does not hold (never had it, or
    /// used it already).
    #[error("unknown one-time key {0}")]
    UnknownOneTimeKey(String),
    /// The message belongs to no session this party has.
    #[error("unknown session: {0}")]
    UnknownSession(String),
}

impl From<OlmError> for Reject {
    fn from(e: OlmError) -> Self {
        let class = match e {
            OlmError::Malformed(_) => RejectClass::Malformed,
            OlmError::BadMac | OlmError::BadPadding | OlmError::UnexpectedChain => {
                RejectClass::Auth
            }
            OlmError::Replay { .. } => RejectClass::Replay,
            OlmError::TooFarAhead { .. } => RejectClass::TooFarAhead,
            OlmError::UnknownOneTimeKey(_) | OlmError::UnknownSession(_) => {
                RejectClass::UnknownSession
            }
        };
        Reject::new(class, e.to_string())
    }
}
