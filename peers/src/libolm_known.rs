//! Known values from libolm's own unit tests (`olm/tests/` in the olm-sys crate), written out
//! by hand in vectors/libolm-known/, replayed on every Olm or Megolm peer that can take each
//! case: the bundled references directly, vodozemac and libolm through their public APIs.
//!
//! # Schema (`libolm_known_v1`)
//!
//! Wycheproof's shape: `algorithm`, `schema`, `numberOfTests`, `header`, `notes` (flag ->
//! description) and `testGroups[]`. Every test has `tcId`, `comment` (the libolm test file and
//! test case it comes from), `flags` and `result` (`valid` or `invalid`). A group's `type`
//! says what its tests hold; `source` names the libolm test file.
//!
//! - `megolm-ratchet`: group `initialRatchet` (R at any start index, 128 bytes, hex) and
//!   `signingKey` (an Ed25519 public key, 32 bytes, which the exported-key format carries and
//!   the ratchet never uses); test `startIndex`, `path` (steps: `{"op": "advance"}` or
//!   `{"op": "advanceTo", "index": n}`), `expectedIndex`, and either `expectedRatchet` (128
//!   bytes) or `sameAs` (`startIndex` and `path` of a second route that must reach the same
//!   ratchet, as the libolm test states it).
//! - `megolm-session`: test `sessionKey` (the shared signed format, 229 bytes), `message`,
//!   `plaintext` and `messageIndex`; `valid` must decrypt to them, `invalid` must be refused.
//! - `crypto`: test `primitive` and its fields: `hmac-sha256` (`key`, `msg`, `expected`),
//!   `sha256` (`msg`, `expected`), `aes-256-cbc` (`key`, `iv`, `msg`, `expected` = the
//!   ciphertext with its padding), `ed25519-sign-verify` (`seed`, `msg`, `verifyMessage`: the
//!   key from the seed signs `msg`; `valid` means the signature verifies over
//!   `verifyMessage`, `invalid` that it must not).
//!
//! # Verification
//!
//! The file's sha256 is held against MANIFEST.json, then every case is checked (sizes,
//! exactly one expectation, unique tcIds, `numberOfTests`) before any runs; a bad field is an
//! error naming the file, the tcId and the field. Then per peer of the suite's family:
//!
//! - the references run the ratchet steps on [`MegolmRatchet`] as written (`advance`,
//!   `advance_to`), import the session key into [`InboundSession`], and compute the
//!   primitives with the crates the reference is built on;
//! - vodozemac builds an `InboundGroupSession` from an exported key (version 1, the start
//!   index, the ratchet, the signing key) and reads the ratchet at each step's index with
//!   `export_at`; it decrypts with an `InboundGroupSession` made from the session key; it
//!   signs and verifies with its Ed25519 types;
//! - libolm (feature `libolm`) does the same through `olm_import_inbound_group_session` and
//!   `olm_export_inbound_group_session`, `olm_init_inbound_group_session` and
//!   `olm_group_decrypt`, `olm_sha256`, `olm_pk_signing_key_from_seed`, `olm_pk_sign` and
//!   `olm_ed25519_verify`.
//!
//! A peer reaches a Megolm index only by an exported key's index, so `advance` is "the next
//! index" there. Where a peer's API cannot express a case (vodozemac orders indices as plain
//! u32, so never wraps past 2^32 - 1; libolm refuses an index 2^31 or more past both its
//! ratchets modulo 2^32; neither exposes HMAC or AES), the case is skipped on that peer with
//! the reason, never passed. Any other difference is a failed case, with expected and actual
//! hex, which the run reports as a `vector-failed` finding.

use ratchet_bench_core::peer::Peer;
use ratchet_bench_core::vectors::{
    parse_json, CaseResult, CaseStatus, ExpectedResults, HexBytes, ManifestSuite, SuiteFile,
    SuiteReport, VectorError,
};
use ratchet_bench_references::megolm::{InboundSession, MegolmRatchet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The loader name MANIFEST.json gives these suites.
pub const LOADER: &str = "libolm-known";
/// The schema string the files carry.
pub const SCHEMA: &str = "libolm_known_v1";

/// One file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KnownFile {
    // Declared so that `deny_unknown_fields` takes them; the replay needs neither.
    #[allow(dead_code)]
    algorithm: String,
    schema: String,
    number_of_tests: usize,
    #[allow(dead_code)]
    #[serde(default)]
    header: Vec<String>,
    #[serde(default)]
    notes: BTreeMap<String, serde_json::Value>,
    test_groups: Vec<KnownGroup>,
}

/// A group of one kind of case.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
enum KnownGroup {
    MegolmRatchet {
        source: String,
        initial_ratchet: HexBytes,
        signing_key: HexBytes,
        tests: Vec<RatchetCase>,
    },
    MegolmSession {
        source: String,
        tests: Vec<SessionCase>,
    },
    Crypto {
        source: String,
        tests: Vec<CryptoCase>,
    },
}

/// One step of a ratchet route.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum Step {
    /// One step (megolm_advance).
    Advance,
    /// Straight to an index (megolm_advance_to).
    AdvanceTo {
        /// The index.
        index: u32,
    },
}

