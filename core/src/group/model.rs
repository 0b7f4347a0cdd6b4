//! The group as a schedule makes it: epochs and their rosters, the delivery service's
//! ordered log of handshake messages, every member's own epoch (how far it has read that
//! log), the proposals pending in the current epoch.
//!
//! The model is the schedule's meaning. [`GroupModel::apply`] checks a step against the
//! group (a member that is not in it cannot commit; a remove names a member; a commit of
//! pending proposals needs one) and turns it into the [`Action`]s the executor performs, in
//! order, each with what the oracle needs to rule on it. It never looks at what an
//! implementation did: the same schedule gives the same actions on every peer.
//!
//! The rules that keep every valid schedule free of choices the RFC leaves to the
//! implementation (so that two conformant implementations must agree):
//! - a member that proposes or commits first takes every handshake message sent to it
//!   (RFC 9420 §14: a change is premised on the current epoch);
//! - an inline commit (`add`, `remove`, `update`) needs no pending proposal, `pending`
//!   needs one: every proposal is committed by the next commit of its epoch;
//! - at most one pending proposal about a leaf (RFC 9420 §12.2 lets a committer pick among
//!   several), no committer with its own pending Update (§12.2 forbids committing it) or
//!   its own pending removal, no member removing itself;
//! - between two and eight members after every commit, at most [`MAX_NAMES`] names in all.

use super::schedule::{
    CommitOp, GroupSchedule, GroupStep, MemberId, ProposalOp, WireFormat, MAX_MEMBERS, MAX_NAMES,
    MIN_MEMBERS,
};
use super::text::GroupParseError;
use crate::scenario::MsgId;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A member of the schedule's group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberModel {
    /// Its name.
    pub id: MemberId,
    /// The first epoch it is a member of, once the commit adding it is made.
    pub joined: Option<u64>,
    /// The first epoch it is no longer a member of, once the commit removing it is made.
    pub removed: Option<u64>,
    /// The next entry of the handshake log it will take.
    pub cursor: usize,
    /// The epoch its own state is in.
    pub epoch: u64,
    /// Whether it has taken the commit that removed it.
    pub gone: bool,
    /// Its leaf, as RFC 9420 §7.7 places it (the leftmost blank leaf, else a new one).
    pub leaf: Option<u32>,
    /// Whether its leaf was held by an earlier member.
    pub reused_leaf: bool,
}

/// What a commit changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitModel {
    /// Members it adds, in order.
    pub adds: Vec<MemberId>,
    /// Members it removes.
    pub removes: Vec<MemberId>,
    /// Whether it carries the proposals of its epoch by reference.
    pub by_reference: bool,
    /// The inline operation, if any.
    pub op: CommitOp,
}

/// One entry of the delivery service's ordered handshake log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandshakeModel {
    /// The message.
    pub msg: MsgId,
    /// Its sender.
    pub sender: MemberId,
    /// The epoch it belongs to.
    pub epoch: u64,
    /// How it travels.
    pub wire: WireFormat,
    /// What it changes, for a commit.
    pub commit: Option<CommitModel>,
}

/// What a message is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum MessageBody {
    /// An application message.
    Application {
        /// The plaintext's length.
        len: u16,
        /// Its generation in the sender's application ratchet of its epoch (RFC 9420 §9.1).
        generation: u32,
    },
    /// A proposal or a commit: entry `log` of the handshake log.
    Handshake {
        /// Its index in the log.
        log: usize,
    },
}

/// A message a step made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageModel {
    /// Its name.
    pub id: MsgId,
    /// Its sender.
    pub sender: MemberId,
    /// The epoch it was sent in (the sender's own).
    pub epoch: u64,
    /// What it is.
    pub body: MessageBody,
    /// Whether the sender had already been removed by a commit when it sent it (it had not
    /// taken that commit yet).
    pub after_removal: bool,
    /// Members `deliver` has handed it to.
    pub delivered: BTreeSet<MemberId>,
}

/// A proposal waiting for the next commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PendingProposal {
    /// The proposal message.
    pub msg: MsgId,
    /// Its proposer.
    pub from: MemberId,
    /// What it proposes (an add names the member it makes).
    pub op: Proposed,
}

/// What a pending proposal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proposed {
    /// Adds this new member.
    Add(MemberId),
    /// Removes this member.
    Remove(MemberId),
    /// Updates the proposer's leaf.
    Update,
}

