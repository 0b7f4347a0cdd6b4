//! `compare`: two releases (or two builds) of one implementation on the same seeded
//! campaign, and every behaviour that changed between them, grouped by signature, each with a
//! shrunk reproducer.
//!
//! A behaviour is what a peer did with one input of a scenario ([`behaviour`]): sent,
//! accepted (the plaintext sent, or another), rejected with its class, panicked, hung,
//! skipped; and whether the session could be set up. For each drawn scenario the judge
//! ([`changes`]) lines the two transcripts up input by input and reports the first input where
//! they differ: from there on the two parties' states differ, so later differences follow
//! from it and would only repeat it. The finding's signature is
//! `BEFORE+AFTER/changed/<step or cause>/<behaviour before>-><behaviour after>`, so that one
//! signature is one change (a ratchet key of low order that 0.9 refuses for its MAC and 0.10
//! as malformed: `.../changed/ratchet-key/low-order/rejected:auth->rejected:malformed`).
//!
//! A peer that draws its keys from the OS (vodozemac) can answer some changed inputs
//! differently from one run to the next; a change counts only when its reproducer shows it
//! again on every one of [`CONFIRMATIONS`] runs, the others are listed apart as unstable.
//!
//! The campaign, the executor and the shrinking are the run's ([`campaign::run_judged`],
//! [`shrink::shorten_with`]), with this judge in place of the oracle's; each change's
//! reproducer is a scenario `replay` runs on both peers.

use crate::campaign::{self, CampaignResult};
use crate::peer::{Family, Peer};
use crate::report::check::by_position;
use crate::report::{Finding, FindingKind, Seen};
use crate::scenario::{Outcome, Record, Transcript};
use crate::shrink;

/// Why two peers cannot be compared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    /// The peers speak different families: their behaviours do not line up.
    #[error(
        "compare takes two peers of one family: {before} speaks {before_family}, {after} speaks \
         {after_family}"
    )]
    Families {
        /// The first peer.
        before: String,
        /// Its family.
        before_family: Family,
        /// The second peer.
        after: String,
        /// Its family.
        after_family: Family,
    },
}

/// What a peer did with one input, as `compare` tells behaviours apart.
pub fn behaviour(r: &Record) -> String {
    match &r.outcome {
        Outcome::Accepted(plaintext) => match &r.expected {
            Some(sent) if sent != plaintext => "accepted-other-plaintext".into(),
            _ => "accepted".into(),
        },
        other => other.label(),
    }
}

/// The text of an outcome for a change's detail: the behaviour, and the peer's own words for
/// a refusal.
fn told(r: Option<&Record>) -> String {
    match r {
        None => "recorded no such input".into(),
        Some(r) => match &r.outcome {
            Outcome::Rejected(e) => format!("{} ({})", behaviour(r), e.detail),
            Outcome::Panicked(text) => format!("panic ({text})"),
            _ => behaviour(r),
        },
    }
}

