//! The MLS working group's vectors (RFC 9420): tree math, secret tree, crypto basics, key
//! schedule and message protection, replayed on the bundled reference
//! ([`ratchet_bench_references::mls`]).
//!
//! The files come from mlswg/mls-implementations, folder `test-vectors/`, at the commit
//! vectors/MANIFEST.json pins, and are never copied into this repository: they are read
//! from the folder `--mls-vectors-dir` names, else from [`MLS_VECTORS_ENV`]. A file that is
//! not there makes its suite "not run" with the way to fetch it; a file whose sha256 is not
//! the pinned one is an error unless `--accept-changed-vectors`.
//!
//! # Schema
//!
//! Each file is a JSON array; a case is one entry and its tcId is its index.
//!
//! - `tree-math.json`: `n_leaves`, `n_nodes`, `root`, and `left`, `right`, `parent`,
//!   `sibling`: arrays of `n_nodes` entries, one per node index, each a node index or
//!   `null` where the tree has no such node.
//! - `secret-tree.json`: `cipher_suite`; `sender_data` with `sender_data_secret`,
//!   `ciphertext`, `key`, `nonce` (hex); `encryption_secret` (hex); `leaves`: one array per
//!   leaf, each entry `generation`, `handshake_key`, `handshake_nonce`, `application_key`,
//!   `application_nonce` (hex).
//!
//! # Verification
//!
//! - tree math: `n_nodes` is `node_width(n_leaves)`, `root` is `root(n_leaves)`, each array
//!   has `n_nodes` entries and entry `x` is `left(x)`, `right(x)`, `parent(x)`,
//!   `sibling(x)` (RFC 9420 appendix C).
//! - secret tree: with the suite's hash and AEAD sizes, the sender-data key and nonce from
//!   `sender_data_secret` and `ciphertext` (§6.3.2) must be `key` and `nonce`; then in the
//!   secret tree over `leaves.len()` leaves rooted at `encryption_secret` (§9), for leaf `i`
//!   and each listed generation `g`, the key and nonce of leaf `i`'s handshake and
//!   application ratchets at `g` must be the listed ones.
//! - crypto basics (§5): RefHash, ExpandWithLabel, DeriveSecret and DeriveTreeSecret must
//!   give `out`. SignWithLabel: `pub` must be `priv`'s key, VerifyWithLabel must accept
//!   `signature`, and signing again must give it (Ed25519 is deterministic).
//!   EncryptWithLabel: `pub` must be `priv`'s key and DecryptWithLabel (HPKE base mode)
//!   must give `plaintext`.
//! - key schedule (§8): for each epoch `n` in order, the GroupContext (version 1, the
//!   suite, `group_id`, epoch `n`, `tree_hash`, `confirmed_transcript_hash`, no extensions)
//!   must serialise to `group_context`; the key schedule from the previous epoch's derived
//!   `init_secret` (`initial_init_secret` for epoch 0), `commit_secret` and `psk_secret`
//!   must give every listed secret; `MLS-Exporter(label, context, length)` must give
//!   `exporter.secret`; the public key of `DeriveKeyPair(external_secret)` (RFC 9180
//!   §7.1.3) must be `external_pub`.
//! - message protection (§6): each `*_priv` must read as an MLSMessage carrying a
//!   PrivateMessage of the case's group and epoch and the right content type; its sender
//!   data must open with the key and nonce from `sender_data_secret`, its content with the
//!   key and nonce (reuse guard applied) of the sender's ratchet at the sender data's
//!   generation in a 2-leaf secret tree over `encryption_secret`; the content must be
//!   `application` / `proposal` / `commit` and the padding zeros. Each `*_pub` must read as
//!   a member's PublicMessage with that content and a membership tag equal to
//!   MAC(`membership_key`, AuthenticatedContentTBM). Every FramedContentTBS signature must
//!   verify under `signature_pub`.
//!
//! The first difference fails the case, with expected and actual values (hex for bytes),
//! naming the field. A case of a cipher suite the reference does not know is skipped with
//! that reason. The reference has Ed25519 signatures and DHKEM(X25519) only: for the other
//! suites the signature, HPKE and `external_pub` parts are skipped, each with its reason,
//! and the case passes on the parts it checked with the skipped ones listed in its reason
//! ("passed; parts skipped: ..."), so a partial pass never looks like a full one. A
//! message that does not decode fails its case naming the field; a file that does not
//! parse (bad hex, missing field) is an error naming the file, case and field.