/// A receiver's state just before it takes a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct View {
    /// The epoch its state is in.
    pub epoch: u64,
    /// The first epoch it was a member of.
    pub joined: u64,
    /// The first epoch it is no longer a member of, if a commit removed it.
    pub removed: Option<u64>,
    /// Whether it has taken its own removal.
    pub gone: bool,
}

/// What the executor does for a step, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// `member` encrypts application message `msg`.
    Send {
        /// The sender.
        member: MemberId,
        /// The message it makes.
        msg: MsgId,
        /// Whether the sender holds proposals of its epoch not yet committed (RFC 9420 §12.4:
        /// it must commit before it sends application data).
        pending: bool,
        /// How many messages the sender makes and the network loses first (a jump).
        lost: u16,
    },
    /// `member` sends proposal `msg`.
    Propose {
        /// The proposer.
        member: MemberId,
        /// The message it makes.
        msg: MsgId,
        /// What it proposes.
        op: Proposed,
        /// How it travels.
        wire: WireFormat,
    },
    /// `member` commits (and merges its own commit at once).
    Commit {
        /// The committer.
        member: MemberId,
        /// The message it makes.
        msg: MsgId,
        /// What the commit changes.
        commit: CommitModel,
        /// How it travels.
        wire: WireFormat,
    },
    /// `member` joins by the Welcome of commit `msg`.
    Join {
        /// The new member.
        member: MemberId,
        /// The commit that added it.
        msg: MsgId,
    },
    /// `member` takes message `msg` (genuine bytes).
    Receive {
        /// The receiver.
        member: MemberId,
        /// The message.
        msg: MsgId,
        /// The receiver's state before.
        view: View,
    },
    /// `member` takes a copy of handshake message `msg` with a membership-tag bit flipped.
    Tamper {
        /// The receiver.
        member: MemberId,
        /// The message copied.
        msg: MsgId,
        /// Which bit of the tag.
        bit: u16,
        /// The receiver's state before.
        view: View,
    },
    /// The attacker copies `member`'s state.
    Compromise {
        /// The member.
        member: MemberId,
        /// Its state as copied.
        view: View,
    },
}

/// The group as the schedule has made it so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupModel {
    /// Every member ever named, by name.
    pub members: Vec<MemberModel>,
    /// The delivery service's handshake log, in order.
    pub log: Vec<HandshakeModel>,
    /// Every message, by name.
    pub messages: Vec<MessageModel>,
    /// The roster of every epoch (leaf to member), from epoch 0 (the creator alone).
    pub rosters: Vec<BTreeMap<u32, MemberId>>,
    /// Proposals of the current epoch, in order.
    pub pending: Vec<PendingProposal>,
    generations: BTreeMap<(MemberId, u64), u32>,
}

fn err<T>(reason: impl Into<String>) -> Result<T, String> {
    Err(reason.into())
}

impl GroupModel {
    /// The group right after set-up: `M0` created it (epoch 0) and added `M1` to
    /// `M(size-1)` in one commit; everyone is in epoch 1.
    pub fn new(size: u8) -> GroupModel {
        let size = size.clamp(MIN_MEMBERS, MAX_MEMBERS);
        let roster: BTreeMap<u32, MemberId> =
            (0..size).map(|i| (u32::from(i), MemberId(i))).collect();
        GroupModel {
            members: (0..size)
                .map(|i| MemberModel {
                    id: MemberId(i),
                    joined: Some(1),
                    removed: None,
                    cursor: 0,
                    epoch: 1,
                    gone: false,
                    leaf: Some(u32::from(i)),
                    reused_leaf: false,
                })
                .collect(),
            log: Vec::new(),
            messages: Vec::new(),
            rosters: vec![BTreeMap::from([(0, MemberId(0))]), roster],
            pending: Vec::new(),
            generations: BTreeMap::new(),
        }
    }

    /// Checks a whole schedule, naming the first step that does not fit the group.
    pub fn check(schedule: &GroupSchedule) -> Result<GroupModel, GroupParseError> {
        let mut model = GroupModel::new(schedule.size);
        for (i, step) in schedule.steps.iter().enumerate() {
            model
                .apply(step)
                .map_err(|reason| GroupParseError::step(i, reason))?;
        }
        Ok(model)
    }

    /// The delivery service's epoch: that of the newest commit.
    pub fn epoch(&self) -> u64 {
        self.rosters.len() as u64 - 1
    }

    /// The members of the current epoch.
    pub fn current(&self) -> Vec<MemberId> {
        self.rosters
            .last()
            .map(|r| r.values().copied().collect())
            .unwrap_or_default()
    }