/// A start index and the steps taken from it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Route {
    start_index: u32,
    path: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RatchetCase {
    tc_id: u64,
    comment: String,
    flags: Vec<String>,
    start_index: u32,
    path: Vec<Step>,
    expected_index: u32,
    expected_ratchet: Option<HexBytes>,
    same_as: Option<Route>,
    result: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SessionCase {
    tc_id: u64,
    comment: String,
    flags: Vec<String>,
    session_key: HexBytes,
    message: HexBytes,
    plaintext: HexBytes,
    message_index: u32,
    result: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CryptoCase {
    tc_id: u64,
    comment: String,
    flags: Vec<String>,
    primitive: String,
    #[serde(default)]
    key: HexBytes,
    #[serde(default)]
    iv: HexBytes,
    #[serde(default)]
    msg: HexBytes,
    #[serde(default)]
    expected: HexBytes,
    #[serde(default)]
    seed: HexBytes,
    #[serde(default)]
    verify_message: HexBytes,
    result: String,
}

/// Bytes of a Megolm ratchet.
pub(crate) const RATCHET_LEN: usize = 128;

/// What a peer did with a request.
#[derive(Debug)]
pub enum Got<T> {
    /// It computed this.
    Value(T),
    /// It refused, with its own text.
    Refused(String),
    /// Its API cannot express the request; why.
    Cannot(String),
}

/// A peer as these cases reach it: each method defaults to "cannot", with the reason.
pub trait KnownBackend {
    /// The ratchet (index, bytes) at the end of `path`, from `ratchet` at `start`.
    fn ratchet(
        &self,
        start: u32,
        ratchet: &[u8; RATCHET_LEN],
        signing_key: &[u8; 32],
        path: &[Step],
    ) -> Got<(u32, [u8; RATCHET_LEN])>;
    /// The plaintext and index of a Megolm message under a session key.
    fn group_decrypt(&self, session_key: &[u8], message: &[u8]) -> Got<(Vec<u8>, u32)>;
    /// HMAC-SHA-256.
    fn hmac_sha256(&self, _key: &[u8], _msg: &[u8]) -> Got<Vec<u8>> {
        Got::Cannot(self.no_primitive("HMAC-SHA-256"))
    }
    /// SHA-256.
    fn sha256(&self, _msg: &[u8]) -> Got<Vec<u8>> {
        Got::Cannot(self.no_primitive("SHA-256"))
    }
    /// AES-256-CBC with PKCS#7: the ciphertext of `msg`, and the decryption of `ct`.
    fn aes_256_cbc(&self, _key: &[u8], _iv: &[u8], _msg: &[u8], _ct: &[u8]) -> Got<AesOut> {
        Got::Cannot(self.no_primitive("AES-256-CBC"))
    }
    /// Signs `msg` with the key from `seed`; whether the signature verifies over `verify`.
    fn ed25519_sign_verify(&self, seed: &[u8; 32], msg: &[u8], verify: &[u8]) -> Got<bool>;
    /// Why the peer's public API cannot compute `what`.
    fn no_primitive(&self, what: &str) -> String;
}

/// AES-256-CBC both ways.
#[derive(Debug)]
pub struct AesOut {
    /// The ciphertext of the message.
    pub ciphertext: Vec<u8>,
    /// The decryption of the expected ciphertext, or the refusal.
    pub decrypted: Result<Vec<u8>, String>,
}

/// The backend for a peer, by the peer's name, or why there is none.
fn backend_for(name: &str) -> Result<Box<dyn KnownBackend>, String> {
    match name {
        "reference-olm" | "reference-megolm" => Ok(Box::new(Reference)),
        #[cfg(feature = "vodozemac")]
        "vodozemac-olm" | "vodozemac-megolm" => Ok(Box::new(crate::vodozemac::v0_11::Known)),
        #[cfg(feature = "vodozemac-0.10")]
        "vodozemac-olm@0.10" | "vodozemac-megolm@0.10" => {
            Ok(Box::new(crate::vodozemac::v0_10::Known))
        }
        #[cfg(feature = "vodozemac-0.9")]
        "vodozemac-olm@0.9" | "vodozemac-megolm@0.9" => Ok(Box::new(crate::vodozemac::v0_9::Known)),
        #[cfg(feature = "libolm")]
        "libolm-olm" | "libolm-megolm" => Ok(Box::new(libolm::Libolm)),
        other => Err(format!(
            "no libolm-known adapter for peer {other}: its API is reached only through the Peer trait, which exposes no ratchet or primitive"
        )),
    }
}

/// Replays one pinned file of a `libolm-known` suite on every peer of its family (and says
/// which peers of the family this build lacks).
pub fn run_pinned(
    dir: &Path,
    suite: &ManifestSuite,
    file: &SuiteFile,
    peers: &[Box<dyn Peer>],
    accept_changed: bool,
) -> Result<Vec<SuiteReport>, VectorError> {
    let (path, text) = file.read(dir, accept_changed)?;
    let parsed = check(&path, &parse_json::<KnownFile>(&path, &text)?)?;
    let mut reports = Vec::new();
    let key = format!("vectors/{}", file.path);
    for (i, p) in peers
        .iter()
        .filter(|p| p.info().family.name() == suite.family)
        .enumerate()
    {
        let name = p.info().name;
        let replayed =
            ratchet_bench_core::journal::unit(&key, i as u64, &name, || match backend_for(&name) {
                Ok(b) => run_file(&suite.name, &file.path, &name, &parsed, b.as_ref()),
                Err(why) => SuiteReport::not_run(&suite.name, &file.path, &name, why),
            });
        reports.push(replayed.unwrap_or_else(|| {
            ratchet_bench_core::vectors::aborted(&suite.name, &file.path, &name)
        }));
    }
    for (name, why) in crate::not_built() {
        if name.ends_with(&format!("-{}", suite.family)) {
            reports.push(SuiteReport::not_run(
                &suite.name,
                &file.path,
                name,
                format!("not built: {why}"),
            ));
        }
    }
    Ok(reports)
}

/// Replays the file at `path` (its text given, shown as `rel`) on one backend, for tests
/// that change a file and for callers with their own backend.
pub fn replay_text(
    path: &Path,
    rel: &str,
    suite: &str,
    text: &str,
    peer: &str,
) -> Result<SuiteReport, VectorError> {
    let parsed = check(path, &parse_json::<KnownFile>(path, text)?)?;
    Ok(match backend_for(peer) {
        Ok(b) => run_file(suite, rel, peer, &parsed, b.as_ref()),
        Err(why) => SuiteReport::not_run(suite, rel, peer, why),
    })
}

/// A case checked and ready to run.
enum Checked {
    Ratchet {
        tc_id: u64,
        valid: bool,
        ratchet: Box<[u8; RATCHET_LEN]>,
        signing_key: [u8; 32],
        route: Route,
        expected_index: u32,
        expected: Expect,
    },
    Session {
        tc_id: u64,
        valid: bool,
        session_key: Vec<u8>,
        message: Vec<u8>,
        plaintext: Vec<u8>,
        index: u32,
    },
    Crypto {
        tc_id: u64,
        valid: bool,
        op: CryptoOp,
    },
}

enum Expect {
    Bytes(Box<[u8; RATCHET_LEN]>),
    SameAs(Route),
}

enum CryptoOp {
    Hmac {
        key: Vec<u8>,
        msg: Vec<u8>,
        expected: Vec<u8>,
    },
    Sha256 {
        msg: Vec<u8>,
        expected: Vec<u8>,
    },
    Aes {
        key: Vec<u8>,
        iv: Vec<u8>,
        msg: Vec<u8>,
        expected: Vec<u8>,
    },
    Ed25519 {
        seed: [u8; 32],
        msg: Vec<u8>,
        verify: Vec<u8>,
    },
}

fn field(path: &Path, tc_id: Option<u64>, name: &str, reason: String) -> VectorError {
    VectorError::Field {
        path: path.to_path_buf(),
        case: tc_id.map_or_else(String::new, |id| format!("tcId {id}, ")),
        field: name.into(),
        reason,
    }
}

fn sized<const N: usize>(
    path: &Path,
    id: Option<u64>,
    name: &str,
    b: &[u8],
) -> Result<[u8; N], VectorError> {
    b.try_into().map_err(|_| {
        field(
            path,
            id,
            name,
            format!("expected {N} bytes, got {}", b.len()),
        )
    })
}

fn valid(path: &Path, id: u64, result: &str) -> Result<bool, VectorError> {
    match result {
        "valid" => Ok(true),
        "invalid" => Ok(false),
        other => Err(field(
            path,
            Some(id),
            "result",
            format!("expected valid or invalid, got {other:?}"),
        )),
    }
}

/// Checks every case before any runs.
fn check(path: &Path, file: &KnownFile) -> Result<Vec<Checked>, VectorError> {
    if file.schema != SCHEMA {
        return Err(field(
            path,
            None,
            "schema",
            format!("expected {SCHEMA:?}, got {:?}", file.schema),
        ));
    }
    let mut out = Vec::new();
    for group in &file.test_groups {
        cite(path, file, group)?;
        match group {
            KnownGroup::MegolmRatchet {
                initial_ratchet,
                signing_key,
                tests,
                ..
            } => {
                let ratchet = sized::<RATCHET_LEN>(path, None, "initialRatchet", initial_ratchet)?;
                let signing_key = sized::<32>(path, None, "signingKey", signing_key)?;
                for t in tests {
                    let id = Some(t.tc_id);
                    let expected = match (&t.expected_ratchet, &t.same_as) {
                        (Some(b), None) => {
                            Expect::Bytes(Box::new(sized(path, id, "expectedRatchet", b)?))
                        }
                        (None, Some(r)) => Expect::SameAs(r.clone()),
                        _ => {
                            return Err(field(
                                path,
                                id,
                                "expectedRatchet",
                                "expected exactly one of expectedRatchet and sameAs".into(),
                            ))
                        }
                    };
                    if t.path.is_empty() {
                        return Err(field(path, id, "path", "expected at least one step".into()));
                    }
                    out.push(Checked::Ratchet {
                        tc_id: t.tc_id,
                        valid: valid(path, t.tc_id, &t.result)?,
                        ratchet: Box::new(ratchet),
                        signing_key,
                        route: Route {
                            start_index: t.start_index,
                            path: t.path.clone(),
                        },
                        expected_index: t.expected_index,
                        expected,
                    });
                }
            }
            KnownGroup::MegolmSession { tests, .. } => {
                for t in tests {
                    out.push(Checked::Session {
                        tc_id: t.tc_id,
                        valid: valid(path, t.tc_id, &t.result)?,
                        session_key: t.session_key.0.clone(),
                        message: t.message.0.clone(),
                        plaintext: t.plaintext.0.clone(),
                        index: t.message_index,
                    });
                }
            }
            KnownGroup::Crypto { tests, .. } => {
                for t in tests {
                    let op = match t.primitive.as_str() {
                        "hmac-sha256" => CryptoOp::Hmac {
                            key: t.key.0.clone(),
                            msg: t.msg.0.clone(),
                            expected: t.expected.0.clone(),
                        },
                        "sha256" => CryptoOp::Sha256 {
                            msg: t.msg.0.clone(),
                            expected: t.expected.0.clone(),
                        },
                        "aes-256-cbc" => {
                            sized::<32>(path, Some(t.tc_id), "key", &t.key)?;
                            sized::<16>(path, Some(t.tc_id), "iv", &t.iv)?;
                            CryptoOp::Aes {
                                key: t.key.0.clone(),
                                iv: t.iv.0.clone(),
                                msg: t.msg.0.clone(),
                                expected: t.expected.0.clone(),
                            }
                        }
                        "ed25519-sign-verify" => CryptoOp::Ed25519 {
                            seed: sized(path, Some(t.tc_id), "seed", &t.seed)?,
                            msg: t.msg.0.clone(),
                            verify: t.verify_message.0.clone(),
                        },
                        other => {
                            return Err(field(
                                path,
                                Some(t.tc_id),
                                "primitive",
                                format!("expected hmac-sha256, sha256, aes-256-cbc or ed25519-sign-verify, got {other:?}"),
                            ))
                        }
                    };
                    out.push(Checked::Crypto {
                        tc_id: t.tc_id,
                        valid: valid(path, t.tc_id, &t.result)?,
                        op,
                    });
                }
            }
        }
    }
    let mut ids: Vec<u64> = out.iter().map(Checked::tc_id).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(field(
            path,
            Some(w[0]),
            "tcId",
            "expected a unique tcId, got a repeat".into(),
        ));
    }
    if out.len() != file.number_of_tests {
        return Err(field(
            path,
            None,
            "numberOfTests",
            format!(
                "expected {} (the tests in the file), got {}",
                out.len(),
                file.number_of_tests
            ),
        ));
    }
    Ok(out)
}

/// A case's tcId, comment and flags.
type Cited<'a> = (u64, &'a str, &'a [String]);

/// Every case cites its libolm test (its comment starts with the group's source file name)
/// and every flag is one the file's notes describe.
fn cite(path: &Path, file: &KnownFile, group: &KnownGroup) -> Result<(), VectorError> {
    let (source, cases): (&str, Vec<Cited<'_>>) = match group {
        KnownGroup::MegolmRatchet { source, tests, .. } => (
            source,
            tests
                .iter()
                .map(|t| (t.tc_id, t.comment.as_str(), t.flags.as_slice()))
                .collect(),
        ),
        KnownGroup::MegolmSession { source, tests } => (
            source,
            tests
                .iter()
                .map(|t| (t.tc_id, t.comment.as_str(), t.flags.as_slice()))
                .collect(),
        ),
        KnownGroup::Crypto { source, tests } => (
            source,
            tests
                .iter()
                .map(|t| (t.tc_id, t.comment.as_str(), t.flags.as_slice()))
                .collect(),
        ),
    };
    let name = source.rsplit('/').next().unwrap_or(source);
    for (id, comment, flags) in cases {
        if name.is_empty() || !comment.starts_with(name) {
            return Err(field(
                path,
                Some(id),
                "comment",
                format!("expected the libolm test it comes from, starting with {name:?}, got {comment:?}"),
            ));
        }
        if let Some(flag) = flags.iter().find(|f| !file.notes.contains_key(*f)) {
            return Err(field(
                path,
                Some(id),
                "flags",
                format!("expected a flag the file's notes describe, got {flag:?}"),
            ));
        }
    }
    Ok(())
}

impl Checked {
    fn tc_id(&self) -> u64 {
        match self {
            Checked::Ratchet { tc_id, .. }
            | Checked::Session { tc_id, .. }
            | Checked::Crypto { tc_id, .. } => *tc_id,
        }
    }

    fn valid(&self) -> bool {
        match self {
            Checked::Ratchet { valid, .. }
            | Checked::Session { valid, .. }
            | Checked::Crypto { valid, .. } => *valid,
        }
    }
}

fn run_file(
    suite: &str,
    rel: &str,
    peer: &str,
    cases: &[Checked],
    backend: &dyn KnownBackend,
) -> SuiteReport {
    let mut report = SuiteReport::not_run(suite, rel, peer, String::new());
    report.not_run = None;
    let mut expected = ExpectedResults::default();
    for case in cases {
        if case.valid() {
            expected.valid += 1;
        } else {
            expected.invalid += 1;
        }
        let (status, reason, trace) = match run_case(case, backend) {
            Outcome::Pass(trace) => (CaseStatus::Pass, String::new(), trace),
            Outcome::Fail(reason, trace) => (CaseStatus::Fail, reason, trace),
            Outcome::Skip(reason) => (CaseStatus::Skip, reason, String::new()),
        };
        match status {
            CaseStatus::Pass => report.passed += 1,
            CaseStatus::Fail => report.failed += 1,
            CaseStatus::Skip => report.skipped += 1,
        }
        report.cases.push(CaseResult {
            tc_id: case.tc_id(),
            status,
            reason,
            trace,
        });
    }
    report.expected = Some(expected);
    report
}

enum Outcome {
    Pass(String),
    Fail(String, String),
    Skip(String),
}

fn short(bytes: &[u8]) -> String {
    ratchet_bench_core::scenario::hex_preview(bytes, 16)
}

fn run_case(case: &Checked, b: &dyn KnownBackend) -> Outcome {
    match case {
        Checked::Ratchet {
            ratchet,
            signing_key,
            route,
            expected_index,
            expected,
            ..
        } => {
            let (index, got) = match b.ratchet(route.start_index, ratchet, signing_key, &route.path)
            {
                Got::Value(v) => v,
                Got::Cannot(why) => return Outcome::Skip(why),
                Got::Refused(text) => {
                    return Outcome::Fail(
                        format!("ratchet: expected a value, got a refusal: {text}"),
                        format!("refused: {text}"),
                    )
                }
            };
            let trace = format!("index {index} ratchet {}", short(&got));
            if index != *expected_index {
                return Outcome::Fail(
                    format!("index: expected {expected_index}, got {index}"),
                    trace,
                );
            }
            let (want, how) = match expected {
                Expect::Bytes(want) => (**want, "expectedRatchet".to_string()),
                Expect::SameAs(other) => {
                    match b.ratchet(other.start_index, ratchet, signing_key, &other.path) {
                        Got::Value((_, want)) => (
                            want,
                            format!(
                                "sameAs (the ratchet from index {} by the second route)",
                                other.start_index
                            ),
                        ),
                        Got::Cannot(why) => return Outcome::Skip(format!("sameAs route: {why}")),
                        Got::Refused(text) => {
                            return Outcome::Fail(
                                format!("sameAs route: expected a value, got a refusal: {text}"),
                                trace,
                            )
                        }
                    }
                }
            };
            if got != want {
                return Outcome::Fail(
                    format!(
                        "ratchet: expected {} ({how}), got {}",
                        hex::encode(want),
                        hex::encode(got)
                    ),
                    trace,
                );
            }
            Outcome::Pass(trace)
        }
        Checked::Session {
            valid,
            session_key,
            message,
            plaintext,
            index,
            ..
        } => match (b.group_decrypt(session_key, message), valid) {
            (Got::Cannot(why), _) => Outcome::Skip(why),
            (Got::Value((pt, i)), true) => {
                let trace = format!("decrypted {} bytes at index {i}", pt.len());
                if pt != *plaintext {
                    Outcome::Fail(
                        format!(
                            "plaintext: expected {}, got {}",
                            hex::encode(plaintext),
                            hex::encode(&pt)
                        ),
                        trace,
                    )
                } else if i != *index {
                    Outcome::Fail(format!("messageIndex: expected {index}, got {i}"), trace)
                } else {
                    Outcome::Pass(trace)
                }
            }
            (Got::Value((pt, i)), false) => Outcome::Fail(
                format!(
                    "expected a refusal, got {} decrypted at index {i}",
                    hex::encode(&pt)
                ),
                "accepted".into(),
            ),
            (Got::Refused(text), true) => Outcome::Fail(
                format!(
                    "expected {} at index {index}, got a refusal: {text}",
                    hex::encode(plaintext)
                ),
                format!("refused: {text}"),
            ),
            (Got::Refused(text), false) => Outcome::Pass(format!("refused: {text}")),
        },
        Checked::Crypto { valid, op, .. } => crypto_case(*valid, op, b),
    }
}

fn bytes_case(got: Got<Vec<u8>>, expected: &[u8], what: &str) -> Outcome {
    match got {
        Got::Cannot(why) => Outcome::Skip(why),
        Got::Refused(text) => Outcome::Fail(
            format!("{what}: expected a value, got a refusal: {text}"),
            format!("refused: {text}"),
        ),
        Got::Value(v) if v == expected => Outcome::Pass(format!("{what} {}", short(&v))),
        Got::Value(v) => Outcome::Fail(
            format!(
                "{what}: expected {}, got {}",
                hex::encode(expected),
                hex::encode(&v)
            ),
            format!("{what} {}", short(&v)),
        ),
    }
}

fn crypto_case(valid: bool, op: &CryptoOp, b: &dyn KnownBackend) -> Outcome {
    match op {
        CryptoOp::Hmac { key, msg, expected } => {
            bytes_case(b.hmac_sha256(key, msg), expected, "hmac")
        }
        CryptoOp::Sha256 { msg, expected } => bytes_case(b.sha256(msg), expected, "sha256"),
        CryptoOp::Aes {
            key,
            iv,
            msg,
            expected,
        } => match b.aes_256_cbc(key, iv, msg, expected) {
            Got::Cannot(why) => Outcome::Skip(why),
            Got::Refused(text) => Outcome::Fail(
                format!("aes: expected a value, got a refusal: {text}"),
                format!("refused: {text}"),
            ),
            Got::Value(out) => {
                let trace = format!("ciphertext {}", short(&out.ciphertext));
                if out.ciphertext != *expected {
                    Outcome::Fail(
                        format!(
                            "ciphertext: expected {}, got {}",
                            hex::encode(expected),
                            hex::encode(&out.ciphertext)
                        ),
                        trace,
                    )
                } else {
                    match out.decrypted {
                        Ok(pt) if pt == *msg => Outcome::Pass(format!("{trace}, decrypts back")),
                        Ok(pt) => Outcome::Fail(
                            format!(
                                "decryption: expected {}, got {}",
                                hex::encode(msg),
                                hex::encode(&pt)
                            ),
                            trace,
                        ),
                        Err(e) => Outcome::Fail(
                            format!(
                                "decryption: expected {}, got a refusal: {e}",
                                hex::encode(msg)
                            ),
                            trace,
                        ),
                    }
                }
            }
        },
        CryptoOp::Ed25519 { seed, msg, verify } => match b.ed25519_sign_verify(seed, msg, verify) {
            Got::Cannot(why) => Outcome::Skip(why),
            Got::Refused(text) => Outcome::Fail(
                format!("signing: expected a signature, got a refusal: {text}"),
                format!("refused: {text}"),
            ),
            Got::Value(ok) if ok == valid => Outcome::Pass(if ok {
                "verified".into()
            } else {
                "not verified".into()
            }),
            Got::Value(ok) => Outcome::Fail(
                format!(
                    "verification: expected {}, got {}",
                    if valid { "verified" } else { "not verified" },
                    if ok { "verified" } else { "not verified" }
                ),
                if ok {
                    "verified".into()
                } else {
                    "not verified".into()
                },
            ),
        },
    }
}

/// The next index a step leads to from `at`.
pub(crate) fn target(at: u32, step: Step) -> u32 {
    match step {
        Step::Advance => at.wrapping_add(1),
        Step::AdvanceTo { index } => index,
    }
}

/// The exported-key format (version 1): the index, the ratchet and the signing key.
pub(crate) fn exported_key(
    index: u32,
    ratchet: &[u8; RATCHET_LEN],
    signing_key: &[u8; 32],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + RATCHET_LEN + 32);
    out.push(1);
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(ratchet);
    out.extend_from_slice(signing_key);
    out
}