use super::{parse_json, HexBytes, ManifestSuite, SuiteFile, VectorError};
use super::{CaseResult, CaseStatus, SuiteReport};
use ratchet_bench_references::mls::{
    sender_data_key_nonce, tree_math, CipherSuite, RatchetKind, SecretTree,
};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

pub use super::mls_crypto_basics::{check_crypto_basics, CryptoBasicsCase};
pub use super::mls_key_schedule::{check_key_schedule, KeyScheduleCase};
pub use super::mls_message_protection::{check_message_protection, MessageProtectionCase};

/// The environment variable naming the MLS vectors folder when `--mls-vectors-dir` is not
/// given.
pub const MLS_VECTORS_ENV: &str = "RATCHET_BENCH_MLS_VECTORS";

/// The backend the cases run on.
pub const REFERENCE: &str = "reference";

/// The MLS vectors folder: `flag` if given, else [`MLS_VECTORS_ENV`] if set and not empty.
pub fn mls_vectors_dir(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| {
        std::env::var_os(MLS_VECTORS_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// One case of tree-math.json.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeMathCase {
    /// Leaves of the tree.
    pub n_leaves: u32,
    /// Its node count.
    pub n_nodes: u32,
    /// Its root.
    pub root: u32,
    /// Left child per node.
    pub left: Vec<Option<u32>>,
    /// Right child per node.
    pub right: Vec<Option<u32>>,
    /// Parent per node.
    pub parent: Vec<Option<u32>>,
    /// Sibling per node.
    pub sibling: Vec<Option<u32>>,
}

/// One case of secret-tree.json.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretTreeCase {
    /// The cipher suite's number.
    pub cipher_suite: u16,
    /// The sender-data check.
    pub sender_data: SenderDataCase,
    /// The secret tree's root.
    pub encryption_secret: HexBytes,
    /// Per leaf, the generations checked.
    pub leaves: Vec<Vec<LeafGeneration>>,
}

/// The sender-data part of a secret-tree case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderDataCase {
    /// The epoch's sender_data_secret.
    pub sender_data_secret: HexBytes,
    /// A ciphertext, whose first `KDF.Nh` bytes are the sample.
    pub ciphertext: HexBytes,
    /// The expected sender-data key.
    pub key: HexBytes,
    /// The expected sender-data nonce.
    pub nonce: HexBytes,
}

/// One leaf at one generation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafGeneration {
    /// The generation.
    pub generation: u32,
    /// Handshake ratchet key.
    pub handshake_key: HexBytes,
    /// Handshake ratchet nonce.
    pub handshake_nonce: HexBytes,
    /// Application ratchet key.
    pub application_key: HexBytes,
    /// Application ratchet nonce.
    pub application_nonce: HexBytes,
}

/// The MLS files the bench replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MlsFile {
    /// tree-math.json, loader `mls-tree-math`.
    TreeMath,
    /// secret-tree.json, loader `mls-secret-tree`.
    SecretTree,
    /// crypto-basics.json, loader `mls-crypto-basics`.
    CryptoBasics,
    /// key-schedule.json, loader `mls-key-schedule`.
    KeySchedule,
    /// message-protection.json, loader `mls-message-protection`.
    MessageProtection,
}

impl MlsFile {
    /// The file for a manifest loader name, if it is an MLS one.
    pub fn from_loader(loader: &str) -> Option<MlsFile> {
        match loader {
            "mls-tree-math" => Some(MlsFile::TreeMath),
            "mls-secret-tree" => Some(MlsFile::SecretTree),
            "mls-crypto-basics" => Some(MlsFile::CryptoBasics),
            "mls-key-schedule" => Some(MlsFile::KeySchedule),
            "mls-message-protection" => Some(MlsFile::MessageProtection),
            _ => None,
        }
    }
}

