//! `ratchet-bench merge`: the reports of a run's shards (`run --shard K/N --json`) combined
//! into the report the whole run gives for the same seed, byte for byte.
//!
//! Both go through [`assemble`]: a run computes one [`Part`] (its shard's, or the whole
//! run's) and assembles it; merge reads a part back from each shard's report and assembles
//! them all. Every unit of work belongs to one shard ([`Shard`]) and its result does not
//! depend on the sharding, so what the parts hold together is what the whole run holds:
//!
//! - campaign sightings by signature, with the index of the first scenario that showed
//!   each (a shard's report carries it, [`ShardData::first_seen`]): the merged report keeps
//!   the lowest index's (already shrunk) reproducer and adds the counts; outcome and
//!   scenario counts add up;
//! - interop cells go back to their place in their matrix; vector reports to their suite's
//!   place ([`ShardData::vector_suites`]); the findings of failed cells and cases are
//!   computed again from them;
//! - operator uses add up (their skip reasons keep the first few in text order, whatever
//!   the order the scenarios ran in);
//! - the MLS group part is one unit, run by the first shard: its section and findings come
//!   from there (a shard's report names its group findings, [`ShardData::group_findings`]);
//! - each expectation's replay comes from the shard that owns the entry; an entry without a
//!   reproducer (from before reproducers) is judged here, the old way, by the merged
//!   findings.

use crate::campaign::OperatorUse;
use crate::group::report::GroupReport;
use crate::interop::{self, Matrix};
use crate::peer::PeerInfo;
use crate::report::{
    Check, ExpectationSet, FindingKind, Inputs, Listed, NotBuilt, RunReport, Seen, ShardData,
    Triage,
};
use crate::shard::Shard;
use crate::vectors::{self, SuiteReport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What every part of one run has the same.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The bench and its version.
    pub tool: String,
    /// The campaign's seed.
    pub seed: u64,
    /// Per family, the drawn scenarios.
    pub scenarios: BTreeMap<String, u64>,
    /// Pinned scenarios.
    pub pinned: u64,
    /// Declared families' specs.
    pub families: Vec<crate::peer::FamilySpec>,
    /// The peers.
    pub peers: Vec<PeerInfo>,
    /// Peers this build leaves out.
    pub not_built: Vec<NotBuilt>,
    /// The expectations files.
    pub expectations: Vec<String>,
    /// The other files the run read.
    pub inputs: Inputs,
}

/// What one shard of a run computed, before the triage (the whole run is shard 1/1).
#[derive(Clone, Debug)]
pub struct Part {
    /// Which shard.
    pub shard: Shard,
    /// Whether the run was asked for as a shard (its report then carries [`ShardData`]).
    pub sharded: bool,
    /// What every shard has the same.
    pub header: Header,
    /// Campaign sightings by signature, each with its first scenario's index.
    pub campaign: BTreeMap<String, (u64, Seen)>,
    /// Per peer, outcome counts.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per peer, scenarios run.
    pub ran: BTreeMap<String, u64>,
    /// Per family and mutation operator, its use.
    pub operators: BTreeMap<String, BTreeMap<String, OperatorUse>>,
    /// The MLS group section and its findings, in the part that ran it.
    pub groups: Option<(GroupReport, Vec<Seen>)>,
    /// Interop matrices (the shard's cells).
    pub matrices: Vec<Matrix>,
    /// Vector reports, each with its suite's ordinal.
    pub vectors: Vec<(u64, SuiteReport)>,
    /// Peers that aborted on a vector file.
    pub vector_aborts: Vec<Seen>,
    /// The replays of the entries this shard owns, by ordinal.
    pub checks: BTreeMap<usize, Check>,
    /// The expectations.
    pub set: ExpectationSet,
    /// Per entry, whether it is past its expiry date.
    pub expired: Vec<bool>,
}

