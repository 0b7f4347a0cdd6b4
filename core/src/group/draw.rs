//! Group schedules drawn by `arbitrary`: every byte string is a valid schedule.
//!
//! Events name members and messages by position in the lists of candidates the group
//! offers at that point (members that can send, messages still in flight, ...), modulo the
//! list's length; an event that fits no candidate is skipped. The [`GroupModel`] decides
//! what fits, so a drawn schedule always parses back from its text and runs.

use super::model::{GroupModel, MessageBody};
use super::schedule::{
    CommitOp, GroupSchedule, GroupStep, MemberId, ProposalOp, WireFormat, MAX_MEMBERS, MIN_MEMBERS,
};
use crate::scenario::MsgId;
use arbitrary::{Arbitrary, Unstructured};

/// The most events one drawn schedule takes.
pub const MAX_GROUP_EVENTS: usize = 28;

/// How many messages a drawn jump loses: either side of openmls's maximum forward distance
/// (1000) and of mls-rs's `MAX_RATCHET_BACK_HISTORY` (1024), so that one schedule tests the
/// forward limit of every receiver, whatever its implementation.
const JUMPS: [u16; 6] = [999, 1000, 1001, 1023, 1024, 1025];

/// One drawn event, resolved against the group as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Send {
        who: u8,
        len: u8,
    },
    Jump {
        who: u8,
        lost: u16,
    },
    Deliver {
        pick: u8,
    },
    DeliverOne {
        pick: u8,
        who: u8,
    },
    Sync {
        who: Option<u8>,
    },
    Commit {
        who: u8,
        kind: u8,
        target: u8,
        public: bool,
    },
    Propose {
        who: u8,
        kind: u8,
        target: u8,
        public: bool,
    },
    Tamper {
        pick: u8,
        who: u8,
        bit: u16,
    },
    Compromise {
        who: u8,
    },
}

impl<'a> Arbitrary<'a> for Event {
    /// Weighted toward sends and deliveries, with commits often enough that most schedules
    /// cross several epochs while messages are in flight.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=99)? {
            0..=25 => Event::Send {
                who: u.arbitrary()?,
                len: u.arbitrary()?,
            },
            26..=43 => Event::Deliver {
                pick: u.arbitrary()?,
            },
            44..=49 => Event::DeliverOne {
                pick: u.arbitrary()?,
                who: u.arbitrary()?,
            },
            50..=60 => Event::Sync {
                who: if u.arbitrary()? {
                    Some(u.arbitrary()?)
                } else {
                    None
                },
            },
            61..=76 => Event::Commit {
                who: u.arbitrary()?,
                kind: u.arbitrary()?,
                target: u.arbitrary()?,
                public: u.arbitrary()?,
            },
            77..=85 => Event::Propose {
                who: u.arbitrary()?,
                kind: u.arbitrary()?,
                target: u.arbitrary()?,
                public: u.arbitrary()?,
            },
            86..=87 => Event::Jump {
                who: u.arbitrary()?,
                lost: *u.choose(&JUMPS)?,
            },
            88..=94 => Event::Tamper {
                pick: u.arbitrary()?,
                who: u.arbitrary()?,
                bit: u.arbitrary()?,
            },
            _ => Event::Compromise {
                who: u.arbitrary()?,
            },
        })
    }
}

fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
    (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
}

fn wire(public: bool) -> WireFormat {
    if public {
        WireFormat::Public
    } else {
        WireFormat::Private
    }
}