/// The index and ratchet an exported key carries.
pub(crate) fn read_exported(bytes: &[u8]) -> Option<(u32, [u8; RATCHET_LEN])> {
    let index = u32::from_be_bytes(bytes.get(1..5)?.try_into().ok()?);
    Some((index, bytes.get(5..5 + RATCHET_LEN)?.try_into().ok()?))
}

/// The bundled references, and for primitives the crates they are built on.
struct Reference;

impl KnownBackend for Reference {
    fn ratchet(
        &self,
        start: u32,
        ratchet: &[u8; RATCHET_LEN],
        _: &[u8; 32],
        path: &[Step],
    ) -> Got<(u32, [u8; RATCHET_LEN])> {
        let mut r = MegolmRatchet::from_bytes(ratchet, start);
        for step in path {
            match *step {
                Step::Advance => r.advance(),
                Step::AdvanceTo { index } => r.advance_to(index),
            }
        }
        Got::Value((r.index(), r.to_bytes()))
    }

    fn group_decrypt(&self, session_key: &[u8], message: &[u8]) -> Got<(Vec<u8>, u32)> {
        match InboundSession::import(session_key).and_then(|mut s| s.decrypt(message)) {
            Ok(v) => Got::Value(v),
            Err(e) => Got::Refused(e.to_string()),
        }
    }