/// The report of `parts`: one part's (a run, or one shard's, which then carries
/// [`ShardData`]) or every shard's of a run (merged, as the whole run's).
pub fn assemble(parts: Vec<Part>) -> RunReport {
    let one_shard = match parts.as_slice() {
        [p] if p.sharded => Some(p.shard),
        _ => None,
    };
    let count = parts.first().map_or(1, |p| p.shard.count());
    let mut header = None;
    let mut set = ExpectationSet::default();
    let mut expired = Vec::new();
    let mut campaign: BTreeMap<String, (u64, Seen)> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut ran: BTreeMap<String, u64> = BTreeMap::new();
    let mut operators: BTreeMap<String, BTreeMap<String, OperatorUse>> = BTreeMap::new();
    let mut groups: Option<(GroupReport, Vec<Seen>)> = None;
    let mut matrices: Vec<Matrix> = Vec::new();
    let mut vector_reports: Vec<(u64, SuiteReport)> = Vec::new();
    let mut vector_aborts: Vec<Seen> = Vec::new();
    let mut checks: BTreeMap<usize, Check> = BTreeMap::new();
    for part in parts {
        if header.is_none() {
            header = Some(part.header);
            set = part.set;
            expired = part.expired;
        }
        for (sig, (index, seen)) in part.campaign {
            match campaign.get_mut(&sig) {
                Some((mine, kept)) => {
                    let count = kept.count + seen.count;
                    if index < *mine {
                        *mine = index;
                        *kept = seen;
                    }
                    kept.count = count;
                }
                None => {
                    campaign.insert(sig, (index, seen));
                }
            }
        }
        for (peer, counts) in part.outcomes {
            let mine = outcomes.entry(peer).or_default();
            for (label, n) in counts {
                *mine.entry(label).or_default() += n;
            }
        }
        for (peer, n) in part.ran {
            *ran.entry(peer).or_default() += n;
        }
        for (family, ops) in part.operators {
            let mine = operators.entry(family).or_default();
            for (op, used) in ops {
                mine.entry(op).or_default().add(&used);
            }
        }
        if groups.is_none() {
            groups = part.groups;
        }
        for m in part.matrices {
            match matrices.iter_mut().find(|x| x.family == m.family) {
                Some(mine) => mine.cells.extend(m.cells),
                None => matrices.push(m),
            }
        }
        vector_reports.extend(part.vectors);
        vector_aborts.extend(part.vector_aborts);
        checks.extend(part.checks);
    }
    let Some(header) = header else {
        return empty_report();
    };
    for m in &mut matrices {
        let mut cells = std::mem::take(&mut m.cells);
        cells.sort_by_key(|c| m.position(&c.initiator, &c.responder));
        m.cells = cells;
    }
    // A suite's reports all come from one shard, in their order there.
    vector_reports.sort_by_key(|(ordinal, _)| *ordinal);
    vector_aborts.sort_by(|a, b| (&a.signature, &a.detail).cmp(&(&b.signature, &b.detail)));
    let vectors: Vec<SuiteReport> = vector_reports.iter().map(|(_, r)| r.clone()).collect();

    let first_seen: BTreeMap<String, u64> =
        campaign.iter().map(|(s, (i, _))| (s.clone(), *i)).collect();
    let (mut findings, notes): (Vec<Seen>, Vec<Seen>) = campaign
        .into_values()
        .map(|(_, s)| s)
        .partition(|s| s.kind.fails_run());
    findings.extend(interop::sightings(&matrices, header.seed));
    let group_findings: Vec<String> = groups
        .as_ref()
        .map(|(_, f)| f.iter().map(|s| s.signature.clone()).collect())
        .unwrap_or_default();
    let groups = groups.map(|(report, found)| {
        findings.extend(found);
        report
    });
    findings.extend(vectors::sightings(&vectors));
    findings.extend(vector_aborts);

    // An entry without a reproducer is judged the old way, by the findings of the whole run
    // (so here, after the shards' findings are together), when its peers ran all of it.
    let complete = |signature: &str| {
        let names = signature.split('/').next().unwrap_or_default();
        names.split('+').all(|name| {
            header.peers.iter().any(|p| {
                let whole =
                    header.scenarios.get(p.family.name()).copied().unwrap_or(0) + header.pinned;
                p.name == name && ran.get(name).copied().unwrap_or(0) >= whole
            })
        })
    };
    let all_seen: Vec<Seen> = findings.iter().chain(&notes).cloned().collect();
    let entry_checks: Vec<Check> = (0..set.entries.len())
        .map(|i| {
            let listed = &set.entries[i];
            if listed.entry.reproducer.is_none() {
                return Check::by_findings(
                    &listed.entry,
                    &all_seen,
                    complete(&listed.entry.signature),
                );
            }
            checks.remove(&i).unwrap_or_else(|| Check::NotChecked {
                why: format!(
                    "its reproducer is replayed by shard {} of the run",
                    Shard::owner(count, i as u64)
                ),
            })
        })
        .collect();
    let triage = if header.expectations.is_empty() {
        Triage::without_expectations(&findings)
    } else {
        set.triage(&mut findings, &expired, entry_checks)
    };
    let vector_failures: usize = vectors.iter().map(|v| v.failed).sum();
    let exit_code = i32::from(triage.fails());
    RunReport {
        tool: header.tool,
        seed: header.seed,
        scenarios: header.scenarios,
        pinned: header.pinned,
        ran,
        families: header.families,
        peers: header.peers,
        not_built: header.not_built,
        expectations: header.expectations,
        inputs: header.inputs,
        shard: one_shard.map(|shard| ShardData {
            shard,
            first_seen,
            vector_suites: vector_reports.iter().map(|(o, _)| *o).collect(),
            group_findings,
        }),
        vectors,
        interop: matrices,
        groups,
        outcomes,
        operators,
        findings,
        notes,
        triage,
        vector_failures,
        exit_code,
    }
}

