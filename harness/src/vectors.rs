//! Every vector suite the bench replays: the ratchet-session files (the core's), Wycheproof's
//! and the MLS working group's suites and the generator (`ratchet-bench-suites`), and
//! libolm's known values, which need the adapters (`ratchet-bench-peers`).

pub use ratchet_bench_peers::libolm_known;
pub use ratchet_bench_suites::*;

use ratchet_bench_core::journal::Skip;
use ratchet_bench_core::peer::Peer;
use ratchet_bench_core::report::{peer_arg, FindingKind, Reproducer, Seen};
use ratchet_bench_core::shard::Shard;
use std::path::Path;

/// Replays every suite of the manifest in `dir` (or only `only`, by name): a
/// `ratchet-session` suite on every peer of its family that takes injected randomness, a
/// `wycheproof` suite on every primitive backend, an MLS suite on the reference, reading
/// its files from `mls_dir`, a `libolm-known` suite on every peer of its family that can take
/// its cases. A missing file makes its suite "not run" with the command that gets it; a bad
/// file, a changed hash or an unknown loader is an error.
pub fn run_suites(
    dir: &Path,
    mls_dir: Option<&Path>,
    peers: &[Box<dyn Peer>],
    only: &[String],
    accept_changed: bool,
) -> Result<Vec<SuiteReport>, VectorError> {
    Ok(
        run_suites_sharded(dir, mls_dir, peers, only, accept_changed, Shard::WHOLE)?
            .into_iter()
            .map(|(_, r)| r)
            .collect(),
    )
}

/// [`run_suites`], only the suites `shard` takes (a suite's ordinal is its position among
/// the suites asked for), each report with its suite's ordinal.
pub fn run_suites_sharded(
    dir: &Path,
    mls_dir: Option<&Path>,
    peers: &[Box<dyn Peer>],
    only: &[String],
    accept_changed: bool,
    shard: Shard,
) -> Result<Vec<(u64, SuiteReport)>, VectorError> {
    let manifest = Manifest::load(&dir.join("MANIFEST.json"))?;
    if let Some(unknown) = only
        .iter()
        .find(|o| !manifest.suites.iter().any(|s| &s.name == *o))
    {
        let known: Vec<&str> = manifest.suites.iter().map(|s| s.name.as_str()).collect();
        return Err(VectorError::Field {
            path: dir.join("MANIFEST.json"),
            case: String::new(),
            field: "suites".into(),
            reason: format!(
                "no suite named {unknown:?}; expected one of {}",
                known.join(", ")
            ),
        });
    }
    let mut reports = Vec::new();
    for (ordinal, suite) in manifest
        .suites
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .enumerate()
    {
        let ordinal = ordinal as u64;
        if !shard.takes(ordinal) {
            continue;
        }
        if let Some(done) = run_suite(dir, mls_dir, suite, peers, accept_changed)? {
            reports.extend(done.into_iter().map(|r| (ordinal, r)));
            continue;
        }
        if suite.loader == libolm_known::LOADER {
            for file in &suite.files {
                reports.extend(
                    libolm_known::run_pinned(dir, suite, file, peers, accept_changed)?
                        .into_iter()
                        .map(|r| (ordinal, r)),
                );
            }
            continue;
        }
        return Err(VectorError::Field {
            path: dir.join("MANIFEST.json"),
            case: String::new(),
            field: format!("suites[{}].loader", suite.name),
            reason: format!(
                "expected ratchet-session, wycheproof, libolm-known or an mls-* loader (tree-math, secret-tree, crypto-basics, key-schedule, message-protection), got {:?}",
                suite.loader
            ),
        });
    }
    Ok(reports)
}

/// Each failed vector case as a finding (the core's [`ratchet_bench_core::vectors::sightings`]),
/// reproduced by the CLI command that replays its suite on its peer.
pub fn sightings(reports: &[SuiteReport]) -> Vec<Seen> {
    ratchet_bench_core::vectors::sightings(reports, &|r| {
        format!(
            "ratchet-bench vectors replay --suite {}{}",
            r.suite,
            peer_arg(&r.peer)
        )
    })
}

/// The finding of a peer that ended the process while it replayed a vector file
/// (`peer/abort/vectors`): what the supervisor's `skip` says, and the file to replay.
pub fn abort_sighting(skip: &Skip, suite: &str, seed: u64) -> Seen {
    let mut finding = skip.finding();
    finding.signature = format!("{}/{}/vectors", skip.peer, FindingKind::Abort.name());
    let mut seen = Seen::first(&finding, String::new(), seed);
    let file = skip
        .family
        .strip_prefix("vectors/")
        .unwrap_or(&skip.family)
        .to_string();
    seen.case = Reproducer::Vector {
        suite: suite.to_string(),
        file,
        tc_id: None,
        peer: skip.peer.clone(),
    };
    seen.reproducer = format!(
        "ratchet-bench vectors replay --suite {suite}{}",
        peer_arg(&skip.peer)
    );
    seen
}
