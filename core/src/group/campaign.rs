//! The seeded group campaign: schedules drawn from one seed, each run on every group peer
//! alone and on mixed groups, every transcript judged by the oracles.
//!
//! With peers `P0 .. Pn`, a schedule runs `n` times alone (every member on one peer) and,
//! with two peers or more, once per ordered pair alternating members between the two
//! (`M0` on the first, `M1` on the second, ...), so that every kind of message crosses
//! between implementations in both directions. Only counts and one sighting per signature
//! are kept, so memory stays flat.

use super::draw::MAX_GROUP_EVENTS;
use super::executor::{execute, Assignment, GroupTranscript};
use super::member::GroupPeer;
use super::oracle::Ruling;
use super::schedule::GroupSchedule;
use crate::report::{Finding, Seen};
use crate::rng;
use arbitrary::{Arbitrary, Unstructured};
use rand_core::RngCore;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Bytes drawn per schedule: enough for [`MAX_GROUP_EVENTS`] events.
const SCHEDULE_BYTES: usize = 16 + 6 * MAX_GROUP_EVENTS;

/// The bytes schedule `index` of the campaign under `seed` is drawn from; as a fuzz input
/// they decode to the same schedule.
pub fn schedule_bytes(seed: u64, index: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; SCHEDULE_BYTES];
    rng::stream(seed, &format!("group schedule {index}")).fill_bytes(&mut bytes);
    bytes
}

/// Schedule `index` of the campaign under `seed`, and the seed of its plaintexts.
pub fn schedule_for(seed: u64, index: u64) -> (GroupSchedule, u64) {
    let bytes = schedule_bytes(seed, index);
    let schedule =
        GroupSchedule::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap_or_default();
    let session = rng::stream(seed, &format!("group session {index}")).next_u64();
    (schedule, session)
}

/// Every assignment a schedule runs under on `n` peers: each alone, then each ordered pair
/// alternating.
pub fn assignments(n: usize) -> Vec<Assignment> {
    let mut all: Vec<Assignment> = (0..n).map(Assignment::one).collect();
    for a in 0..n {
        for b in 0..n {
            if a != b {
                all.push(Assignment::Cycle(vec![a, b]));
            }
        }
    }
    all
}

/// Runs `schedule` under every assignment of `peers`.
pub fn check_schedule(
    peers: &[&dyn GroupPeer],
    schedule: &GroupSchedule,
    seed: u64,
) -> Vec<GroupTranscript> {
    assignments(peers.len())
        .iter()
        .map(|a| execute(peers, a, schedule, seed))
        .collect()
}

/// The command that shows a group finding again: the schedule on the peers named.
pub fn reproducer(schedule: &str, peers: &[String], seed: u64) -> String {
    let flags: String = peers.iter().map(|p| format!(" --peer {p}")).collect();
    format!("ratchet-bench replay '{schedule}'{flags} --seed {seed}")
}

