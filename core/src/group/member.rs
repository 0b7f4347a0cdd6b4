//! What an MLS implementation is to a group schedule: a [`GroupPeer`] makes clients, each a
//! [`GroupMember`] of at most one group; everything crossing the boundary is owned bytes.
//!
//! A peer declares the limits the oracles hold it to ([`GroupLimits`]): how many past
//! epochs a member keeps to decrypt late application messages (RFC 9420 leaves this to the
//! application: keeping an epoch's secrets trades forward secrecy for delivery), how far
//! behind the newest generation of a sender it still keeps keys, and how far ahead it
//! accepts. Within them a genuine message must decrypt; beyond the retention it must not.

use super::schedule::WireFormat;
use crate::peer::Reject;
use serde::{Deserialize, Serialize};

/// The limits a group peer declares, from its source and its configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupLimits {
    /// How many epochs before its current one a member keeps the secrets of, to decrypt late
    /// application messages (0: only the current epoch).
    pub past_epochs: u32,
    /// If set, the keys of a sender's generations more than this many below the newest one
    /// received from it in an epoch are dropped (openmls's out-of-order tolerance).
    pub window: Option<u32>,
    /// The most generations a message may be ahead of the next one expected from its sender.
    pub max_forward: u32,
    /// Whether a late message (of a past epoch) is refused once its sender's leaf no longer
    /// holds that sender (removed, or the leaf reused): mls-rs keeps no credentials of past
    /// epochs and refuses such a message rather than name a wrong sender.
    #[serde(default)]
    pub drops_departed_senders: bool,
    /// Where each figure comes from (the source file and constant, or the configuration the
    /// adapter sets), for the report.
    pub source: String,
}

/// What a group peer says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPeerInfo {
    /// Short stable name (the two-party peer's name: `openmls`, `mls-rs`).
    pub name: String,
    /// The implementation and version.
    pub version: String,
    /// Its declared limits.
    pub limits: GroupLimits,
    /// Whether a member's state can be copied ([`GroupMember::export_state`],
    /// [`GroupPeer::restore`]) for the forward-secrecy probes.
    pub export_state: bool,
    /// Checks the peer runs without (a deliberately weakened wrapper says what it drops).
    pub weakened: Vec<String>,
}

/// A proposal, as the executor asks a member to make or commit one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proposal {
    /// Add the client whose key package (an `MLSMessage`) this is.
    Add {
        /// The key package.
        key_package: Vec<u8>,
    },
    /// Remove the member at this leaf.
    Remove {
        /// Its leaf index.
        leaf: u32,
    },
    /// Update the member's own leaf.
    Update,
}

/// A commit the member made and merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The commit, an `MLSMessage`.
    pub message: Vec<u8>,
    /// The Welcome for added members, if it adds any.
    pub welcome: Option<Vec<u8>>,
}

/// Who sent a message, as the receiving member's implementation says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// The sender's leaf index.
    pub leaf: u32,
    /// The identity in the sender's credential (a basic credential: the member's name).
    pub identity: String,
}

/// What a member made of a message it took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Received {
    /// An application message: its plaintext and sender.
    Application {
        /// The plaintext.
        #[serde(with = "hex::serde")]
        plaintext: Vec<u8>,
        /// The sender.
        sender: Sender,
    },
    /// A proposal, now pending.
    Proposal {
        /// The proposer.
        sender: Sender,
    },
    /// A commit, merged.
    Commit {
        /// The committer.
        sender: Sender,
        /// The member's epoch after it.
        epoch: u64,
        /// Whether the commit removed this member.
        removed: bool,
    },
}

/// One MLS implementation, making group members.
pub trait GroupPeer: Send + Sync {
    /// Name, version, declared limits.
    fn info(&self) -> GroupPeerInfo;

    /// A new client whose credential carries `identity`, and its key package (an
    /// `MLSMessage`) for whoever adds it.
    fn client(&self, identity: &str) -> Result<(Box<dyn GroupMember>, Vec<u8>), Reject>;

    /// A member rebuilt from a [`GroupMember::export_state`] copy. Peers that cannot copy a
    /// state keep this default, which says so.
    fn restore(&self, state: &[u8]) -> Result<Box<dyn GroupMember>, Reject> {
        Err(Reject::new(
            crate::peer::RejectClass::Other,
            format!(
                "{} cannot restore a member's state ({} bytes given)",
                self.info().name,
                state.len()
            ),
        ))
    }
}

/// One client, member of at most one group.
pub trait GroupMember: Send {
    /// Creates a group with this client as its only member (epoch 0).
    fn create(&mut self) -> Result<(), Reject>;

    /// Joins by a Welcome (an `MLSMessage`).
    fn join(&mut self, welcome: &[u8]) -> Result<(), Reject>;

    /// Encrypts an application message in the member's current epoch.
    fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Reject>;

    /// Sends a standalone proposal.
    fn propose(&mut self, proposal: &Proposal, wire: WireFormat) -> Result<Vec<u8>, Reject>;

    /// Commits and merges the commit at once: with `proposals` empty, every pending
    /// proposal by reference; with one Add or Remove, that proposal inline; with one
    /// Update, an update path of its own leaf.
    fn commit(&mut self, proposals: &[Proposal], wire: WireFormat) -> Result<Commit, Reject>;

    /// Takes a message (application, proposal or commit; a commit is merged at once).
    fn receive(&mut self, wire: &[u8]) -> Result<Received, Reject>;

    /// The member's leaf index, once in a group.
    fn leaf(&self) -> Option<u32>;

    /// The epoch its state is in, once in a group.
    fn epoch(&self) -> Option<u64>;

    /// The member's whole state as bytes [`GroupPeer::restore`] takes back (what an attacker
    /// holding the device would hold). Members of peers that cannot keep this default.
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Err(Reject::new(
            crate::peer::RejectClass::Other,
            "this member cannot export its state",
        ))
    }
}
