//! Why a session refuses a message.

use std::fmt;

/// Why [`crate::Session::encrypt`] or [`crate::Session::decrypt`] refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a message (or not a state, for [`crate::Session::from_bytes`]).
    Malformed(String),
    /// The tag does not match: the message was changed or is not for this session.
    BadTag,
    /// The tag matched but the padding did not.
    BadPadding,
    /// The message's key was used already.
    Replay {
        /// The message's number in its chain.
        n: u32,
    },
    /// The message would make the session derive more than MAX_SKIP keys in one chain.
    TooFarAhead {
        /// How many keys it would skip.
        skip: u64,
    },
    /// The skipped keys the message needs would not fit in the store.
    StoreFull {
        /// Keys held.
        held: usize,
        /// Keys the message would add.
        needed: usize,
    },
    /// The responder cannot send before it has received a message.
    NoSendingChain,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(what) => write!(f, "malformed: {what}"),
            Error::BadTag => f.write_str("the tag does not match"),
            Error::BadPadding => f.write_str("bad padding"),
            Error::Replay { n } => write!(f, "message {n} of this chain was received already"),
            Error::TooFarAhead { skip } => write!(
                f,
                "the message skips {skip} keys, more than {}",
                crate::MAX_SKIP
            ),
            Error::StoreFull { held, needed } => write!(
                f,
                "{held} skipped keys held and {needed} more needed, more than {}",
                crate::MAX_STORED
            ),
            Error::NoSendingChain => {
                f.write_str("no sending chain before the first message arrives")
            }
        }
    }
}

impl std::error::Error for Error {}
