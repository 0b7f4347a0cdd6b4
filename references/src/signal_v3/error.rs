//! Why the reference refuses an input. Whenever a party returns one of these, its state is
//! exactly as it was before the call: decryption is planned on the side and committed only
//! once the message, its MAC, its padding and its associated data have all checked out.

use std::fmt;

/// A refusal of the `signal-v3` reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalV3Error {
    /// The bytes are not a message, bundle or key of this family; the text names the field.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The bytes are not a state this reference exported; the text names the field.
    #[error("malformed state: {0}")]
    MalformedState(String),
    /// The message's MAC did not verify.
    #[error("MAC verification failed")]
    BadMac,
    /// The MAC verified but the AES-256-CBC padding did not (the sender encrypted badly).
    #[error("bad PKCS#7 padding under a valid MAC")]
    BadPadding,
    /// The decrypted payload binds other associated data than the caller gave.
    #[error("expected the associated data given, got a payload bound to other data")]
    AssociatedData,
    /// The bundle's signed pre-key signature does not verify under its identity key.
    #[error("the signed pre-key signature does not verify under the bundle's identity key")]
    BadSignature,
    /// The message's key was used already or is no longer kept (libsignal's
    /// `DuplicatedMessage`).
    #[error("message {counter} of this chain was already received or its key was dropped")]
    Duplicate {
        /// The message's counter.
        counter: u32,
    },
    /// The message is further ahead in its chain than `MAX_FORWARD_JUMPS` allows.
    #[error("expected a jump of at most {max} messages, got {jump}")]
    TooFarAhead {
        /// How many message keys the message would make the receiver skip.
        jump: u64,
        /// `MAX_FORWARD_JUMPS`.
        max: u32,
    },
    /// A pre-key message carries another identity key than the one this party trusts.
    #[error("expected identity key {trusted}, got {presented}")]
    UntrustedIdentity {
        /// The trusted identity key, hex.
        trusted: String,
        /// The identity key the message carries, hex.
        presented: String,
    },
    /// A pre-key message names a signed pre-key this party does not hold.
    #[error("expected a signed pre-key id this party holds, got {0}")]
    UnknownSignedPreKey(u32),
    /// A pre-key message names a one-time pre-key this party does not hold (never had it, or
    /// a session consumed it already).
    #[error("expected a one-time pre-key id this party holds, got {0}")]
    UnknownPreKey(u32),
    /// A pre-key message of a known session (by its base key) names other pre-keys than
    /// the session was made from: a changed header, since no genuine initiator does that.
    #[error("expected pre-key ids {expected} of the session with this base key, got {got}")]
    PreKeyIdsMismatch {
        /// The ids the session was made from (one-time, signed).
        expected: String,
        /// The ids the message names.
        got: String,
    },
    /// There is no session the message or the call could belong to.
    #[error("no session: {0}")]
    NoSession(&'static str),
    /// A chain's counter would pass `u32::MAX`.
    #[error("chain exhausted: counter {0} has no successor")]
    ChainExhausted(u32),
    /// A primitive refused an input that the reference never gives it (an impossible error
    /// carried instead of a panic).
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// The bench's canonical classes of refusal, onto which an adapter maps every error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A MAC, signature, padding or associated-data check failed.
    Auth,
    /// The message key was used already or deleted.
    Replay,
    /// The message is beyond the forward limit.
    TooFarAhead,
    /// The bytes do not parse.
    Malformed,
    /// A store is full (the reference evicts, as libsignal does, and never returns it).
    StorageFull,
    /// The message belongs to no session the party has (or to an identity it does not trust).
    UnknownSession,
    /// Anything else.
    Other,
}

impl SignalV3Error {
    /// The canonical class of this refusal.
    pub fn class(&self) -> ErrorClass {
        match self {
            SignalV3Error::Malformed(_) | SignalV3Error::MalformedState(_) => ErrorClass::Malformed,
            SignalV3Error::BadMac
            | SignalV3Error::BadPadding
            | SignalV3Error::AssociatedData
            | SignalV3Error::BadSignature
            | SignalV3Error::PreKeyIdsMismatch { .. } => ErrorClass::Auth,
            SignalV3Error::Duplicate { .. } => ErrorClass::Replay,
            SignalV3Error::TooFarAhead { .. } => ErrorClass::TooFarAhead,
            // As the libsignal shim maps libsignal's UntrustedIdentity, InvalidPreKeyId,
            // InvalidSignedPreKeyId and SessionNotFound.
            SignalV3Error::UntrustedIdentity { .. }
            | SignalV3Error::UnknownSignedPreKey(_)
            | SignalV3Error::UnknownPreKey(_)
            | SignalV3Error::NoSession(_) => ErrorClass::UnknownSession,
            SignalV3Error::ChainExhausted(_) | SignalV3Error::Internal(_) => ErrorClass::Other,
        }
    }

    /// Which of two refusals of one message by different session states to report: the
    /// more telling class (too far ahead, then replay, then a failed check), the first on a
    /// tie. libsignal reports one generic "decryption failed" and logs each state's reason.
    pub(super) fn more_telling(self, other: SignalV3Error) -> SignalV3Error {
        fn rank(e: &SignalV3Error) -> u8 {
            match e.class() {
                ErrorClass::TooFarAhead => 0,
                ErrorClass::Replay => 1,
                ErrorClass::Auth => 2,
                _ => 3,
            }
        }
        if rank(&other) < rank(&self) {
            other
        } else {
            self
        }
    }
}

/// A malformed-input error naming what is wrong.
pub(super) fn malformed(what: impl fmt::Display) -> SignalV3Error {
    SignalV3Error::Malformed(what.to_string())
}

/// Lowercase hex of `bytes`, for error texts and `Debug` of public values (never secrets).
pub(super) fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
