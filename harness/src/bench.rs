//! The main job behind `ratchet-bench run`: vectors, the interop matrix, the pinned
//! regressions and the seeded campaign, the replay of every expectation's reproducer, and
//! the triage against the expectations files.
//!
//! A run (or one shard of it, [`Shard`]) computes a [`Part`]; [`crate::merge::assemble`]
//! turns parts into the report, so that the whole run and the merge of its shards' reports
//! build the same report by the same code.

use crate::campaign;
use crate::interop;
use crate::merge::{assemble, Header, Part};
use crate::minimize::{self, Case};
use crate::peer::{Family, Peer};
use crate::peers;
use crate::recheck::{self, RecheckError, Replayer};
use crate::report::{ExpectationSet, ExpectationsError, RunReport, Seen};
use crate::scenario::Scenario;
use crate::shard::Shard;
use crate::timings::{seconds, PeerTiming, RunTimings, ShimTiming};
use crate::vectors::{self, VectorError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The campaign size `run` uses for the Double Ratchet families unless told otherwise.
pub const DEFAULT_SCENARIOS: u64 = 2000;

/// The drawn scenarios `run --quick` gives every family: with the vectors, the interop
/// matrix, the pinned regressions and the replay of every expectation's reproducer (which
/// show every known finding whatever the campaign draws), a gate for pull requests.
pub const QUICK_SCENARIOS: u64 = 20;

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
    /// The expectations files, layered in order; empty to run without.
    pub expectations: Vec<PathBuf>,
    /// The folder with MANIFEST.json; `None` to skip vectors.
    pub vectors_dir: Option<PathBuf>,
    /// The folder holding the MLS working group's vector files; `None` reports the MLS
    /// suites as not run.
    pub mls_vectors_dir: Option<PathBuf>,
    /// The regressions file: its cases are pinned before the drawn scenarios, and
    /// expectations' `regression` reproducers name them; `None` for neither.
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
    /// (the first [`DEFAULT_SHIM_SCENARIOS`] unless told otherwise); the in-process peers run
    /// them all.
    pub shim_scenarios: u64,
    /// The slice of the run to do, whose report `merge` combines with the other shards'
    /// (`Some(1/1)` too); `None` for the whole run and its plain report.
    pub shard: Option<Shard>,
    /// How many group schedules the MLS group campaign draws; `None` for
    /// [`crate::group_run::DEFAULT_GROUP_SCHEDULES`].
    pub group_schedules: Option<u64>,
    /// The pinned group schedules file (a missing file holds none); `None` to run only drawn
    /// ones.
    pub group_regressions: Option<PathBuf>,
    /// Add the earlier release lines of the peers' families ([`peers::releases`]) to the
    /// interop matrices, the release matrix (old sender to new receiver and back), without
    /// adding them to the campaigns: what `run` does when no peer is named.
    pub release_matrices: bool,
}

/// The drawn scenarios a shim takes part in unless told otherwise ([`RunOptions`]). Not yet
/// all of them: `run --peers all` at 40 scenarios a family did not end within 27 minutes
/// here, and where that time goes is not yet measured.
pub const DEFAULT_SHIM_SCENARIOS: u64 = 20;

/// Why `run` could not run: a usage or input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// A peer name is unknown.
    #[error("{0}")]
    Peer(String),
    /// An expectations file is unusable.
    #[error(transparent)]
    Expectations(#[from] ExpectationsError),
    /// An expectation's reproducer cannot run.
    #[error(transparent)]
    Reproducer(#[from] RecheckError),
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

/// Runs a listed finding's reproducer may take when a shim shows it: the run that confirms
/// it and the cut after the step where it showed, no search. Its entry holds a minimised
/// reproducer, which the run replays; searching again would cost the shim's own work up to
/// [`SHRINK_BUDGET`] times over (a libsignal jump is 25,000 encryptions, about 8 s), and
/// that search was most of a shim's full campaign.
const LISTED_ON_SHIM_BUDGET: usize = 2;

/// The runs the search for `seen`'s reproducer may take: [`LISTED_ON_SHIM_BUDGET`] for a
/// finding an unexpired entry lists that names a shim, [`SHRINK_BUDGET`] for every other.
fn shrink_budget(
    peers: &[&dyn Peer],
    set: &ExpectationSet,
    expired: &[bool],
    seen: &Seen,
) -> usize {
    let on_shim = crate::shrink::involved(peers, &seen.signature)
        .iter()
        .any(|p| p.out_of_process());
    if on_shim && set.find(&seen.signature, expired).is_some() {
        LISTED_ON_SHIM_BUDGET
    } else {
        SHRINK_BUDGET
    }
}

/// Shortens every sighting's reproducer ([`crate::shrink::shorten`]) on `workers` threads,
/// each within the runs `budget` gives it. Each search depends only on its own sighting, so
/// the result does not depend on the number of threads; a shim's searches overlap as its
/// campaign scenarios did.
fn shorten_all<'s>(
    peers: &[&dyn Peer],
    seen: impl Iterator<Item = &'s mut Seen> + Send,
    budget: &(dyn Fn(&Seen) -> usize + Sync),
    workers: usize,
) {
    let queue = std::sync::Mutex::new(seen);
    let next = || queue.lock().ok().and_then(|mut q| q.next());
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                while let Some(seen) = next() {
                    let runs = budget(seen);
                    crate::shrink::shorten(peers, seen, runs);
                }
            });
        }
    });
}

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

