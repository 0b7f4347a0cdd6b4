//! The seeded differential campaign: scenarios drawn from one seed, each run on every peer,
//! every transcript checked against the oracle and against the other peers.
//!
//! Memory stays flat with the number of scenarios: a scenario's transcripts are dropped once
//! checked, and only one [`Seen`] per signature and the outcome counts are kept.

use crate::journal;
use crate::peer::{Family, Peer};
use crate::report::{conformance, divergence, Finding, Seen};
use crate::rng;
use crate::scenario::{execute, Outcome, Scenario, Setup, Transcript};
use crate::shard::Shard;
use arbitrary::{Arbitrary, Unstructured};
use rand_core::RngCore;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Bytes drawn per scenario; with the event weights this gives scenarios of up to
/// [`crate::scenario::event::MAX_EVENTS`] steps.
const SCENARIO_BYTES: usize = 384;

/// The bytes scenario `index` of the campaign under `seed` is drawn from; as a fuzz input
/// they decode to the same scenario.
pub fn scenario_bytes(seed: u64, index: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; SCENARIO_BYTES];
    rng::stream(seed, &format!("scenario {index}")).fill_bytes(&mut bytes);
    bytes
}

/// Scenario `index` of the campaign under `seed`, and the seed of its session.
pub fn scenario_for(seed: u64, index: u64) -> (Scenario, u64) {
    let bytes = scenario_bytes(seed, index);
    let scenario = Scenario::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap_or_default();
    let session = rng::stream(seed, &format!("session {index}")).next_u64();
    (scenario, session)
}

/// What a scenario's transcripts (one per peer, in the peers' order) are checked for: a
/// run's checks ([`standard`]), or `compare`'s ([`crate::compare::changes`]).
pub type Judge = dyn Fn(&[Transcript]) -> Vec<Finding> + Sync;

/// A run's checks: every transcript against the oracle, and the peers against each other.
pub fn standard(transcripts: &[Transcript]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = transcripts.iter().flat_map(conformance).collect();
    findings.extend(divergence(transcripts));
    findings
}

/// Runs `scenario` under `session_seed` on every peer and checks the transcripts.
pub fn check_scenario(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    session_seed: u64,
) -> (Vec<Transcript>, Vec<Finding>) {
    check_scenario_with(peers, scenario, session_seed, &standard)
}

/// [`check_scenario`] with other checks than a run's.
pub fn check_scenario_with(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    session_seed: u64,
    judge: &Judge,
) -> (Vec<Transcript>, Vec<Finding>) {
    let (ts, findings, _) = check_scenario_told(peers, scenario, session_seed, &|_| (), judge);
    (ts, findings)
}

/// [`check_scenario`] as unit `index` of `key` in the supervisor's journal (see
/// [`journal::unit`]), each peer's turn written down, so that a peer that aborts the
/// process is named; `None` when the supervisor asked to skip the unit (it aborted before).
pub fn check_scenario_journaled(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    session_seed: u64,
    key: &str,
    index: u64,
) -> Option<(Vec<Transcript>, Vec<Finding>)> {
    let first = peers.first().map_or_else(String::new, |p| p.info().name);
    journal::unit(key, index, &first, || {
        let (ts, findings, _) = check_scenario_told(
            peers,
            scenario,
            session_seed,
            &|peer| {
                journal::peer_turn(key, index, &peer.info().name);
            },
            &standard,
        );
        (ts, findings)
    })
}

/// [`check_scenario`], calling `turn` with each peer before its turn (the campaign writes
/// the supervisor's journal there), and how long each peer's turn took.
fn check_scenario_told(
    peers: &[&dyn Peer],
    scenario: &Scenario,
    session_seed: u64,
    turn: &dyn Fn(&dyn Peer),
    judge: &Judge,
) -> (Vec<Transcript>, Vec<Finding>, Vec<Duration>) {
    let mut took = Vec::with_capacity(peers.len());
    let transcripts: Vec<Transcript> = peers
        .iter()
        .map(|p| {
            turn(*p);
            let started = Instant::now();
            let t = execute(*p, scenario, Setup::seeded(session_seed));
            took.push(started.elapsed());
            t
        })
        .collect();
    let findings = judge(&transcripts);
    (transcripts, findings, took)
}

/// What one peer cost a campaign: measured, never part of a report (a report is a function of
/// the seed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerTime {
    /// Scenarios it ran.
    pub scenarios: u64,
    /// The time the campaign's workers spent running them, summed over the workers (the
    /// wall time it added is about this divided by the number of workers).
    pub busy: Duration,
}

