//! Vector files: our own ratchet-session vectors, their generator and their replay; the
//! published Wycheproof primitive suites ([`wycheproof`]); and the MLS working group's
//! tree-math and secret-tree vectors ([`mls`]), read from a folder outside the repository.
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
//! - `sentDigest`: SHA-256 over every wire message sent, the lost messages of jumps included,
//!   each in its family's comparison form where the family has one (signal-v3: a pre-key
//!   message without its registration id and with its fields in number order, the parts no
//!   key covers and genuine senders write differently).
//!
//! # Verification
//!
//! For each test and each peer of the file's family that takes injected randomness: build a
//! session from `sharedSecret` with scripted RNGs over `randomA` / `randomB`, run `scenario`
//! with the plaintexts of the send steps, and require every recorded input to match its step
//! (kind, party, input, outcome, output; a sent message in its family's comparison form) and
//! the digest to match; the peer must not draw
//! more randomness than the file holds. The first difference is the case's failure, with
//! expected and actual hex. A case that changes the bytes of a message the peer wrote in
//! another encoding than the file's (a tamper at a byte offset of an oldmemo pre-key message,
//! which has no registration id) gives the peer another input: it is skipped from there, with
//! the reason.

pub mod fetch;
mod generate;
pub mod mls;
mod mls_crypto_basics;
mod mls_key_schedule;
mod mls_message_protection;
pub mod primitives;
pub mod wycheproof;

pub use generate::{generate, generated_families};
pub use ratchet_bench_core::vectors::*;

/// Replays `suite` of the manifest in `dir` if it is one of this crate's loaders: a
/// ratchet-session suite on every peer of its family in `peers` that takes injected
/// randomness, a `wycheproof` suite on every primitive backend, an MLS suite on the
/// reference, reading its files from `mls_dir`. `None` for another loader. A missing file
/// makes its suite "not run" with the command that gets it; a bad file or a changed hash is
/// an error.
pub fn run_suite(
    dir: &std::path::Path,
    mls_dir: Option<&std::path::Path>,
    suite: &ManifestSuite,
    peers: &[Box<dyn ratchet_bench_core::peer::Peer>],
    accept_changed: bool,
) -> Result<Option<Vec<SuiteReport>>, VectorError> {
    let mut reports = Vec::new();
    if let Some(kind) = mls::MlsFile::from_loader(&suite.loader) {
        for file in &suite.files {
            reports.push(mls::run_pinned(suite, file, kind, mls_dir, accept_changed)?);
        }
        return Ok(Some(reports));
    }
    match suite.loader.as_str() {
        SESSION_LOADER => Ok(Some(run_session_suite(dir, suite, peers, accept_changed)?)),
        "wycheproof" => {
            let backends = primitives::backends();
            for file in &suite.files {
                reports.extend(wycheproof::run_pinned(
                    &dir.join("MANIFEST.json"),
                    suite,
                    file,
                    &backends,
                    accept_changed,
                )?);
            }
            Ok(Some(reports))
        }
        _ => Ok(None),
    }
}
