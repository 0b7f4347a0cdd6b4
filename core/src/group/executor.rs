//! Runs a group schedule on MLS implementations and records what every member did.
//!
//! The group is set up as MLS does it: `M0` creates it, commits an Add of every other
//! initial member's key package and hands each the Welcome. Then each step becomes the
//! [`Action`]s of the [`GroupModel`], performed in order; each action on a member is one
//! call, guarded against panics, judged by the [`oracle`] as it happens.
//!
//! An [`Assignment`] says which implementation each member runs on: all on one (the
//! implementation alone), or several in one group (interop): alternating by member name,
//! or the creator on one and everyone else on another.
//!
//! When an implementation fails a step the schedule needs to go on (a send, a proposal or a
//! commit of a member in the group, a join), the failure is a finding. A member that fails
//! to take a genuine handshake message, or accepts a forged one, no longer follows the
//! group: its later actions are recorded as not judged. A failed proposal or commit stops
//! the run, since the group the schedule describes no longer exists.

use super::member::{GroupMember, GroupPeer, Proposal, Received, Sender};
use super::model::{Action, GroupModel, MessageBody, Proposed, View};
use super::oracle::{self, History, Ruling, Why};
use super::schedule::{CommitOp, GroupSchedule, MemberId, WireFormat};
use super::secrecy;
use super::tag;
use crate::guard::guarded;
use crate::peer::Reject;
use crate::report::{Finding, FindingKind};
use crate::rng;
use crate::scenario::MsgId;
use rand_core::RngCore;
use serde::Serialize;
use std::collections::BTreeMap;

/// Which implementation each member runs on (indices into the peers given to [`execute`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assignment {
    /// Member `k` runs on `cycle[k % cycle.len()]`: `[0]` puts every member on one peer,
    /// `[0, 1]` alternates two.
    Cycle(Vec<usize>),
    /// `M0` (the creator) runs on `creator`, every other member on `others`.
    CreatorThenOthers {
        /// The creator's peer.
        creator: usize,
        /// Everyone else's.
        others: usize,
    },
}

impl Assignment {
    /// Every member on peer `i`.
    pub fn one(i: usize) -> Assignment {
        Assignment::Cycle(vec![i])
    }

    /// The peer member `m` runs on.
    pub fn peer_of(&self, m: MemberId) -> usize {
        match self {
            Assignment::Cycle(c) if !c.is_empty() => c[usize::from(m.0) % c.len()],
            Assignment::Cycle(_) => 0,
            Assignment::CreatorThenOthers { creator, others } => {
                if m.0 == 0 {
                    *creator
                } else {
                    *others
                }
            }
        }
    }

    /// A label naming the peers: `openmls`, `openmls|mls-rs` (alternating),
    /// `openmls>mls-rs` (creator, then the others).
    pub fn label(&self, names: &[String]) -> String {
        let name = |i: &usize| names.get(*i).cloned().unwrap_or_else(|| format!("peer{i}"));
        match self {
            Assignment::Cycle(c) => c.iter().map(name).collect::<Vec<_>>().join("|"),
            Assignment::CreatorThenOthers { creator, others } => {
                format!("{}>{}", name(creator), name(others))
            }
        }
    }
}

/// What became of one action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum GroupOutcome {
    /// The member made a message (or joined, or its state was copied).
    Done {
        /// Bytes made (0 for a join or a copy).
        bytes: usize,
    },
    /// The member took the input.
    Accepted {
        /// What it read.
        received: Received,
    },
    /// The member refused it.
    Refused {
        /// The canonical class.
        class: String,
        /// The implementation's own text.
        detail: String,
    },
    /// The implementation panicked.
    Panicked {
        /// The panic's text.
        detail: String,
    },
    /// Not run, and why (a message never made, a member that no longer follows the group).
    NotRun {
        /// Why.
        why: String,
    },
    /// The action does not apply, and why (a tag flip on a `PrivateMessage`).
    NotApplicable {
        /// Why.
        why: String,
    },
}

impl GroupOutcome {
    /// The outcome of a receive: accepted with what was read, or the refusal or stop.
    fn of(result: Result<Received, GroupOutcome>) -> GroupOutcome {
        result.map_or_else(|o| o, |received| GroupOutcome::Accepted { received })
    }