fn empty_report() -> RunReport {
    RunReport {
        tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
        seed: 0,
        scenarios: BTreeMap::new(),
        pinned: 0,
        ran: BTreeMap::new(),
        families: Vec::new(),
        peers: Vec::new(),
        not_built: Vec::new(),
        expectations: Vec::new(),
        inputs: Inputs::default(),
        vectors: Vec::new(),
        interop: Vec::new(),
        groups: None,
        outcomes: BTreeMap::new(),
        operators: BTreeMap::new(),
        findings: Vec::new(),
        notes: Vec::new(),
        triage: Triage::default(),
        vector_failures: 0,
        exit_code: 0,
        shard: None,
    }
}

/// Shard reports that cannot be merged: an input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// A file cannot be read or is not a report.
    #[error("{path}: {reason}")]
    Report {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The reports are not the shards of one run.
    #[error("{0}")]
    Shards(String),
}

/// Reads a shard's report back into its part.
pub fn part_of(report: RunReport, path: &Path) -> Result<Part, MergeError> {
    let bad = |reason: String| MergeError::Report {
        path: path.to_path_buf(),
        reason,
    };
    let data = report.shard.ok_or_else(|| {
        bad("shard: not a shard's report (write one with `run --shard K/N --json`)".into())
    })?;
    if data.vector_suites.len() != report.vectors.len() {
        return Err(bad(format!(
            "shard.vector_suites: expected one ordinal per vector report ({}), got {}",
            report.vectors.len(),
            data.vector_suites.len()
        )));
    }
    let mut campaign = BTreeMap::new();
    let mut vector_aborts = Vec::new();
    let mut group_findings = Vec::new();
    for s in report.findings.into_iter().chain(report.notes) {
        if data.group_findings.contains(&s.signature) {
            group_findings.push(s);
            continue;
        }
        match data.first_seen.get(&s.signature) {
            Some(&index) => {
                campaign.insert(s.signature.clone(), (index, s));
            }
            None if s.kind == FindingKind::Abort && s.signature.ends_with("/abort/vectors") => {
                vector_aborts.push(s);
            }
            // Interop and vector findings are computed again from the cells and cases.
            None => {}
        }
    }
    if let Some(missing) = data.first_seen.keys().find(|s| !campaign.contains_key(*s)) {
        return Err(bad(format!(
            "shard.first_seen: {missing:?} is in no finding or note"
        )));
    }
    let set = ExpectationSet {
        files: report.expectations.clone(),
        entries: report
            .triage
            .entries
            .iter()
            .map(|e| Listed {
                file: e.file.clone(),
                entry: e.entry.clone(),
            })
            .collect(),
    };
    let expired = report
        .triage
        .entries
        .iter()
        .map(|e| e.check == Check::Expired)
        .collect();
    let checks = report
        .triage
        .entries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| data.shard.takes(*i as u64))
        .map(|(i, e)| (i, e.check))
        .collect();
    Ok(Part {
        shard: data.shard,
        sharded: true,
        header: Header {
            tool: report.tool,
            seed: report.seed,
            scenarios: report.scenarios,
            pinned: report.pinned,
            families: report.families,
            peers: report.peers,
            not_built: report.not_built,
            expectations: report.expectations,
            inputs: report.inputs,
        },
        campaign,
        outcomes: report.outcomes,
        ran: report.ran,
        operators: report.operators,
        groups: report.groups.map(|g| (g, group_findings)),
        matrices: report.interop,
        vectors: data.vector_suites.into_iter().zip(report.vectors).collect(),
        vector_aborts,
        checks,
        set,
        expired,
    })
}

