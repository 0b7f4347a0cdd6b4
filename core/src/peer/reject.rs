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

/// The start of the detail of a refusal that is no answer of the implementation at all: the
/// process that hosts the peer (a shim) broke its protocol and was stopped. The rest reads
/// `KIND: what happened`, KIND one of `exited`, `hang`, `garbage`, `wrong-id`, `oversized`,
/// `bad-answer`, `bad-random` or `io`; the campaign turns such refusals into one finding
/// `PEER/shim-failed/KIND` instead of blaming the implementation.
pub const FAILED_PREFIX: &str = "shim-failed/";

impl Reject {
    /// The failure kind if this is the refusal of a peer process that broke its protocol
    /// ([`FAILED_PREFIX`]) rather than an answer of the implementation.
    pub fn failure_kind(&self) -> Option<&str> {
        if self.class != RejectClass::Other {
            return None;
        }
        let rest = self.detail.strip_prefix(FAILED_PREFIX)?;
        rest.split_once(':').map(|(kind, _)| kind)
    }
}