/// Why a peer that is not among `peers` did not run: not built, or not selected.
pub fn absent_reason(name: &str) -> String {
    match peers::not_built().into_iter().find(|(n, _)| *n == name) {
        Some((_, why)) => format!("{name} is not built: {why}"),
        None => format!(
            "{name} did not run (select it with --peer {name}, or --peers all for the shims)"
        ),
    }
}

/// The earlier release lines ([`peers::releases`]) of the families among `peers` that are
/// not among them already: the peers a default run adds to its interop matrices.
pub fn release_peers(peers: &[Box<dyn Peer>]) -> Vec<Box<dyn Peer>> {
    let infos: Vec<_> = peers.iter().map(|p| p.info()).collect();
    peers::releases()
        .into_iter()
        .filter(|r| {
            let i = r.info();
            infos.iter().any(|p| p.family == i.family) && !infos.iter().any(|p| p.name == i.name)
        })
        .collect()
}

/// The regressions file's cases, or an input error naming the file and line.
pub fn read_cases(path: &std::path::Path) -> Result<Vec<Case>, RunError> {
    let bad = |reason: String| RunError::Regressions {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    minimize::cases(&text).map_err(bad)
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
    run_timed(opts, peers, progress).map(|(report, _)| report)
}

/// [`run_with`], and what each phase, peer and shim request cost (`run --timings`).
pub fn run_timed(
    opts: &RunOptions,
    peers: &[Box<dyn Peer>],
    progress: &(dyn Fn() + Sync),
) -> Result<(RunReport, RunTimings), RunError> {
    let (part, timings) = part_timed(opts, peers, progress)?;
    Ok((assemble(vec![part]), timings))
}

/// What `opts.shard` of the run computes on `peers`.
pub fn part(
    opts: &RunOptions,
    peers: &[Box<dyn Peer>],
    progress: &(dyn Fn() + Sync),
) -> Result<Part, RunError> {
    part_timed(opts, peers, progress).map(|(part, _)| part)
}

/// [`part`], and what each of its phases, peers and shim requests cost.
pub fn part_timed(
    opts: &RunOptions,
    peers: &[Box<dyn Peer>],
    progress: &(dyn Fn() + Sync),
) -> Result<(Part, RunTimings), RunError> {
    let mut timings = RunTimings {
        workers: opts.workers,
        ..RunTimings::default()
    };
    let started = Instant::now();
    let shard = opts.shard.unwrap_or(Shard::WHOLE);
    let set = ExpectationSet::load(&opts.expectations)?;
    let cases = match &opts.regressions {
        Some(path) => Some((path.clone(), read_cases(path)?)),
        None => None,
    };
    let vector_reports = match &opts.vectors_dir {
        Some(dir) => vectors::run_suites_sharded(
            dir,
            opts.mls_vectors_dir.as_deref(),
            peers,
            &opts.suites,
            opts.accept_changed_vectors,
            shard,
        )?,
        None => Vec::new(),
    };
    timings.vectors_s = seconds(started.elapsed());
    let pinned: Vec<(Scenario, u64)> = cases
        .iter()
        .flat_map(|(_, cases)| cases.iter().map(|c| (c.scenario.clone(), c.seed)))
        .collect();
    let count = |family| opts.scenarios.unwrap_or_else(|| default_scenarios(family));
    let started = Instant::now();
    let result = campaign::run_by_family(
        peers,
        &pinned,
        opts.seed,
        &count,
        opts.shim_scenarios,
        shard,
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
    for p in peers {
        let family = p.info().family;
        let in_process = peers
            .iter()
            .any(|q| q.info().family == family && !q.out_of_process());
        scenarios.insert(
            family.name().to_string(),
            campaign::drawn(count(family), opts.shim_scenarios, in_process),
        );
    }
    let refs: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    let mut campaign_seen = result.seen;
    let started = Instant::now();
    let expired = set.expired_on(&opts.today);
    shorten_all(
        &refs,
        campaign_seen.values_mut().map(|(_, seen)| seen),
        &|seen| shrink_budget(&refs, &set, &expired, seen),
        opts.workers,
    );
    timings.shrink_s = seconds(started.elapsed());
    let started = Instant::now();
    let releases = if opts.release_matrices {
        release_peers(peers)
    } else {
        Vec::new()
    };
    let mut interop_peers = refs.clone();
    interop_peers.extend(releases.iter().map(|p| p.as_ref()));
    let matrices = interop::run_sharded(&interop_peers, &[], opts.seed, shard);
    timings.interop_s = seconds(started.elapsed());
    // The MLS group part is one unit of work: the shard that takes the first unit runs it.
    let groups = if shard.takes(0) {
        run_groups(opts, peers, progress)?
    } else {
        None
    };
    let vector_aborts: Vec<Seen> = crate::journal::skips()
        .iter()
        .filter(|s| s.family.starts_with("vectors/"))
        .map(|skip| {
            let file = skip.family.trim_start_matches("vectors/");
            let suite = vector_reports
                .iter()
                .find(|(_, r)| r.file == file && r.peer == skip.peer)
                .map_or("", |(_, r)| r.suite.as_str());
            vectors::abort_sighting(skip, suite, opts.seed)
        })
        .collect();

    // The replay of every expectation's reproducer this shard owns.
    let only_reports: Vec<_> = vector_reports.iter().map(|(_, r)| r.clone()).collect();
    let replayer = Replayer {
        peers,
        releases: &releases,
        absent: &absent_reason,
        vectors_dir: opts.vectors_dir.as_deref(),
        mls_vectors_dir: opts.mls_vectors_dir.as_deref(),
        accept_changed_vectors: opts.accept_changed_vectors,
        vector_reports: &only_reports,
        cases: cases.as_ref().map(|(p, c)| (p.as_path(), c.as_slice())),
    };
    let positions = recheck::positions(&set.entries);
    let mut checks = BTreeMap::new();
    for (i, listed) in set.entries.iter().enumerate() {
        // An entry without a reproducer is judged by the run's findings, in `assemble`.
        if !shard.takes(i as u64) || expired[i] || listed.entry.reproducer.is_none() {
            continue;
        }
        checks.insert(i, replayer.check(i as u64, positions[i], listed)?);
    }

    timings.shims = crate::peers::shim::stats::stats()
        .iter()
        .map(ShimTiming::of)
        .collect();
    let infos: Vec<_> = peers
        .iter()
        .chain(releases.iter())
        .map(|p| p.info())
        .collect();
    let part = Part {
        shard,
        sharded: opts.shard.is_some(),
        header: Header {
            tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
            seed: opts.seed,
            scenarios,
            pinned: pinned.len() as u64,
            families: RunReport::declared_families(&infos),
            peers: infos,
            not_built: peers::not_built()
                .into_iter()
                .map(|(peer, reason)| crate::report::NotBuilt {
                    peer: peer.into(),
                    reason: reason.into(),
                })
                .collect(),
            expectations: set.files.clone(),
            inputs: crate::report::Inputs {
                vectors_dir: opts.vectors_dir.as_ref().map(|p| p.display().to_string()),
                regressions: opts.regressions.as_ref().map(|p| p.display().to_string()),
            },
        },
        campaign: campaign_seen,
        outcomes: result.outcomes,
        operators: result.operators,
        groups: groups.map(|g| (g.report, g.findings)),
        ran: result.ran,
        matrices,
        vectors: vector_reports,
        vector_aborts,
        checks,
        set,
        expired,
    };
    Ok((part, timings))
}