/// What a campaign saw.
#[derive(Clone, Debug, Default)]
pub struct CampaignResult {
    /// Scenarios run.
    pub scenarios: u64,
    /// Every signature seen, with its first (lowest-numbered) scenario.
    pub seen: BTreeMap<String, (u64, Seen)>,
    /// Per peer, how many inputs ended in each outcome.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per peer, how many scenarios it took part in (pinned ones included).
    pub ran: BTreeMap<String, u64>,
    /// Per family and mutation operator: how often it applied, how often it could not and
    /// why, and the signatures found at its steps.
    pub operators: BTreeMap<String, BTreeMap<String, OperatorUse>>,
    /// Per peer, what its scenarios cost ([`PeerTime`]).
    pub time: BTreeMap<String, PeerTime>,
}

/// How one mutation operator fared on one family's peers over a campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OperatorUse {
    /// Inputs made with it (one per peer and step).
    pub applied: u64,
    /// Steps where it did not apply.
    pub skipped: u64,
    /// Why it did not apply, each reason once (the first few).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub skip_reasons: BTreeSet<String>,
    /// Finding signatures at its steps.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub findings: BTreeSet<String>,
}

impl OperatorUse {
    /// Adds `other`'s uses (another part of the same campaign).
    pub fn add(&mut self, other: &OperatorUse) {
        self.applied += other.applied;
        self.skipped += other.skipped;
        for why in &other.skip_reasons {
            keep_reason(&mut self.skip_reasons, why);
        }
        self.findings.extend(other.findings.iter().cloned());
    }
}

/// Distinct skip reasons kept per operator and family.
const SKIP_REASONS: usize = 4;

/// Adds `why` to `reasons`, keeping the first [`SKIP_REASONS`] in text order: which reasons
/// are kept does not depend on the order scenarios ran in (workers, shards).
fn keep_reason(reasons: &mut BTreeSet<String>, why: &str) {
    if reasons.len() < SKIP_REASONS || reasons.last().is_some_and(|last| why < last.as_str()) {
        reasons.insert(why.to_string());
        while reasons.len() > SKIP_REASONS {
            reasons.pop_last();
        }
    }
}

impl CampaignResult {
    fn absorb(
        &mut self,
        index: u64,
        scenario: &Scenario,
        seed: u64,
        ts: &[Transcript],
        findings: &[Finding],
    ) {
        self.scenarios += 1;
        for t in ts {
            let family = self
                .operators
                .entry(t.peer.family.name().to_string())
                .or_default();
            for r in &t.records {
                let Some(op) = r.op else { continue };
                let used = family.entry(op.to_string()).or_default();
                match &r.outcome {
                    Outcome::Skipped(why) => {
                        used.skipped += 1;
                        keep_reason(&mut used.skip_reasons, why);
                    }
                    _ => used.applied += 1,
                }
            }
            for f in findings.iter().filter(|f| f.peers.contains(&t.peer.name)) {
                let at = t
                    .records
                    .iter()
                    .find(|r| r.step == f.step && r.op.is_some());
                if let Some(op) = at.and_then(|r| r.op) {
                    family
                        .entry(op.to_string())
                        .or_default()
                        .findings
                        .insert(f.signature.clone());
                }
            }
        }
        for t in ts {
            let counts = self.outcomes.entry(t.peer.name.clone()).or_default();
            for r in &t.records {
                let kind = r.outcome.kind();
                match counts.get_mut(kind) {
                    Some(n) => *n += 1,
                    None => {
                        counts.insert(kind.into(), 1);
                    }
                }
            }
            if t.setup_failure.is_some() {
                *counts.entry("setup-failed".into()).or_default() += 1;
            }
        }
        let mut once = BTreeSet::new();
        for f in findings {
            if !once.insert(f.signature.clone()) {
                continue;
            }
            match self.seen.get_mut(&f.signature) {
                Some((_, s)) => s.count += 1,
                None => {
                    let text = scenario.prefix(f.step).to_string();
                    self.seen
                        .insert(f.signature.clone(), (index, Seen::first(f, text, seed)));
                }
            }
        }
    }

    /// Adds the time of each peer's turn in one scenario.
    fn timed(&mut self, ts: &[Transcript], took: &[Duration]) {
        for (t, d) in ts.iter().zip(took) {
            let time = self.time.entry(t.peer.name.clone()).or_default();
            time.scenarios += 1;
            time.busy += *d;
        }
    }