/// Counts of one assignment's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunCounts {
    /// Runs.
    pub runs: u64,
    /// Runs that stopped before their last step.
    pub stopped: u64,
    /// Per action kind, how many ended in each outcome.
    pub actions: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per oracle ruling on an application message (`must accept (late-within-retention)`
    /// and the like), how many the members accepted and refused.
    pub rulings: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The totals of what the drawn groups went through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ShapeTotals {
    /// Schedules per initial group size.
    pub sizes: BTreeMap<u8, u64>,
    /// The most members one group had at once.
    pub max_members: u32,
    /// Epochs crossed, in all.
    pub epochs: u64,
    /// The most epochs one group crossed.
    pub max_epochs: u64,
    /// Commits as `PrivateMessage` and as `PublicMessage`.
    pub commits_private: u64,
    /// Commits as `PublicMessage`.
    pub commits_public: u64,
    /// Standalone proposals.
    pub proposals: u64,
    /// Members added, removed, updates, and leaves reused by a new member.
    pub adds: u64,
    /// Members removed.
    pub removes: u64,
    /// Updates.
    pub updates: u64,
    /// Leaves reused by a new member.
    pub reused_leaves: u64,
}

/// What a group campaign saw.
#[derive(Clone, Debug, Default)]
pub struct GroupCampaign {
    /// Schedules drawn and run.
    pub schedules: u64,
    /// Per assignment label, its counts.
    pub runs: BTreeMap<String, RunCounts>,
    /// Every signature seen, with its first schedule (by index) and the assignment it
    /// showed under there.
    pub seen: BTreeMap<String, (u64, Seen, Assignment)>,
    /// What the groups went through.
    pub shape: ShapeTotals,
}

impl GroupCampaign {
    fn absorb(
        &mut self,
        index: u64,
        schedule: &GroupSchedule,
        ts: &[GroupTranscript],
        names: &[String],
    ) {
        self.schedules += 1;
        *self.shape.sizes.entry(schedule.size).or_default() += 1;
        if let Some(t) = ts.first() {
            let s = &t.shape;
            let totals = &mut self.shape;
            totals.max_members = totals.max_members.max(s.max_members);
            totals.epochs += s.epochs;
            totals.max_epochs = totals.max_epochs.max(s.epochs);
            totals.commits_private += u64::from(s.commits_private);
            totals.commits_public += u64::from(s.commits_public);
            totals.proposals += u64::from(s.proposals);
            totals.adds += u64::from(s.adds);
            totals.removes += u64::from(s.removes);
            totals.updates += u64::from(s.updates);
            totals.reused_leaves += u64::from(s.reused_leaves);
        }
        let mut once = BTreeSet::new();
        for t in ts {
            let counts = self.runs.entry(t.assignment.clone()).or_default();
            counts.runs += 1;
            counts.stopped += u64::from(t.stopped.is_some());
            for r in &t.records {
                *counts
                    .actions
                    .entry(r.action.clone())
                    .or_default()
                    .entry(r.outcome.kind().into())
                    .or_default() += 1;
                if r.action == "receive-app" {
                    if let Some(ruling) = r.ruling {
                        *counts
                            .rulings
                            .entry(ruling.describe())
                            .or_default()
                            .entry(r.outcome.kind().into())
                            .or_default() += 1;
                    }
                }
            }
            let peers = involved(t, names);
            for f in &t.findings {
                if !once.insert(f.signature.clone()) {
                    continue;
                }
                match self.seen.get_mut(&f.signature) {
                    Some((_, s, _)) => s.count += 1,
                    None => {
                        let seen = sighting(f, schedule, t.seed, &peers);
                        self.seen.insert(
                            f.signature.clone(),
                            (index, seen, assignment_of(&t.assignment, names)),
                        );
                    }
                }
            }
        }
    }

    /// Adds the counts and sightings of `other` (another part of the same campaign).
    pub fn merge(&mut self, other: GroupCampaign) {
        self.schedules += other.schedules;
        for (label, c) in other.runs {
            let mine = self.runs.entry(label).or_default();
            mine.runs += c.runs;
            mine.stopped += c.stopped;
            for (a, outcomes) in c.actions {
                for (o, n) in outcomes {
                    *mine
                        .actions
                        .entry(a.clone())
                        .or_default()
                        .entry(o)
                        .or_default() += n;
                }
            }
            for (a, outcomes) in c.rulings {
                for (o, n) in outcomes {
                    *mine
                        .rulings
                        .entry(a.clone())
                        .or_default()
                        .entry(o)
                        .or_default() += n;
                }
            }
        }
        for (sig, (index, seen, assignment)) in other.seen {
            match self.seen.get_mut(&sig) {
                Some((mine_index, mine, mine_assignment)) => {
                    let count = mine.count + seen.count;
                    if index < *mine_index {
                        *mine_index = index;
                        *mine = seen;
                        *mine_assignment = assignment;
                    }
                    mine.count = count;
                }
                None => {
                    self.seen.insert(sig, (index, seen, assignment));
                }
            }
        }
        let (a, b) = (&mut self.shape, other.shape);
        for (size, n) in b.sizes {
            *a.sizes.entry(size).or_default() += n;
        }
        a.max_members = a.max_members.max(b.max_members);
        a.epochs += b.epochs;
        a.max_epochs = a.max_epochs.max(b.max_epochs);
        a.commits_private += b.commits_private;
        a.commits_public += b.commits_public;
        a.proposals += b.proposals;
        a.adds += b.adds;
        a.removes += b.removes;
        a.updates += b.updates;
        a.reused_leaves += b.reused_leaves;
    }

    /// The sightings in signature order.
    pub fn sightings(&self) -> Vec<Seen> {
        self.seen.values().map(|(_, s, _)| s.clone()).collect()
    }
}

/// The assignment a label names (the inverse of [`Assignment::label`]).
pub fn assignment_of(label: &str, names: &[String]) -> Assignment {
    let index = |n: &str| names.iter().position(|m| m == n).unwrap_or(0);
    match label.split_once('>') {
        Some((a, b)) => Assignment::CreatorThenOthers {
            creator: index(a),
            others: index(b),
        },
        None => Assignment::Cycle(label.split('|').map(index).collect()),
    }
}

/// Reads pinned group schedules: one per line, the seed then the schedule's text; blank
/// lines and `#` comments are skipped. Errors name the line.
pub fn parse_pinned(text: &str) -> Result<Vec<(GroupSchedule, u64)>, String> {
    crate::campaign::parse_seeded(text, "a group schedule")
}

/// The peers a transcript's assignment uses, in peer order.
fn involved(t: &GroupTranscript, names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| t.assignment.split(['|', '>']).any(|p| p == n.as_str()))
        .cloned()
        .collect()
}

