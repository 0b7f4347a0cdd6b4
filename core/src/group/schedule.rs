//! The steps of a group schedule.
//!
//! Members are named `M0`, `M1`, ... in the order they join: the `group N` header makes
//! `M0` to `M(N-1)` (`M0` creates the group and adds the others in its first commit), and
//! every later add, by proposal or in a commit, names the next unused number. Names are
//! never reused; leaves are (a member added after a removal takes the leftmost blank leaf,
//! RFC 9420 §7.7). Messages are named `m0`, `m1`, ... in the order steps make them: every
//! `send`, `propose` and `commit` makes one.

use crate::scenario::MsgId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The fewest members a schedule's group has.
pub const MIN_MEMBERS: u8 = 2;
/// The most members a group has at any time.
pub const MAX_MEMBERS: u8 = 8;
/// The most members a schedule may create over its whole run (each add takes a new name).
pub const MAX_NAMES: u8 = 32;

/// A member, by the order it joined the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MemberId(pub u8);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "M{}", self.0)
    }
}

/// How a handshake message travels (RFC 9420 §6): encrypted under the sender's handshake
/// ratchet, or signed and tagged with the epoch's membership key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WireFormat {
    /// `PrivateMessage`: content and sender encrypted.
    Private,
    /// `PublicMessage`: signed, with a membership tag.
    Public,
}

impl WireFormat {
    /// The keyword in the text form.
    pub fn name(self) -> &'static str {
        match self {
            WireFormat::Private => "private",
            WireFormat::Public => "public",
        }
    }
}

/// What a standalone proposal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposalOp {
    /// Add a new member (the next unused name), from its key package.
    Add,
    /// Remove a member.
    Remove(MemberId),
    /// Replace the proposer's own leaf key (an Update proposal).
    Update,
}

/// What a commit carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitOp {
    /// An Add proposal inline: a new member (the next unused name) joins by the Welcome.
    Add,
    /// A Remove proposal inline.
    Remove(MemberId),
    /// No proposal, an update path: the committer's own leaf and path get new keys.
    Update,
    /// Every proposal sent in this epoch, by reference (there must be one).
    Pending,
}

/// One step of a group schedule.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum GroupStep {
    /// `send M1 12`: a member encrypts an application message of `len` bytes in its own
    /// current epoch; the message is held until delivered.
    Send {
        /// The sender.
        from: MemberId,
        /// The plaintext's length.
        len: u16,
    },
    /// `jump M1 1001`: a member sends `lost` application messages that the network loses,
    /// then one more (of 8 bytes), held until delivered: its generation is `lost` ahead of
    /// the next one its receivers expect, to test their declared forward limits.
    Jump {
        /// The sender.
        from: MemberId,
        /// How many messages are lost before the one that is kept.
        lost: u16,
    },
    /// `propose M1 remove M3 public`: a member sends a proposal. It first takes every
    /// handshake message the group has sent it (as RFC 9420 §14 requires of a member that
    /// changes the group).
    Propose {
        /// The proposer.
        from: MemberId,
        /// What it proposes.
        op: ProposalOp,
        /// How the proposal travels.
        wire: WireFormat,
    },
    /// `commit M0 add private`: a member commits, after taking every handshake message the
    /// group has sent it; the committer moves to the next epoch at once and added members
    /// join by the Welcome; the others take the commit when they sync.
    Commit {
        /// The committer.
        from: MemberId,
        /// What the commit carries.
        op: CommitOp,
        /// How the commit travels.
        wire: WireFormat,
    },
    /// `deliver m4` (every member that has not had it yet, the sender excepted, removed
    /// members included) or `deliver m4 M2` (one member, again if it had it): an
    /// application message arrives.
    Deliver {
        /// The application message.
        msg: MsgId,
        /// One receiver, or every one.
        to: Option<MemberId>,
    },
    /// `sync M2` or `sync` (every member): a member takes, in order, every handshake
    /// message the group has sent it (proposals and commits, up to its own removal).
    Sync {
        /// One member, or every one.
        member: Option<MemberId>,
    },
    /// `tamper m3 M2 tag 17`: a member receives a copy of handshake message `m3` with one
    /// bit of its membership tag flipped (bit index modulo the tag's size), right before it
    /// would take the genuine message. Only a `PublicMessage` has a membership tag; on a
    /// `PrivateMessage` the step is recorded as not applicable.
    TamperTag {
        /// The handshake message copied.
        msg: MsgId,
        /// The receiver.
        to: MemberId,
        /// Which bit of the tag.
        bit: u16,
    },
    /// `compromise M2`: the attacker copies a member's state; the forward-secrecy probes
    /// then try the copy on every earlier message whose key the member must have deleted.
    Compromise {
        /// The member whose state is copied.
        member: MemberId,
    },
}

