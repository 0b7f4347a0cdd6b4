//! Every vector suite the bench replays: the ratchet-session files (the core's), Wycheproof's
//! and the MLS working group's suites and the generator (`ratchet-bench-suites`), and
//! libolm's known values, which need the adapters (`ratchet-bench-peers`).

pub use ratchet_bench_peers::libolm_known;
pub use ratchet_bench_suites::*;

use ratchet_bench_core::peer::Peer;
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
    for suite in manifest
        .suites
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
    {
        if let Some(done) = run_suite(dir, mls_dir, suite, peers, accept_changed)? {
            reports.extend(done);
            continue;
        }
        if suite.loader == libolm_known::LOADER {
            for file in &suite.files {
                reports.extend(libolm_known::run_pinned(
                    dir,
                    suite,
                    file,
                    peers,
                    accept_changed,
                )?);
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
