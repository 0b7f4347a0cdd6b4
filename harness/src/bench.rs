//! The main job behind `ratchet-bench run`: vectors, the seeded campaign, and the triage
//! against the expectations file.

use crate::campaign;
use crate::interop;
use crate::peer::{Family, Peer};
use crate::peers;
use crate::report::{Expectations, ExpectationsError, RunReport, Seen};
use crate::vectors::{self, VectorError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The campaign size `run` uses for the Double Ratchet families unless told otherwise.
pub const DEFAULT_SCENARIOS: u64 = 2000;

/// The drawn scenarios `run` gives each family unless told otherwise: the Double Ratchet
/// families [`DEFAULT_SCENARIOS`]; the costlier ones fewer, so that the default run stays
/// within a few minutes on two cores (an MLS scenario sets up a group with HPKE and
/// signatures; an Olm or Megolm jump encrypts thousands of messages, each Megolm one signed;
/// a family only shims speak crosses a pipe at every call, declared ones included).
pub fn default_scenarios(family: Family) -> u64 {
    match family.name() {
        "signal-dr" | "dr2" => DEFAULT_SCENARIOS,
        "olm" | "megolm" => 300,
        _ => 200,
    }
}
/// The seed `run` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 1;

/// What `run` is asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The campaign's seed.
    pub seed: u64,
    /// How many drawn scenarios every family gets; `None` for [`default_scenarios`].
    pub scenarios: Option<u64>,
    /// Peers by name; empty for all bundled peers.
    pub peers: Vec<String>,
    /// The expectations file; `None` to run without one.
    pub expectations: Option<PathBuf>,
    /// The folder with MANIFEST.json; `None` to skip vectors.
    pub vectors_dir: Option<PathBuf>,
    /// The folder holding the MLS working group's vector files; `None` reports the MLS
    /// suites as not run.
    pub mls_vectors_dir: Option<PathBuf>,
    /// The pinned scenarios file; `None` to run only drawn scenarios.
    pub regressions: Option<PathBuf>,
    /// Only these suites; empty for all.
    pub suites: Vec<String>,
    /// Use vector files whose hash differs from the manifest's pin.
    pub accept_changed_vectors: bool,
    /// Threads for the campaign.
    pub workers: usize,
    /// Today, `YYYY-MM-DD`, for expiry dates.
    pub today: String,
    /// How many of a family's drawn scenarios its shims (peers out of process) take part in;
    /// the in-process peers run them all. An expectation about a shim that ran only a sample
    /// is not judged stale: a rare finding may not show in the sample.
    pub shim_scenarios: u64,
    /// How many group schedules the MLS group campaign draws; `None` for
    /// [`crate::group_run::DEFAULT_GROUP_SCHEDULES`].
    pub group_schedules: Option<u64>,
    /// The pinned group schedules file (a missing file holds none); `None` to run only drawn
    /// ones.
    pub group_regressions: Option<PathBuf>,
}

/// The drawn scenarios a shim takes part in unless told otherwise ([`RunOptions`]).
pub const DEFAULT_SHIM_SCENARIOS: u64 = 20;

