//! The run's report: a table per family, vector results, findings with their signatures and
//! reproducers; as text for people and as JSON for machines.

use super::expectations::{Check, Triage};
use super::finding::Seen;
use crate::campaign::OperatorUse;
use crate::interop::{self, Matrix};
use crate::peer::{Family, FamilySpec, PeerInfo, WhenFull};
use crate::shard::Shard;
use crate::vectors::SuiteReport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Everything a run found. Holds no timings, so one seed gives byte-identical JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// The bench and its version.
    pub tool: String,
    /// The campaign's seed.
    pub seed: u64,
    /// Per family that ran, the scenarios drawn from the seed for its campaign (a family
    /// only shims speak draws only the sample they take).
    pub scenarios: BTreeMap<String, u64>,
    /// Pinned scenarios run before them.
    pub pinned: u64,
    /// Per peer, the scenarios it really ran, pinned ones included (a shim runs a sample of
    /// its family's; a shard a slice).
    pub ran: BTreeMap<String, u64>,
    /// The specs of the declared families the peers speak (a built-in family is known by
    /// its name), so that the report reads back ([`RunReport::read`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<FamilySpec>,
    /// The peers that ran.
    pub peers: Vec<PeerInfo>,
    /// Peers this build leaves out, each with the reason (e.g. a cargo feature turned off).
    pub not_built: Vec<NotBuilt>,
    /// The expectations files, in layer order; empty when the run had none.
    pub expectations: Vec<String>,
    /// The other files the run read, as it was given them, so that report files can point a
    /// reviewer at a vector case or a pinned scenario (an entry's file is in its check).
    pub inputs: Inputs,
    /// Vector suites, per file and peer.
    pub vectors: Vec<SuiteReport>,
    /// The interop matrix of each family that ran.
    pub interop: Vec<Matrix>,
    /// MLS groups beyond one epoch: the group campaign and the interop cells per operation,
    /// when an MLS peer ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<crate::group::report::GroupReport>,
    /// Per peer, how many campaign inputs ended in each outcome.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per family and mutation operator: uses, reasons it did not apply, findings at its
    /// steps.
    pub operators: BTreeMap<String, BTreeMap<String, OperatorUse>>,
    /// Failing-kind findings, expected or new, by signature.
    pub findings: Vec<Seen>,
    /// Divergences where the oracle allows either outcome: reported, not failing.
    pub notes: Vec<Seen>,
    /// New findings, stale and expired expectations.
    pub triage: Triage,
    /// Failed vector cases.
    pub vector_failures: usize,
    /// 0 when nothing unexpected happened, 1 otherwise.
    pub exit_code: i32,
    /// A shard's report: which shard, and what `merge` needs to rebuild the whole run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardData>,
}

/// What a shard's report carries beyond what it shows, so that the shards' reports merge
/// into the report of the whole run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardData {
    /// Which shard, `K/N`.
    pub shard: Shard,
    /// Per campaign signature (in `findings` or `notes`), the index of the first scenario
    /// of this shard that showed it: the merged report keeps the lowest one's sighting.
    pub first_seen: BTreeMap<String, u64>,
    /// Per entry of `vectors`, the ordinal of its suite among the suites the run replays.
    pub vector_suites: Vec<u64>,
    /// The signatures (in `findings`) of the MLS group part's findings, which the shard
    /// that ran the group part carries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_findings: Vec<String>,
}

