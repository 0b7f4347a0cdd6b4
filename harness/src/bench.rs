//! The main job behind `ratchet-bench run`: vectors, the seeded campaign, and the triage
//! against the expectations file.

use crate::campaign;
use crate::interop;
use crate::peer::{Family, Peer};
use crate::peers;
use crate::report::{Expectations, ExpectationsError, FindingKind, RunReport, Seen};
use crate::scenario::Scenario;
use crate::shrink::shrink;
use crate::timings::{seconds, PeerTiming, RunTimings, ShimTiming};
use crate::vectors::{self, VectorError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

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
    /// How many of a family's drawn scenarios its shims (peers out of process) take part in
    /// ([`DEFAULT_SHIM_SCENARIOS`]: all of them); the in-process peers run them all. An
    /// expectation about a shim that ran only a sample is not judged stale: a rare finding
    /// may not show in the sample.
    pub shim_scenarios: u64,
}

/// The drawn scenarios a shim takes part in unless told otherwise ([`RunOptions`]): every
/// one of its family's, like the in-process peers.
pub const DEFAULT_SHIM_SCENARIOS: u64 = u64::MAX;

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

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Runs a finding's reproducer may take while it is shrunk.
const SHRINK_BUDGET: usize = 200;

/// Replaces a sighting's reproducer with the shortest scenario found that still shows it.
fn shorten(peers: &[Box<dyn Peer>], seen: &mut Seen) {
    let Ok(scenario) = seen.scenario.parse::<Scenario>() else {
        return;
    };
    if let Some((small, finding)) =
        shrink(peers, &scenario, seen.seed, &seen.signature, SHRINK_BUDGET)
    {
        seen.show(&finding, small.to_string());
    }
}

/// Each failed vector case as a finding, `peer/vector-failed/suite/tcN`, so that a known
/// deviation of an implementation is listed in the expectations file with its reason like
/// any other, and every other failure fails the run.
fn vector_sightings(reports: &[vectors::SuiteReport]) -> Vec<Seen> {
    reports
        .iter()
        .flat_map(|r| {
            r.cases
                .iter()
                .filter(|c| c.status == vectors::CaseStatus::Fail)
                .map(move |c| Seen {
                    signature: format!(
                        "{}/{}/{}/tc{}",
                        r.peer,
                        FindingKind::VectorFailed.name(),
                        r.suite,
                        c.tc_id
                    ),
                    kind: FindingKind::VectorFailed,
                    count: 1,
                    detail: format!("{} tcId {}: {}", r.file, c.tc_id, c.reason),
                    scenario: String::new(),
                    seed: 0,
                    reproducer: format!("ratchet-bench vectors replay --suite {}", r.suite),
                    expected: None,
                })
        })
        .collect()
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
    run_timed(opts, peers, progress).map(|(report, _)| report)
}

/// [`run_on`], and what each phase, peer and shim request cost (`run --timings`).
pub fn run_timed(
    opts: &RunOptions,
    peers: Vec<Box<dyn Peer>>,
    progress: &(dyn Fn() + Sync),
) -> Result<(RunReport, RunTimings), RunError> {
    let mut timings = RunTimings {
        workers: opts.workers,
        ..RunTimings::default()
    };
    let started = Instant::now();
    let expectations = match &opts.expectations {
        Some(path) => Some(Expectations::load(path)?),
        None => None,
    };
    let vector_reports = match &opts.vectors_dir {
        Some(dir) => vectors::run_suites(
            dir,
            opts.mls_vectors_dir.as_deref(),
            &peers,
            &opts.suites,
            opts.accept_changed_vectors,
        )?,
        None => Vec::new(),
    };
    timings.vectors_s = seconds(started.elapsed());
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
    let started = Instant::now();
    let result = campaign::run_by_family(
        &peers,
        &pinned,
        opts.seed,
        &count,
        opts.shim_scenarios,
        opts.workers,
        progress,
    );
    timings.campaign_s = seconds(started.elapsed());
    timings.peers = result
        .time
        .iter()
        .map(|(peer, t)| (peer.clone(), PeerTiming::of(t)))
        .collect();
    let mut scenarios = BTreeMap::new();
    for p in &peers {
        let family = p.info().family;
        scenarios.insert(family.name().to_string(), count(family));
    }
    let (mut findings, mut notes): (Vec<Seen>, Vec<Seen>) = result
        .sightings()
        .into_iter()
        .partition(|s| s.kind.fails_run());
    let started = Instant::now();
    for seen in findings.iter_mut().chain(notes.iter_mut()) {
        shorten(&peers, seen);
    }
    timings.shrink_s = seconds(started.elapsed());
    let started = Instant::now();
    let matrices = interop::run(&peers, &[], opts.seed);
    timings.interop_s = seconds(started.elapsed());
    findings.extend(interop::sightings(&matrices, opts.seed));
    findings.extend(vector_sightings(&vector_reports));
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
    timings.shims = crate::peers::shim::stats::stats()
        .iter()
        .map(ShimTiming::of)
        .collect();
    let report = RunReport {
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
        vectors: vector_reports,
        interop: matrices,
        outcomes: result.outcomes,
        findings,
        notes,
        triage,
        vector_failures,
        exit_code,
    };
    Ok((report, timings))
}