    fn hmac_sha256(&self, key: &[u8], msg: &[u8]) -> Got<Vec<u8>> {
        Got::Value(ratchet_bench_references::olm::hmac_sha256(key, msg).to_vec())
    }

    fn sha256(&self, msg: &[u8]) -> Got<Vec<u8>> {
        use sha2::Digest;
        Got::Value(sha2::Sha256::digest(msg).to_vec())
    }

    fn aes_256_cbc(&self, key: &[u8], iv: &[u8], msg: &[u8], ct: &[u8]) -> Got<AesOut> {
        use cbc::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
        let (Ok(enc), Ok(dec)) = (
            cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv),
            cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv),
        ) else {
            return Got::Refused("AES-256-CBC takes a 32-byte key and a 16-byte IV".into());
        };
        Got::Value(AesOut {
            ciphertext: enc.encrypt_padded_vec_mut::<Pkcs7>(msg),
            decrypted: dec
                .decrypt_padded_vec_mut::<Pkcs7>(ct)
                .map_err(|e| e.to_string()),
        })
    }

    fn ed25519_sign_verify(&self, seed: &[u8; 32], msg: &[u8], verify: &[u8]) -> Got<bool> {
        use ed25519_dalek::{Signer, SigningKey, Verifier};
        let key = SigningKey::from_bytes(seed);
        let sig = key.sign(msg);
        Got::Value(key.verifying_key().verify(verify, &sig).is_ok())
    }

    fn no_primitive(&self, what: &str) -> String {
        format!("the reference has no {what}")
    }
}