impl RunReport {
    /// Reads a report written as JSON, its declared families from its own `families`.
    pub fn read(text: &str) -> Result<RunReport, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let specs: Vec<FamilySpec> = match value.get("families") {
            Some(f) => serde_json::from_value(f.clone()).map_err(|e| format!("families: {e}"))?,
            None => Vec::new(),
        };
        let declared: Vec<Family> = specs
            .into_iter()
            .map(|s| Family::declare(Box::leak(Box::new(s))))
            .collect();
        Family::with_declared(&declared, || {
            serde_path_to_error::deserialize(value)
                .map_err(|e| format!("{}: {}", e.path(), e.inner()))
        })
    }

    /// The declared families (not built in) among `peers`, for [`RunReport::families`].
    pub fn declared_families(peers: &[PeerInfo]) -> Vec<FamilySpec> {
        let mut out: Vec<FamilySpec> = Vec::new();
        for p in peers {
            let spec = *p.family.spec();
            if !p.family.is_built_in() && !out.contains(&spec) {
                out.push(spec);
            }
        }
        out
    }
}

impl RunReport {
    /// A report of nothing yet under `seed`, which passes: the commands that run one part of
    /// the bench (`interop`, `vectors replay`) fill in what they ran and the verdict, so that
    /// every report file can render them.
    pub fn new(seed: u64) -> Self {
        RunReport {
            tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
            seed,
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

    /// The expectations files as one line: their paths in layer order, or that there are
    /// none.
    pub fn expectations_label(&self) -> String {
        if self.expectations.is_empty() {
            "none (every finding counts as new)".into()
        } else {
            self.expectations.join(", ")
        }
    }
}

/// The files a run read beside its expectations files ([`RunReport::expectations`]), paths
/// as given on the command line or by the library caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The folder holding MANIFEST.json, if the vector suites ran.
    pub vectors_dir: Option<String>,
    /// The pinned scenarios file, if one was read.
    pub regressions: Option<String>,
}

/// A peer this build of the bench does not have, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotBuilt {
    /// The peer's name.
    pub peer: String,
    /// Why it is absent and how to get it.
    pub reason: String,
}

pub(crate) fn limits(p: &PeerInfo) -> String {
    let l = &p.limits;
    let mut parts = vec![format!("max-skip {}", l.max_skip)];
    if let Some(t) = l.max_stored {
        parts.push(format!("{t} stored"));
    }
    if let Some(c) = l.max_stored_per_chain {
        parts.push(format!("{c} per chain"));
    }
    if let Some(w) = l.window {
        parts.push(format!("keys of the last {w} kept"));
    }
    if let Some(c) = l.max_chains {
        parts.push(match c {
            1 => "1 receiving chain".into(),
            c => format!("{c} receiving chains"),
        });
    }
    let bounded = l.max_stored.is_some() || l.max_stored_per_chain.is_some();
    match l.when_full {
        WhenFull::Unbounded if l.window.is_none() => parts.push("unbounded store".into()),
        WhenFull::Refuse if bounded => parts.push("refuse when full".into()),
        WhenFull::EvictOldest if bounded => parts.push("evict oldest when full".into()),
        _ => {}
    }
    parts.join(", ")
}

/// The peers table shared by `run` and `list`.
pub fn peers_table(peers: &[PeerInfo]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<20} {:<10} {:<38} limits",
        "peer", "family", "version"
    );
    for p in peers {
        let _ = writeln!(
            out,
            "  {:<20} {:<10} {:<38} {}",
            p.name,
            p.family.name(),
            p.version,
            limits(p)
        );
    }
    out
}

/// `  valid V invalid I acceptable A` for a suite whose cases carry an expected result.
pub fn expected_counts(v: &SuiteReport) -> String {
    v.expected.map_or_else(String::new, |e| {
        format!(
            "  valid {} invalid {} acceptable {}",
            e.valid, e.invalid, e.acceptable
        )
    })
}

