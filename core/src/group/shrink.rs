//! Shrinks a group schedule to a shorter one that still shows the same finding signature.
//!
//! Delta debugging over steps (chunks removed, halving the chunk size), then a smaller
//! initial group, then every plaintext length moved toward zero; each candidate must still
//! be a valid schedule ([`super::model::GroupModel::check`]) and show the signature under
//! the same assignment, within a budget of runs. Removing a step that made a message or a
//! member also removes every step naming it and renumbers the later ones.

use super::executor::{execute, Assignment};
use super::member::GroupPeer;
use super::model::GroupModel;
use super::schedule::{GroupSchedule, GroupStep, MemberId, MIN_MEMBERS};
use crate::report::Finding;
use crate::scenario::MsgId;
use std::collections::BTreeSet;

impl GroupSchedule {
    /// The schedule without the steps `first` marks and every later step naming a message or
    /// a member a removed step made (transitively), with `gone` (an initial member) removed
    /// too; later names are renumbered.
    fn dropping(&self, first: Option<usize>, gone: Option<MemberId>) -> GroupSchedule {
        let mut gone_msgs: BTreeSet<MsgId> = BTreeSet::new();
        let mut gone_members: BTreeSet<MemberId> = gone.into_iter().collect();
        let mut kept = Vec::new();
        let (mut next_msg, mut next_member) = (0u32, self.size);
        for (j, step) in self.steps.iter().enumerate() {
            let made_msg = step.creates_message().then(|| {
                next_msg += 1;
                MsgId(next_msg - 1)
            });
            let made_member = step.creates_member().then(|| {
                next_member = next_member.saturating_add(1);
                MemberId(next_member - 1)
            });
            let drop = first == Some(j)
                || step.message().is_some_and(|m| gone_msgs.contains(&m))
                || step.members().iter().any(|m| gone_members.contains(m));
            if drop {
                gone_msgs.extend(made_msg);
                gone_members.extend(made_member);
            } else {
                kept.push(step);
            }
        }
        let msg = |m: MsgId| MsgId(m.0 - gone_msgs.range(..m).count() as u32);
        let member = |m: MemberId| MemberId(m.0 - gone_members.range(..m).count() as u8);
        GroupSchedule {
            size: self.size - u8::from(gone.is_some()),
            steps: kept.into_iter().map(|s| s.renamed(member, msg)).collect(),
        }
    }

    /// The schedule without step `i`, and without every later step naming a message or a
    /// member it made (transitively); later names are renumbered.
    pub fn without(&self, i: usize) -> GroupSchedule {
        if i >= self.steps.len() {
            return self.clone();
        }
        self.dropping(Some(i), None)
    }

    /// The schedule with a group one member smaller: the steps naming the last initial
    /// member go (and whatever depends on them), later names are renumbered.
    pub fn smaller(&self) -> Option<GroupSchedule> {
        (self.size > MIN_MEMBERS).then(|| self.dropping(None, Some(MemberId(self.size - 1))))
    }
}

/// Runs `schedule` and returns the finding with `signature`, if it shows.
fn shows(
    peers: &[&dyn GroupPeer],
    assignment: &Assignment,
    schedule: &GroupSchedule,
    seed: u64,
    signature: &str,
) -> Option<Finding> {
    GroupModel::check(schedule).ok()?;
    execute(peers, assignment, schedule, seed)
        .findings
        .into_iter()
        .find(|f| f.signature == signature)
}

/// The smallest schedule found, within `budget` runs, that still shows `signature` under
/// `assignment`, with its finding; `None` if the given schedule does not show it.
pub fn shrink(
    peers: &[&dyn GroupPeer],
    assignment: &Assignment,
    schedule: &GroupSchedule,
    seed: u64,
    signature: &str,
    budget: usize,
) -> Option<(GroupSchedule, Finding)> {
    let mut runs = 1;
    let mut best = schedule.clone();
    let mut finding = shows(peers, assignment, &best, seed, signature)?;
    best = best.prefix(finding.step);
    let mut chunk = best.steps.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < best.steps.len() && runs < budget {
            let mut candidate = best.clone();
            for _ in 0..chunk.min(best.steps.len() - i) {
                candidate = candidate.without(i);
            }
            if GroupModel::check(&candidate).is_err() {
                i += chunk;
                continue;
            }
            runs += 1;
            match shows(peers, assignment, &candidate, seed, signature) {
                Some(f) => {
                    best = candidate.prefix(f.step);
                    finding = f;
                }
                None => i += chunk,
            }
        }
        if chunk == 1 || runs >= budget {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    while runs < budget {
        let Some(candidate) = best.smaller() else {
            break;
        };
        if GroupModel::check(&candidate).is_err() {
            break;
        }
        runs += 1;
        match shows(peers, assignment, &candidate, seed, signature) {
            Some(f) => {
                best = candidate.prefix(f.step);
                finding = f;
            }
            None => break,
        }
    }
    for i in 0..best.steps.len() {
        if runs >= budget {
            break;
        }
        if let Some(GroupStep::Send { from, len }) = best.steps.get(i).cloned() {
            if len == 0 {
                continue;
            }
            let mut candidate = best.clone();
            candidate.steps[i] = GroupStep::Send { from, len: 0 };
            runs += 1;
            if let Some(f) = shows(peers, assignment, &candidate, seed, signature) {
                best = candidate;
                finding = f;
            }
        }
    }
    Some((best, finding))
}