/// A per-node relation of the tree (left, right, parent or sibling).
type Relation<'a> = &'a dyn Fn(u32) -> Option<u32>;

fn show(v: Option<u32>) -> String {
    v.map_or_else(|| "null".into(), |n| n.to_string())
}

/// Checks one tree-math case; the error is the first difference.
pub fn check_tree_math(case: &TreeMathCase) -> Result<String, String> {
    let n = case.n_leaves;
    let width = tree_math::node_width(n);
    if case.n_nodes != width {
        return Err(format!("n_nodes: expected {}, got {width}", case.n_nodes));
    }
    let root = tree_math::root(n);
    if case.root != root {
        return Err(format!("root: expected {}, got {root}", case.root));
    }
    let columns: [(&str, &[Option<u32>], Relation); 4] = [
        ("left", &case.left, &tree_math::left),
        ("right", &case.right, &tree_math::right),
        ("parent", &case.parent, &|x| tree_math::parent(x, n)),
        ("sibling", &case.sibling, &|x| tree_math::sibling(x, n)),
    ];
    for (name, expected, f) in columns {
        if expected.len() != width as usize {
            return Err(format!(
                "{name}: expected {width} entries (n_nodes), the file has {}",
                expected.len()
            ));
        }
        for (x, want) in (0..width).zip(expected) {
            let got = f(x);
            if got != *want {
                return Err(format!(
                    "{name}[{x}]: expected {}, got {}",
                    show(*want),
                    show(got)
                ));
            }
        }
    }
    Ok(format!("{n} leaves, {width} nodes"))
}

/// Compares `got` with `expected`; the error names `what` and shows both in hex.
pub(crate) fn same(what: String, expected: &[u8], got: &[u8]) -> Result<(), String> {
    if expected == got {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {}, got {}",
            hex::encode(expected),
            hex::encode(got)
        ))
    }
}

/// Checks one secret-tree case; the error is the first difference.
pub fn check_secret_tree(suite: CipherSuite, case: &SecretTreeCase) -> Result<String, String> {
    let sd = &case.sender_data;
    let derived = sender_data_key_nonce(suite, &sd.sender_data_secret, &sd.ciphertext)
        .map_err(|e| format!("sender data: {e}"))?;
    same("sender_data.key".into(), &sd.key, &derived.key)?;
    same("sender_data.nonce".into(), &sd.nonce, &derived.nonce)?;
    let n_leaves = u32::try_from(case.leaves.len())
        .map_err(|_| format!("expected fewer leaves, got {}", case.leaves.len()))?;
    let tree = SecretTree::new(suite, &case.encryption_secret, n_leaves)
        .map_err(|e| format!("leaves: {e}"))?;
    let mut checked = 0usize;
    for (leaf, gens) in (0..n_leaves).zip(&case.leaves) {
        for (kind, name) in [
            (RatchetKind::Handshake, "handshake"),
            (RatchetKind::Application, "application"),
        ] {
            let mut ratchet = tree
                .ratchet(leaf, kind)
                .map_err(|e| format!("leaves[{leaf}] {name}: {e}"))?;
            for g in gens {
                if g.generation < ratchet.generation() {
                    // Listed out of order: start again from generation 0.
                    ratchet = tree
                        .ratchet(leaf, kind)
                        .map_err(|e| format!("leaves[{leaf}] {name}: {e}"))?;
                }
                let at = |e: ratchet_bench_references::mls::SecretTreeError| {
                    format!("leaves[{leaf}] generation {} {name}: {e}", g.generation)
                };
                ratchet.advance_to(g.generation).map_err(at)?;
                let (key, nonce) = ratchet.key_nonce().map_err(at)?;
                let (want_key, want_nonce) = match kind {
                    RatchetKind::Handshake => (&g.handshake_key, &g.handshake_nonce),
                    RatchetKind::Application => (&g.application_key, &g.application_nonce),
                };
                let label = format!("leaves[{leaf}] generation {} {name}", g.generation);
                same(format!("{label}_key"), want_key, &key)?;
                same(format!("{label}_nonce"), want_nonce, &nonce)?;
                checked += 1;
            }
        }
    }
    Ok(format!(
        "suite {}, {n_leaves} leaves: sender data and {checked} ratchet key-nonce pairs",
        suite.id()
    ))
}