/// The report's first line: the tool, the seed, the scenarios drawn, and the shard.
pub(crate) fn header(r: &RunReport) -> String {
    format!(
        "{}  seed {}  drawn scenarios {} (+{} pinned){}",
        r.tool,
        r.seed,
        r.scenarios
            .iter()
            .map(|(f, n)| format!("{f} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.pinned,
        r.shard.as_ref().map_or_else(String::new, |s| format!(
            "  shard {} (a slice of the run: `ratchet-bench merge` combines the shards' --json reports)",
            s.shard
        ))
    )
}

/// The whole report as text (`run --verbose`): every peer with its version and limits, every
/// vector file on every peer with its skipped and failed cases, the interop matrices, the
/// campaign's outcome counts, every finding with its reproducer, and every expectation with
/// what its replay showed. [`super::render_text`] is the short default.
pub fn render_verbose(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(r));
    let _ = writeln!(out, "\npeers:");
    out.push_str(&peers_table(&r.peers));
    for n in &r.not_built {
        let _ = writeln!(out, "  {:<20} not built: {}", n.peer, n.reason);
    }
    let weakened: Vec<String> = r
        .peers
        .iter()
        .flat_map(|p| p.weakened.iter().map(move |w| format!("{}: {w}", p.name)))
        .collect();
    let _ = writeln!(
        out,
        "weakened checks: {}",
        if weakened.is_empty() {
            "none".to_string()
        } else {
            weakened.join("; ")
        }
    );
    if r.expectations.is_empty() {
        let _ = writeln!(out, "expectations: none (every finding counts as new)");
    } else {
        let _ = writeln!(
            out,
            "expectations: {} ({} entries: {})",
            r.expectations.join(", "),
            r.triage.entries.len(),
            r.triage.counts()
        );
        // Entries left unchecked, grouped by why, so that none is silently skipped.
        let mut unchecked: Vec<(&str, Vec<&str>)> = Vec::new();
        for e in &r.triage.entries {
            if let Check::NotChecked { why } = &e.check {
                match unchecked.iter_mut().find(|(w, _)| w == why) {
                    Some((_, sigs)) => sigs.push(&e.entry.signature),
                    None => unchecked.push((why, vec![&e.entry.signature])),
                }
            }
        }
        for (why, sigs) in unchecked {
            let _ = writeln!(out, "  not checked ({why}): {}", sigs.join(", "));
        }
    }

    let _ = writeln!(out, "\nvectors:");
    if r.vectors.is_empty() {
        let _ = writeln!(out, "  (no suites run)");
    } else {
        let _ = writeln!(
            out,
            "  {:<30} {:<28} {:<20} {:>5} {:>5} {:>5}",
            "suite", "file", "peer", "pass", "fail", "skip"
        );
        for v in &r.vectors {
            match &v.not_run {
                Some(why) => {
                    let _ = writeln!(
                        out,
                        "  {:<30} {:<28} {:<20} not run: {why}",
                        v.suite, v.file, v.peer
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  {:<30} {:<28} {:<20} {:>5} {:>5} {:>5}{}",
                        v.suite,
                        v.file,
                        v.peer,
                        v.passed,
                        v.failed,
                        v.skipped,
                        expected_counts(v)
                    );
                }
            }
            for c in v.cases.iter().filter(|c| !c.reason.is_empty()) {
                let _ = writeln!(out, "    tcId {} {:?}: {}", c.tc_id, c.status, c.reason);
            }
        }
    }

    let _ = writeln!(out);
    if r.interop.is_empty() {
        let _ = writeln!(out, "interop: (not run)");
    } else {
        out.push_str(&interop::render(&r.interop));
    }
    if let Some(g) = &r.groups {
        let _ = writeln!(out);
        out.push_str(&crate::group::report::render_text(g));
    }

    let _ = writeln!(
        out,
        "\ncampaign: {} pinned scenarios per peer, then the drawn ones of its family",
        r.pinned
    );
    let labels = [
        "sent",
        "accepted",
        "rejected",
        "panic",
        "skipped",
        "setup-failed",
    ];
    for family in Family::present(r.peers.iter().map(|p| p.family)) {
        // Peers that took no part in the campaign (the earlier release lines of a default run,
        // which join the interop matrices only) have no row here.
        let peers: Vec<&PeerInfo> = r
            .peers
            .iter()
            .filter(|p| p.family == family && r.ran.contains_key(&p.name))
            .collect();
        let drawn = r.scenarios.get(family.name()).copied().unwrap_or(0);
        let _ = writeln!(out, "  family {family} ({drawn} drawn scenarios)");
        let _ = write!(out, "    {:<20} {:>9}", "peer", "scenarios");
        for l in labels {
            let _ = write!(out, " {l:>12}");
        }
        out.push('\n');
        for p in peers {
            let ran = r.ran.get(&p.name).copied().unwrap_or(0);
            let _ = write!(out, "    {:<20} {ran:>9}", p.name);
            let counts = r.outcomes.get(&p.name);
            for l in labels {
                let n = counts.and_then(|c| c.get(l)).copied().unwrap_or(0);
                let _ = write!(out, " {n:>12}");
            }
            out.push('\n');
        }
        if let Some(ops) = r.operators.get(family.name()).filter(|o| !o.is_empty()) {
            let line: Vec<String> = ops
                .iter()
                .map(|(op, u)| {
                    let mut s = format!("{op} {}", u.applied);
                    if u.skipped > 0 {
                        let _ = write!(s, "/{} skipped", u.skipped);
                    }
                    if !u.findings.is_empty() {
                        let _ = write!(s, " ({} found)", u.findings.len());
                    }
                    s
                })
                .collect();
            let _ = writeln!(out, "    operators: {}", line.join(", "));
        }
    }

    let new = r.findings.iter().filter(|s| s.expected.is_none()).count();
    let _ = writeln!(
        out,
        "\nfindings: {} signatures, {} expected, {} new",
        r.findings.len(),
        r.findings.len() - new,
        new
    );
    for s in &r.findings {
        let tag = if s.expected.is_some() {
            "expected"
        } else {
            "NEW"
        };
        let _ = writeln!(out, "  [{tag}] {}  ({} scenarios)", s.signature, s.count);
        let _ = writeln!(out, "      {}", s.detail);
        if let Some(reason) = &s.expected {
            let _ = writeln!(
                out,
                "      known: {reason} ({})",
                s.listed_in.as_deref().unwrap_or("expectations")
            );
        }
        let _ = writeln!(out, "      reproduce: {}", s.reproducer);
    }
    let stale: Vec<_> = r
        .triage
        .entries
        .iter()
        .filter(|e| e.check.is_stale())
        .collect();
    if !stale.is_empty() {
        let _ = writeln!(
            out,
            "\nstale expectations (the reproducer no longer shows the finding; remove the entry):"
        );
        for e in stale {
            let _ = writeln!(
                out,
                "  [STALE] {}  ({}): {}",
                e.entry.signature,
                e.file,
                e.check.explain()
            );
            let _ = writeln!(out, "      reproducer: {}", e.entry.reproducer_command());
        }
    }
    if !r.triage.expired.is_empty() {
        let _ = writeln!(
            out,
            "\nexpired expectations (counted as absent): {}",
            r.triage.expired.join(", ")
        );
    }
    if !r.notes.is_empty() {
        let _ = writeln!(
            out,
            "\nnotes (not failing: peers differ where either outcome is allowed, or a peer with weakened checks accepted a forgery):"
        );
        for s in &r.notes {
            let _ = writeln!(out, "  {}  ({} scenarios)", s.signature, s.count);
            let _ = writeln!(out, "      {}", s.detail);
            let _ = writeln!(out, "      reproduce: {}", s.reproducer);
        }
    }
    let _ = writeln!(out, "\nresult: {}", verdict(r));
    out
}

/// `PASS: ...` or `FAIL: ...` with the counts that failed the run.
pub(crate) fn verdict(r: &RunReport) -> String {
    if r.exit_code == 0 {
        "PASS: nothing unexpected".to_string()
    } else {
        format!(
            "FAIL: {} new findings, {} stale expectations ({} failed vector cases in all)",
            r.triage.new.len(),
            r.triage.stale.len(),
            r.vector_failures
        )
    }
}
