//! The gate: the whole bench on a team's own implementation, as one test.
//!
//! ```no_run
//! # use ratchet_bench_core::gate::Gate;
//! # use ratchet_bench_core::peer::Peer;
//! # fn gate(mine: &dyn Peer, reference: &dyn Peer) -> Result<(), ratchet_bench_core::gate::GateError> {
//! Gate::new(mine)
//!     .against(reference)
//!     .scenarios(500)
//!     .seed(1)
//!     .vectors("vectors")
//!     .expectations("gate-expectations.json")
//!     .snapshot("tests/gate.summary.txt")
//!     .check()?;
//! # Ok(()) }
//! ```
//!
//! [`Gate::check`] runs, on the gate's peers, what `ratchet-bench run` runs on the bench's
//! own: the ratchet-session vectors of their families ([`crate::vectors`]), the interop
//! matrix of each family ([`crate::interop`]), a seeded campaign of attacker schedules judged
//! by the oracles and compared peer with peer ([`crate::campaign`]), each finding's
//! reproducer shrunk ([`crate::shrink`]), and the triage against an expectations file
//! ([`crate::report::Expectations`]). It returns the run's report when nothing unexpected
//! happened, and otherwise a [`GateError`] whose text (its `Display` and its `Debug`, so a
//! test that returns it or unwraps it prints it) lists the new findings with their
//! reproducers and the stale expectations, then the whole report.
//!
//! The summary ([`GatePass::summary`]) is the report's text: deterministic for one seed and
//! one build, so it can be snapshotted. The gate snapshots it itself with
//! [`Gate::snapshot`] (no snapshot library needed: a changed summary fails the gate and is
//! written beside the file as `.new` for review); a team that uses insta snapshots
//! [`GatePass::summary`] instead.
//!
//! A reproducer in a gate's report is a call: `gate.replay("<scenario>", <seed>)` runs the
//! scenario on the gate's peers again and shows every step beside the oracle's ruling
//! ([`Gate::replay`]).

mod error;
mod snapshot;
mod vectors;

pub use error::{GateError, GateFailure};

use crate::campaign;
use crate::interop;
use crate::peer::{Family, Peer};
use crate::report::{
    render_transcripts, render_verbose, today, Check, Expectation, ExpectationSet, Finding,
    FindingKind, Reproducer, RunReport, Seen, Triage,
};
use crate::scenario::{Scenario, Transcript};
use crate::shrink;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The drawn scenarios a gate runs unless told otherwise ([`Gate::scenarios`]).
pub const DEFAULT_SCENARIOS: u64 = 500;

/// The seed a gate uses unless told otherwise ([`Gate::seed`]).
pub const DEFAULT_SEED: u64 = 1;

/// Runs a finding's reproducer may take while it is shrunk (as in `ratchet-bench run`).
const SHRINK_BUDGET: usize = 200;

/// A gate over one implementation under test and the peers it is held against. Built with
/// [`Gate::new`] and the builder methods, run with [`Gate::check`]. Paths are relative to
/// the working directory (a crate's own folder under `cargo test`).
pub struct Gate<'p> {
    peers: Vec<&'p dyn Peer>,
    scenarios: u64,
    seed: u64,
    vectors: Option<PathBuf>,
    expectations: Option<PathBuf>,
    regressions: Option<PathBuf>,
    snapshot: Option<PathBuf>,
    workers: Option<usize>,
    today: Option<String>,
}

