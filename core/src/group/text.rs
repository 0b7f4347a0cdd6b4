//! The text form of a group schedule: `group N`, then steps separated by `;`.
//!
//! ```text
//! group 3; send M1 5; propose M2 update public; commit M0 pending private; sync M1;
//! tamper m1 M2 tag 9; deliver m0; deliver m0 M2; jump M2 1001; compromise M1
//! ```
//!
//! Printing and parsing are inverses: `text.parse::<GroupSchedule>()?.to_string()` gives the
//! text back in canonical spacing. Parsing also validates the schedule against the group it
//! makes ([`super::model::GroupModel::check`]), so a parsed schedule always runs.

use super::model::GroupModel;
use super::schedule::{CommitOp, GroupSchedule, GroupStep, MemberId, ProposalOp, WireFormat};
use super::schedule::{MAX_MEMBERS, MIN_MEMBERS};
use crate::scenario::MsgId;
use std::fmt;
use std::str::FromStr;

/// A group schedule text that does not parse or does not make a valid group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct GroupParseError {
    /// Where: `header`, or `step N` (0-based, after the header).
    pub at: String,
    /// What is wrong.
    pub reason: String,
}

impl GroupParseError {
    pub(crate) fn step(step: usize, reason: impl Into<String>) -> Self {
        GroupParseError {
            at: format!("step {step}"),
            reason: reason.into(),
        }
    }

    fn header(reason: impl Into<String>) -> Self {
        GroupParseError {
            at: "header".into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ProposalOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposalOp::Add => f.write_str("add"),
            ProposalOp::Remove(m) => write!(f, "remove {m}"),
            ProposalOp::Update => f.write_str("update"),
        }
    }
}

impl fmt::Display for CommitOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitOp::Add => f.write_str("add"),
            CommitOp::Remove(m) => write!(f, "remove {m}"),
            CommitOp::Update => f.write_str("update"),
            CommitOp::Pending => f.write_str("pending"),
        }
    }
}

impl fmt::Display for GroupStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupStep::Send { from, len } => write!(f, "send {from} {len}"),
            GroupStep::Jump { from, lost } => write!(f, "jump {from} {lost}"),
            GroupStep::Propose { from, op, wire } => {
                write!(f, "propose {from} {op} {}", wire.name())
            }
            GroupStep::Commit { from, op, wire } => {
                write!(f, "commit {from} {op} {}", wire.name())
            }
            GroupStep::Deliver { msg, to: None } => write!(f, "deliver {msg}"),
            GroupStep::Deliver { msg, to: Some(m) } => write!(f, "deliver {msg} {m}"),
            GroupStep::Sync { member: None } => write!(f, "sync"),
            GroupStep::Sync { member: Some(m) } => write!(f, "sync {m}"),
            GroupStep::TamperTag { msg, to, bit } => write!(f, "tamper {msg} {to} tag {bit}"),
            GroupStep::Compromise { member } => write!(f, "compromise {member}"),
        }
    }
}

impl fmt::Display for GroupSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group {}", self.size)?;
        for s in &self.steps {
            write!(f, "; {s}")?;
        }
        Ok(())
    }
}

/// Reads the words of one step.
struct Words<'a> {
    words: std::str::SplitWhitespace<'a>,
    step: usize,
}

impl<'a> Words<'a> {
    fn next(&mut self, what: &str) -> Result<&'a str, GroupParseError> {
        self.words
            .next()
            .ok_or_else(|| GroupParseError::step(self.step, format!("expected {what}")))
    }

    fn member(&mut self) -> Result<MemberId, GroupParseError> {
        let w = self.next("a member (M0, M1, ...)")?;
        w.strip_prefix('M')
            .and_then(|n| n.parse().ok())
            .map(MemberId)
            .ok_or_else(|| {
                GroupParseError::step(self.step, format!("expected a member like M2, got {w:?}"))
            })
    }

    fn msg(&mut self) -> Result<MsgId, GroupParseError> {
        let w = self.next("a message (m0, m1, ...)")?;
        w.strip_prefix('m')
            .and_then(|n| n.parse().ok())
            .map(MsgId)
            .ok_or_else(|| {
                GroupParseError::step(self.step, format!("expected a message like m3, got {w:?}"))
            })
    }

    fn number<T: FromStr>(&mut self, what: &str) -> Result<T, GroupParseError> {
        let w = self.next(what)?;
        w.parse()
            .map_err(|_| GroupParseError::step(self.step, format!("expected {what}, got {w:?}")))
    }

    fn wire(&mut self) -> Result<WireFormat, GroupParseError> {
        match self.next("public or private")? {
            "public" => Ok(WireFormat::Public),
            "private" => Ok(WireFormat::Private),
            other => Err(GroupParseError::step(
                self.step,
                format!("expected public or private, got {other:?}"),
            )),
        }
    }

    fn optional_member(&mut self) -> Result<Option<MemberId>, GroupParseError> {
        match self.words.clone().next() {
            Some(_) => self.member().map(Some),
            None => Ok(None),
        }
    }

    fn end(&mut self) -> Result<(), GroupParseError> {
        match self.words.next() {
            None => Ok(()),
            Some(extra) => Err(GroupParseError::step(
                self.step,
                format!("unexpected {extra:?} at the end of the step"),
            )),
        }
    }
}