impl GroupStep {
    /// The step's kind, as used in finding signatures and counts.
    pub fn kind(&self) -> &'static str {
        match self {
            GroupStep::Send { .. } => "group-send",
            GroupStep::Jump { .. } => "group-jump",
            GroupStep::Propose { .. } => "group-propose",
            GroupStep::Commit { .. } => "group-commit",
            GroupStep::Deliver { .. } => "group-deliver",
            GroupStep::Sync { .. } => "group-sync",
            GroupStep::TamperTag { .. } => "group-tamper-tag",
            GroupStep::Compromise { .. } => "group-compromise",
        }
    }

    /// Whether the step makes a message (and so takes the next [`MsgId`]).
    pub fn creates_message(&self) -> bool {
        matches!(
            self,
            GroupStep::Send { .. }
                | GroupStep::Jump { .. }
                | GroupStep::Propose { .. }
                | GroupStep::Commit { .. }
        )
    }

    /// Whether the step makes a new member name (an add).
    pub fn creates_member(&self) -> bool {
        matches!(
            self,
            GroupStep::Propose {
                op: ProposalOp::Add,
                ..
            } | GroupStep::Commit {
                op: CommitOp::Add,
                ..
            }
        )
    }

    /// The message the step refers to, if any.
    pub fn message(&self) -> Option<MsgId> {
        match self {
            GroupStep::Deliver { msg, .. } | GroupStep::TamperTag { msg, .. } => Some(*msg),
            _ => None,
        }
    }

    /// The members the step names.
    pub fn members(&self) -> Vec<MemberId> {
        match self {
            GroupStep::Send { from, .. } | GroupStep::Jump { from, .. } => vec![*from],
            GroupStep::Propose { from, op, .. } => match op {
                ProposalOp::Remove(m) => vec![*from, *m],
                _ => vec![*from],
            },
            GroupStep::Commit { from, op, .. } => match op {
                CommitOp::Remove(m) => vec![*from, *m],
                _ => vec![*from],
            },
            GroupStep::Deliver { to, .. } => to.iter().copied().collect(),
            GroupStep::Sync { member } => member.iter().copied().collect(),
            GroupStep::TamperTag { to, .. } => vec![*to],
            GroupStep::Compromise { member } => vec![*member],
        }
    }

    /// The step with every member name and message name mapped.
    pub fn renamed(
        &self,
        member: impl Fn(MemberId) -> MemberId,
        msg: impl Fn(MsgId) -> MsgId,
    ) -> GroupStep {
        match self.clone() {
            GroupStep::Send { from, len } => GroupStep::Send {
                from: member(from),
                len,
            },
            GroupStep::Jump { from, lost } => GroupStep::Jump {
                from: member(from),
                lost,
            },
            GroupStep::Propose { from, op, wire } => GroupStep::Propose {
                from: member(from),
                op: match op {
                    ProposalOp::Remove(m) => ProposalOp::Remove(member(m)),
                    other => other,
                },
                wire,
            },
            GroupStep::Commit { from, op, wire } => GroupStep::Commit {
                from: member(from),
                op: match op {
                    CommitOp::Remove(m) => CommitOp::Remove(member(m)),
                    other => other,
                },
                wire,
            },
            GroupStep::Deliver { msg: m, to } => GroupStep::Deliver {
                msg: msg(m),
                to: to.map(&member),
            },
            GroupStep::Sync { member: m } => GroupStep::Sync {
                member: m.map(&member),
            },
            GroupStep::TamperTag { msg: m, to, bit } => GroupStep::TamperTag {
                msg: msg(m),
                to: member(to),
                bit,
            },
            GroupStep::Compromise { member: m } => GroupStep::Compromise { member: member(m) },
        }
    }
}

/// A schedule over one MLS group: its initial size and its steps.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupSchedule {
    /// How many members the group starts with (`M0` creates it and adds the others).
    pub size: u8,
    /// The steps, in order.
    pub steps: Vec<GroupStep>,
}

impl Default for GroupSchedule {
    fn default() -> Self {
        GroupSchedule {
            size: MIN_MEMBERS,
            steps: Vec::new(),
        }
    }
}

impl GroupSchedule {
    /// The schedule cut after step `last`.
    pub fn prefix(&self, last: usize) -> GroupSchedule {
        GroupSchedule {
            size: self.size,
            steps: self.steps.iter().take(last + 1).cloned().collect(),
        }
    }
}
