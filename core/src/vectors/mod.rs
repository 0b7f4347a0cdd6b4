//! Ratchet-session vector files: their format, the manifest that pins them, and their replay
//! on any peer that takes injected randomness. (The other suites, Wycheproof's, the MLS
//! working group's and libolm's known values, and the generator of our own files, live in
//! `ratchet-bench-suites`.)
//!
//! # Schema of a ratchet-session file
//!
//! A file follows Wycheproof's shape: a suite object with `algorithm` (the family),
//! `schema`, `generatorVersion`, `numberOfTests`, `notes` (flag -> description) and
//! `testGroups[]`. A group holds the shared `ad` (hex) and `maxSkip`, and `tests[]`. A test
//! holds `tcId`, `comment`, `flags`, `result` (`valid`: every delivery decrypts; `invalid`:
//! some input must be refused), and:
//!
//! - `sharedSecret`: the 32-byte secret both parties start from (hex);
//! - `randomA`, `randomB`: every byte each party drew from its RNG, in order (hex); a peer
//!   under replay draws from exactly these, so its ratchet keys are the reference's;
//! - `scenario`: the attacker schedule, in the scenario language's text form;
//! - `steps[]`: one entry per input, in order: `step` (scenario step index), `kind`,
//!   `party`, `input` (the plaintext of a send, the bytes of a delivery, hex), `outcome`
//!   (`sent`, `accepted` or `rejected`) and `output` (the wire bytes of a send, the
//!   plaintext of an accepted delivery, hex);
//! - `sentDigest`: SHA-256 over every wire message sent, the lost messages of jumps included.
//!
//! # Verification
//!
//! For each test and each peer of the file's family that takes injected randomness: build a
//! session from `sharedSecret` with scripted RNGs over `randomA` / `randomB`, run `scenario`
//! with the plaintexts of the send steps, and require every recorded input to match its step
//! (kind, party, input, outcome, output) and the digest to match; the peer must not draw
//! more randomness than the file holds. The first difference is the case's failure, with
//! expected and actual hex.

mod hex_bytes;
mod manifest;
mod replay;
mod session;

pub use hex_bytes::HexBytes;
pub use manifest::{Manifest, ManifestSuite, SuiteFile};
pub use replay::{replay_file, CaseResult, CaseStatus, ExpectedResults, SuiteReport};
pub use session::{SessionFile, SessionGroup, SessionStep, SessionTest, SESSION_SCHEMA};

use crate::peer::Peer;
use crate::report::{FindingKind, Seen};
use std::path::{Path, PathBuf};

/// A vector file or manifest that cannot be used. Each names the file and, where there is
/// one, the case and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A field does not parse.
    #[error("{path}: {case}field {field}: {reason}")]
    Field {
        /// The file.
        path: PathBuf,
        /// `tcId N, ` when the field is inside a test.
        case: String,
        /// The field's JSON path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The file's hash is not the one the manifest pins.
    #[error("{path}: sha256 is {actual}, the manifest pins {pinned}; pass --accept-changed-vectors to use it anyway")]
    Hash {
        /// The file.
        path: PathBuf,
        /// The pinned hash.
        pinned: String,
        /// The file's hash.
        actual: String,
    },
    /// A generator output would overwrite a file.
    #[error("{path}: already exists; the generator never overwrites, move it away first")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Parses JSON `text` from `path` into `T`, naming the failing field's path and, when it
/// lies inside `testGroups[g].tests[t]`, that test's tcId.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    text: &str,
) -> Result<T, VectorError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let reason = e.inner().to_string();
        VectorError::Field {
            path: path.to_path_buf(),
            case: tc_id_at(text, &field).map_or_else(String::new, |id| format!("tcId {id}, ")),
            field,
            reason,
        }
    })
}

/// The tcId of the test at `field` (`testGroups[g].tests[t]...`), if the text still parses
/// as JSON.
fn tc_id_at(text: &str, field: &str) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut parts = field.split('.');
    let group = index_of(parts.next()?, "testGroups")?;
    let test = index_of(parts.next()?, "tests")?;
    value["testGroups"][group]["tests"][test]["tcId"].as_u64()
}