    /// Adds the counts and sightings of `other` (a campaign of other peers, or another part).
    pub fn merge(&mut self, other: CampaignResult) {
        self.scenarios += other.scenarios;
        for (peer, n) in other.ran {
            *self.ran.entry(peer).or_default() += n;
        }
        for (family, ops) in other.operators {
            let mine = self.operators.entry(family).or_default();
            for (op, used) in ops {
                mine.entry(op).or_default().add(&used);
            }
        }
        for (peer, t) in other.time {
            let mine = self.time.entry(peer).or_default();
            mine.scenarios += t.scenarios;
            mine.busy += t.busy;
        }
        for (peer, counts) in other.outcomes {
            let mine = self.outcomes.entry(peer).or_default();
            for (label, n) in counts {
                *mine.entry(label).or_default() += n;
            }
        }
        for (sig, (index, seen)) in other.seen {
            match self.seen.get_mut(&sig) {
                Some((mine_index, mine)) => {
                    let count = mine.count + seen.count;
                    if index < *mine_index {
                        *mine_index = index;
                        *mine = seen;
                    }
                    mine.count = count;
                }
                None => {
                    self.seen.insert(sig, (index, seen));
                }
            }
        }
    }

    /// The sightings in signature order.
    pub fn sightings(&self) -> Vec<Seen> {
        self.seen.values().map(|(_, s)| s.clone()).collect()
    }
}

/// Runs the `pinned` scenarios, then `count` scenarios drawn under `seed`, on `peers`, on
/// `workers` threads. The result does not depend on the number of workers; pinned scenarios
/// come first, so their (short) reproducers are the ones reported. `progress` is called once
/// per finished scenario.
pub fn run(
    peers: &[Box<dyn Peer>],
    pinned: &[(Scenario, u64)],
    seed: u64,
    count: u64,
    workers: usize,
    progress: &(dyn Fn() + Sync),
) -> CampaignResult {
    let peers: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    run_refs(
        &peers,
        pinned,
        true,
        seed,
        0..count,
        Shard::WHOLE,
        workers,
        progress,
        &standard,
    )
}

/// [`run`] on borrowed peers with other checks than a run's (`compare`'s): the same drawn
/// scenarios, workers and journal, each scenario's transcripts handed to `judge`.
pub fn run_judged(
    peers: &[&dyn Peer],
    seed: u64,
    count: u64,
    workers: usize,
    progress: &(dyn Fn() + Sync),
    judge: &Judge,
) -> CampaignResult {
    run_refs(
        peers,
        &[],
        true,
        seed,
        0..count,
        Shard::WHOLE,
        workers,
        progress,
        judge,
    )
}

/// Runs the `pinned` scenarios (if `with_pinned`), then the drawn scenarios numbered
/// `drawn` under `seed`. Indices (which decide the reported reproducer when a signature shows
/// several times) count the pinned ones first, then drawn scenario `i` as
/// `pinned.len() + i`, whichever part a call covers, so split parts merge as one run; of
/// those, only the ones `shard` takes run.
#[allow(clippy::too_many_arguments)]
fn run_refs(
    peers: &[&dyn Peer],
    pinned: &[(Scenario, u64)],
    with_pinned: bool,
    seed: u64,
    drawn: std::ops::Range<u64>,
    shard: Shard,
    workers: usize,
    progress: &(dyn Fn() + Sync),
    judge: &Judge,
) -> CampaignResult {
    let workers = if journal::one_thread() {
        1
    } else {
        workers.max(1)
    };
    let family = peers
        .first()
        .map_or_else(String::new, |p| p.info().family.name().to_string());
    let family = family.as_str();
    let first_drawn = pinned.len() as u64;
    let pinned_jobs = if with_pinned { 0..first_drawn } else { 0..0 };
    let jobs: Vec<u64> = pinned_jobs
        .chain(first_drawn + drawn.start..first_drawn + drawn.end)
        .filter(|&index| shard.takes(index))
        .collect();
    let jobs = &jobs;
    let parts: Vec<CampaignResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    let mut part = CampaignResult::default();
                    for &index in jobs.iter().skip(w).step_by(workers) {
                        let (scenario, session) = match pinned.get(index as usize) {
                            Some((s, session)) => (s.clone(), *session),
                            None => scenario_for(seed, index - first_drawn),
                        };
                        if let Some(skip) = journal::skipped(family, index) {
                            part.absorb(index, &scenario, session, &[], &[skip.finding()]);
                            progress();
                            continue;
                        }
                        let journaled = journal::active();
                        if journaled {
                            journal::started(family, index);
                        }
                        let (ts, findings, took) = check_scenario_told(
                            peers,
                            &scenario,
                            session,
                            &|peer| {
                                if journaled {
                                    journal::peer_turn(family, index, &peer.info().name);
                                }
                            },
                            judge,
                        );
                        if journaled {
                            journal::ended(family, index);
                        }
                        part.absorb(index, &scenario, session, &ts, &findings);
                        part.timed(&ts, &took);
                        progress();
                    }
                    part
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut result = CampaignResult::default();
    for part in parts {
        result.merge(part);
    }
    for p in peers {
        *result.ran.entry(p.info().name).or_default() += jobs.len() as u64;
    }
    result
}

