//! MLS groups in the bench's commands: the group campaign and interop cells of `run` (with
//! the pinned group schedules of vectors/regressions/groups.txt), `replay` and `minimize` of
//! a group schedule (text starting `group N`), and a regression case's line.

use crate::group::campaign::{self, GroupCampaign};
use crate::group::executor::{execute, Assignment, GroupTranscript};
use crate::group::interop;
use crate::group::report::GroupReport;
use crate::group::shrink::shrink;
use crate::group::{GroupPeer, GroupSchedule};
use crate::report::{Finding, Seen};
use std::fmt::Write as _;
use std::path::Path;

/// The group schedules `run` draws unless told otherwise: each runs on every group peer
/// alone and on both mixed assignments (four runs with openmls and mls-rs), sized so that the
/// default run stays within its time budget (measured in the README).
pub const DEFAULT_GROUP_SCHEDULES: u64 = 24;

/// Runs a group finding's reproducer may take while it is shrunk in `run`.
const SHRINK_BUDGET: usize = 40;

/// What the group part of a run found.
#[derive(Clone, Debug)]
pub struct GroupRun {
    /// The report's group section.
    pub report: GroupReport,
    /// Findings: the campaign's (reproducers shrunk) and the failing interop cells.
    pub findings: Vec<Seen>,
}

/// Runs the group campaign (`pinned` first, then `count` drawn under `seed`) and the interop
/// cells on `peers`.
pub fn run(
    peers: &[Box<dyn GroupPeer>],
    pinned: &[(GroupSchedule, u64)],
    seed: u64,
    count: u64,
    workers: usize,
    progress: &(dyn Fn() + Sync),
) -> GroupRun {
    let refs: Vec<&dyn GroupPeer> = peers.iter().map(|p| p.as_ref()).collect();
    let result: GroupCampaign = campaign::run(&refs, pinned, seed, count, workers, progress);
    let mut findings = Vec::new();
    for (_, seen, assignment) in result.seen.values() {
        let mut seen = seen.clone();
        if let Ok(schedule) = seen.scenario.parse::<GroupSchedule>() {
            if let Some((small, finding)) = shrink(
                &refs,
                assignment,
                &schedule,
                seen.seed,
                &seen.signature,
                SHRINK_BUDGET,
            ) {
                let names = involved(assignment, &refs);
                seen = Seen {
                    count: seen.count,
                    ..campaign::sighting(&finding, &small, seen.seed, &names)
                };
            }
        }
        findings.push(seen);
    }
    let cells = interop::run(&refs);
    findings.extend(interop::sightings(&cells));
    let infos = refs.iter().map(|p| p.info()).collect();
    GroupRun {
        report: GroupReport::new(infos, pinned.len() as u64, &result, cells),
        findings,
    }
}

/// The names of the peers `assignment` uses, in peer order.
fn involved(assignment: &Assignment, peers: &[&dyn GroupPeer]) -> Vec<String> {
    let used: Vec<usize> = match assignment {
        Assignment::Cycle(c) => c.clone(),
        Assignment::CreatorThenOthers { creator, others } => vec![*creator, *others],
    };
    peers
        .iter()
        .enumerate()
        .filter(|(i, _)| used.contains(i))
        .map(|(_, p)| p.info().name)
        .collect()
}

/// Reads the pinned group schedules of `path`; a missing file is none.
pub fn pinned(path: &Path) -> Result<Vec<(GroupSchedule, u64)>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => campaign::parse_pinned(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}

/// `replay` of a group schedule: every assignment of `peers` (each alone, then mixed).
pub fn replay(
    schedule: &GroupSchedule,
    peers: &[&dyn GroupPeer],
    seed: u64,
) -> Vec<GroupTranscript> {
    campaign::check_schedule(peers, schedule, seed)
}