fn parse_step(text: &str, step: usize) -> Result<GroupStep, GroupParseError> {
    let mut w = Words {
        words: text.split_whitespace(),
        step,
    };
    let keyword = w.next("a step")?;
    let parsed = match keyword {
        "send" => GroupStep::Send {
            from: w.member()?,
            len: w.number("a plaintext length (0 to 65535)")?,
        },
        "jump" => GroupStep::Jump {
            from: w.member()?,
            lost: w.number("how many messages are lost (0 to 65535)")?,
        },
        "propose" | "commit" => {
            let from = w.member()?;
            let op_word = w.next("add, remove, update or pending")?;
            let target = if op_word == "remove" {
                Some(w.member()?)
            } else {
                None
            };
            let wire = w.wire()?;
            if keyword == "propose" {
                let op = match (op_word, target) {
                    ("add", _) => ProposalOp::Add,
                    ("update", _) => ProposalOp::Update,
                    ("remove", Some(m)) => ProposalOp::Remove(m),
                    (other, _) => {
                        return Err(GroupParseError::step(
                            step,
                            format!("a proposal is add, remove MX or update, got {other:?}"),
                        ))
                    }
                };
                GroupStep::Propose { from, op, wire }
            } else {
                let op = match (op_word, target) {
                    ("add", _) => CommitOp::Add,
                    ("update", _) => CommitOp::Update,
                    ("pending", _) => CommitOp::Pending,
                    ("remove", Some(m)) => CommitOp::Remove(m),
                    (other, _) => {
                        return Err(GroupParseError::step(
                            step,
                            format!(
                                "a commit is add, remove MX, update or pending, got {other:?}"
                            ),
                        ))
                    }
                };
                GroupStep::Commit { from, op, wire }
            }
        }
        "deliver" => GroupStep::Deliver {
            msg: w.msg()?,
            to: w.optional_member()?,
        },
        "sync" => GroupStep::Sync {
            member: w.optional_member()?,
        },
        "tamper" => {
            let msg = w.msg()?;
            let to = w.member()?;
            match w.next("tag")? {
                "tag" => {}
                other => {
                    return Err(GroupParseError::step(
                        step,
                        format!("only a membership tag is tampered with here: expected tag, got {other:?}"),
                    ))
                }
            }
            GroupStep::TamperTag {
                msg,
                to,
                bit: w.number("a bit index (0 to 65535)")?,
            }
        }
        "compromise" => GroupStep::Compromise {
            member: w.member()?,
        },
        other => {
            return Err(GroupParseError::step(
                step,
                format!(
                    "unknown step {other:?}; expected send, jump, propose, commit, deliver, sync, tamper or compromise"
                ),
            ))
        }
    };
    w.end()?;
    Ok(parsed)
}

impl FromStr for GroupSchedule {
    type Err = GroupParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split(';').map(str::trim).filter(|p| !p.is_empty());
        let header = parts
            .next()
            .ok_or_else(|| GroupParseError::header("expected `group N` first"))?;
        let size = header
            .strip_prefix("group")
            .map(str::trim)
            .and_then(|n| n.parse::<u8>().ok())
            .ok_or_else(|| {
                GroupParseError::header(format!("expected `group N` first, got {header:?}"))
            })?;
        if !(MIN_MEMBERS..=MAX_MEMBERS).contains(&size) {
            return Err(GroupParseError::header(format!(
                "a group starts with {MIN_MEMBERS} to {MAX_MEMBERS} members, got {size}"
            )));
        }
        let steps = parts
            .enumerate()
            .map(|(i, p)| parse_step(p, i))
            .collect::<Result<Vec<_>, _>>()?;
        let schedule = GroupSchedule { size, steps };
        GroupModel::check(&schedule)?;
        Ok(schedule)
    }
}

/// Whether `text` is a group schedule's text form rather than a two-party scenario's (it
/// starts with the `group` header), so that `replay` and `minimize` can take either.
pub fn is_group_text(text: &str) -> bool {
    text.trim_start()
        .strip_prefix("group")
        .is_some_and(|rest| rest.starts_with(char::is_whitespace))
}
