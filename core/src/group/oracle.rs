//! The ideal group: for each message a member takes, what an ideal MLS member does, given
//! the limits its implementation declares.
//!
//! An application message of epoch `e`, generation `g`, from `S`, taken by `R` whose state
//! is in epoch `r`:
//! - `R` was not a member in `e` (it joined later): it has no secrets of `e`, **must
//!   refuse**;
//! - `R` was removed before `e` (its removal commit starts an epoch at or before `e`): it
//!   was left out of that commit's path secrets, so **must refuse** (finding
//!   `removed-decrypted`): a removed member decrypts nothing of later epochs;
//! - `e > r`: `R` has not taken the commits into `e`, **must refuse**;
//! - `r - e` above the declared past-epoch retention: the epoch's secrets are deleted, **must
//!   refuse** (finding `forward-secrecy`, class `past-epoch`);
//! - `R` accepted it before: its key is used and deleted (RFC 9420 §9.2), **must refuse**;
//! - `g` further behind the newest generation `R` took from `S` in `e` than the declared
//!   window: either (the key may be dropped; an ideal member would keep it);
//! - `g` further ahead of the next expected than the declared forward limit: **must refuse**;
//! - `S` sent it after a commit removing `S`, which `S` had not taken, and `R` has taken
//!   that commit: either (`R` cannot tell it from a message sent before the removal; RFC
//!   9420 leaves retention of past epochs to the application);
//! - `S` has left the group in `R`'s current epoch and `R`'s implementation declares that
//!   it refuses late messages of departed senders
//!   ([`GroupLimits::drops_departed_senders`]): either;
//! - otherwise **must decrypt** to the plaintext sent, attributed to `S` (its credential
//!   and its leaf in `e`).
//!
//! A proposal or commit taken in order by a member of its epoch **must be accepted** (a
//! commit moves the member to the next epoch, or tells it it was removed). A copy whose
//! membership tag does not verify **must be refused** (RFC 9420 §6.2): finding
//! `accepted-malleated`, class `membership-tag`. Whatever a member accepts must name its
//! true sender: otherwise finding `misattributed`.

use super::member::{GroupLimits, Received, Sender};
use super::model::{GroupModel, MessageBody, View};
use super::schedule::MemberId;
use crate::report::FindingKind;
use crate::scenario::MsgId;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Why the oracle rules as it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Why {
    /// A genuine message within the limits.
    Genuine,
    /// A late message of an epoch the receiver has left, within its retention.
    LateWithinRetention,
    /// The receiver joined after the message's epoch.
    NotYetMember,
    /// The receiver was removed before the message's epoch.
    Removed,
    /// The receiver has not reached the message's epoch.
    FutureEpoch,
    /// The message's epoch is older than the receiver's declared retention.
    PastRetention,
    /// The receiver already accepted this message.
    Replay,
    /// The generation is behind the receiver's declared window.
    OutsideWindow,
    /// The generation is beyond the declared forward limit.
    TooFarAhead,
    /// A removed sender's message, sent after the commit that removed it, taken by a
    /// receiver that has taken that commit.
    RemovedSenderLate,
    /// The receiver has taken its own removal; whether it keeps the old epoch is its
    /// application's choice.
    ReceiverGone,
    /// The membership tag does not verify.
    BadTag,
    /// The sender holds proposals not yet committed: it may refuse to send.
    PendingProposals,
    /// A late message whose sender has left the group since, taken by a peer that declares
    /// it refuses those ([`GroupLimits::drops_departed_senders`]).
    SenderDeparted,
}

impl Why {
    /// The reason's name in reports and finding classes.
    pub fn name(self) -> &'static str {
        match self {
            Why::Genuine => "genuine",
            Why::LateWithinRetention => "late-within-retention",
            Why::NotYetMember => "not-yet-member",
            Why::Removed => "removed",
            Why::FutureEpoch => "future-epoch",
            Why::PastRetention => "past-epoch",
            Why::Replay => "replay",
            Why::OutsideWindow => "outside-window",
            Why::TooFarAhead => "too-far-ahead",
            Why::RemovedSenderLate => "removed-sender-late",
            Why::ReceiverGone => "receiver-gone",
            Why::BadTag => "membership-tag",
            Why::PendingProposals => "pending-proposals",
            Why::SenderDeparted => "sender-departed",
        }
    }
}