/// A finding of a run of `schedule` under `seed` on `peers` (the run's assignment), as a
/// sighting whose reproducer runs the schedule on those peers again.
pub fn sighting(f: &Finding, schedule: &GroupSchedule, seed: u64, peers: &[String]) -> Seen {
    let text = schedule.prefix(f.step).to_string();
    let mut seen = Seen::first(f, text.clone(), seed);
    seen.reproducer = reproducer(&text, peers, seed);
    seen
}

/// Runs `count` drawn schedules under `seed` on `peers`, on `workers` threads, after the
/// `pinned` ones; the result does not depend on the number of workers.
pub fn run(
    peers: &[&dyn GroupPeer],
    pinned: &[(GroupSchedule, u64)],
    seed: u64,
    count: u64,
    workers: usize,
    progress: &(dyn Fn() + Sync),
) -> GroupCampaign {
    let names: Vec<String> = peers.iter().map(|p| p.info().name).collect();
    let names = &names;
    let total = pinned.len() as u64 + count;
    let workers = workers.max(1);
    let parts: Vec<GroupCampaign> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let mut part = GroupCampaign::default();
                    for index in (0..total).skip(w).step_by(workers) {
                        let (schedule, session) = match pinned.get(index as usize) {
                            Some((s, session)) => (s.clone(), *session),
                            None => schedule_for(seed, index - pinned.len() as u64),
                        };
                        let ts = check_schedule(peers, &schedule, session);
                        part.absorb(index, &schedule, &ts, names);
                        progress();
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut result = GroupCampaign::default();
    for part in parts {
        result.merge(part);
    }
    result
}

/// Whether a ruling counts as a late message (of an epoch the receiver has left).
pub fn is_late(ruling: Ruling) -> bool {
    matches!(
        ruling.why(),
        super::oracle::Why::LateWithinRetention
            | super::oracle::Why::PastRetention
            | super::oracle::Why::RemovedSenderLate
    )
}