/// The step `event` becomes in `model`, if any fits.
fn resolve(model: &GroupModel, event: Event) -> Option<GroupStep> {
    let joined: Vec<MemberId> = model
        .members
        .iter()
        .filter(|m| m.joined.is_some())
        .map(|m| m.id)
        .collect();
    let active: Vec<MemberId> = model
        .members
        .iter()
        .filter(|m| m.joined.is_some() && !m.gone)
        .map(|m| m.id)
        .collect();
    let changers: Vec<MemberId> = model
        .members
        .iter()
        .filter(|m| m.joined.is_some() && m.removed.is_none())
        .map(|m| m.id)
        .collect();
    let current = model.current();
    match event {
        // A member holding uncommitted proposals may not send (RFC 9420 §12.4): not drawn.
        Event::Send { who, len } => {
            let senders: Vec<MemberId> = active
                .iter()
                .copied()
                .filter(|m| !model.holds_pending(*m))
                .collect();
            Some(GroupStep::Send {
                from: pick(&senders, who)?,
                len: u16::from(len),
            })
        }
        Event::Jump { who, lost } => {
            let senders: Vec<MemberId> = active
                .iter()
                .copied()
                .filter(|m| !model.holds_pending(*m))
                .collect();
            Some(GroupStep::Jump {
                from: pick(&senders, who)?,
                lost,
            })
        }
        Event::Deliver { pick: p } => {
            let in_flight: Vec<MsgId> = model
                .messages
                .iter()
                .filter(|m| matches!(m.body, MessageBody::Application { .. }))
                .filter(|m| {
                    joined
                        .iter()
                        .any(|r| *r != m.sender && !m.delivered.contains(r))
                })
                .map(|m| m.id)
                .collect();
            Some(GroupStep::Deliver {
                msg: pick(&in_flight, p)?,
                to: None,
            })
        }
        Event::DeliverOne { pick: p, who } => {
            let apps: Vec<MsgId> = model
                .messages
                .iter()
                .filter(|m| matches!(m.body, MessageBody::Application { .. }))
                .map(|m| m.id)
                .collect();
            let msg = pick(&apps, p)?;
            let sender = model.message(msg)?.sender;
            let receivers: Vec<MemberId> =
                joined.iter().copied().filter(|r| *r != sender).collect();
            Some(GroupStep::Deliver {
                msg,
                to: Some(pick(&receivers, who)?),
            })
        }
        Event::Sync { who } => Some(GroupStep::Sync {
            member: match who {
                Some(w) => Some(pick(&active, w)?),
                None => None,
            },
        }),
        Event::Commit {
            who,
            kind,
            target,
            public,
        } => {
            let from = pick(&changers, who)?;
            let others: Vec<MemberId> = current.iter().copied().filter(|m| *m != from).collect();
            let op = if !model.pending.is_empty() {
                CommitOp::Pending
            } else {
                match kind % 3 {
                    0 if current.len() < usize::from(MAX_MEMBERS) => CommitOp::Add,
                    1 if current.len() > usize::from(MIN_MEMBERS) => {
                        CommitOp::Remove(pick(&others, target)?)
                    }
                    _ => CommitOp::Update,
                }
            };
            Some(GroupStep::Commit {
                from,
                op,
                wire: wire(public),
            })
        }
        Event::Propose {
            who,
            kind,
            target,
            public,
        } => {
            let from = pick(&changers, who)?;
            let others: Vec<MemberId> = current.iter().copied().filter(|m| *m != from).collect();
            let op = match kind % 3 {
                0 => ProposalOp::Add,
                1 => ProposalOp::Remove(pick(&others, target)?),
                _ => ProposalOp::Update,
            };
            Some(GroupStep::Propose {
                from,
                op,
                wire: wire(public),
            })
        }
        Event::Tamper { pick: p, who, bit } => {
            // A handshake message and a member that has not taken it yet.
            let open: Vec<(MsgId, MemberId)> = model
                .log
                .iter()
                .enumerate()
                .flat_map(|(i, h)| {
                    model
                        .members
                        .iter()
                        .filter(move |m| {
                            m.joined.is_some() && !m.gone && m.id != h.sender && m.cursor <= i
                        })
                        .map(move |m| (h.msg, m.id))
                })
                .collect();
            let (msg, to) = pick(&open, p ^ who)?;
            Some(GroupStep::TamperTag { msg, to, bit })
        }
        Event::Compromise { who } => Some(GroupStep::Compromise {
            member: pick(&active, who)?,
        }),
    }
}

impl<'a> Arbitrary<'a> for GroupSchedule {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let size = u.int_in_range(MIN_MEMBERS..=MAX_MEMBERS)?;
        let mut model = GroupModel::new(size);
        let mut steps = Vec::new();
        while steps.len() < MAX_GROUP_EVENTS && !u.is_empty() {
            let event = Event::arbitrary(u)?;
            let Some(step) = resolve(&model, event) else {
                continue;
            };
            let mut next = model.clone();
            if next.apply(&step).is_ok() {
                model = next;
                steps.push(step);
            }
        }
        Ok(GroupSchedule { size, steps })
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut u = u;
        Self::arbitrary(&mut u)
    }
}