impl fmt::Debug for Gate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.peers.iter().map(|p| p.info().name).collect();
        f.debug_struct("Gate")
            .field("peers", &names)
            .field("scenarios", &self.scenarios)
            .field("seed", &self.seed)
            .field("vectors", &self.vectors)
            .field("expectations", &self.expectations)
            .field("regressions", &self.regressions)
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl<'p> Gate<'p> {
    /// A gate over `peer`, the implementation under test, with [`DEFAULT_SCENARIOS`] drawn
    /// scenarios under [`DEFAULT_SEED`], no vectors and no expectations file (every finding
    /// then counts as new).
    pub fn new(peer: &'p dyn Peer) -> Self {
        Gate {
            peers: vec![peer],
            scenarios: DEFAULT_SCENARIOS,
            seed: DEFAULT_SEED,
            vectors: None,
            expectations: None,
            regressions: None,
            snapshot: None,
            workers: None,
            today: None,
        }
    }

    /// Holds the implementation against `peer` too (a family's reference, another
    /// implementation, an older release of the same one); may be called again for more.
    /// Peers of one family are compared byte for byte where both take injected randomness,
    /// on outcomes otherwise, and form the family's interop matrix.
    pub fn against(mut self, peer: &'p dyn Peer) -> Self {
        self.peers.push(peer);
        self
    }

    /// How many scenarios the campaign draws for each family.
    pub fn scenarios(mut self, count: u64) -> Self {
        self.scenarios = count;
        self
    }

    /// The seed of the campaign and the interop matrix: one seed, one report.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Replays the ratchet-session vectors of the gate's families found in `dir`: a folder
    /// with a `MANIFEST.json` (the bench's own `vectors/`, each file checked against its
    /// pinned sha256), or a folder of ratchet-session files (`*.json`, each file's
    /// `algorithm` naming its family). A family without vectors there is reported as not
    /// run; a folder with none for any of the gate's families is an error.
    pub fn vectors(mut self, dir: impl AsRef<Path>) -> Self {
        self.vectors = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The expectations file: known findings, each with a reason (the format of
    /// [`crate::report::Expectations`]). A listed finding does not fail the gate; a listed
    /// finding that no longer shows does (stale), so that fixed bugs leave the file.
    pub fn expectations(mut self, path: impl AsRef<Path>) -> Self {
        self.expectations = Some(path.as_ref().to_path_buf());
        self
    }

    /// Pinned scenarios run before the drawn ones (one per line: a session seed, then the
    /// scenario text, as `vectors/regressions/scenarios.txt`): reproducers of past findings
    /// the gate keeps checking.
    pub fn regressions(mut self, path: impl AsRef<Path>) -> Self {
        self.regressions = Some(path.as_ref().to_path_buf());
        self
    }

    /// Compares the summary of a passing gate with the file at `path`. A missing or
    /// different file fails the gate with the difference, and the new summary is written
    /// to `path` with `.new` appended, for review: rename it over `path` to accept it.
    pub fn snapshot(mut self, path: impl AsRef<Path>) -> Self {
        self.snapshot = Some(path.as_ref().to_path_buf());
        self
    }

    /// Threads for the campaign (the machine's parallelism unless told); the report does
    /// not depend on it.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers.max(1));
        self
    }

    /// The date (`YYYY-MM-DD`) expectations' expiry dates are read against; today unless
    /// told (tests pin it).
    pub fn today(mut self, date: &str) -> Self {
        self.today = Some(date.to_string());
        self
    }

    /// Checks that the peers can run together: distinct names, and families they agree on.
    fn check_peers(&self) -> Result<(), GateError> {
        let infos: Vec<_> = self.peers.iter().map(|p| p.info()).collect();
        for (i, info) in infos.iter().enumerate() {
            if infos[..i].iter().any(|o| o.name == info.name) {
                return Err(GateError::SameName {
                    name: info.name.clone(),
                });
            }
        }
        Family::check_agreement(infos.iter().map(|i| (i.name.as_str(), i.family)))?;
        Ok(())
    }

    /// Runs the gate: vectors, interop, campaign, triage; then the snapshot, if one is set.
    /// `Ok` when nothing unexpected happened; [`GateError::Failed`] with the report's text
    /// when a finding is new or an expectation stale; the other variants when the gate
    /// cannot run (a bad vector file, an unreadable expectations file, peers that disagree
    /// on a family) or its snapshot differs.
    pub fn check(&self) -> Result<GatePass, GateError> {
        let report = self.report()?;
        if report.exit_code != 0 {
            let text = error::failure_text(&report, self.expectations.as_deref());
            return Err(GateError::Failed(Box::new(GateFailure { report, text })));
        }
        let pass = GatePass { report };
        if let Some(path) = &self.snapshot {
            snapshot::compare(path, &pass.summary())?;
        }
        Ok(pass)
    }

    /// Runs everything [`Gate::check`] runs and returns the report, judged against the
    /// expectations but without failing on it (its `exit_code` says whether the gate would
    /// pass) and without the snapshot.
    pub fn report(&self) -> Result<RunReport, GateError> {
        self.check_peers()?;
        let peers = &self.peers;
        let set = ExpectationSet::load(self.expectations.as_slice())?;
        let vector_reports = match &self.vectors {
            Some(dir) => vectors::replay(dir, peers)?,
            None => Vec::new(),
        };
        let pinned = match &self.regressions {
            Some(path) => {
                let bad = |reason: String| GateError::Regressions {
                    path: path.clone(),
                    reason,
                };
                let text =
                    std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
                campaign::parse_pinned(&text).map_err(bad)?
            }
            None => Vec::new(),
        };
        let workers = self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let count = |_| self.scenarios;
        // Every peer runs every scenario: a gate has no sampled shims.
        let result = campaign::run_by_family_refs(
            peers,
            &pinned,
            self.seed,
            &count,
            u64::MAX,
            crate::shard::Shard::WHOLE,
            workers,
            &|| {},
        );
        let (mut findings, mut notes): (Vec<Seen>, Vec<Seen>) = result
            .sightings()
            .into_iter()
            .partition(|s| s.kind.fails_run());
        for seen in findings.iter_mut().chain(notes.iter_mut()) {
            shrink::shorten(peers, seen, SHRINK_BUDGET);
        }
        let matrices = interop::run_refs(peers, &[], self.seed);
        findings.extend(interop::sightings(&matrices, self.seed));
        findings.extend(crate::vectors::sightings(&vector_reports, &|r| {
            format!("the case above, replayed on {} from {}", r.peer, r.file)
        }));
        for seen in findings.iter_mut().chain(notes.iter_mut()) {
            seen.reproducer = reproducer(seen);
        }
        let today = self.today.clone().unwrap_or_else(today);
        let triage = if set.files.is_empty() {
            Triage::without_expectations(&findings)
        } else {
            let expired = set.expired_on(&today);
            let all_seen: Vec<Seen> = findings.iter().chain(&notes).cloned().collect();
            let checks = set
                .entries
                .iter()
                .map(|listed| check_entry(peers, &listed.entry, &vector_reports, &all_seen))
                .collect::<Result<Vec<Check>, GateError>>()?;
            set.triage(&mut findings, &expired, checks)
        };
        let families = Family::present(peers.iter().map(|p| p.info().family));
        let scenarios: BTreeMap<String, u64> = families
            .iter()
            .map(|f| (f.name().to_string(), self.scenarios))
            .collect();
        let exit_code = i32::from(triage.fails());
        Ok(RunReport {
            tool: "ratchet-bench gate".into(),
            seed: self.seed,
            scenarios,
            pinned: pinned.len() as u64,
            peers: peers.iter().map(|p| p.info()).collect(),
            not_built: Vec::new(),
            ran: result.ran,
            families: RunReport::declared_families(
                &peers.iter().map(|p| p.info()).collect::<Vec<_>>(),
            ),
            expectations: set.files.clone(),
            inputs: crate::report::Inputs {
                vectors_dir: self.vectors.as_ref().map(|p| p.display().to_string()),
                regressions: None,
            },
            vector_failures: vector_reports.iter().map(|v| v.failed).sum(),
            vectors: vector_reports,
            interop: matrices,
            groups: None,
            outcomes: result.outcomes,
            operators: result.operators,
            findings,
            notes,
            triage,
            exit_code,
            shard: None,
        })
    }

    /// Runs `scenario` (its text form) under `seed` on the gate's peers, as a finding's
    /// reproducer says, and returns every peer's transcript and the findings; print it to
    /// see each step beside the oracle's ruling.
    pub fn replay(&self, scenario: &str, seed: u64) -> Result<Replayed, GateError> {
        let scenario: Scenario = scenario.parse().map_err(GateError::Scenario)?;
        let (transcripts, findings) = campaign::check_scenario(&self.peers, &scenario, seed);
        Ok(Replayed {
            scenario,
            seed,
            transcripts,
            findings,
        })
    }
}

/// What an expectation's reproducer shows on the gate's peers, as `run` judges it: a
/// scenario replayed alone on the peers it names, an interop cell run again, a vector case
/// looked up in the gate's own replay of the vectors. An entry without a reproducer is judged
/// by the gate's findings (every peer runs every scenario of a gate); a regression case (the
/// gate has no named cases) or an entry about a peer the gate does not have is not checked.
fn check_entry(
    peers: &[&dyn Peer],
    entry: &Expectation,
    vector_reports: &[crate::vectors::SuiteReport],
    seen: &[Seen],
) -> Result<Check, GateError> {
    let named = |name: &str| {
        peers
            .iter()
            .copied()
            .find(|p| p.info().name == name)
            .ok_or_else(|| Check::NotChecked {
                why: format!("{name} is not among the gate's peers"),
            })
    };
    let bad = |reason: String| GateError::Reproducer {
        signature: entry.signature.clone(),
        reason,
    };
    let shown = |found: Vec<Seen>| -> Vec<(String, String)> {
        found.into_iter().map(|s| (s.signature, s.detail)).collect()
    };
    let Some(reproducer) = &entry.reproducer else {
        let complete = entry
            .signature
            .split('/')
            .next()
            .unwrap_or_default()
            .split('+')
            .all(|n| named(n).is_ok());
        return Ok(Check::by_findings(entry, seen, complete));
    };
    Ok(match reproducer {
        Reproducer::Scenario {
            scenario,
            seed,
            peers: names,
        } => {
            let parsed: Scenario = scenario
                .parse()
                .map_err(|e| bad(format!("scenario: {e}")))?;
            let mut on = Vec::new();
            for n in names {
                match named(n) {
                    Ok(p) => on.push(p),
                    Err(why) => return Ok(why),
                }
            }
            let (_, findings) = campaign::check_scenario(&on, &parsed, *seed);
            let found: Vec<(String, String)> = findings
                .into_iter()
                .map(|f| (f.signature, f.detail))
                .collect();
            Check::of(entry, &found)
        }
        Reproducer::Interop {
            initiator,
            responder,
            seed,
            ..
        } => {
            let (a, b) = match (named(initiator), named(responder)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(why), _) | (_, Err(why)) => return Ok(why),
            };
            let matrix = interop::Matrix {
                family: a.info().family,
                peers: vec![initiator.clone(), responder.clone()],
                cells: vec![interop::cell(a, b, *seed)],
            };
            Check::of(entry, &shown(interop::sightings(&[matrix], *seed)))
        }
        Reproducer::Vector {
            suite,
            file,
            tc_id,
            peer,
        } => {
            if let Err(why) = named(peer) {
                return Ok(why);
            }
            let Some(report) = vector_reports
                .iter()
                .find(|r| &r.suite == suite && &r.file == file && &r.peer == peer)
            else {
                return Ok(Check::NotChecked {
                    why: format!("the gate replays no vector file {file} of {suite} on {peer}"),
                });
            };
            let found = crate::vectors::sightings(std::slice::from_ref(report), &|_| String::new());
            let found: Vec<Seen> = found
                .into_iter()
                .filter(|s| match (tc_id, &s.case) {
                    (
                        Some(want),
                        Reproducer::Vector {
                            tc_id: Some(got), ..
                        },
                    ) => want == got,
                    _ => true,
                })
                .collect();
            Check::of(entry, &shown(found))
        }
        other => Check::NotChecked {
            why: format!("a gate does not replay {} reproducers", other.kind()),
        },
    })
}