/// The transcripts as text: per assignment, every action and the oracle's ruling.
pub fn render(transcripts: &[GroupTranscript]) -> String {
    let mut out = String::new();
    for t in transcripts {
        let _ = writeln!(out, "\nmembers on {}:", t.assignment);
        for r in &t.records {
            let msg = r.msg.map(|m| m.to_string()).unwrap_or_default();
            let from = match (r.sender, &r.sender_peer) {
                (Some(s), Some(p)) => format!(" from {s} ({p})"),
                _ => String::new(),
            };
            let epochs = r
                .epochs
                .map(|(m, e)| format!(" epoch {m} in {e}"))
                .unwrap_or_default();
            let ruling = r
                .ruling
                .map(|x| format!("  oracle {}", x.describe()))
                .unwrap_or_default();
            let outcome = match &r.outcome {
                crate::group::executor::GroupOutcome::Refused { class, detail } => {
                    format!("refused ({class}: {detail})")
                }
                crate::group::executor::GroupOutcome::Accepted { received } => {
                    format!("accepted {received:?}")
                }
                other => format!("{other:?}"),
            };
            let _ = writeln!(
                out,
                "  step {:>3} {:<26} {} ({}) {msg}{from}{epochs}{ruling}  got {outcome}",
                r.step, r.action, r.member, r.peer
            );
        }
        if let Some(why) = &t.stopped {
            let _ = writeln!(out, "  stopped: {why}");
        }
        let _ = writeln!(out, "  findings: {}", t.findings.len());
        for f in &t.findings {
            let _ = writeln!(out, "    {}  step {}: {}", f.signature, f.step, f.detail);
        }
    }
    out
}

/// A minimised group schedule.
#[derive(Clone, Debug)]
pub struct GroupMinimized {
    /// The schedule.
    pub schedule: GroupSchedule,
    /// The finding it shows.
    pub finding: Finding,
    /// The assignment it shows under (its label).
    pub assignment: String,
}

/// Minimises `schedule` on `peers`, keeping `signature` (or the first finding), within
/// `budget` runs per assignment tried.
pub fn minimize(
    schedule: &GroupSchedule,
    peers: &[&dyn GroupPeer],
    seed: u64,
    signature: Option<&str>,
    budget: usize,
) -> Result<GroupMinimized, String> {
    let names: Vec<String> = peers.iter().map(|p| p.info().name).collect();
    let mut seen = Vec::new();
    for a in campaign::assignments(peers.len()) {
        let t = execute(peers, &a, schedule, seed);
        let found = t
            .findings
            .iter()
            .find(|f| signature.is_none_or(|s| f.signature == s))
            .cloned();
        seen.extend(t.findings.iter().map(|f| f.signature.clone()));
        if let Some(f) = found {
            let (small, finding) = shrink(peers, &a, schedule, seed, &f.signature, budget)
                .unwrap_or((schedule.prefix(f.step), f));
            return Ok(GroupMinimized {
                schedule: small,
                finding,
                assignment: a.label(&names),
            });
        }
    }
    seen.sort();
    seen.dedup();
    Err(match signature {
        Some(s) => format!(
            "the group schedule does not show {s:?}; it shows: {}",
            if seen.is_empty() {
                "none".into()
            } else {
                seen.join(", ")
            }
        ),
        None => "the group schedule shows no finding".into(),
    })
}

/// Appends a minimised group case to the regressions file `path`: comments saying what it
/// shows, `# case NAME: SIGNATURE`, and the line. Refuses a name already used.
pub fn write_case(
    path: &Path,
    name: &str,
    seed: u64,
    min: &GroupMinimized,
    from_steps: usize,
) -> Result<(), String> {
    if !crate::minimize::valid_name(name) {
        return Err(format!(
            "case name {name:?}: use letters, digits, - and _ only"
        ));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    if text.lines().any(|l| {
        l.trim()
            .strip_prefix("# case ")
            .is_some_and(|r| r.split(':').next().map(str::trim) == Some(name))
    }) {
        return Err(format!(
            "{}: a case named {name:?} is already there",
            path.display()
        ));
    }
    let mut add = String::new();
    if !text.is_empty() && !text.ends_with("\n\n") {
        add.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    }
    add.push_str(&format!(
        "# Found: {}\n# Minimised by `ratchet-bench minimize` from a group schedule of {from_steps} \
         steps (members on {}).\n# case {name}: {}\n{seed} {}\n",
        min.finding.detail.replace('\n', " "),
        min.assignment,
        min.finding.signature,
        min.schedule
    ));
    let mut all = text;
    all.push_str(&add);
    std::fs::write(path, all).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}