/// What an ideal member does with an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "ruling", content = "why", rename_all = "kebab-case")]
pub enum Ruling {
    /// It must take it.
    MustAccept(Why),
    /// It must refuse it.
    MustReject(Why),
    /// Either is conformant.
    May(Why),
}

impl Ruling {
    /// The reason.
    pub fn why(self) -> Why {
        match self {
            Ruling::MustAccept(w) | Ruling::MustReject(w) | Ruling::May(w) => w,
        }
    }

    /// `must-accept (genuine)` and the like.
    pub fn describe(self) -> String {
        let verdict = match self {
            Ruling::MustAccept(_) => "must accept",
            Ruling::MustReject(_) => "must refuse",
            Ruling::May(_) => "may accept or refuse",
        };
        format!("{verdict} ({})", self.why().name())
    }
}

/// What the oracle remembers of a run: what each member accepted.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// (receiver, message) pairs the receiver accepted.
    pub accepted: BTreeSet<(MemberId, MsgId)>,
    /// Per (receiver, epoch, sender): the newest generation accepted.
    pub newest: BTreeMap<(MemberId, u64, MemberId), u32>,
}

impl History {
    /// Notes that `receiver` accepted application message `msg`.
    pub fn accepted(&mut self, model: &GroupModel, receiver: MemberId, msg: MsgId) {
        self.accepted.insert((receiver, msg));
        if let Some(m) = model.message(msg) {
            if let MessageBody::Application { generation, .. } = m.body {
                let newest = self
                    .newest
                    .entry((receiver, m.epoch, m.sender))
                    .or_insert(generation);
                *newest = (*newest).max(generation);
            }
        }
    }

    /// Whether `generation` of `sender` in `epoch` lies behind `receiver`'s window.
    pub fn outside_window(
        &self,
        limits: &GroupLimits,
        receiver: MemberId,
        epoch: u64,
        sender: MemberId,
        generation: u32,
    ) -> bool {
        let Some(w) = limits.window else {
            return false;
        };
        self.newest
            .get(&(receiver, epoch, sender))
            .is_some_and(|&n| u64::from(n) + 1 - u64::from(generation.min(n + 1)) > u64::from(w))
    }

    /// Whether `generation` is beyond the forward limit from what `receiver` took.
    fn too_far_ahead(
        &self,
        limits: &GroupLimits,
        receiver: MemberId,
        epoch: u64,
        sender: MemberId,
        generation: u32,
    ) -> bool {
        let next = self
            .newest
            .get(&(receiver, epoch, sender))
            .map_or(0, |&n| u64::from(n) + 1);
        u64::from(generation) > next + u64::from(limits.max_forward)
    }
}

/// The ruling on `receiver` (state `view`, limits `limits`) taking application message
/// `msg`.
pub fn rule_application(
    model: &GroupModel,
    history: &History,
    limits: &GroupLimits,
    receiver: MemberId,
    msg: MsgId,
    view: &View,
) -> Ruling {
    let Some(m) = model.message(msg) else {
        return Ruling::May(Why::Genuine);
    };
    let MessageBody::Application { generation, .. } = m.body else {
        return Ruling::MustAccept(Why::Genuine);
    };
    let e = m.epoch;
    if view.joined > e {
        return Ruling::MustReject(Why::NotYetMember);
    }
    if view.removed.is_some_and(|rm| e >= rm) {
        return Ruling::MustReject(Why::Removed);
    }
    if e > view.epoch {
        return Ruling::MustReject(Why::FutureEpoch);
    }
    if history.accepted.contains(&(receiver, msg)) {
        return Ruling::MustReject(Why::Replay);
    }
    if view.gone {
        return Ruling::May(Why::ReceiverGone);
    }
    if view.epoch - e > u64::from(limits.past_epochs) {
        return Ruling::MustReject(Why::PastRetention);
    }
    if history.too_far_ahead(limits, receiver, e, m.sender, generation) {
        return Ruling::MustReject(Why::TooFarAhead);
    }
    if history.outside_window(limits, receiver, e, m.sender, generation) {
        return Ruling::May(Why::OutsideWindow);
    }
    let sender_removed_seen = model
        .member(m.sender)
        .and_then(|s| s.removed)
        .is_some_and(|rs| view.epoch >= rs);
    if m.after_removal && sender_removed_seen {
        return Ruling::May(Why::RemovedSenderLate);
    }
    if sender_removed_seen && limits.drops_departed_senders {
        return Ruling::May(Why::SenderDeparted);
    }
    if e < view.epoch {
        Ruling::MustAccept(Why::LateWithinRetention)
    } else {
        Ruling::MustAccept(Why::Genuine)
    }
}