/// A finding's reproducer as a gate's user runs it: a campaign finding's scenario through
/// [`Gate::replay`], an interop cell through [`interop::cell`]; a vector case's stays as
/// the replay made it.
fn reproducer(seen: &Seen) -> String {
    match seen.kind {
        FindingKind::InteropFailed => {
            let (pair, _) = seen.signature.split_once('/').unwrap_or_default();
            let (initiator, responder) = pair.split_once('+').unwrap_or((pair, pair));
            format!(
                "ratchet_bench_core::interop::cell(&initiator, &responder, {}) with the peers {initiator:?} and {responder:?}",
                seen.seed
            )
        }
        FindingKind::VectorFailed => seen.reproducer.clone(),
        _ => format!("gate.replay({:?}, {})", seen.scenario, seen.seed),
    }
}

/// What a passing gate found: its report, expected findings and notes included.
#[derive(Clone, Debug)]
pub struct GatePass {
    report: RunReport,
}

impl GatePass {
    /// The whole report (for `--json`-like uses: it serialises).
    pub fn report(&self) -> &RunReport {
        &self.report
    }

    /// The report as text: the peers, the vectors, the interop matrices, the campaign's
    /// counts, the expected findings and the notes. Deterministic for one seed and one
    /// build, to snapshot ([`Gate::snapshot`], or insta's `assert_snapshot!`).
    pub fn summary(&self) -> String {
        render_verbose(&self.report)
    }
}

/// A scenario replayed on the gate's peers ([`Gate::replay`]).
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The scenario.
    pub scenario: Scenario,
    /// The session seed.
    pub seed: u64,
    /// Every peer's transcript, in the gate's order.
    pub transcripts: Vec<Transcript>,
    /// What the oracles and the comparison of the peers found.
    pub findings: Vec<Finding>,
}

impl fmt::Display for Replayed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario: {}\nseed: {}", self.scenario, self.seed)?;
        f.write_str(&render_transcripts(&self.transcripts, &self.findings))
    }
}
