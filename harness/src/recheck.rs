//! Replays an expectation's reproducer, alone, on the peers it names: what judges whether
//! the entry still holds ([`Check`]), in `run` (every mode, every shard), in
//! `expectations check`, `vectors replay` and `interop`.
//!
//! - A `scenario` or `regression` reproducer runs once on its peers, in its order, and its
//!   findings are held against the entry's signature.
//! - A `vector` reproducer is its case on its peer: the run's own replay of that file on
//!   that peer when it has one (the same replay), else the file replayed now.
//! - An `interop` reproducer runs its cell.
//!
//! Each replay is a unit of the supervisor's journal ([`journal::EXPECTATIONS_KEY`], the
//! entry's ordinal): a peer that aborts the process during it is skipped when the run starts
//! again, and the replay shows the abort finding its kind gives (`peer/abort/scenario`,
//! `peer/abort/vectors`, `a+b/interop/abort/signal-N`), which an entry about that abort
//! covers. An entry whose peers are not there is not checked, with the reason. A reproducer
//! that cannot run at all (a suite, file, case or regression case that does not exist) is an
//! input error naming the file and the entry.

use crate::minimize::Case;
use crate::vectors::{self, CaseStatus, SuiteReport};
use ratchet_bench_core::campaign::check_scenario_journaled;
use ratchet_bench_core::interop::{self, Matrix};
use ratchet_bench_core::journal::{self, EXPECTATIONS_KEY};
use ratchet_bench_core::peer::Peer;
use ratchet_bench_core::report::{Check, ExpectationSet, Listed, Reproducer, Triage};
use ratchet_bench_core::scenario::Scenario;
use std::collections::BTreeMap;
use std::path::Path;

/// A reproducer that cannot run: an input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{file}: expectations[{index}].reproducer: {reason}")]
pub struct RecheckError {
    /// The expectations file.
    pub file: String,
    /// The entry's position in its file.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

/// What replays need beside the entries.
pub struct Replayer<'a> {
    /// The peers there are.
    pub peers: &'a [Box<dyn Peer>],
    /// Release peers that took part in the interop matrices only (a default run's release
    /// matrix): interop reproducers find their peers here too.
    pub releases: &'a [Box<dyn Peer>],
    /// Why a peer that is not among them did not run.
    pub absent: &'a dyn Fn(&str) -> String,
    /// The folder with MANIFEST.json, if vectors can be read.
    pub vectors_dir: Option<&'a Path>,
    /// The folder of the MLS working group's files, if any.
    pub mls_vectors_dir: Option<&'a Path>,
    /// Use vector files whose hash differs from the manifest's pin.
    pub accept_changed_vectors: bool,
    /// Replays of vector files the caller already did (reused: the same replay).
    pub vector_reports: &'a [SuiteReport],
    /// The regressions file and its cases, for `regression` reproducers.
    pub cases: Option<(&'a Path, &'a [Case])>,
}

