//! The canonical error classes every peer's errors map onto.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a peer refused an input, in the bench's classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RejectClass {
    /// MAC or AEAD failure.
    Auth,
    /// The message key was already used or deleted.
    Replay,
    /// The message is further ahead than the peer accepts.
    TooFarAhead,
    /// The bytes do not parse as a message.
    Malformed,
    /// The store of skipped keys is full.
    StorageFull,
    /// The party has no session for this message, or cannot act yet.
    UnknownSession,
    /// Anything else; the peer's text says what.
    Other,
}

impl RejectClass {
    /// The class's name in reports and signatures.
    pub fn name(self) -> &'static str {
        match self {
            RejectClass::Auth => "auth",
            RejectClass::Replay => "replay",
            RejectClass::TooFarAhead => "too-far-ahead",
            RejectClass::Malformed => "malformed",
            RejectClass::StorageFull => "storage-full",
            RejectClass::UnknownSession => "unknown-session",
            RejectClass::Other => "other",
        }
    }
}

impl fmt::Display for RejectClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: the canonical class and the peer's own text beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{class}: {detail}")]
pub struct Reject {
    /// The canonical class.
    pub class: RejectClass,
    /// The peer's own error text.
    pub detail: String,
}

impl Reject {
    /// A refusal of class `class` with the peer's text `detail`.
    pub fn new(class: RejectClass, detail: impl Into<String>) -> Self {
        Reject {
            class,
            detail: detail.into(),
        }
    }
}