/// Why `run` could not run: a usage or input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A peer name is unknown.
    #[error("{0}")]
    Peer(String),
    /// The expectations file is unusable.
    #[error(transparent)]
    Expectations(#[from] ExpectationsError),
    /// A vector file or the manifest is unusable.
    #[error(transparent)]
    Vectors(#[from] VectorError),
    /// The pinned scenarios file is unusable.
    #[error("{path}: {reason}")]
    Regressions {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        reason: String,
    },
}

pub use crate::report::today;

/// Runs a finding's reproducer may take while it is shrunk.
const SHRINK_BUDGET: usize = 200;

/// The MLS group part of the run, when an MLS peer with a group adapter is among `peers`.
fn run_groups(
    opts: &RunOptions,
    peers: &[Box<dyn Peer>],
    progress: &(dyn Fn() + Sync),
) -> Result<Option<crate::group_run::GroupRun>, RunError> {
    let names: Vec<String> = peers
        .iter()
        .map(|p| p.info())
        .filter(|i| i.family == Family::MLS)
        .map(|i| i.name)
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let group_peers = peers::mls_group::named(&names);
    if group_peers.is_empty() {
        return Ok(None);
    }
    let pinned = match &opts.group_regressions {
        Some(path) => crate::group_run::pinned(path).map_err(|reason| RunError::Regressions {
            path: path.clone(),
            reason,
        })?,
        None => Vec::new(),
    };
    let count = opts
        .group_schedules
        .unwrap_or(crate::group_run::DEFAULT_GROUP_SCHEDULES);
    Ok(Some(crate::group_run::run(
        &group_peers,
        &pinned,
        opts.seed,
        count,
        opts.workers,
        progress,
    )))
}

/// Runs the vectors and the campaign, and holds the findings against the expectations.
pub fn run(opts: &RunOptions, progress: &(dyn Fn() + Sync)) -> Result<RunReport, RunError> {
    let peers: Vec<Box<dyn Peer>> = peers::select(&opts.peers).map_err(RunError::Peer)?;
    run_on(opts, peers, progress)
}

/// [`run`] on peers already selected (`opts.peers` is not read): the CLI starts shims once,
/// with its own shim options, and sizes its progress bar from their families.
pub fn run_on(
    opts: &RunOptions,
    peers: Vec<Box<dyn Peer>>,
    progress: &(dyn Fn() + Sync),
) -> Result<RunReport, RunError> {
    run_with(opts, &peers, progress)
}

/// [`run_on`] that leaves the peers to the caller, who may replay findings on them afterwards
/// (the HTML report's transcripts, [`crate::transcripts`]).
pub fn run_with(
    opts: &RunOptions,
    peers: &[Box<dyn Peer>],
    progress: &(dyn Fn() + Sync),
) -> Result<RunReport, RunError> {
    let expectations = match &opts.expectations {
        Some(path) => Some(Expectations::load(path)?),
        None => None,
    };
    let vector_reports = match &opts.vectors_dir {
        Some(dir) => vectors::run_suites(
            dir,
            opts.mls_vectors_dir.as_deref(),
            peers,
            &opts.suites,
            opts.accept_changed_vectors,
        )?,
        None => Vec::new(),
    };
    let pinned = match &opts.regressions {
        Some(path) => {
            let bad = |reason: String| RunError::Regressions {
                path: path.clone(),
                reason,
            };
            let text =
                std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
            campaign::parse_pinned(&text).map_err(bad)?
        }
        None => Vec::new(),
    };
    let count = |family| opts.scenarios.unwrap_or_else(|| default_scenarios(family));
    let result = campaign::run_by_family(
        peers,
        &pinned,
        opts.seed,
        &count,
        opts.shim_scenarios,
        opts.workers,
        progress,
    );
    let mut scenarios = BTreeMap::new();
    for p in peers {
        let family = p.info().family;
        scenarios.insert(family.name().to_string(), count(family));
    }
    let (mut findings, mut notes): (Vec<Seen>, Vec<Seen>) = result
        .sightings()
        .into_iter()
        .partition(|s| s.kind.fails_run());
    let refs: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    for seen in findings.iter_mut().chain(notes.iter_mut()) {
        crate::shrink::shorten(&refs, seen, SHRINK_BUDGET);
    }
    let matrices = interop::run(peers, &[], opts.seed);
    findings.extend(interop::sightings(&matrices, opts.seed));
    let groups = run_groups(opts, peers, progress)?;
    if let Some(g) = &groups {
        findings.extend(g.findings.iter().cloned());
    }
    findings.extend(vectors::sightings(&vector_reports, &|r| {
        format!("ratchet-bench vectors replay --suite {}", r.suite)
    }));
    findings.extend(
        crate::journal::skips()
            .iter()
            .filter(|s| s.family.starts_with("vectors/"))
            .map(|s| {
                let mut finding = s.finding();
                finding.signature = format!("{}/abort/vectors", s.peer);
                let mut seen = Seen::first(&finding, String::new(), opts.seed);
                seen.reproducer = format!(
                    "ratchet-bench vectors replay{}",
                    crate::peers::shim::peer_arg(&s.peer)
                );
                seen
            }),
    );
    let sampled = |p: &dyn Peer| p.out_of_process() && opts.shim_scenarios < count(p.info().family);
    let ran: Vec<String> = peers
        .iter()
        .filter(|p| !sampled(p.as_ref()))
        .map(|p| p.info().name)
        .collect();
    let triage = expectations
        .as_ref()
        .map(|e| e.triage(&mut findings, &opts.today, &ran))
        .unwrap_or_else(|| crate::report::Triage {
            new: findings.iter().map(|s| s.signature.clone()).collect(),
            ..Default::default()
        });
    let vector_failures: usize = vector_reports.iter().map(|v| v.failed).sum();
    let exit_code = i32::from(triage.fails());
    Ok(RunReport {
        tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
        seed: opts.seed,
        scenarios,
        pinned: pinned.len() as u64,
        peers: peers.iter().map(|p| p.info()).collect(),
        not_built: peers::not_built()
            .into_iter()
            .map(|(peer, reason)| crate::report::NotBuilt {
                peer: peer.into(),
                reason: reason.into(),
            })
            .collect(),
        expectations: opts.expectations.as_ref().map_or_else(
            || "none (every finding counts as new)".into(),
            |p| p.display().to_string(),
        ),
        inputs: crate::report::Inputs {
            expectations: opts.expectations.as_ref().map(|p| p.display().to_string()),
            vectors_dir: opts.vectors_dir.as_ref().map(|p| p.display().to_string()),
            regressions: opts.regressions.as_ref().map(|p| p.display().to_string()),
        },
        vectors: vector_reports,
        interop: matrices,
        groups: groups.map(|g| g.report),
        outcomes: result.outcomes,
        operators: result.operators,
        findings,
        notes,
        triage,
        vector_failures,
        exit_code,
    })
}
