//! MLS groups beyond one epoch: a schedule language over groups of two to eight members,
//! its executor, and the oracles that judge what every member did.
//!
//! The two-party [`crate::scenario`] runs one MLS epoch between two members. A group
//! schedule ([`GroupSchedule`]) drives a whole group: members send application messages,
//! propose and commit adds, removes and updates (each handshake message as a
//! `PrivateMessage` or a `PublicMessage`), the network holds application messages back and
//! delivers them in any order, members lag behind the group's epoch and catch up, an
//! attacker flips a bit of a `PublicMessage`'s membership tag or copies a member's state.
//!
//! ```text
//! group 3; send M1 5; commit M0 remove M2 public; sync; deliver m0; commit M1 add private;
//! send M3 4; deliver m2
//! ```
//!
//! - [`schedule`]: the steps and their text form (which parses back to what it prints);
//! - [`model`]: the group as the schedule makes it (epochs, rosters, leaves, who has
//!   processed which handshake message), which validates a schedule and turns each step
//!   into the actions the executor performs;
//! - [`draw`]: schedules drawn by `arbitrary` for campaigns and fuzz targets, always valid;
//! - [`member`]: what an MLS implementation is to a group schedule ([`GroupPeer`],
//!   [`GroupMember`]) and the limits it declares;
//! - [`executor`]: runs a schedule on one implementation or on a mixed group;
//! - [`oracle`]: the ideal group, per delivery; [`secrecy`]: the forward-secrecy probes of
//!   a copied member state;
//! - [`campaign`], [`interop`], [`shrink`], [`report`]: drawn schedules by the seed, the
//!   cells per operation between implementations, shorter reproducers, and the report's
//!   section.

pub mod campaign;
pub mod draw;
pub mod executor;
pub mod interop;
pub mod member;
pub mod model;
pub mod oracle;
pub mod report;
pub mod schedule;
pub mod secrecy;
pub mod shrink;
pub mod tag;
mod text;

pub use executor::{execute, Assignment, GroupRecord, GroupTranscript};
pub use member::{
    Commit, GroupLimits, GroupMember, GroupPeer, GroupPeerInfo, Proposal, Received, Sender,
};
pub use schedule::{CommitOp, GroupSchedule, GroupStep, MemberId, ProposalOp, WireFormat};
pub use text::{is_group_text, GroupParseError};