/// What a case of a file with several parts per case (crypto-basics, key-schedule,
/// message-protection) checked and what it could not, part by part.
#[derive(Clone, Debug, Default)]
pub struct Parts {
    summary: String,
    checked: Vec<String>,
    skipped: Vec<(String, String)>,
}

impl Parts {
    /// No part yet; `summary` starts the case's trace (what the case covers).
    pub fn new(summary: impl Into<String>) -> Self {
        Parts {
            summary: summary.into(),
            ..Parts::default()
        }
    }

    /// Adds `detail` to the summary.
    pub fn summary_detail(&mut self, detail: &str) {
        self.summary.push_str(": ");
        self.summary.push_str(detail);
    }

    /// `name` was checked and matched.
    pub fn checked(&mut self, name: impl Into<String>) {
        self.checked.push(name.into());
    }

    /// `name` was not checked, because `why`.
    pub fn skipped(&mut self, name: impl Into<String>, why: impl fmt::Display) {
        self.skipped.push((name.into(), why.to_string()));
    }
}

/// A case of parts: it fails on the first mismatch; it passes when every part it could
/// check matched, and then its reason lists each skipped part with why, so that a pass
/// with parts unchecked shows in every report; it is skipped only when no part could be
/// checked.
pub(crate) fn judge_parts(tc_id: usize, result: Result<Parts, String>) -> CaseResult {
    let (status, reason, trace) = match result {
        Err(reason) => (CaseStatus::Fail, reason, "mismatch".into()),
        Ok(parts) => {
            let skipped: Vec<String> = parts
                .skipped
                .iter()
                .map(|(name, why)| format!("{name} ({why})"))
                .collect();
            let mut trace = format!("{}; checked: {}", parts.summary, parts.checked.join(" "));
            if !parts.skipped.is_empty() {
                let names: Vec<&str> = parts.skipped.iter().map(|(n, _)| n.as_str()).collect();
                trace.push_str(&format!("; skipped: {}", names.join(" ")));
            }
            match (parts.checked.is_empty(), skipped.is_empty()) {
                (_, true) => (CaseStatus::Pass, String::new(), trace),
                (false, false) => (
                    CaseStatus::Pass,
                    format!("passed; parts skipped: {}", skipped.join("; ")),
                    trace,
                ),
                (true, false) => (
                    CaseStatus::Skip,
                    format!("every part skipped: {}", skipped.join("; ")),
                    trace,
                ),
            }
        }
    };
    CaseResult {
        tc_id: tc_id as u64,
        status,
        reason,
        trace,
    }
}

/// Runs `check` on each case of a file whose cases carry a `cipher_suite`; a case of a
/// suite the reference does not know is skipped with that reason.
pub(crate) fn per_suite<C>(
    cases: &[C],
    suite_of: impl Fn(&C) -> u16,
    check: impl Fn(CipherSuite, &C) -> Result<Parts, String>,
) -> Vec<CaseResult> {
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| match CipherSuite::new(suite_of(c)) {
            Ok(suite) => judge_parts(i, check(suite, c)),
            Err(e) => CaseResult {
                tc_id: i as u64,
                status: CaseStatus::Skip,
                reason: e.to_string(),
                trace: "skipped".into(),
            },
        })
        .collect()
}

fn judge(tc_id: usize, checked: Result<String, String>) -> CaseResult {
    let (status, reason, trace) = match checked {
        Ok(trace) => (CaseStatus::Pass, String::new(), trace),
        Err(reason) => (CaseStatus::Fail, reason, "mismatch".into()),
    };
    CaseResult {
        tc_id: tc_id as u64,
        status,
        reason,
        trace,
    }
}

