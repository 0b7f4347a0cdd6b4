//! `ratchet-bench compare BEFORE AFTER`: two releases (or two builds) of one implementation,
//! peers of one family, on the same seeded campaign and the family's vectors; every behaviour
//! that changed, grouped by signature, each with a reproducer.
//!
//! The campaign part is the core's ([`ratchet_bench_core::compare`]): the run's drawn
//! scenarios, executor and shrinking, judged input by input between the two peers. The vector
//! part replays every suite on each peer alone and lines the cases up by file and `tcId`: a
//! case whose status or trace (what the peer did with each input) differs is a change, grouped
//! by suite and by the statuses before and after.

use crate::bench::default_scenarios;
use crate::vectors::{self, CaseResult, CaseStatus, SuiteReport, VectorError};
use ratchet_bench_core::compare::{self, CompareError};
use ratchet_bench_core::peer::{Family, Peer};
use ratchet_bench_core::report::{peer_arg, FindingKind, Reproducer, Seen};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Runs a change's reproducer may take while it is shrunk.
pub const SHRINK_BUDGET: usize = 200;

/// What `compare` is asked to do.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// The campaign's seed.
    pub seed: u64,
    /// Drawn scenarios; `None` for the family's default in `run`.
    pub scenarios: Option<u64>,
    /// The folder with MANIFEST.json; `None` to leave the vectors out.
    pub vectors_dir: Option<PathBuf>,
    /// The folder of the MLS working group's files, if any.
    pub mls_vectors_dir: Option<PathBuf>,
    /// Threads for the campaign.
    pub workers: usize,
}

/// Why `compare` could not run: a usage or input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareRunError {
    /// The peers cannot be compared.
    #[error(transparent)]
    Peers(#[from] CompareError),
    /// A vector file or the manifest is unusable.
    #[error(transparent)]
    Vectors(#[from] VectorError),
}

/// What `compare` found.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The first peer (the earlier release, by convention).
    pub before: String,
    /// Its version.
    pub before_version: String,
    /// The second peer.
    pub after: String,
    /// Its version.
    pub after_version: String,
    /// Their family.
    pub family: Family,
    /// The campaign's seed.
    pub seed: u64,
    /// Drawn scenarios run on both.
    pub scenarios: u64,
    /// Vector cases lined up between the two (0 when the vectors were left out).
    pub vector_cases: usize,
    /// Every change, by signature.
    pub changes: Vec<Seen>,
    /// Differences whose reproducer did not show them on every replay (the peers' own
    /// randomness decides them): reported, not counted.
    pub unstable: Vec<Seen>,
}

impl Comparison {
    /// 0 when nothing changed, 1 when something did (as `diff`).
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.changes.is_empty())
    }
}

/// Compares `before` and `after` (see the module's doc).
pub fn run(
    before: &[Box<dyn Peer>; 1],
    after: &[Box<dyn Peer>; 1],
    opts: &CompareOptions,
    progress: &(dyn Fn() + Sync),
) -> Result<Comparison, CompareRunError> {
    let (a, b) = (before[0].as_ref(), after[0].as_ref());
    let (ia, ib) = (a.info(), b.info());
    let count = opts
        .scenarios
        .unwrap_or_else(|| default_scenarios(ia.family));
    let found = compare::campaign(
        a,
        b,
        opts.seed,
        count,
        opts.workers,
        SHRINK_BUDGET,
        progress,
    )?;
    let mut changes = found.changes;
    let mut vector_cases = 0;
    if let Some(dir) = &opts.vectors_dir {
        let replay =
            |peers: &[Box<dyn Peer>], name: &str| -> Result<Vec<SuiteReport>, VectorError> {
                Ok(
                    vectors::run_suites(dir, opts.mls_vectors_dir.as_deref(), peers, &[], false)?
                        .into_iter()
                        .filter(|r| r.peer == name && r.not_run.is_none())
                        .collect(),
                )
            };
        let (ra, rb) = (replay(before, &ia.name)?, replay(after, &ib.name)?);
        let (cases, found) = vector_changes(&ia.name, &ra, &ib.name, &rb);
        vector_cases = cases;
        changes.extend(found);
    }
    changes.sort_by(|x, y| x.signature.cmp(&y.signature));
    Ok(Comparison {
        before: ia.name,
        before_version: ia.version,
        after: ib.name,
        after_version: ib.version,
        family: ia.family,
        seed: opts.seed,
        scenarios: found.scenarios,
        vector_cases,
        changes,
        unstable: found.unstable,
    })
}

