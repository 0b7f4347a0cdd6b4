//! Forward secrecy across epochs: what a copy of a member's state must not decrypt.
//!
//! The definition the probes check, from RFC 9420 §9.2 (the deletion schedule: a member
//! deletes a message's key and nonce once it has used them, and the secrets of a ratchet
//! generation once it has derived the next) and §14 (a commit replaces an epoch's secrets by
//! the next epoch's; whatever the member keeps of the old epoch is kept on purpose, to
//! decrypt late messages, and its implementation declares how many past epochs it keeps):
//!
//! Let the attacker copy member `R`'s whole state when `R` is in epoch `r` (`compromise R`).
//! For every application message `m` sent before the copy, of an epoch `e` in which `R` was
//! a member, by another member, the copy must refuse `m` when
//! - `R` had decrypted `m` before the copy (its key was used, so deleted): class
//!   `used-key`;
//! - `r - e` is above `R`'s declared past-epoch retention (the epoch's secrets were
//!   deleted when `R` moved on): class `past-epoch`;
//! - `m`'s generation is further behind the newest `R` took from its sender in `e` than
//!   `R`'s declared window (the key was dropped): class `outside-window`.
//!
//! Messages outside these cases may still decrypt (a key `R` legitimately keeps for a
//! message that has not arrived yet), so they are not probed. A copy is restored afresh for
//! each probe, so probes do not disturb each other; the newest candidates are probed first,
//! at most [`MAX_PROBES`] per copy. Messages sent after the copy, in later epochs, are out of
//! reach of a copy that takes no later commit; post-compromise security (a copy that follows
//! the commits until the member updates) is not probed here.

use super::member::GroupLimits;
use super::model::{GroupModel, MessageBody, View};
use super::oracle::{History, Why};
use super::schedule::MemberId;
use crate::scenario::MsgId;

/// The most messages one copy is probed with.
pub const MAX_PROBES: usize = 8;

/// The messages a copy of `member` (state `view`) must refuse, newest first, with why.
pub fn candidates(
    model: &GroupModel,
    history: &History,
    limits: &GroupLimits,
    member: MemberId,
    view: &View,
) -> Vec<(MsgId, Why)> {
    model
        .messages
        .iter()
        .rev()
        .filter(|m| m.sender != member)
        .filter(|m| view.joined <= m.epoch && view.removed.is_none_or(|rm| m.epoch < rm))
        .filter_map(|m| {
            let MessageBody::Application { generation, .. } = m.body else {
                return None;
            };
            if history.accepted.contains(&(member, m.id)) {
                Some((m.id, Why::Replay))
            } else if view.epoch > m.epoch && view.epoch - m.epoch > u64::from(limits.past_epochs) {
                Some((m.id, Why::PastRetention))
            } else if m.epoch <= view.epoch
                && history.outside_window(limits, member, m.epoch, m.sender, generation)
            {
                Some((m.id, Why::OutsideWindow))
            } else {
                None
            }
        })
        .take(MAX_PROBES)
        .collect()
}

/// The class a forward-secrecy finding of `why` carries: `used-key`, `past-epoch`,
/// `outside-window`.
pub fn class(why: Why) -> &'static str {
    match why {
        Why::Replay => "used-key",
        other => other.name(),
    }
}

/// The sentence a forward-secrecy finding gives for `why`.
pub fn explain(why: Why) -> &'static str {
    match why {
        Why::Replay => {
            "the member had decrypted it before the copy, so its key had to be deleted (RFC 9420 §9.2)"
        }
        Why::PastRetention => {
            "its epoch is older than the member's declared past-epoch retention, so its secrets had to be deleted"
        }
        Why::OutsideWindow => {
            "its generation is behind the member's declared window, so its key had to be dropped"
        }
        _ => "the member had to have deleted its key",
    }
}