/// Replays the text of `file` (read from `path`) on the reference as suite `suite`.
pub fn run_text(
    suite: &str,
    file_name: &str,
    file: MlsFile,
    path: &Path,
    text: &str,
) -> Result<SuiteReport, VectorError> {
    let cases: Vec<CaseResult> = match file {
        MlsFile::TreeMath => {
            let cases: Vec<TreeMathCase> = parse_json(path, text)?;
            cases
                .iter()
                .enumerate()
                .map(|(i, c)| judge(i, check_tree_math(c)))
                .collect()
        }
        MlsFile::SecretTree => {
            let cases: Vec<SecretTreeCase> = parse_json(path, text)?;
            cases
                .iter()
                .enumerate()
                .map(|(i, c)| match CipherSuite::new(c.cipher_suite) {
                    Ok(suite) => judge(i, check_secret_tree(suite, c)),
                    Err(e) => CaseResult {
                        tc_id: i as u64,
                        status: CaseStatus::Skip,
                        reason: e.to_string(),
                        trace: "skipped".into(),
                    },
                })
                .collect()
        }
        MlsFile::CryptoBasics => {
            let cases: Vec<CryptoBasicsCase> = parse_json(path, text)?;
            per_suite(&cases, |c| c.cipher_suite, check_crypto_basics)
        }
        MlsFile::KeySchedule => {
            let cases: Vec<KeyScheduleCase> = parse_json(path, text)?;
            per_suite(&cases, |c| c.cipher_suite, check_key_schedule)
        }
        MlsFile::MessageProtection => {
            let cases: Vec<MessageProtectionCase> = parse_json(path, text)?;
            per_suite(&cases, |c| c.cipher_suite, check_message_protection)
        }
    };
    let mut report = SuiteReport::not_run(suite, file_name, REFERENCE, String::new());
    report.not_run = None;
    for c in &cases {
        match c.status {
            CaseStatus::Pass => report.passed += 1,
            CaseStatus::Fail => report.failed += 1,
            CaseStatus::Skip => report.skipped += 1,
        }
    }
    report.cases = cases;
    Ok(report)
}

/// How to get `file` of `suite`: the command that fetches it (from the upstream address at
/// the pinned commit, checking its sha256), and where to point the bench.
pub fn fetch_hint(suite: &ManifestSuite, file: &SuiteFile) -> String {
    let dir = super::fetch::DEFAULT_FETCH_DIR;
    let url = suite.upstream.as_deref().map_or_else(
        || format!("the file {} named in the manifest's origin", file.path),
        |base| format!("{base}{}", file.path),
    );
    format!(
        "run `ratchet-bench vectors fetch --to {dir}` (gets {url}, checks sha256 {}), then pass --mls-vectors-dir {dir} or set {MLS_VECTORS_ENV}={dir}",
        file.sha256
    )
}

/// Replays one MLS file of the manifest from `mls_dir` on the reference: "not run" with the
/// way to get it when no folder is given or the file is not in it, an error when its hash
/// differs from the pin (unless `accept_changed`) or it does not parse.
pub fn run_pinned(
    suite: &ManifestSuite,
    file: &SuiteFile,
    kind: MlsFile,
    mls_dir: Option<&Path>,
    accept_changed: bool,
) -> Result<SuiteReport, VectorError> {
    let missing = match mls_dir {
        None => Some(format!(
            "no MLS vectors folder (neither --mls-vectors-dir nor {MLS_VECTORS_ENV} is set); {}",
            fetch_hint(suite, file)
        )),
        Some(dir) if !dir.join(&file.path).is_file() => Some(format!(
            "{} is missing; {}",
            dir.join(&file.path).display(),
            fetch_hint(suite, file)
        )),
        Some(_) => None,
    };
    match (missing, mls_dir) {
        (None, Some(dir)) => {
            let (path, text) = file.read(dir, accept_changed)?;
            run_text(&suite.name, &file.path, kind, &path, &text)
        }
        (why, _) => Ok(SuiteReport::not_run(
            &suite.name,
            &file.path,
            REFERENCE,
            why.unwrap_or_default(),
        )),
    }
}