    /// The outcome's name in counts.
    pub fn kind(&self) -> &'static str {
        match self {
            GroupOutcome::Done { .. } => "done",
            GroupOutcome::Accepted { .. } => "accepted",
            GroupOutcome::Refused { .. } => "refused",
            GroupOutcome::Panicked { .. } => "panic",
            GroupOutcome::NotRun { .. } => "not-run",
            GroupOutcome::NotApplicable { .. } => "not-applicable",
        }
    }
}

/// One action and what the member did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupRecord {
    /// The schedule step it belongs to.
    pub step: usize,
    /// The action's kind: `send`, `propose`, `commit`, `join`, `receive-app`,
    /// `receive-proposal`, `receive-commit`, `tamper-tag`, `probe`.
    pub action: String,
    /// The member acting or receiving.
    pub member: MemberId,
    /// Its implementation.
    pub peer: String,
    /// The message, if any.
    pub msg: Option<MsgId>,
    /// The message's sender, if any.
    pub sender: Option<MemberId>,
    /// The sender's implementation, if any.
    pub sender_peer: Option<String>,
    /// The oracle's ruling, for inputs.
    pub ruling: Option<Ruling>,
    /// The message's epoch and the receiver's, for inputs (`3 -> 5`: a late message).
    pub epochs: Option<(u64, u64)>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: GroupOutcome,
}

/// What a run did, action by action, and its findings.
#[derive(Clone, Debug, Serialize)]
pub struct GroupTranscript {
    /// The schedule, in its text form.
    pub schedule: String,
    /// The session seed (plaintexts).
    pub seed: u64,
    /// The assignment's label (`openmls`, `openmls|mls-rs`, ...).
    pub assignment: String,
    /// Every action.
    pub records: Vec<GroupRecord>,
    /// What disagrees with the oracle.
    pub findings: Vec<Finding>,
    /// Why the run stopped before the end, if it did.
    pub stopped: Option<String>,
    /// Statistics of the group the schedule made.
    pub shape: Shape,
}

/// What the schedule's group went through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Shape {
    /// The most members at once.
    pub max_members: u32,
    /// The epoch the group reached.
    pub epochs: u64,
    /// Commits as `PrivateMessage`.
    pub commits_private: u32,
    /// Commits as `PublicMessage`.
    pub commits_public: u32,
    /// Standalone proposals.
    pub proposals: u32,
    /// Members added after set-up.
    pub adds: u32,
    /// Members removed.
    pub removes: u32,
    /// Updates (update paths and Update proposals).
    pub updates: u32,
    /// Members added at a leaf an earlier member held.
    pub reused_leaves: u32,
}

/// A member's slot: its implementation and state.
struct Slot {
    member: Box<dyn GroupMember>,
    key_package: Vec<u8>,
    leaf: Option<u32>,
    diverged: Option<String>,
}

/// Everything a run keeps.
struct Run<'a> {
    peers: &'a [&'a dyn GroupPeer],
    names: Vec<String>,
    assignment: &'a Assignment,
    seed: u64,
    model: GroupModel,
    slots: BTreeMap<MemberId, Slot>,
    wires: BTreeMap<MsgId, Vec<u8>>,
    plaintexts: BTreeMap<MsgId, Vec<u8>>,
    senders: BTreeMap<MsgId, Sender>,
    welcomes: BTreeMap<MsgId, Vec<u8>>,
    history: History,
    records: Vec<GroupRecord>,
    findings: Vec<Finding>,
    step: usize,
}

/// The plaintext of message `msg` under `seed`.
pub fn plaintext(seed: u64, msg: MsgId, len: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; usize::from(len)];
    rng::stream(seed, &format!("group plaintext {msg}")).fill_bytes(&mut bytes);
    bytes
}

/// A call's result, panics caught.
fn call<T>(f: impl FnOnce() -> Result<T, Reject>) -> Result<T, GroupOutcome> {
    match guarded(f) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(GroupOutcome::Refused {
            class: e.class.name().into(),
            detail: e.detail,
        }),
        Err(p) => Err(GroupOutcome::Panicked { detail: p.0 }),
    }
}

/// The class of a failed call, for signatures.
fn class_of(outcome: &GroupOutcome) -> String {
    match outcome {
        GroupOutcome::Refused { class, .. } => class.clone(),
        GroupOutcome::Panicked { .. } => "panic".into(),
        other => other.kind().into(),
    }
}