/// What is wrong with an accepted input, as a finding kind, its class and a sentence.
pub type Wrong = (FindingKind, String, String);

/// Judges an accepted application message: its plaintext and its sender must be the
/// genuine ones, and the ruling must allow accepting it.
pub fn judge_accepted(
    ruling: Ruling,
    received: &Received,
    plaintext: &[u8],
    sender: &Sender,
) -> Option<Wrong> {
    if let Ruling::MustReject(why) = ruling {
        let kind = match why {
            Why::Removed => FindingKind::RemovedDecrypted,
            Why::PastRetention => FindingKind::ForwardSecrecy,
            Why::Replay => FindingKind::AcceptedReplay,
            Why::TooFarAhead => FindingKind::AcceptedTooFarAhead,
            Why::BadTag => FindingKind::AcceptedMalleated,
            _ => FindingKind::AcceptedForeign,
        };
        return Some((
            kind,
            why.name().into(),
            format!(
                "expected a refusal ({}), the member accepted it",
                why.name()
            ),
        ));
    }
    match received {
        Received::Application {
            plaintext: got,
            sender: by,
        } => {
            if got != plaintext {
                return Some((
                    FindingKind::WrongPlaintext,
                    "application".into(),
                    format!(
                        "expected plaintext {}, got {}",
                        hex::encode(plaintext),
                        hex::encode(got)
                    ),
                ));
            }
            if by != sender {
                return Some((
                    FindingKind::Misattributed,
                    if by.identity != sender.identity {
                        "identity".into()
                    } else {
                        "leaf".into()
                    },
                    format!(
                        "sent by {} at leaf {}, attributed to {} at leaf {}",
                        sender.identity, sender.leaf, by.identity, by.leaf
                    ),
                ));
            }
            None
        }
        other => Some((
            FindingKind::WrongPlaintext,
            "not-application".into(),
            format!("expected an application message, the member read {other:?}"),
        )),
    }
}

/// Judges an accepted handshake message taken in order: a proposal must read as one from
/// its sender, a commit must move the member to `next_epoch` or say it was removed.
pub fn judge_handshake(
    received: &Received,
    is_commit: bool,
    removes_receiver: bool,
    next_epoch: u64,
    sender: &Sender,
) -> Option<Wrong> {
    let (by, what) = match (received, is_commit) {
        (Received::Proposal { sender }, false) => (sender, None),
        (
            Received::Commit {
                sender,
                epoch,
                removed,
            },
            true,
        ) => {
            let wrong = if *removed != removes_receiver {
                Some(format!(
                    "the commit {} the member, the member read removed = {removed}",
                    if removes_receiver {
                        "removes"
                    } else {
                        "does not remove"
                    }
                ))
            } else if !removes_receiver && *epoch != next_epoch {
                Some(format!(
                    "the commit starts epoch {next_epoch}, the member is in epoch {epoch}"
                ))
            } else {
                None
            };
            (sender, wrong)
        }
        (other, _) => {
            return Some((
                FindingKind::WrongPlaintext,
                "handshake".into(),
                format!(
                    "expected a {}, the member read {other:?}",
                    if is_commit { "commit" } else { "proposal" }
                ),
            ))
        }
    };
    if let Some(what) = what {
        return Some((FindingKind::WrongPlaintext, "epoch".into(), what));
    }
    if by != sender {
        return Some((
            FindingKind::Misattributed,
            if by.identity != sender.identity {
                "identity".into()
            } else {
                "leaf".into()
            },
            format!(
                "sent by {} at leaf {}, attributed to {} at leaf {}",
                sender.identity, sender.leaf, by.identity, by.leaf
            ),
        ));
    }
    None
}