/// The first behaviour that differs between the two transcripts of one scenario (the first
/// peer's, then the second's), as a [`FindingKind::Changed`] finding; none when they did the
/// same with every input. Takes exactly two transcripts; any other number gives nothing.
pub fn changes(transcripts: &[Transcript]) -> Vec<Finding> {
    let [a, b] = transcripts else {
        return Vec::new();
    };
    let peers = vec![a.peer.name.clone(), b.peer.name.clone()];
    let setup = |t: &Transcript| t.setup_failure.as_ref().map(Outcome::label);
    if setup(a) != setup(b) {
        let label = |t: &Transcript| {
            setup(t).map_or_else(|| "set-up".to_string(), |l| format!("setup-failed:{l}"))
        };
        let (la, lb) = (label(a), label(b));
        return vec![Finding::new(
            FindingKind::Changed,
            peers.clone(),
            0,
            "setup",
            Some(&format!("{la}->{lb}")),
            format!("session set-up: {} {la}, {} {lb}", peers[0], peers[1]),
        )];
    }
    let (pa, pb) = (by_position(a), by_position(b));
    // A changed bundle applies at set-up, before every other step wherever it stands: its
    // records come first, so that a bundle one release refuses is the change, not the first
    // send the other then makes.
    let is_bundle = |k: &(usize, usize)| {
        pa.get(k)
            .or_else(|| pb.get(k))
            .is_some_and(|r| r.kind == "bundle")
    };
    let mut keys: Vec<_> = pa.keys().chain(pb.keys()).copied().collect();
    keys.sort_unstable_by_key(|k| (!is_bundle(k), *k));
    keys.dedup();
    keys.into_iter()
        .find_map(|key| {
            let (ra, rb) = (pa.get(&key).copied(), pb.get(&key).copied());
            let name = |r: Option<&Record>| r.map_or_else(|| "absent".to_string(), behaviour);
            let (ba, bb) = (name(ra), name(rb));
            if ba == bb {
                return None;
            }
            let at = ra.or(rb)?;
            Some(Finding::new(
                FindingKind::Changed,
                peers.clone(),
                at.step,
                at.what(),
                Some(&format!("{ba}->{bb}")),
                format!(
                    "step {} ({}): {} {}, {} {}",
                    at.step,
                    at.what(),
                    peers[0],
                    told(ra),
                    peers[1],
                    told(rb)
                ),
            ))
        })
        .into_iter()
        .collect()
}

/// What the campaign part of a comparison found.
#[derive(Clone, Debug)]
pub struct CampaignChanges {
    /// Drawn scenarios run on both peers.
    pub scenarios: u64,
    /// Every change that its reproducer showed again on every one of [`CONFIRMATIONS`]
    /// replays, by signature, with its shrunk reproducer and how many scenarios showed it.
    pub changes: Vec<Seen>,
    /// Changes whose reproducer did not show them on every replay: the peers' behaviour there
    /// depends on randomness the bench does not hand them (their keys and nonces from the
    /// OS), so one run of either may differ from the next. Reported, not counted.
    pub unstable: Vec<Seen>,
}

/// How many times a change's reproducer is run again before it counts: a peer that draws its
/// keys from the OS can answer a changed input differently from one run to the next (bytes
/// appended to a message parse differently after another random MAC), and such a difference
/// is not a change between releases.
pub const CONFIRMATIONS: usize = 8;

/// Whether `seen`'s reproducer shows its signature on every one of `rounds` runs.
fn confirmed(peers: &[&dyn Peer], seen: &Seen, rounds: usize) -> bool {
    let Ok(scenario) = seen.scenario.parse::<crate::scenario::Scenario>() else {
        return false;
    };
    (0..rounds).all(|_| {
        campaign::check_scenario_with(peers, &scenario, seen.seed, &changes)
            .1
            .iter()
            .any(|f| f.signature == seen.signature)
    })
}

/// Runs `count` scenarios drawn under `seed` on `before` and `after` (peers of one family),
/// and returns every behaviour that changed, each reproducer shrunk within `budget` runs.
pub fn campaign(
    before: &dyn Peer,
    after: &dyn Peer,
    seed: u64,
    count: u64,
    workers: usize,
    budget: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<CampaignChanges, CompareError> {
    let (ia, ib) = (before.info(), after.info());
    if ia.family != ib.family {
        return Err(CompareError::Families {
            before: ia.name,
            before_family: ia.family,
            after: ib.name,
            after_family: ib.family,
        });
    }
    let peers = [before, after];
    let result: CampaignResult =
        campaign::run_judged(&peers, seed, count, workers, progress, &changes);
    let mut seen = result.sightings();
    for s in &mut seen {
        shrink::shorten_with(&peers, s, budget, &changes);
    }
    let (changes, unstable) = seen
        .into_iter()
        .partition(|s| confirmed(&peers, s, CONFIRMATIONS));
    Ok(CampaignChanges {
        scenarios: result.scenarios,
        changes,
        unstable,
    })
}