/// How many drawn scenarios a family's campaign runs when asked for `count`: all of them
/// when an in-process peer takes part, else (shims only) the `sample` the shims take.
pub fn drawn(count: u64, sample: u64, any_in_process: bool) -> u64 {
    if any_in_process {
        count
    } else {
        count.min(sample)
    }
}

/// Runs a campaign per family: the peers of each family in `peers` get the `pinned`
/// scenarios, then `count(family)` drawn ones. Peers of different families are never
/// compared with each other, so splitting changes no finding; it lets a costly family (a
/// group set-up per MLS scenario, thousands of signed Megolm messages per jump) run fewer
/// scenarios than the cheap ones.
///
/// Peers out of process ([`Peer::out_of_process`]: shims) take part in the pinned scenarios
/// and the first `sample` drawn ones only, beside the in-process peers of their family (so
/// they are compared on the same inputs); the in-process peers run the rest alone.
///
/// Only the scenarios `shard` takes run ([`Shard`]); the shards' results merge
/// ([`CampaignResult::merge`]) into the whole campaign's.
#[allow(clippy::too_many_arguments)]
pub fn run_by_family(
    peers: &[Box<dyn Peer>],
    pinned: &[(Scenario, u64)],
    seed: u64,
    count: &dyn Fn(Family) -> u64,
    sample: u64,
    shard: Shard,
    workers: usize,
    progress: &(dyn Fn() + Sync),
) -> CampaignResult {
    let peers: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    run_by_family_refs(
        &peers, pinned, seed, count, sample, shard, workers, progress,
    )
}

/// [`run_by_family`] on borrowed peers (a gate borrows the peers it checks). Families come
/// in report order, built-in and declared alike.
#[allow(clippy::too_many_arguments)]
pub fn run_by_family_refs(
    peers: &[&dyn Peer],
    pinned: &[(Scenario, u64)],
    seed: u64,
    count: &dyn Fn(Family) -> u64,
    sample: u64,
    shard: Shard,
    workers: usize,
    progress: &(dyn Fn() + Sync),
) -> CampaignResult {
    let mut result = CampaignResult::default();
    for family in Family::present(peers.iter().map(|p| p.info().family)) {
        let group: Vec<&dyn Peer> = peers
            .iter()
            .copied()
            .filter(|p| p.info().family == family)
            .collect();
        let count = count(family);
        let local: Vec<&dyn Peer> = group
            .iter()
            .copied()
            .filter(|p| !p.out_of_process())
            .collect();
        if local.len() == group.len() || sample >= count {
            result.merge(run_refs(
                &group,
                pinned,
                true,
                seed,
                0..count,
                shard,
                workers,
                progress,
                &standard,
            ));
        } else {
            result.merge(run_refs(
                &group,
                pinned,
                true,
                seed,
                0..sample,
                shard,
                workers,
                progress,
                &standard,
            ));
            if !local.is_empty() {
                result.merge(run_refs(
                    &local,
                    pinned,
                    false,
                    seed,
                    sample..count,
                    shard,
                    workers,
                    progress,
                    &standard,
                ));
            }
        }
    }
    result
}

/// Reads pinned scenarios: one per line, the session seed then the scenario text; blank
/// lines and `#` comments are skipped. Errors name the line.
pub fn parse_pinned(text: &str) -> Result<Vec<(Scenario, u64)>, String> {
    parse_seeded(text, "a scenario")
}

/// Reads lines of a seed then a `T` in its text form (`what` names it in errors): blank lines
/// and `#` comments are skipped, errors name the line. The pinned scenarios and the pinned
/// group schedules are both written so.
pub fn parse_seeded<T>(text: &str, what: &str) -> Result<Vec<(T, u64)>, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, line)| {
            let (seed, rest) = line
                .trim()
                .split_once(char::is_whitespace)
                .ok_or_else(|| format!("line {}: expected a seed and {what}", i + 1))?;
            let seed: u64 = seed
                .parse()
                .map_err(|_| format!("line {}: expected a seed, got {seed:?}", i + 1))?;
            let parsed: T = rest.parse().map_err(|e| format!("line {}: {e}", i + 1))?;
            Ok((parsed, seed))
        })
        .collect()
}