fn index_of(part: &str, name: &str) -> Option<usize> {
    part.strip_prefix(name)?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The report of a vector file skipped on `peer` because the peer aborted the process on it
/// in an earlier run (see [`crate::journal`]); the abort itself is a finding of its own.
pub fn aborted(suite: &str, file: &str, peer: &str) -> SuiteReport {
    SuiteReport::not_run(
        suite,
        file,
        peer,
        "not run: the peer ended the process on this file in an earlier run (an abort), \
         reported as its abort finding"
            .into(),
    )
}

/// The loader name of ratchet-session suites in MANIFEST.json.
pub const SESSION_LOADER: &str = "ratchet-session";

/// Replays the files of `suite` (a [`SESSION_LOADER`] suite of the manifest in `dir`) on every
/// peer of its family in `peers` that takes injected randomness. A missing file makes it
/// "not run" on each with the command that writes it; a bad file or a changed hash is an
/// error.
pub fn run_session_suite(
    dir: &Path,
    suite: &ManifestSuite,
    peers: &[Box<dyn Peer>],
    accept_changed: bool,
) -> Result<Vec<SuiteReport>, VectorError> {
    let peers: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    run_session_suite_refs(dir, suite, &peers, accept_changed)
}

/// [`run_session_suite`] on borrowed peers (a gate borrows the peers it checks).
pub fn run_session_suite_refs(
    dir: &Path,
    suite: &ManifestSuite,
    peers: &[&dyn Peer],
    accept_changed: bool,
) -> Result<Vec<SuiteReport>, VectorError> {
    let mut reports = Vec::new();
    let runners: Vec<&dyn Peer> = peers
        .iter()
        .copied()
        .filter(|p| {
            let info = p.info();
            info.family.name() == suite.family && info.capabilities.injectable_rng
        })
        .collect();
    if runners.is_empty() {
        // Peers of the family were selected, none can replay recorded randomness: say so.
        let of_family: Vec<String> = peers
            .iter()
            .map(|p| p.info())
            .filter(|i| i.family.name() == suite.family)
            .map(|i| i.name)
            .collect();
        if !of_family.is_empty() {
            for file in &suite.files {
                reports.push(SuiteReport::not_run(
                    &suite.name,
                    &file.path,
                    &of_family.join("+"),
                    "these vectors replay only on peers that take injected randomness, and none of the selected peers of the family does".into(),
                ));
            }
        }
    }
    for file in &suite.files {
        let path = dir.join(&file.path);
        if !path.exists() {
            for p in &runners {
                reports.push(SuiteReport::not_run(
                        &suite.name,
                        &file.path,
                        &p.info().name,
                        format!(
                            "{} is missing; `ratchet-bench vectors generate` writes it as -new.json to review",
                            path.display()
                        ),
                    ));
            }
            continue;
        }
        let (path, text) = file.read(dir, accept_changed)?;
        let key = format!("vectors/{}", file.path);
        for (i, p) in runners.iter().enumerate() {
            let name = p.info().name;
            let replayed = crate::journal::unit(&key, i as u64, &name, || {
                replay_file(&path, &file.path, &suite.name, &text, *p)
            });
            reports.push(match replayed {
                Some(report) => report?,
                None => aborted(&suite.name, &file.path, &name),
            });
        }
    }
    Ok(reports)
}

/// Each failed vector case as a finding, `peer/vector-failed/suite/tcN`, so that a known
/// deviation of an implementation is listed in the expectations file with its reason like
/// any other, and every other failure fails the run. `reproducer` gives the command that
/// replays a suite.
pub fn sightings(
    reports: &[SuiteReport],
    reproducer: &dyn Fn(&SuiteReport) -> String,
) -> Vec<Seen> {
    reports
        .iter()
        .flat_map(|r| {
            r.cases
                .iter()
                .filter(|c| c.status == CaseStatus::Fail)
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
                    reproducer: reproducer(r),
                    case: crate::report::Reproducer::Vector {
                        suite: r.suite.clone(),
                        file: r.file.clone(),
                        tc_id: Some(c.tc_id),
                        peer: r.peer.clone(),
                    },
                    expected: None,
                    listed_in: None,
                })
        })
        .collect()
}
