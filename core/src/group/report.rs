//! The group section of the run's report: the peers' declared group limits, what the drawn
//! groups went through, what every assignment's members did per action and per oracle
//! ruling, and the interop cells per operation.

use super::campaign::{GroupCampaign, RunCounts, ShapeTotals};
use super::interop::{self, GroupCell};
use super::member::GroupPeerInfo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The group section of a run.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct GroupReport {
    /// The group peers and their declared limits.
    pub peers: Vec<GroupPeerInfo>,
    /// Schedules drawn from the seed.
    pub schedules: u64,
    /// Pinned schedules run before them.
    pub pinned: u64,
    /// What the groups went through.
    pub shape: ShapeTotals,
    /// Per assignment (`openmls`, `openmls|mls-rs`, ...), its counts.
    pub runs: BTreeMap<String, RunCounts>,
    /// The interop cells per operation.
    pub interop: Vec<GroupCell>,
}

impl GroupReport {
    /// The report of a campaign and its interop cells.
    pub fn new(
        peers: Vec<GroupPeerInfo>,
        pinned: u64,
        campaign: &GroupCampaign,
        interop: Vec<GroupCell>,
    ) -> GroupReport {
        GroupReport {
            peers,
            schedules: campaign.schedules.saturating_sub(pinned),
            pinned,
            shape: campaign.shape.clone(),
            runs: campaign.runs.clone(),
            interop,
        }
    }
}

/// Actions in report order.
const ACTIONS: [&str; 11] = [
    "send",
    "propose",
    "commit",
    "join",
    "receive-app",
    "receive-proposal-private",
    "receive-proposal-public",
    "receive-commit-private",
    "receive-commit-public",
    "tamper-tag",
    "probe",
];

/// Outcomes in report order.
const OUTCOMES: [&str; 6] = [
    "done",
    "accepted",
    "refused",
    "panic",
    "not-run",
    "not-applicable",
];

/// The section as text.
pub fn render_text(r: &GroupReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "mls groups: {} drawn schedules (+{} pinned), each on every peer alone and on mixed groups",
        r.schedules, r.pinned
    );
    for p in &r.peers {
        let l = &p.limits;
        let window = l.window.map_or_else(
            || "every skipped key kept".to_string(),
            |w| format!("keys of the last {w} generations kept"),
        );
        let _ = writeln!(
            out,
            "  {:<10} past epochs kept {}, {window}, max forward {}",
            p.name, l.past_epochs, l.max_forward
        );
        let _ = writeln!(out, "             ({})", l.source);
        if !p.weakened.is_empty() {
            let _ = writeln!(out, "             weakened: {}", p.weakened.join("; "));
        }
    }
    let s = &r.shape;
    let sizes: Vec<String> = s.sizes.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let _ = writeln!(
        out,
        "  groups: initial sizes {} (size:schedules), up to {} members at once; {} epochs crossed (up to {} in one group)",
        sizes.join(" "),
        s.max_members,
        s.epochs,
        s.max_epochs
    );
    let _ = writeln!(
        out,
        "  commits: {} as PrivateMessage, {} as PublicMessage; {} standalone proposals; {} adds, {} removes, {} updates; {} leaves reused by a new member",
        s.commits_private, s.commits_public, s.proposals, s.adds, s.removes, s.updates, s.reused_leaves
    );
    for (label, c) in &r.runs {
        let _ = writeln!(
            out,
            "  members on {label}: {} runs ({} stopped early)",
            c.runs, c.stopped
        );
        let _ = write!(out, "    {:<26}", "action");
        for o in OUTCOMES {
            let _ = write!(out, " {o:>14}");
        }
        out.push('\n');
        for a in ACTIONS {
            let Some(counts) = c.actions.get(a) else {
                continue;
            };
            let _ = write!(out, "    {a:<26}");
            for o in OUTCOMES {
                let _ = write!(out, " {:>14}", counts.get(o).copied().unwrap_or(0));
            }
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "    application messages by the oracle's ruling (accepted / refused / other):"
        );
        for (ruling, counts) in &c.rulings {
            let get = |k: &str| counts.get(k).copied().unwrap_or(0);
            let other: u64 = counts
                .iter()
                .filter(|(k, _)| *k != "accepted" && *k != "refused")
                .map(|(_, v)| v)
                .sum();
            let _ = writeln!(
                out,
                "      {ruling:<44} {:>8} {:>8} {:>6}",
                get("accepted"),
                get("refused"),
                other
            );
        }
    }
    out.push_str(&interop::render(&r.interop));
    out
}