fn status(c: &CaseResult) -> &'static str {
    match c.status {
        CaseStatus::Pass => "pass",
        CaseStatus::Fail => "fail",
        CaseStatus::Skip => "skip",
    }
}

/// The vector cases both peers ran, and the changes among them, one [`Seen`] per suite and
/// change of status (`trace` when the status held and what the peer did changed).
fn vector_changes(a: &str, ra: &[SuiteReport], b: &str, rb: &[SuiteReport]) -> (usize, Vec<Seen>) {
    let mut lined = 0;
    let mut by_signature: BTreeMap<String, Seen> = BTreeMap::new();
    for sa in ra {
        let Some(sb) = rb.iter().find(|s| s.suite == sa.suite && s.file == sa.file) else {
            continue;
        };
        for ca in &sa.cases {
            let Some(cb) = sb.cases.iter().find(|c| c.tc_id == ca.tc_id) else {
                continue;
            };
            lined += 1;
            let change = if ca.status != cb.status {
                format!("{}->{}", status(ca), status(cb))
            } else if ca.trace != cb.trace {
                "trace".to_string()
            } else {
                continue;
            };
            let signature = format!(
                "{a}+{b}/{}/vector/{}/{change}",
                FindingKind::Changed.name(),
                sa.suite
            );
            let told = |c: &CaseResult| {
                if c.reason.is_empty() {
                    format!("{} [{}]", status(c), c.trace)
                } else {
                    format!("{} [{}] ({})", status(c), c.trace, c.reason)
                }
            };
            by_signature
                .entry(signature.clone())
                .and_modify(|s| s.count += 1)
                .or_insert_with(|| {
                    let which = format!("{} tcId {}", sa.file, ca.tc_id);
                    Seen {
                        signature,
                        kind: FindingKind::Changed,
                        count: 1,
                        detail: format!("{which}: {a} {}, {b} {}", told(ca), told(cb)),
                        scenario: format!("vector {which}"),
                        seed: 0,
                        reproducer: format!(
                            "ratchet-bench vectors replay --suite {}{}{}  ({which})",
                            sa.suite,
                            peer_arg(a),
                            if a == b { String::new() } else { peer_arg(b) }
                        ),
                        case: Reproducer::Vector {
                            suite: sa.suite.clone(),
                            file: sa.file.clone(),
                            tc_id: Some(ca.tc_id),
                            peer: b.to_string(),
                        },
                        expected: None,
                        listed_in: None,
                    }
                });
        }
    }
    (lined, by_signature.into_values().collect())
}

fn list(out: &mut String, seen: &[Seen]) {
    for s in seen {
        let times = if s.scenario.starts_with("vector ") {
            "cases"
        } else {
            "scenarios"
        };
        let _ = writeln!(out, "  {}  ({} {times})", s.signature, s.count);
        let _ = writeln!(out, "      {}", s.detail);
        let _ = writeln!(out, "      reproduce: {}", s.reproducer);
    }
}

/// The comparison as text: what ran, then every change with its count, detail and
/// reproducer, and the verdict.
pub fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "compare {} ({}) -> {} ({})  family {}  seed {}",
        c.before, c.before_version, c.after, c.after_version, c.family, c.seed
    );
    let _ = writeln!(
        out,
        "ran: {} drawn scenarios on both, {} vector cases lined up",
        c.scenarios, c.vector_cases
    );
    let _ = writeln!(out, "changes: {} signatures", c.changes.len());
    list(&mut out, &c.changes);
    if !c.unstable.is_empty() {
        let _ = writeln!(
            out,
            "unstable: {} signatures (not counted: a replay of each did not always show it; the \
             peers' own randomness decides them)",
            c.unstable.len()
        );
        list(&mut out, &c.unstable);
    }
    let _ = writeln!(
        out,
        "\nresult: {}",
        if c.changes.is_empty() {
            "SAME: no behaviour changed"
        } else {
            "CHANGED: the behaviours above differ"
        }
    );
    out
}
