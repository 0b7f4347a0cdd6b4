//! Interop cells per group operation: for every ordered pair of group peers (X, Y), a fixed
//! schedule per operation in which `M0` runs on X and performs the operation, and every
//! other member runs on Y and takes it (and answers), so that each operation's messages
//! cross from X to Y, and messages of the new epoch flow both ways. A cell is `pass` when the
//! run has no finding, or its first finding.
//!
//! The operations and what each cell shows:
//! - `add`: X commits an Add of a Y client; the new member joins by X's Welcome; everyone
//!   exchanges messages in the new epoch;
//! - `remove`: X commits the removal of a Y member; the removed member must refuse the new
//!   epoch's messages; a message it sent before its removal arrives late, within retention;
//! - `update`: X commits an update path, then commits a Y member's Update proposal;
//! - `commit-private`: a Y member proposes an Add, X commits it by reference, as
//!   `PrivateMessage`s;
//! - `commit-public`: the same operations as `PublicMessage`s, each also delivered first
//!   with a flipped membership tag, which must be refused;
//! - `app-across-epoch`: application messages of epoch 1 from X and Y arrive after X's
//!   commit moved everyone to epoch 2, within every peer's retention.

use super::executor::{execute, Assignment};
use super::member::GroupPeer;
use super::schedule::GroupSchedule;
use crate::interop::CellResult;
use crate::report::{FindingKind, Seen};
use serde::Serialize;
use std::fmt::Write as _;

/// Every operation and its schedule; `M0` runs on the row's peer, every other member on the
/// column's.
pub const OPERATIONS: [(&str, &str); 6] = [
    (
        "add",
        "group 2; commit M0 add private; sync; send M2 6; deliver m1; send M1 6; deliver m2; \
         send M0 6; deliver m3",
    ),
    (
        "remove",
        "group 3; send M2 5; commit M0 remove M2 private; sync; deliver m0; send M0 5; \
         deliver m2; send M1 5; deliver m3",
    ),
    (
        "update",
        "group 3; commit M0 update private; sync; send M1 5; deliver m1; \
         propose M1 update private; commit M0 pending private; sync; send M0 5; deliver m4; \
         send M1 5; deliver m5",
    ),
    (
        "commit-private",
        "group 3; propose M1 add private; commit M0 pending private; sync; send M3 5; \
         deliver m2; send M1 5; deliver m3; send M0 5; deliver m4",
    ),
    (
        "commit-public",
        "group 3; commit M0 update public; tamper m0 M1 tag 7; sync; send M1 5; deliver m1; \
         propose M2 remove M1 public; tamper m2 M0 tag 3; commit M0 pending public; \
         tamper m3 M2 tag 200; sync; send M2 5; deliver m4; send M0 5; deliver m5",
    ),
    (
        "app-across-epoch",
        "group 3; send M0 5; send M1 5; send M1 5; send M2 5; commit M0 update private; sync; \
         deliver m2; deliver m0; deliver m3; deliver m1; send M0 5; deliver m5; send M2 5; \
         deliver m6",
    ),
];

/// The seed of the cells' plaintexts.
const SEED: u64 = 1;

/// One cell: an operation from a committer's peer to a receiver's peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GroupCell {
    /// The operation.
    pub operation: String,
    /// The peer of `M0`, which performs it.
    pub committer: String,
    /// The peer of every other member.
    pub receiver: String,
    /// Pass, or the first finding.
    #[serde(flatten)]
    pub result: CellResult,
}