/// Reads the shards' reports at `paths` and merges them into the whole run's report. The
/// reports must be the `N` shards of one run (same tool, seed, peers, sizes and
/// expectations), each once.
pub fn merge(paths: &[PathBuf]) -> Result<RunReport, MergeError> {
    let mut parts: Vec<(PathBuf, Part)> = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| MergeError::Report {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        let report = RunReport::read(&text).map_err(|reason| MergeError::Report {
            path: path.clone(),
            reason,
        })?;
        parts.push((path.clone(), part_of(report, path)?));
    }
    let Some((first_path, first)) = parts.first() else {
        return Err(MergeError::Shards(
            "no reports given: name every shard's report".into(),
        ));
    };
    let count = first.shard.count();
    for (path, p) in &parts[1..] {
        let differs = |what: &str| {
            MergeError::Shards(format!(
                "{} and {} are not shards of one run: their {what} differ",
                first_path.display(),
                path.display()
            ))
        };
        if p.shard.count() != count {
            return Err(differs("shard counts"));
        }
        let (a, b) = (&first.header, &p.header);
        if a.tool != b.tool {
            return Err(differs("tools"));
        }
        if a.seed != b.seed {
            return Err(differs("seeds"));
        }
        if a.scenarios != b.scenarios || a.pinned != b.pinned {
            return Err(differs("scenario counts"));
        }
        if a.peers != b.peers || a.families != b.families || a.not_built != b.not_built {
            return Err(differs("peers"));
        }
        if a.inputs != b.inputs {
            return Err(differs("input files"));
        }
        if a.expectations != b.expectations || first.set != p.set || first.expired != p.expired {
            return Err(differs("expectations"));
        }
    }
    for k in 1..=count {
        let with: Vec<&PathBuf> = parts
            .iter()
            .filter(|(_, p)| p.shard.index() == k)
            .map(|(path, _)| path)
            .collect();
        match with.as_slice() {
            [_] => {}
            [] => {
                return Err(MergeError::Shards(format!(
                    "shard {k}/{count} is missing: merge needs the report of every shard"
                )))
            }
            several => {
                let names: Vec<String> = several.iter().map(|p| p.display().to_string()).collect();
                return Err(MergeError::Shards(format!(
                    "shard {k}/{count} is given twice: {}",
                    names.join(" and ")
                )));
            }
        }
    }
    // The merge is the whole run's report (even of one shard, 1/1): no shard data.
    let parts = parts
        .into_iter()
        .map(|(_, p)| Part {
            sharded: false,
            ..p
        })
        .collect();
    Ok(assemble(parts))
}