    /// A member by name.
    pub fn member(&self, id: MemberId) -> Option<&MemberModel> {
        self.members.get(usize::from(id.0))
    }

    /// A message by name.
    pub fn message(&self, id: MsgId) -> Option<&MessageModel> {
        self.messages.get(id.0 as usize)
    }

    /// The handshake log entry of message `id`, if it is a proposal or a commit.
    pub fn handshake(&self, id: MsgId) -> Option<&HandshakeModel> {
        match self.message(id)?.body {
            MessageBody::Handshake { log } => self.log.get(log),
            MessageBody::Application { .. } => None,
        }
    }

    /// The members of epoch `epoch`.
    pub fn roster(&self, epoch: u64) -> Option<&BTreeMap<u32, MemberId>> {
        self.rosters.get(usize::try_from(epoch).ok()?)
    }

    /// A member's state as a receiver sees it now.
    pub fn view(&self, id: MemberId) -> Option<View> {
        let m = self.member(id)?;
        Some(View {
            epoch: m.epoch,
            joined: m.joined?,
            removed: m.removed,
            gone: m.gone,
        })
    }

    /// Whether member `id`'s state holds proposals of its epoch that no commit it has taken
    /// covers yet (its own or others' it has read).
    pub fn holds_pending(&self, id: MemberId) -> bool {
        let Some(m) = self.member(id) else {
            return false;
        };
        self.log[..m.cursor.min(self.log.len())]
            .iter()
            .any(|h| h.commit.is_none() && h.epoch == m.epoch)
    }

    fn joined(&self, id: MemberId, role: &str) -> Result<&MemberModel, String> {
        match self.member(id) {
            None => err(format!(
                "{id} is not a member name yet ({} names so far)",
                self.members.len()
            )),
            Some(m) if m.joined.is_none() => err(format!(
                "{role} {id} has not joined yet (its add is not committed)"
            )),
            Some(m) => Ok(m),
        }
    }

    /// A member that may change the group: in it, not removed.
    fn changer(&self, id: MemberId, what: &str) -> Result<(), String> {
        let m = self.joined(id, what)?;
        if m.removed.is_some() {
            return err(format!("{id} was removed from the group and cannot {what}"));
        }
        Ok(())
    }

    /// Members after the pending proposals and `extra` (+1 add, -1 remove) take effect.
    fn size_after(&self, extra: i32) -> i32 {
        let mut n = self.current().len() as i32 + extra;
        for p in &self.pending {
            match p.op {
                Proposed::Add(_) => n += 1,
                Proposed::Remove(_) => n -= 1,
                Proposed::Update => {}
            }
        }
        n
    }

    fn new_name(&mut self) -> Result<MemberId, String> {
        if self.size_after(1) > i32::from(MAX_MEMBERS) {
            return err(format!(
                "the group would have more than {MAX_MEMBERS} members"
            ));
        }
        if self.members.len() >= usize::from(MAX_NAMES) {
            return err(format!("a schedule names at most {MAX_NAMES} members"));
        }
        let id = MemberId(self.members.len() as u8);
        self.members.push(MemberModel {
            id,
            joined: None,
            removed: None,
            cursor: 0,
            epoch: 0,
            gone: false,
            leaf: None,
            reused_leaf: false,
        });
        Ok(id)
    }

    fn removable(&self, from: MemberId, target: MemberId) -> Result<(), String> {
        if target == from {
            return err(format!("{from} cannot remove itself"));
        }
        self.changer(target, "be removed")?;
        if self.pending.iter().any(|p| {
            p.op == Proposed::Remove(target) || (p.op == Proposed::Update && p.from == target)
        }) {
            return err(format!("a proposal about {target} is already pending"));
        }
        if self.size_after(-1) < i32::from(MIN_MEMBERS) {
            return err(format!(
                "the group would have fewer than {MIN_MEMBERS} members"
            ));
        }
        Ok(())
    }

    /// Takes, for `id`, every handshake entry before log index `until`.
    fn sync(&mut self, id: MemberId, until: usize, actions: &mut Vec<Action>) {
        let i = usize::from(id.0);
        loop {
            let Some(m) = self.members.get(i) else {
                return;
            };
            if m.gone || m.joined.is_none() || m.cursor >= until.min(self.log.len()) {
                return;
            }
            let cursor = m.cursor;
            let Some(view) = self.view(id) else {
                return;
            };
            let entry = &self.log[cursor];
            let (msg, sender) = (entry.msg, entry.sender);
            let effect = entry.commit.as_ref().map(|c| c.removes.contains(&id));
            let m = &mut self.members[i];
            m.cursor += 1;
            if sender == id {
                continue;
            }
            actions.push(Action::Receive {
                member: id,
                msg,
                view,
            });
            match effect {
                Some(true) => m.gone = true,
                Some(false) => m.epoch += 1,
                None => {}
            }
        }
    }