fn detail_of(outcome: &GroupOutcome) -> String {
    match outcome {
        GroupOutcome::Refused { class, detail } => format!("{class}: {detail}"),
        GroupOutcome::Panicked { detail } => format!("panicked: {detail}"),
        GroupOutcome::NotRun { why } | GroupOutcome::NotApplicable { why } => why.clone(),
        other => other.kind().into(),
    }
}

/// A handshake message a member made and the Welcome that goes with it, if any.
type Made = (Vec<u8>, Option<Vec<u8>>);

impl Run<'_> {
    fn peer_name(&self, m: MemberId) -> String {
        self.names
            .get(self.assignment.peer_of(m))
            .cloned()
            .unwrap_or_default()
    }

    fn finding(
        &mut self,
        kind: FindingKind,
        peers: Vec<String>,
        action: &str,
        class: &str,
        detail: String,
    ) {
        let mut peers = peers;
        peers.dedup();
        let kind = if kind == FindingKind::RejectedGenuine && class == "panic" {
            FindingKind::Panic
        } else {
            kind
        };
        self.findings.push(Finding::new(
            kind,
            peers,
            self.step,
            &format!("group-{action}"),
            Some(class),
            detail,
        ));
    }

    /// Records an action; a failed call of an action that must work is a finding.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        action: &str,
        member: MemberId,
        msg: Option<MsgId>,
        sender: Option<MemberId>,
        ruling: Option<Ruling>,
        epochs: Option<(u64, u64)>,
        outcome: GroupOutcome,
    ) {
        self.records.push(GroupRecord {
            step: self.step,
            action: action.into(),
            member,
            peer: self.peer_name(member),
            msg,
            sender,
            sender_peer: sender.map(|s| self.peer_name(s)),
            ruling,
            epochs,
            outcome,
        });
    }

    /// A new client for member `m` on its peer.
    fn client(&mut self, m: MemberId) -> Result<Vec<u8>, GroupOutcome> {
        let peer = self.assignment.peer_of(m);
        let Some(p) = self.peers.get(peer) else {
            return Err(GroupOutcome::NotRun {
                why: format!("no peer {peer} for {m}"),
            });
        };
        let (member, key_package) = call(|| p.client(&m.to_string()))?;
        self.slots.insert(
            m,
            Slot {
                member,
                key_package: key_package.clone(),
                leaf: None,
                diverged: None,
            },
        );
        Ok(key_package)
    }

    fn set_up(&mut self, size: u8) -> Result<(), String> {
        for i in 0..size {
            if let Err(o) = self.client(MemberId(i)) {
                let peer = self.peer_name(MemberId(i));
                self.finding(
                    FindingKind::SetupFailed,
                    vec![peer],
                    "setup",
                    &class_of(&o),
                    format!("making client M{i}: {}", detail_of(&o)),
                );
                return Err(format!("set-up: making client M{i} failed"));
            }
        }
        let adds: Vec<Proposal> = (1..size)
            .filter_map(|i| self.slots.get(&MemberId(i)))
            .map(|s| Proposal::Add {
                key_package: s.key_package.clone(),
            })
            .collect();
        let creator = MemberId(0);
        let made = self.slots.get_mut(&creator).map(|s| {
            call(|| s.member.create())
                .and_then(|()| call(|| s.member.commit(&adds, WireFormat::Private)))
        });
        let commit = match made {
            Some(Ok(c)) => c,
            Some(Err(o)) => {
                let peers: Vec<String> = (0..size)
                    .map(|i| self.peer_name(MemberId(i)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                self.finding(
                    FindingKind::SetupFailed,
                    peers,
                    "setup",
                    &class_of(&o),
                    format!(
                        "M0 creating the group and adding the others: {}",
                        detail_of(&o)
                    ),
                );
                return Err("set-up: the creator's commit failed".into());
            }
            None => return Err("set-up: no creator".into()),
        };
        let welcome = commit.welcome.unwrap_or_default();
        for i in 0..size {
            let m = MemberId(i);
            let Some(slot) = self.slots.get_mut(&m) else {
                continue;
            };
            if i > 0 {
                if let Err(o) = call(|| slot.member.join(&welcome)) {
                    let peers = vec![self.peer_name(creator), self.peer_name(m)];
                    self.finding(
                        FindingKind::SetupFailed,
                        peers,
                        "setup",
                        &class_of(&o),
                        format!("{m} joining by M0's Welcome: {}", detail_of(&o)),
                    );
                    return Err(format!("set-up: {m} could not join"));
                }
            }
            let slot = self.slots.get_mut(&m);
            if let Some(slot) = slot {
                slot.leaf = slot.member.leaf();
            }
        }
        Ok(())
    }

    fn usable(&self, m: MemberId) -> Result<(), String> {
        match self.slots.get(&m) {
            None => Err(format!("{m} has no client (its add failed)")),
            Some(s) => match &s.diverged {
                Some(why) => Err(format!("not judged: {m} {why}")),
                None => Ok(()),
            },
        }
    }

    fn diverge(&mut self, m: MemberId, why: String) {
        if let Some(s) = self.slots.get_mut(&m) {
            s.diverged.get_or_insert(why);
        }
    }

    fn sender_of(&self, m: MemberId) -> Sender {
        Sender {
            leaf: self.slots.get(&m).and_then(|s| s.leaf).unwrap_or(u32::MAX),
            identity: m.to_string(),
        }
    }

    /// Performs one action; `Err` stops the run.
    fn perform(&mut self, action: Action) -> Result<(), String> {
        match action {
            Action::Send {
                member,
                msg,
                pending,
                lost,
            } => self.send(member, msg, pending, lost),
            Action::Propose {
                member,
                msg,
                op,
                wire,
            } => self.propose(member, msg, op, wire),
            Action::Commit {
                member,
                msg,
                commit,
                wire,
            } => self.commit(member, msg, &commit, wire),
            Action::Join { member, msg } => {
                self.join(member, msg);
                Ok(())
            }
            Action::Receive { member, msg, view } => {
                self.receive(member, msg, &view);
                Ok(())
            }
            Action::Tamper {
                member,
                msg,
                bit,
                view,
            } => {
                self.tamper(member, msg, bit, &view);
                Ok(())
            }
            Action::Compromise { member, view } => {
                self.compromise(member, &view);
                Ok(())
            }
        }
    }

    fn send(
        &mut self,
        member: MemberId,
        msg: MsgId,
        pending: bool,
        lost: u16,
    ) -> Result<(), String> {
        if let Err(why) = self.usable(member) {
            self.record(
                "send",
                member,
                Some(msg),
                None,
                None,
                None,
                GroupOutcome::NotRun { why },
            );
            return Ok(());
        }
        let action = if lost > 0 { "jump" } else { "send" };
        let len = match self.model.message(msg).map(|m| &m.body) {
            Some(MessageBody::Application { len, .. }) => *len,
            _ => 0,
        };
        let pt = plaintext(self.seed, msg, len);
        let result = self.slots.get_mut(&member).map(|s| {
            for _ in 0..lost {
                call(|| s.member.send(b"lost"))?;
            }
            call(|| s.member.send(&pt))
        });
        match result {
            Some(Ok(wire)) => {
                let leaf = self.slots.get(&member).and_then(|s| s.member.leaf());
                self.senders.insert(
                    msg,
                    Sender {
                        leaf: leaf.unwrap_or(u32::MAX),
                        identity: member.to_string(),
                    },
                );
                let bytes = wire.len();
                self.wires.insert(msg, wire);
                self.plaintexts.insert(msg, pt);
                self.record(
                    action,
                    member,
                    Some(msg),
                    None,
                    None,
                    None,
                    GroupOutcome::Done { bytes },
                );
            }
            Some(Err(o)) => {
                // A member holding uncommitted proposals must commit before it sends
                // application data (RFC 9420 §12.4), so its refusal is no finding; a panic
                // is one either way.
                if !pending || matches!(o, GroupOutcome::Panicked { .. }) {
                    let peer = self.peer_name(member);
                    self.finding(
                        FindingKind::RejectedGenuine,
                        vec![peer],
                        action,
                        &class_of(&o),
                        format!("{member} could not send {msg}: {}", detail_of(&o)),
                    );
                }
                let ruling = pending.then_some(Ruling::May(Why::PendingProposals));
                self.record(action, member, Some(msg), None, ruling, None, o);
            }
            None => {}
        }
        Ok(())
    }

    fn leaf_of(&self, m: MemberId) -> Option<u32> {
        self.slots.get(&m).and_then(|s| s.leaf)
    }

    fn propose(
        &mut self,
        member: MemberId,
        msg: MsgId,
        op: Proposed,
        wire: WireFormat,
    ) -> Result<(), String> {
        self.usable(member)?;
        let proposal = match op {
            Proposed::Add(new) => match self.client(new) {
                Ok(key_package) => Proposal::Add { key_package },
                Err(o) => {
                    let peer = self.peer_name(new);
                    self.finding(
                        FindingKind::SetupFailed,
                        vec![peer],
                        "client",
                        &class_of(&o),
                        format!("making client {new}: {}", detail_of(&o)),
                    );
                    return Err(format!("making client {new} failed"));
                }
            },
            Proposed::Remove(target) => Proposal::Remove {
                leaf: self.leaf_of(target).unwrap_or(u32::MAX),
            },
            Proposed::Update => Proposal::Update,
        };
        let result = self
            .slots
            .get_mut(&member)
            .map(|s| call(|| s.member.propose(&proposal, wire)));
        self.made(
            "propose",
            member,
            msg,
            wire,
            result.map(|r| r.map(|w| (w, None))),
        )
    }

    /// Records a proposal or commit `member` made (its bytes and, for a commit that adds,
    /// its Welcome); a failure stops the run.
    fn made(
        &mut self,
        action: &str,
        member: MemberId,
        msg: MsgId,
        wire: WireFormat,
        result: Option<Result<Made, GroupOutcome>>,
    ) -> Result<(), String> {
        match result {
            Some(Ok((bytes, welcome))) => {
                let sender = self.sender_of(member);
                self.senders.insert(msg, sender);
                let n = bytes.len();
                self.wires.insert(msg, bytes);
                if let Some(w) = welcome {
                    self.welcomes.insert(msg, w);
                }
                self.record(
                    action,
                    member,
                    Some(msg),
                    None,
                    None,
                    None,
                    GroupOutcome::Done { bytes: n },
                );
                Ok(())
            }
            Some(Err(o)) => {
                let peer = self.peer_name(member);
                let what = format!("{action}-{}", wire.name());
                self.finding(
                    FindingKind::RejectedGenuine,
                    vec![peer],
                    &what,
                    &class_of(&o),
                    format!("{member} could not make {msg}: {}", detail_of(&o)),
                );
                let why = format!("{member}'s {action} failed: {}", detail_of(&o));
                self.record(action, member, Some(msg), None, None, None, o);
                Err(why)
            }
            None => Err(format!("{member} has no client")),
        }
    }

    fn commit(
        &mut self,
        member: MemberId,
        msg: MsgId,
        commit: &super::model::CommitModel,
        wire: WireFormat,
    ) -> Result<(), String> {
        self.usable(member)?;
        let proposals = match commit.op {
            CommitOp::Pending => Vec::new(),
            CommitOp::Update => vec![Proposal::Update],
            CommitOp::Remove(target) => vec![Proposal::Remove {
                leaf: self.leaf_of(target).unwrap_or(u32::MAX),
            }],
            CommitOp::Add => {
                let Some(&new) = commit.adds.last() else {
                    return Err("an add commit without a new member".into());
                };
                match self.client(new) {
                    Ok(key_package) => vec![Proposal::Add { key_package }],
                    Err(o) => {
                        let peer = self.peer_name(new);
                        self.finding(
                            FindingKind::SetupFailed,
                            vec![peer],
                            "client",
                            &class_of(&o),
                            format!("making client {new}: {}", detail_of(&o)),
                        );
                        return Err(format!("making client {new} failed"));
                    }
                }
            }
        };
        let result = self
            .slots
            .get_mut(&member)
            .map(|s| call(|| s.member.commit(&proposals, wire)));
        let result = result.map(|r| r.map(|c| (c.message, c.welcome)));
        self.made("commit", member, msg, wire, result)?;
        // The committer's own leaf may move only by an update, never; keep what it says.
        if let Some(s) = self.slots.get_mut(&member) {
            s.leaf = s.member.leaf().or(s.leaf);
        }
        Ok(())
    }

    fn join(&mut self, member: MemberId, msg: MsgId) {
        let committer = self.model.message(msg).map(|m| m.sender);
        let Some(welcome) = self.welcomes.get(&msg).cloned() else {
            self.diverge(member, "has no Welcome".into());
            let peers = vec![
                committer.map(|c| self.peer_name(c)).unwrap_or_default(),
                self.peer_name(member),
            ];
            self.finding(
                FindingKind::RejectedGenuine,
                peers,
                "join",
                "no-welcome",
                format!("the commit {msg} adding {member} came with no Welcome"),
            );
            self.record(
                "join",
                member,
                Some(msg),
                committer,
                None,
                None,
                GroupOutcome::NotRun {
                    why: "no Welcome".into(),
                },
            );
            return;
        };
        let result = self
            .slots
            .get_mut(&member)
            .map(|s| call(|| s.member.join(&welcome)));
        match result {
            Some(Ok(())) => {
                if let Some(s) = self.slots.get_mut(&member) {
                    s.leaf = s.member.leaf();
                }
                self.record(
                    "join",
                    member,
                    Some(msg),
                    committer,
                    None,
                    None,
                    GroupOutcome::Done { bytes: 0 },
                );
            }
            Some(Err(o)) => {
                let peers = vec![
                    committer.map(|c| self.peer_name(c)).unwrap_or_default(),
                    self.peer_name(member),
                ];
                self.finding(
                    FindingKind::RejectedGenuine,
                    peers,
                    "join",
                    &class_of(&o),
                    format!(
                        "{member} could not join by the Welcome of {msg}: {}",
                        detail_of(&o)
                    ),
                );
                self.diverge(member, format!("could not join at step {}", self.step));
                self.record("join", member, Some(msg), committer, None, None, o);
            }
            None => {}
        }
    }

    fn limits(&self, m: MemberId) -> super::member::GroupLimits {
        self.peers
            .get(self.assignment.peer_of(m))
            .map(|p| p.info().limits)
            .unwrap_or(super::member::GroupLimits {
                past_epochs: 0,
                window: None,
                max_forward: 0,
                drops_departed_senders: false,
                source: String::new(),
            })
    }

    fn receive(&mut self, member: MemberId, msg: MsgId, view: &View) {
        let Some(m) = self.model.message(msg).cloned() else {
            return;
        };
        let sender = m.sender;
        let action = match &m.body {
            MessageBody::Application { .. } => "receive-app".to_string(),
            MessageBody::Handshake { log } => {
                let entry = self.model.log.get(*log);
                let kind = if entry.is_some_and(|e| e.commit.is_some()) {
                    "commit"
                } else {
                    "proposal"
                };
                let wire = entry.map_or("private", |e| e.wire.name());
                format!("receive-{kind}-{wire}")
            }
        };
        let epochs = Some((m.epoch, view.epoch));
        if let Err(why) = self.usable(member) {
            self.record(
                &action,
                member,
                Some(msg),
                Some(sender),
                None,
                epochs,
                GroupOutcome::NotRun { why },
            );
            return;
        }
        let Some(wire) = self.wires.get(&msg).cloned() else {
            self.record(
                &action,
                member,
                Some(msg),
                Some(sender),
                None,
                epochs,
                GroupOutcome::NotRun {
                    why: format!("{msg} was never made"),
                },
            );
            return;
        };
        let limits = self.limits(member);
        let handshake = match &m.body {
            MessageBody::Handshake { log } => self.model.log.get(*log).cloned(),
            MessageBody::Application { .. } => None,
        };
        let ruling = match &handshake {
            None => {
                oracle::rule_application(&self.model, &self.history, &limits, member, msg, view)
            }
            Some(_) => Ruling::MustAccept(Why::Genuine),
        };
        let result = self
            .slots
            .get_mut(&member)
            .map(|s| call(|| s.member.receive(&wire)));
        let Some(result) = result else {
            return;
        };
        let peers = vec![self.peer_name(sender), self.peer_name(member)];
        let genuine = self
            .senders
            .get(&msg)
            .cloned()
            .unwrap_or_else(|| self.sender_of(sender));
        match (&result, ruling) {
            (Ok(received), _) => {
                let wrong = match &handshake {
                    None => {
                        let pt = self.plaintexts.get(&msg).cloned().unwrap_or_default();
                        oracle::judge_accepted(ruling, received, &pt, &genuine)
                    }
                    Some(h) => {
                        let removes = h
                            .commit
                            .as_ref()
                            .is_some_and(|c| c.removes.contains(&member));
                        oracle::judge_handshake(
                            received,
                            h.commit.is_some(),
                            removes,
                            view.epoch + 1,
                            &genuine,
                        )
                    }
                };
                if handshake.is_none() {
                    self.history.accepted(&self.model, member, msg);
                }
                if let Some((kind, class, detail)) = wrong {
                    self.finding(
                        kind,
                        peers,
                        &action,
                        &class,
                        format!(
                            "{member} took {msg} from {sender} (epoch {} in epoch {}): {detail}",
                            m.epoch, view.epoch
                        ),
                    );
                }
            }
            (Err(o), Ruling::MustAccept(why)) => {
                self.finding(
                    FindingKind::RejectedGenuine,
                    peers,
                    &action,
                    &class_of(o),
                    format!(
                        "{member} refused {msg} from {sender} (epoch {} in epoch {}, {}): {}",
                        m.epoch,
                        view.epoch,
                        why.name(),
                        detail_of(o)
                    ),
                );
                if handshake.is_some() {
                    self.diverge(
                        member,
                        format!("refused handshake message {msg} at step {}", self.step),
                    );
                }
            }
            (Err(o), _) => {
                if matches!(o, GroupOutcome::Panicked { .. }) {
                    self.finding(
                        FindingKind::Panic,
                        peers,
                        &action,
                        "panic",
                        format!("{member} on {msg}: {}", detail_of(o)),
                    );
                }
            }
        }
        let outcome = GroupOutcome::of(result);
        self.record(
            &action,
            member,
            Some(msg),
            Some(sender),
            Some(ruling),
            epochs,
            outcome,
        );
    }

    fn tamper(&mut self, member: MemberId, msg: MsgId, bit: u16, view: &View) {
        let sender = self.model.message(msg).map(|m| m.sender);
        let epoch = self.model.message(msg).map_or(0, |m| m.epoch);
        let epochs = Some((epoch, view.epoch));
        if let Err(why) = self.usable(member) {
            self.record(
                "tamper-tag",
                member,
                Some(msg),
                sender,
                None,
                epochs,
                GroupOutcome::NotRun { why },
            );
            return;
        }
        let Some(wire) = self.wires.get(&msg) else {
            self.record(
                "tamper-tag",
                member,
                Some(msg),
                sender,
                None,
                epochs,
                GroupOutcome::NotRun {
                    why: format!("{msg} was never made"),
                },
            );
            return;
        };
        let Some(copy) = tag::flip_tag_bit(wire, bit) else {
            self.record(
                "tamper-tag",
                member,
                Some(msg),
                sender,
                None,
                epochs,
                GroupOutcome::NotApplicable {
                    why: format!("{msg} is a PrivateMessage: it carries no membership tag"),
                },
            );
            return;
        };
        let ruling = Ruling::MustReject(Why::BadTag);
        let result = self
            .slots
            .get_mut(&member)
            .map(|s| call(|| s.member.receive(&copy)));
        let Some(result) = result else {
            return;
        };
        let peers = vec![
            sender.map(|s| self.peer_name(s)).unwrap_or_default(),
            self.peer_name(member),
        ];
        match &result {
            Ok(_) => {
                self.finding(
                    FindingKind::AcceptedMalleated,
                    peers,
                    "tamper-tag",
                    Why::BadTag.name(),
                    format!("{member} accepted {msg} with bit {bit} of its membership tag flipped"),
                );
                self.diverge(
                    member,
                    format!("accepted a forged handshake message at step {}", self.step),
                );
            }
            Err(GroupOutcome::Panicked { detail }) => {
                let detail = detail.clone();
                self.finding(
                    FindingKind::Panic,
                    peers,
                    "tamper-tag",
                    "panic",
                    format!("{member} on a tampered {msg}: {detail}"),
                );
            }
            Err(_) => {}
        }
        let outcome = GroupOutcome::of(result);
        self.record(
            "tamper-tag",
            member,
            Some(msg),
            sender,
            Some(ruling),
            epochs,
            outcome,
        );
    }

    fn compromise(&mut self, member: MemberId, view: &View) {
        if let Err(why) = self.usable(member) {
            self.record(
                "compromise",
                member,
                None,
                None,
                None,
                None,
                GroupOutcome::NotRun { why },
            );
            return;
        }
        let peer_index = self.assignment.peer_of(member);
        let Some(peer) = self.peers.get(peer_index).copied() else {
            return;
        };
        let exported = self
            .slots
            .get(&member)
            .map(|s| call(|| s.member.export_state()));
        let state = match exported {
            Some(Ok(state)) => state,
            Some(Err(o)) => {
                self.record(
                    "compromise",
                    member,
                    None,
                    None,
                    None,
                    None,
                    GroupOutcome::NotApplicable {
                        why: format!("the state cannot be copied: {}", detail_of(&o)),
                    },
                );
                return;
            }
            None => return,
        };
        self.record(
            "compromise",
            member,
            None,
            None,
            None,
            Some((view.epoch, view.epoch)),
            GroupOutcome::Done { bytes: state.len() },
        );
        let limits = peer.info().limits;
        let probes = secrecy::candidates(&self.model, &self.history, &limits, member, view);
        for (msg, why) in probes {
            let Some(wire) = self.wires.get(&msg).cloned() else {
                continue;
            };
            let sender = self.model.message(msg).map(|m| m.sender);
            let epoch = self.model.message(msg).map_or(0, |m| m.epoch);
            let result =
                call(|| peer.restore(&state)).and_then(|mut copy| call(|| copy.receive(&wire)));
            let ruling = Ruling::MustReject(why);
            match &result {
                Ok(_) => {
                    let name = self.peer_name(member);
                    self.finding(
                        FindingKind::ForwardSecrecy,
                        vec![name],
                        "compromise",
                        secrecy::class(why),
                        format!(
                            "a copy of {member}'s state taken in epoch {} decrypted {msg} (epoch {epoch}): {}",
                            view.epoch,
                            secrecy::explain(why)
                        ),
                    );
                }
                Err(GroupOutcome::Panicked { detail }) => {
                    let detail = detail.clone();
                    let name = self.peer_name(member);
                    self.finding(
                        FindingKind::Panic,
                        vec![name],
                        "probe",
                        "panic",
                        format!("a copy of {member} on {msg}: {detail}"),
                    );
                }
                Err(_) => {}
            }
            let outcome = GroupOutcome::of(result);
            self.record(
                "probe",
                member,
                Some(msg),
                sender,
                Some(ruling),
                Some((epoch, view.epoch)),
                outcome,
            );
        }
    }
}

/// Runs `schedule` with members on `peers` as `assignment` says, plaintexts drawn from
/// `seed`.
pub fn execute(
    peers: &[&dyn GroupPeer],
    assignment: &Assignment,
    schedule: &GroupSchedule,
    seed: u64,
) -> GroupTranscript {
    let names: Vec<String> = peers.iter().map(|p| p.info().name).collect();
    let mut run = Run {
        peers,
        names: names.clone(),
        assignment,
        seed,
        model: GroupModel::new(schedule.size),
        slots: BTreeMap::new(),
        wires: BTreeMap::new(),
        plaintexts: BTreeMap::new(),
        senders: BTreeMap::new(),
        welcomes: BTreeMap::new(),
        history: History::default(),
        records: Vec::new(),
        findings: Vec::new(),
        step: 0,
    };
    let mut stopped = run.set_up(schedule.size).err();
    let mut shape = Shape {
        max_members: u32::from(schedule.size),
        ..Shape::default()
    };
    if stopped.is_none() {
        for (i, step) in schedule.steps.iter().enumerate() {
            run.step = i;
            let actions = match run.model.apply(step) {
                Ok(a) => a,
                Err(why) => {
                    stopped = Some(format!("step {i} does not fit the group: {why}"));
                    break;
                }
            };
            shape.note(step, &actions);
            shape.max_members = shape.max_members.max(run.model.current().len() as u32);
            if let Some(why) = actions.into_iter().find_map(|a| run.perform(a).err()) {
                stopped = Some(format!("stopped at step {i}: {why}"));
                break;
            }
        }
    }
    shape.epochs = run.model.epoch();
    shape.reused_leaves = run.model.members.iter().filter(|m| m.reused_leaf).count() as u32;
    GroupTranscript {
        schedule: schedule.to_string(),
        seed,
        assignment: assignment.label(&names),
        records: run.records,
        findings: run.findings,
        stopped,
        shape,
    }
}

impl Shape {
    fn note(&mut self, step: &super::schedule::GroupStep, actions: &[Action]) {
        use super::schedule::GroupStep;
        match step {
            GroupStep::Propose { op, .. } => {
                self.proposals += 1;
                match op {
                    super::schedule::ProposalOp::Update => self.updates += 1,
                    super::schedule::ProposalOp::Add | super::schedule::ProposalOp::Remove(_) => {}
                }
            }
            GroupStep::Commit { op, wire, .. } => {
                match wire {
                    WireFormat::Private => self.commits_private += 1,
                    WireFormat::Public => self.commits_public += 1,
                }
                if *op == CommitOp::Update {
                    self.updates += 1;
                }
                for a in actions {
                    if let Action::Commit { commit, .. } = a {
                        self.adds += commit.adds.len() as u32;
                        self.removes += commit.removes.len() as u32;
                    }
                }
            }
            _ => {}
        }
    }
}