/// libolm through its C API (olm-sys).
#[cfg(feature = "libolm")]
mod libolm {
    // FFI into libolm: every call into C needs `unsafe`. Each block says why it is sound.
    #![allow(unsafe_code)]

    use super::{exported_key, read_exported, target, Got, KnownBackend, Step, RATCHET_LEN};
    use olm_sys as sys;
    use std::ffi::{c_char, c_void, CStr};

    /// The libolm backend.
    pub struct Libolm;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Unpadded standard base64, as libolm's API speaks it.
    fn b64(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let mut v = 0u32;
            for (i, b) in chunk.iter().enumerate() {
                v |= u32::from(*b) << (16 - 8 * i);
            }
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63]);
            }
        }
        out
    }

    fn unb64(text: &[u8]) -> Option<Vec<u8>> {
        if text.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::new();
        for chunk in text.chunks(4) {
            let mut v = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                v |= (ALPHABET.iter().position(|a| a == c)? as u32) << (18 - 6 * i);
            }
            for i in 0..chunk.len() - 1 {
                out.push((v >> (16 - 8 * i)) as u8);
            }
        }
        Some(out)
    }

    #[derive(Clone, Copy)]
    #[repr(C, align(16))]
    struct Chunk([u8; 16]);

    /// One libolm object in a buffer this code owns, cleared by libolm when dropped.
    struct Object<T> {
        memory: Box<[Chunk]>,
        clear: unsafe extern "C" fn(*mut T) -> usize,
        last_error: unsafe extern "C" fn(*const T) -> *const c_char,
    }

    impl<T> Object<T> {
        /// # Safety
        /// `size`, `init`, `clear` and `last_error` must be libolm's for `T`.
        unsafe fn new(
            size: usize,
            init: unsafe extern "C" fn(*mut c_void) -> *mut T,
            clear: unsafe extern "C" fn(*mut T) -> usize,
            last_error: unsafe extern "C" fn(*const T) -> *const c_char,
        ) -> Self {
            let mut memory = vec![Chunk([0; 16]); size.div_ceil(16).max(1)].into_boxed_slice();
            // SAFETY: the buffer holds at least `size` bytes aligned to 16, as the caller
            // promised the constructor needs; it constructs the object in place.
            unsafe { init(memory.as_mut_ptr().cast()) };
            Object {
                memory,
                clear,
                last_error,
            }
        }

        fn ptr(&mut self) -> *mut T {
            self.memory.as_mut_ptr().cast()
        }

        fn cptr(&self) -> *const T {
            self.memory.as_ptr().cast()
        }

        /// `result`, or libolm's error text for the object.
        fn check(&self, result: usize, what: &str) -> Result<usize, String> {
            // SAFETY: `olm_error` takes nothing and returns a constant.
            if result != unsafe { sys::olm_error() } {
                return Ok(result);
            }
            // SAFETY: the object is constructed; libolm returns a pointer into its static,
            // NUL-terminated table of error names.
            let text = unsafe { (self.last_error)(self.cptr()) };
            let name = if text.is_null() {
                "no error text".into()
            } else {
                // SAFETY: see above: a static NUL-terminated string.
                unsafe { CStr::from_ptr(text) }
                    .to_string_lossy()
                    .into_owned()
            };
            Err(format!("{what}: {name}"))
        }
    }

    impl<T> Drop for Object<T> {
        fn drop(&mut self) {
            let clear = self.clear;
            // SAFETY: the object lives in this buffer; `clear` only wipes it.
            unsafe { clear(self.ptr()) };
        }
    }

    fn inbound() -> Object<sys::OlmInboundGroupSession> {
        // SAFETY: size, constructor, destructor and error accessor of OlmInboundGroupSession.
        unsafe {
            Object::new(
                sys::olm_inbound_group_session_size(),
                sys::olm_inbound_group_session,
                sys::olm_clear_inbound_group_session,
                sys::olm_inbound_group_session_last_error,
            )
        }
    }

    fn utility() -> Object<sys::OlmUtility> {
        // SAFETY: size, constructor, destructor and error accessor of OlmUtility.
        unsafe {
            Object::new(
                sys::olm_utility_size(),
                sys::olm_utility,
                sys::olm_clear_utility,
                sys::olm_utility_last_error,
            )
        }
    }

    /// The index libolm's `_get_megolm` cannot reach: 2^31 or more past both the latest and
    /// the initial ratchet, modulo 2^32.
    fn unreachable(to: u32, latest: u32, initial: u32) -> bool {
        to.wrapping_sub(latest) >= 1 << 31 && to.wrapping_sub(initial) >= 1 << 31
    }

    impl KnownBackend for Libolm {
        fn ratchet(
            &self,
            start: u32,
            ratchet: &[u8; RATCHET_LEN],
            signing_key: &[u8; 32],
            path: &[Step],
        ) -> Got<(u32, [u8; RATCHET_LEN])> {
            let mut s = inbound();
            let text = b64(&exported_key(start, ratchet, signing_key));
            // SAFETY: `text` is readable for its length; libolm copies what it decodes.
            let r = unsafe {
                sys::olm_import_inbound_group_session(s.ptr(), text.as_ptr(), text.len())
            };
            if let Err(e) = s.check(r, "olm_import_inbound_group_session") {
                return Got::Refused(e);
            }
            let (mut at, mut latest) = ((start, *ratchet), start);
            for step in path {
                let to = target(at.0, *step);
                if unreachable(to, latest, start) {
                    return Got::Cannot(format!(
                        "libolm reaches an index only if it is less than 2^31 past its latest ratchet ({latest}) or its initial one ({start}) modulo 2^32 (inbound_group_session.c, _get_megolm), and {to} is neither"
                    ));
                }
                if to.wrapping_sub(latest) < 1 << 31 {
                    latest = to;
                }
                // SAFETY: the session is constructed; the call only reads it.
                let len = unsafe { sys::olm_export_inbound_group_session_length(s.cptr()) };
                let mut out = vec![0u8; len];
                // SAFETY: `out` is `len` writable bytes, the length libolm asked for.
                let r = unsafe {
                    sys::olm_export_inbound_group_session(s.ptr(), out.as_mut_ptr(), len, to)
                };
                let n = match s.check(r, "olm_export_inbound_group_session") {
                    Ok(n) => n,
                    Err(e) => return Got::Refused(e),
                };
                match out
                    .get(..n)
                    .and_then(unb64)
                    .as_deref()
                    .and_then(read_exported)
                {
                    Some(v) => at = v,
                    None => {
                        return Got::Refused(
                            "olm_export_inbound_group_session gave no exported key".into(),
                        )
                    }
                }
            }
            Got::Value(at)
        }

        fn group_decrypt(&self, session_key: &[u8], message: &[u8]) -> Got<(Vec<u8>, u32)> {
            let mut s = inbound();
            let text = b64(session_key);
            // SAFETY: `text` is readable for its length; libolm copies what it decodes.
            let r =
                unsafe { sys::olm_init_inbound_group_session(s.ptr(), text.as_ptr(), text.len()) };
            if let Err(e) = s.check(r, "olm_init_inbound_group_session") {
                return Got::Refused(e);
            }
            let text = b64(message);
            let mut copy = text.clone();
            // SAFETY: `copy` is writable for its length (libolm decodes it in place).
            let max = unsafe {
                sys::olm_group_decrypt_max_plaintext_length(s.ptr(), copy.as_mut_ptr(), copy.len())
            };
            let max = match s.check(max, "olm_group_decrypt_max_plaintext_length") {
                Ok(m) => m,
                Err(e) => return Got::Refused(e),
            };
            let mut copy = text;
            let mut plaintext = vec![0u8; max];
            let mut index = 0u32;
            // SAFETY: `copy` and `plaintext` are writable for their lengths, `plaintext` the
            // length libolm asked for; `index` is a live u32.
            let r = unsafe {
                sys::olm_group_decrypt(
                    s.ptr(),
                    copy.as_mut_ptr(),
                    copy.len(),
                    plaintext.as_mut_ptr(),
                    plaintext.len(),
                    &mut index,
                )
            };
            match s.check(r, "olm_group_decrypt") {
                Ok(n) => {
                    plaintext.truncate(n);
                    Got::Value((plaintext, index))
                }
                Err(e) => Got::Refused(e),
            }
        }

        fn sha256(&self, msg: &[u8]) -> Got<Vec<u8>> {
            let mut u = utility();
            // SAFETY: the utility is constructed; the call only reads it.
            let len = unsafe { sys::olm_sha256_length(u.cptr()) };
            let mut out = vec![0u8; len];
            // SAFETY: `msg` is readable and `out` writable for their lengths.
            let r = unsafe {
                sys::olm_sha256(
                    u.ptr(),
                    msg.as_ptr().cast(),
                    msg.len(),
                    out.as_mut_ptr().cast(),
                    len,
                )
            };
            match u.check(r, "olm_sha256") {
                Ok(n) => match out.get(..n).and_then(unb64) {
                    Some(v) => Got::Value(v),
                    None => Got::Refused("olm_sha256 gave invalid base64".into()),
                },
                Err(e) => Got::Refused(e),
            }
        }

        fn ed25519_sign_verify(&self, seed: &[u8; 32], msg: &[u8], verify: &[u8]) -> Got<bool> {
            // SAFETY: size, constructor, destructor and error accessor of OlmPkSigning.
            let mut signing = unsafe {
                Object::new(
                    sys::olm_pk_signing_size(),
                    sys::olm_pk_signing,
                    sys::olm_clear_pk_signing,
                    sys::olm_pk_signing_last_error,
                )
            };
            // SAFETY: the call takes no object.
            let key_len = unsafe { sys::olm_pk_signing_public_key_length() };
            let mut public = vec![0u8; key_len];
            // SAFETY: `public` is `key_len` writable bytes and `seed` readable for its length.
            let r = unsafe {
                sys::olm_pk_signing_key_from_seed(
                    signing.ptr(),
                    public.as_mut_ptr().cast(),
                    key_len,
                    seed.as_ptr().cast(),
                    seed.len(),
                )
            };
            if let Err(e) = signing.check(r, "olm_pk_signing_key_from_seed") {
                return Got::Refused(e);
            }
            // SAFETY: the call takes no object.
            let sig_len = unsafe { sys::olm_pk_signature_length() };
            let mut sig = vec![0u8; sig_len];
            // SAFETY: `msg` is readable and `sig` writable for their lengths.
            let r = unsafe {
                sys::olm_pk_sign(
                    signing.ptr(),
                    msg.as_ptr(),
                    msg.len(),
                    sig.as_mut_ptr(),
                    sig_len,
                )
            };
            let n = match signing.check(r, "olm_pk_sign") {
                Ok(n) => n,
                Err(e) => return Got::Refused(e),
            };
            sig.truncate(n);
            let mut u = utility();
            // SAFETY: key and message are readable, `sig` writable (libolm decodes it in
            // place), each for its length.
            let r = unsafe {
                sys::olm_ed25519_verify(
                    u.ptr(),
                    public.as_ptr().cast(),
                    public.len(),
                    verify.as_ptr().cast(),
                    verify.len(),
                    sig.as_mut_ptr().cast(),
                    sig.len(),
                )
            };
            match u.check(r, "olm_ed25519_verify") {
                Ok(_) => Got::Value(true),
                Err(e) if e.ends_with("BAD_MESSAGE_MAC") => Got::Value(false),
                Err(e) => Got::Refused(e),
            }
        }

        fn no_primitive(&self, what: &str) -> String {
            format!("libolm's public C API (olm.h, pk.h, sas.h) has no {what} call")
        }
    }
}