    fn push_handshake(
        &mut self,
        from: MemberId,
        wire: WireFormat,
        commit: Option<CommitModel>,
    ) -> MsgId {
        let msg = MsgId(self.messages.len() as u32);
        let epoch = self.epoch();
        self.log.push(HandshakeModel {
            msg,
            sender: from,
            epoch,
            wire,
            commit,
        });
        self.messages.push(MessageModel {
            id: msg,
            sender: from,
            epoch,
            body: MessageBody::Handshake {
                log: self.log.len() - 1,
            },
            after_removal: false,
            delivered: BTreeSet::new(),
        });
        msg
    }

    /// Applies one step: checks it against the group and returns what the executor does.
    pub fn apply(&mut self, step: &GroupStep) -> Result<Vec<Action>, String> {
        let mut actions = Vec::new();
        match step {
            GroupStep::Send { .. } | GroupStep::Jump { .. } => {
                let (from, len, lost) = match step {
                    GroupStep::Jump { from, lost } => (from, &8u16, *lost),
                    GroupStep::Send { from, len } => (from, len, 0),
                    _ => return err("not a send"),
                };
                let m = self.joined(*from, "sender")?;
                if m.gone {
                    return err(format!(
                        "{from} has taken its own removal: it has no group to send in"
                    ));
                }
                let (epoch, after_removal) = (m.epoch, m.removed.is_some());
                let g = self.generations.entry((*from, epoch)).or_default();
                let generation = *g + u32::from(lost);
                *g = generation + 1;
                let msg = MsgId(self.messages.len() as u32);
                let pending = self.holds_pending(*from);
                self.messages.push(MessageModel {
                    id: msg,
                    sender: *from,
                    epoch,
                    body: MessageBody::Application {
                        len: *len,
                        generation,
                    },
                    after_removal,
                    delivered: BTreeSet::new(),
                });
                actions.push(Action::Send {
                    member: *from,
                    msg,
                    pending,
                    lost,
                });
            }
            GroupStep::Propose { from, op, wire } => {
                self.changer(*from, "propose")?;
                let op = match op {
                    ProposalOp::Add => Proposed::Add(self.new_name()?),
                    ProposalOp::Remove(t) => {
                        self.removable(*from, *t)?;
                        Proposed::Remove(*t)
                    }
                    ProposalOp::Update => {
                        if self.pending.iter().any(|p| {
                            (p.op == Proposed::Update && p.from == *from)
                                || p.op == Proposed::Remove(*from)
                        }) {
                            return err(format!("a proposal about {from} is already pending"));
                        }
                        Proposed::Update
                    }
                };
                self.sync(*from, usize::MAX, &mut actions);
                let msg = self.push_handshake(*from, *wire, None);
                self.members[usize::from(from.0)].cursor = self.log.len();
                self.pending.push(PendingProposal {
                    msg,
                    from: *from,
                    op,
                });
                actions.push(Action::Propose {
                    member: *from,
                    msg,
                    op,
                    wire: *wire,
                });
            }
            GroupStep::Commit { from, op, wire } => {
                self.changer(*from, "commit")?;
                match (op, self.pending.is_empty()) {
                    (CommitOp::Pending, true) => {
                        return err("commit pending: no proposal is pending in this epoch")
                    }
                    (CommitOp::Pending, false) => {}
                    (_, false) => {
                        return err(format!(
                            "commit {op}: {} proposals are pending; commit them with `pending`",
                            self.pending.len()
                        ))
                    }
                    (_, true) => {}
                }
                if self
                    .pending
                    .iter()
                    .any(|p| p.op == Proposed::Update && p.from == *from)
                {
                    return err(format!(
                        "{from} cannot commit its own Update proposal (RFC 9420 §12.2)"
                    ));
                }
                if self.pending.iter().any(|p| p.op == Proposed::Remove(*from)) {
                    return err(format!("{from} cannot commit its own removal"));
                }
                let mut adds: Vec<MemberId> = Vec::new();
                let mut removes: Vec<MemberId> = Vec::new();
                for p in &self.pending {
                    match p.op {
                        Proposed::Add(m) => adds.push(m),
                        Proposed::Remove(m) => removes.push(m),
                        Proposed::Update => {}
                    }
                }
                match op {
                    CommitOp::Add => adds.push(self.new_name()?),
                    CommitOp::Remove(t) => {
                        self.removable(*from, *t)?;
                        removes.push(*t);
                    }
                    CommitOp::Update | CommitOp::Pending => {}
                }
                self.sync(*from, usize::MAX, &mut actions);
                let commit = CommitModel {
                    adds: adds.clone(),
                    removes: removes.clone(),
                    by_reference: *op == CommitOp::Pending,
                    op: *op,
                };
                let msg = self.push_handshake(*from, *wire, Some(commit.clone()));
                let mut roster = self.rosters.last().cloned().unwrap_or_default();
                roster.retain(|_, m| !removes.contains(m));
                let next = self.epoch() + 1;
                let log_len = self.log.len();
                for r in &removes {
                    self.members[usize::from(r.0)].removed = Some(next);
                }
                for a in &adds {
                    let leaf = (0u32..).find(|l| !roster.contains_key(l)).unwrap_or(0);
                    let reused = self
                        .rosters
                        .iter()
                        .any(|r| r.get(&leaf).is_some_and(|holder| holder != a));
                    roster.insert(leaf, *a);
                    let m = &mut self.members[usize::from(a.0)];
                    m.joined = Some(next);
                    m.epoch = next;
                    m.cursor = log_len;
                    m.leaf = Some(leaf);
                    m.reused_leaf = reused;
                }
                self.rosters.push(roster);
                let c = &mut self.members[usize::from(from.0)];
                c.epoch = next;
                c.cursor = log_len;
                self.pending.clear();
                actions.push(Action::Commit {
                    member: *from,
                    msg,
                    commit,
                    wire: *wire,
                });
                for a in adds {
                    actions.push(Action::Join { member: a, msg });
                }
            }
            GroupStep::Deliver { msg, to } => {
                let Some(m) = self.message(*msg) else {
                    return err(format!(
                        "{msg} is not sent yet ({} messages so far)",
                        self.messages.len()
                    ));
                };
                if !matches!(m.body, MessageBody::Application { .. }) {
                    return err(format!(
                        "{msg} is a proposal or a commit: members take it by sync"
                    ));
                }
                let sender = m.sender;
                let receivers: Vec<MemberId> = match to {
                    Some(r) => {
                        self.joined(*r, "receiver")?;
                        if *r == sender {
                            return err(format!(
                                "{r} sent {msg}: a member does not receive its own message"
                            ));
                        }
                        vec![*r]
                    }
                    None => self
                        .members
                        .iter()
                        .filter(|r| {
                            r.joined.is_some() && r.id != sender && !m.delivered.contains(&r.id)
                        })
                        .map(|r| r.id)
                        .collect(),
                };
                for r in receivers {
                    if let Some(view) = self.view(r) {
                        actions.push(Action::Receive {
                            member: r,
                            msg: *msg,
                            view,
                        });
                    }
                    self.messages[msg.0 as usize].delivered.insert(r);
                }
            }
            GroupStep::Sync { member } => match member {
                Some(m) => {
                    self.joined(*m, "member")?;
                    self.sync(*m, usize::MAX, &mut actions);
                }
                None => {
                    for i in 0..self.members.len() {
                        self.sync(MemberId(i as u8), usize::MAX, &mut actions);
                    }
                }
            },
            GroupStep::TamperTag { msg, to, bit } => {
                let Some(entry) = self.handshake(*msg) else {
                    return err(format!(
                        "{msg} is not a proposal or a commit sent so far: only those carry a membership tag"
                    ));
                };
                let (sender, log) = (entry.sender, self.log.iter().position(|h| h.msg == *msg));
                self.joined(*to, "receiver")?;
                if *to == sender {
                    return err(format!(
                        "{to} sent {msg}: a member does not receive its own message"
                    ));
                }
                if let Some(log) = log {
                    self.sync(*to, log, &mut actions);
                }
                if let Some(view) = self.view(*to) {
                    actions.push(Action::Tamper {
                        member: *to,
                        msg: *msg,
                        bit: *bit,
                        view,
                    });
                }
            }
            GroupStep::Compromise { member } => {
                self.joined(*member, "member")?;
                if let Some(view) = self.view(*member) {
                    actions.push(Action::Compromise {
                        member: *member,
                        view,
                    });
                }
            }
        }
        Ok(actions)
    }
}