impl Replayer<'_> {
    fn peer(&self, name: &str) -> Result<&dyn Peer, Check> {
        self.peers
            .iter()
            .chain(self.releases.iter())
            .map(|p| p.as_ref())
            .find(|p| p.info().name == name)
            .ok_or_else(|| Check::NotChecked {
                why: (self.absent)(name),
            })
    }

    /// Replays the reproducer of entry `ordinal` (its position over the layered files;
    /// `index` its position in its own file, for messages).
    pub fn check(
        &self,
        ordinal: u64,
        index: usize,
        listed: &Listed,
    ) -> Result<Check, RecheckError> {
        let bad = |reason: String| RecheckError {
            file: listed.file.clone(),
            index,
            reason,
        };
        let entry = &listed.entry;
        let Some(reproducer) = &entry.reproducer else {
            return Ok(Check::NotChecked {
                why: NO_REPRODUCER.into(),
            });
        };
        match reproducer {
            Reproducer::Scenario {
                scenario,
                seed,
                peers,
            } if ratchet_bench_core::group::is_group_text(scenario) => {
                let parsed: ratchet_bench_core::group::GroupSchedule = scenario
                    .parse()
                    .map_err(|e| bad(format!("group schedule: {e}")))?;
                Ok(self.group(listed, &parsed, *seed, peers))
            }
            Reproducer::Scenario {
                scenario,
                seed,
                peers,
            } => {
                let parsed: Scenario = scenario
                    .parse()
                    .map_err(|e| bad(format!("scenario: {e}")))?;
                Ok(self.scenario(ordinal, listed, &parsed, *seed, peers))
            }
            Reproducer::Regression { case, peers } => {
                let Some((path, cases)) = self.cases else {
                    return Ok(Check::NotChecked {
                        why: "no regressions file is read (--no-regressions)".into(),
                    });
                };
                let found = cases.iter().find(|c| &c.name == case).ok_or_else(|| {
                    bad(format!(
                        "regression: no case named {case:?} in {}",
                        path.display()
                    ))
                })?;
                Ok(self.scenario(ordinal, listed, &found.scenario, found.seed, peers))
            }
            Reproducer::Vector {
                suite,
                file,
                tc_id,
                peer,
            } => self.vector(ordinal, listed, suite, file, *tc_id, peer, &bad),
            Reproducer::Interop {
                family,
                initiator,
                responder,
                seed,
            } => {
                let (a, b) = match (self.peer(initiator), self.peer(responder)) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(why), _) | (_, Err(why)) => return Ok(why),
                };
                let spoken = a.info().family;
                if spoken.name() != family || b.info().family != spoken {
                    return Err(bad(format!(
                        "interop: {initiator} speaks {spoken}, {responder} speaks {}; the cell is of family {family:?}",
                        b.info().family
                    )));
                }
                let label = format!("{initiator}+{responder}");
                let cell = journal::unit(EXPECTATIONS_KEY, ordinal, &label, || {
                    interop::cell(a, b, *seed)
                });
                let Some(cell) = cell else {
                    let signal =
                        journal::skipped(EXPECTATIONS_KEY, ordinal).map_or(0, |s| s.signal);
                    let signature = format!("{label}/interop/abort/signal-{signal}");
                    return Ok(Check::of(entry, &[(signature, aborted(signal))]));
                };
                let matrix = Matrix {
                    family: spoken,
                    peers: vec![initiator.clone(), responder.clone()],
                    cells: vec![cell],
                };
                let shown: Vec<(String, String)> = interop::sightings(&[matrix], *seed)
                    .into_iter()
                    .map(|s| (s.signature, s.detail))
                    .collect();
                Ok(Check::of(entry, &shown))
            }
            other => Err(bad(format!(
                "a {} reproducer cannot be replayed by this build",
                other.kind()
            ))),
        }
    }

    /// A group schedule (an MLS group finding's reproducer) on the group peers it names,
    /// alone and mixed, as `replay` runs it.
    fn group(
        &self,
        listed: &Listed,
        schedule: &ratchet_bench_core::group::GroupSchedule,
        seed: u64,
        names: &[String],
    ) -> Check {
        for name in names {
            if let Err(why) = self.peer(name) {
                return why;
            }
        }
        let group_peers = ratchet_bench_peers::mls_group::named(names);
        if group_peers.len() != names.len() {
            return Check::NotChecked {
                why: format!("no group adapter for every peer of {}", names.join(", ")),
            };
        }
        let refs: Vec<&dyn ratchet_bench_core::group::GroupPeer> =
            group_peers.iter().map(|p| p.as_ref()).collect();
        let shown: Vec<(String, String)> = crate::group_run::replay(schedule, &refs, seed)
            .into_iter()
            .flat_map(|t| t.findings)
            .map(|f| (f.signature, f.detail))
            .collect();
        Check::of(&listed.entry, &shown)
    }

    fn scenario(
        &self,
        ordinal: u64,
        listed: &Listed,
        scenario: &Scenario,
        seed: u64,
        names: &[String],
    ) -> Check {
        let mut peers = Vec::new();
        for name in names {
            match self.peer(name) {
                Ok(p) => peers.push(p),
                Err(why) => return why,
            }
        }
        match check_scenario_journaled(&peers, scenario, seed, EXPECTATIONS_KEY, ordinal) {
            Some((_, findings)) => {
                let shown: Vec<(String, String)> = findings
                    .into_iter()
                    .map(|f| (f.signature, f.detail))
                    .collect();
                Check::of(&listed.entry, &shown)
            }
            None => {
                let shown: Vec<(String, String)> = journal::skipped(EXPECTATIONS_KEY, ordinal)
                    .map(|skip| {
                        let f = skip.finding();
                        (f.signature, f.detail)
                    })
                    .into_iter()
                    .collect();
                Check::of(&listed.entry, &shown)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn vector(
        &self,
        ordinal: u64,
        listed: &Listed,
        suite: &str,
        file: &str,
        tc_id: Option<u64>,
        peer: &str,
        bad: &dyn Fn(String) -> RecheckError,
    ) -> Result<Check, RecheckError> {
        let Some(dir) = self.vectors_dir else {
            return Ok(Check::NotChecked {
                why: "the run reads no vector files (--no-vectors)".into(),
            });
        };
        if let Err(why) = self.peer(peer) {
            return Ok(why);
        }
        let mine = |r: &SuiteReport| r.suite == suite && r.file == file && r.peer == peer;
        let report = match self
            .vector_reports
            .iter()
            .find(|r| mine(r) && r.not_run.is_none())
        {
            Some(r) => r.clone(),
            None => {
                let replayed = journal::unit(EXPECTATIONS_KEY, ordinal, peer, || {
                    vectors::run_suites(
                        dir,
                        self.mls_vectors_dir,
                        self.peers,
                        &[suite.to_string()],
                        self.accept_changed_vectors,
                    )
                });
                let Some(replayed) = replayed else {
                    let signal =
                        journal::skipped(EXPECTATIONS_KEY, ordinal).map_or(0, |s| s.signal);
                    let signature = format!("{peer}/abort/vectors");
                    return Ok(Check::of(&listed.entry, &[(signature, aborted(signal))]));
                };
                let reports = replayed.map_err(|e| bad(format!("vector: {e}")))?;
                reports.into_iter().find(|r| mine(r)).ok_or_else(|| {
                    bad(format!(
                        "vector: suite {suite} replays no file {file} on {peer}"
                    ))
                })?
            }
        };
        if let Some(why) = &report.not_run {
            return Ok(Check::NotChecked {
                why: format!("{file} was not replayed on {peer}: {why}"),
            });
        }
        let shown: Vec<(String, String)> = vectors::sightings(std::slice::from_ref(&report))
            .into_iter()
            .filter(|s| match (tc_id, &s.case) {
                (
                    Some(want),
                    Reproducer::Vector {
                        tc_id: Some(got), ..
                    },
                ) => want == *got,
                _ => true,
            })
            .map(|s| (s.signature, s.detail))
            .collect();
        if let Some(tc) = tc_id {
            match report.cases.iter().find(|c| c.tc_id == tc) {
                None => return Err(bad(format!("tcId: no case {tc} in {file}"))),
                Some(c) if c.status == CaseStatus::Skip => {
                    return Ok(Check::NotChecked {
                        why: format!("tcId {tc} of {file} is skipped on {peer}: {}", c.reason),
                    })
                }
                Some(_) => {}
            }
        }
        Ok(Check::of(&listed.entry, &shown))
    }
}

/// Why an entry without a reproducer is not replayed.
pub const NO_REPRODUCER: &str = "no reproducer (an entry from before reproducers): `run` judges \
     it the old way, by its own findings; `ratchet-bench expectations migrate --from \
     REPORT.json` gives it one";

fn aborted(signal: i32) -> String {
    format!(
        "the process was ended by signal {signal} during the replay of this reproducer (an \
         abort no panic guard catches); the run was started again with it skipped"
    )
}

/// The position of each entry of `entries` in its own file.
pub fn positions(entries: &[Listed]) -> Vec<usize> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    entries
        .iter()
        .map(|l| match seen.iter_mut().find(|(f, _)| *f == l.file) {
            Some((_, n)) => {
                *n += 1;
                *n - 1
            }
            None => {
                seen.push((&l.file, 1));
                0
            }
        })
        .collect()
}

/// The peers to replay `needed` on: the bundled peers, and each other peer named there
/// started from the shims file of `shims` (a shim serving several is started once). A peer
/// that cannot be had (not built, not in the peers file, a shim that does not start) is
/// left out, with why, so that its entries are reported as not checked.
pub fn peers_for(
    needed: &[String],
    shims: &crate::peers::shim::ShimOptions,
) -> (Vec<Box<dyn Peer>>, BTreeMap<String, String>) {
    let mut peers = crate::peers::bundled();
    let mut absent = BTreeMap::new();
    let not_built = crate::peers::not_built();
    let mut wanted: Vec<String> = Vec::new();
    for name in needed {
        if peers.iter().any(|p| &p.info().name == name) || wanted.contains(name) {
            continue;
        }
        match not_built.iter().find(|(n, _)| n == name) {
            Some((_, why)) => {
                absent.insert(name.clone(), format!("{name} is not built: {why}"));
            }
            None => wanted.push(name.clone()),
        }
    }
    if wanted.is_empty() {
        return (peers, absent);
    }
    match crate::peers::select_with(&wanted, shims) {
        Ok(started) => peers.extend(started),
        Err(_) => {
            // Find which one fails, keeping the others.
            for name in &wanted {
                if peers.iter().any(|p| &p.info().name == name) {
                    continue;
                }
                match crate::peers::select_with(std::slice::from_ref(name), shims) {
                    Ok(started) => peers.extend(
                        started
                            .into_iter()
                            .filter(|p| !peers.iter().any(|q| q.info().name == p.info().name))
                            .collect::<Vec<_>>(),
                    ),
                    Err(why) => {
                        absent.insert(name.clone(), format!("{name} cannot be started: {why}"));
                    }
                }
            }
        }
    }
    (peers, absent)
}

/// Replays every unexpired entry of `set` (each alone) and returns the triage of the
/// replays: what `expectations check` prints.
pub fn check_set(
    set: &ExpectationSet,
    replayer: &Replayer,
    today: &str,
) -> Result<Triage, RecheckError> {
    let expired = set.expired_on(today);
    let positions = positions(&set.entries);
    let mut checks = Vec::new();
    for (i, listed) in set.entries.iter().enumerate() {
        checks.push(if expired[i] {
            Check::Expired
        } else {
            replayer.check(i as u64, positions[i], listed)?
        });
    }
    Ok(set.triage(&mut [], &expired, checks))
}

/// The triage of a command that judges only the entries whose reproducer is of one of
/// `kinds` (`vectors replay` the vector cases, `interop` the cells): those are replayed,
/// the others reported as not checked here, and `seen` (the command's findings) marked.
pub fn judge_kinds(
    set: &ExpectationSet,
    seen: &mut [crate::report::Seen],
    kinds: &[&str],
    replayer: &Replayer,
    today: &str,
) -> Result<Triage, RecheckError> {
    let expired = set.expired_on(today);
    let positions = positions(&set.entries);
    let mut checks = Vec::new();
    for (i, listed) in set.entries.iter().enumerate() {
        let kind = listed.entry.reproducer_kind();
        checks.push(if expired[i] {
            Check::Expired
        } else if listed.entry.reproducer.is_none() {
            Check::NotChecked {
                why: NO_REPRODUCER.into(),
            }
        } else if kinds.contains(&kind) {
            replayer.check(i as u64, positions[i], listed)?
        } else {
            Check::NotChecked {
                why: format!("a {kind} reproducer: `run` and `expectations check` replay it"),
            }
        });
    }
    Ok(set.triage(seen, &expired, checks))
}