/// Runs every operation for every ordered pair of `peers`.
pub fn run(peers: &[&dyn GroupPeer]) -> Vec<GroupCell> {
    let names: Vec<String> = peers.iter().map(|p| p.info().name).collect();
    let mut cells = Vec::new();
    for (operation, text) in OPERATIONS {
        let Ok(schedule) = text.parse::<GroupSchedule>() else {
            continue;
        };
        for x in 0..peers.len() {
            for y in 0..peers.len() {
                let assignment = if x == y {
                    Assignment::one(x)
                } else {
                    Assignment::CreatorThenOthers {
                        creator: x,
                        others: y,
                    }
                };
                let t = execute(peers, &assignment, &schedule, SEED);
                let received: u32 = t
                    .records
                    .iter()
                    .filter(|r| r.action.starts_with("receive"))
                    .count() as u32;
                let result = match (t.findings.first(), &t.stopped) {
                    (None, None) => CellResult::Pass {
                        delivered: received,
                    },
                    (Some(f), _) => CellResult::Fail {
                        step: format!(
                            "step {}: {}",
                            f.step,
                            schedule
                                .steps
                                .get(f.step)
                                .map(ToString::to_string)
                                .unwrap_or_else(|| "set-up".into())
                        ),
                        step_kind: f.signature.split('/').nth(2).unwrap_or("group").into(),
                        class: f.signature.split('/').nth(3).unwrap_or("").into(),
                        detail: format!("{}: {}", f.signature, f.detail),
                    },
                    (None, Some(why)) => CellResult::Fail {
                        step: why.clone(),
                        step_kind: "stopped".into(),
                        class: "stopped".into(),
                        detail: why.clone(),
                    },
                };
                cells.push(GroupCell {
                    operation: operation.into(),
                    committer: names[x].clone(),
                    receiver: names[y].clone(),
                    result,
                });
            }
        }
    }
    cells
}

/// The failing cells as findings: `X+Y/interop/group-<operation>/<class>`, with the
/// command that runs the operation's schedule again.
pub fn sightings(cells: &[GroupCell]) -> Vec<Seen> {
    cells
        .iter()
        .filter_map(|c| {
            let CellResult::Fail {
                class,
                detail,
                step,
                ..
            } = &c.result
            else {
                return None;
            };
            let text = OPERATIONS
                .iter()
                .find(|(op, _)| *op == c.operation)
                .map(|(_, t)| *t)
                .unwrap_or_default();
            let mut peers = vec![c.committer.clone(), c.receiver.clone()];
            peers.dedup();
            Some(Seen {
                signature: format!(
                    "{}+{}/{}/group-{}/{class}",
                    c.committer,
                    c.receiver,
                    FindingKind::InteropFailed.name(),
                    c.operation
                ),
                kind: FindingKind::InteropFailed,
                count: 1,
                detail: format!("{step}: {detail}"),
                scenario: text.to_string(),
                seed: SEED,
                reproducer: super::campaign::reproducer(text, &peers, SEED),
                case: crate::report::Reproducer::Scenario {
                    scenario: text.to_string(),
                    seed: SEED,
                    peers,
                },
                expected: None,
                listed_in: None,
            })
        })
        .collect()
}

/// The cells as text: a row per operation, a column per (committer, receiver) pair.
pub fn render(cells: &[GroupCell]) -> String {
    let mut out = String::new();
    if cells.is_empty() {
        return out;
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for c in cells {
        let pair = (c.committer.clone(), c.receiver.clone());
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    let _ = writeln!(
        out,
        "interop mls groups (per operation; columns: M0's peer > the other members' peer):"
    );
    let labels: Vec<String> = pairs.iter().map(|(a, b)| format!("{a}>{b}")).collect();
    let width = labels.iter().map(String::len).max().unwrap_or(0).max(6);
    let mut line = format!("  {:18}", "operation");
    for l in &labels {
        let _ = write!(line, "  {l:width$}");
    }
    let _ = writeln!(out, "{}", line.trim_end());
    let mut failures = Vec::new();
    let mut operations: Vec<&str> = Vec::new();
    for c in cells {
        if !operations.contains(&c.operation.as_str()) {
            operations.push(&c.operation);
        }
    }
    for op in operations {
        let mut line = format!("  {op:18}");
        for (a, b) in &pairs {
            let text = match cells
                .iter()
                .find(|c| c.operation == op && &c.committer == a && &c.receiver == b)
                .map(|c| &c.result)
            {
                Some(CellResult::Pass { .. }) => "pass".to_string(),
                Some(CellResult::Fail { .. }) => {
                    failures.push((op, a, b));
                    format!("FAIL {}", failures.len())
                }
                None => "-".into(),
            };
            let _ = write!(line, "  {text:width$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for (i, (op, a, b)) in failures.iter().enumerate() {
        if let Some(CellResult::Fail { step, detail, .. }) = cells
            .iter()
            .find(|c| c.operation == *op && &c.committer == *a && &c.receiver == *b)
            .map(|c| &c.result)
        {
            let _ = writeln!(out, "  FAIL {}: {op} {a} > {b}: {step}: {detail}", i + 1);
        }
    }
    out
}
