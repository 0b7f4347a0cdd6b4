//! The MLS working group's vectors (tree math, secret tree, crypto basics, key schedule,
//! message protection) on the reference: every case passes for all seven cipher suites,
//! parts the reference cannot check are listed with their reason, one insta snapshot per
//! file; a flipped byte in a scratch copy fails its case naming the field; without the
//! vectors folder, every suite comes back "not run" with the way to fetch it. Also the
//! labelled derivations against values from crypto-basics.json.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ratchet_bench::reference::mls::{
    derive_secret, derive_tree_secret, expand_with_label, CipherSuite, UnknownCipherSuite,
};
use ratchet_bench::vectors::mls::MLS_VECTORS_ENV;
use ratchet_bench::vectors::{run_suites, CaseStatus, SuiteReport, VectorError};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const SUITES: [&str; 5] = [
    "mls-tree-math",
    "mls-secret-tree",
    "mls-crypto-basics",
    "mls-key-schedule",
    "mls-message-protection",
];

/// Each file's cases.
fn expected_cases(file: &str) -> usize {
    match file {
        "tree-math.json" => 10,
        "secret-tree.json" => 21,
        _ => 7,
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn run(mls_dir: Option<&Path>, accept_changed: bool) -> Result<Vec<SuiteReport>, VectorError> {
    let only: Vec<String> = SUITES.iter().map(|s| s.to_string()).collect();
    run_suites(&vectors_dir(), mls_dir, &[], &only, accept_changed)
}

/// Counts and every case that did not pass, with its tcId and reason.
fn table(report: &SuiteReport) -> String {
    let mut out = format!(
        "{} on {}: {} cases; {} passed, {} failed, {} skipped\n\nnot passed:\n",
        report.file,
        report.peer,
        report.cases.len(),
        report.passed,
        report.failed,
        report.skipped
    );
    let mut none = true;
    for c in report.cases.iter().filter(|c| c.status != CaseStatus::Pass) {
        none = false;
        let _ = writeln!(out, "  tcId {:>2}: {:?}  {}", c.tc_id, c.status, c.reason);
    }
    if none {
        out.push_str("  (none)\n");
    }
    let partial: Vec<_> = report
        .cases
        .iter()
        .filter(|c| c.status == CaseStatus::Pass && !c.reason.is_empty())
        .collect();
    if !partial.is_empty() {
        out.push_str("\npassed, with parts the reference cannot check:\n");
        for c in partial {
            let _ = writeln!(out, "  tcId {:>2}: {}", c.tc_id, c.reason);
        }
    }
    out.push_str("\ncases:\n");
    for c in &report.cases {
        let _ = writeln!(out, "  tcId {:>2}: {:?}  {}", c.tc_id, c.status, c.trace);
    }
    out
}

#[test]
fn every_case_passes_on_the_reference_or_the_suites_are_not_run() {
    let Some(dir) = common::mls_vectors_dir() else {
        println!(
            "the MLS vectors folder is absent: only the not-run path is checked; set \
             {MLS_VECTORS_ENV} (or put ../shared/vectors/mls beside the workspace) for the \
             full check"
        );
        let reports = run(None, false).unwrap();
        assert_eq!(reports.len(), 5, "one report per MLS file: {reports:?}");
        for r in &reports {
            let why = r
                .not_run
                .as_deref()
                .expect("without the folder the suite is not run");
            assert!(
                why.contains(&r.file) && why.contains("--mls-vectors-dir"),
                "{why}"
            );
        }
        return;
    };
    let reports = run(Some(&dir), false).unwrap();
    assert_eq!(reports.len(), 5, "one report per MLS file: {reports:?}");
    for r in &reports {
        assert_eq!(
            r.not_run,
            None,
            "{} must run from {}",
            r.file,
            dir.display()
        );
        assert_eq!(r.peer, "reference");
        assert_eq!(
            (r.passed, r.failed, r.skipped),
            (expected_cases(&r.file), 0, 0),
            "every case of {} must pass:\n{}",
            r.file,
            table(r)
        );
        insta::assert_snapshot!(format!("reference@{}", r.file), table(r));
    }
    // The files of cipher suites cover every suite the reference supports.
    for file in [
        "secret-tree.json",
        "crypto-basics.json",
        "key-schedule.json",
        "message-protection.json",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        let suites: BTreeSet<u64> = cases
            .iter()
            .map(|c| c["cipher_suite"].as_u64().unwrap())
            .collect();
        assert_eq!(suites, (1..=7).collect(), "{file} covers suites 1 to 7");
    }
    // Only the public-key parts the reference lacks are skipped: everything of the
    // Ed25519 / X25519 suites (1 and 3) is checked.
    for r in reports.iter().filter(|r| expected_cases(&r.file) == 7) {
        for c in &r.cases {
            let x25519 = c.tc_id == 0 || c.tc_id == 2;
            assert_eq!(
                c.reason.is_empty(),
                x25519,
                "{} tcId {}: {}",
                r.file,
                c.tc_id,
                c.reason
            );
            if !x25519 {
                assert!(
                    c.reason.starts_with("passed; parts skipped: "),
                    "{}",
                    c.reason
                );
            }
        }
    }
}

#[test]
fn without_a_folder_the_suites_are_not_run_with_the_way_to_fetch_them() {
    let reports = run(None, false).unwrap();
    // The sha256 of each file, as PROVENANCE.md of the vectors folder gives them.
    let pins = [
        (
            "tree-math.json",
            "27f04891f56106593b74b674445f01b845e173953770c084deb2f8cf5592e2fc",
        ),
        (
            "secret-tree.json",
            "08f92e6272452e2c832e32d38e16cf0c4aa28967e47d3842c60bc354c6b67a94",
        ),
        (
            "crypto-basics.json",
            "17cfcf89af9f51d0f2aa7af77f6f9ec99376a039214b6d42a6f11646b83e8c29",
        ),
        (
            "key-schedule.json",
            "05aa9a68bd2538ace72d8c53375984cc728ef62220ebf314df675708546d97a7",
        ),
        (
            "message-protection.json",
            "f7c1ae62ce63c3003e526d539c99f2b1444f65ee0a487d3a5667d46867526c45",
        ),
    ];
    assert_eq!(reports.len(), 5);
    for (r, (file, sha)) in reports.iter().zip(pins) {
        assert_eq!(r.file, file);
        assert_eq!((r.passed, r.failed, r.skipped), (0, 0, 0));
        let why = r.not_run.as_deref().expect("the suite is not run");
        let url = format!(
            "mlswg/mls-implementations/cfd450286d1bfd9cd2519b95c80f9771f94a5b1a/test-vectors/{file}"
        );
        for needle in [url.as_str(), sha, "--mls-vectors-dir", MLS_VECTORS_ENV] {
            assert!(
                why.contains(needle),
                "the message must name {needle}: {why}"
            );
        }
    }
    // A folder without the files: not run either, naming the missing file.
    let empty =
        std::env::temp_dir().join(format!("ratchet-bench-mls-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    for r in run(Some(&empty), false).unwrap() {
        let why = r
            .not_run
            .expect("a folder without the file leaves the suite not run");
        assert!(
            why.contains(&empty.join(&r.file).display().to_string()),
            "{why}"
        );
    }
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn a_changed_file_is_an_error_naming_it_unless_accepted() {
    let dir =
        std::env::temp_dir().join(format!("ratchet-bench-mls-changed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A tree-math file of one case that passes, but not the pinned bytes.
    std::fs::write(
        dir.join("tree-math.json"),
        r#"[{"n_leaves":1,"n_nodes":1,"root":0,"left":[null],"right":[null],"parent":[null],"sibling":[null]}]"#,
    )
    .unwrap();
    let only = vec!["mls-tree-math".to_string()];
    let err = run_suites(&vectors_dir(), Some(&dir), &[], &only, false).unwrap_err();
    assert!(
        matches!(&err, VectorError::Hash { path, .. } if path.ends_with("tree-math.json")),
        "{err}"
    );
    let reports = run_suites(&vectors_dir(), Some(&dir), &[], &only, true).unwrap();
    assert_eq!((reports[0].passed, reports[0].failed), (1, 0));
    // A wrong value is a failure with expected and actual.
    std::fs::write(
        dir.join("tree-math.json"),
        r#"[{"n_leaves":2,"n_nodes":3,"root":1,"left":[null,0,null],"right":[null,2,null],"parent":[1,null,1],"sibling":[2,null,1]}]"#,
    )
    .unwrap();
    let reports = run_suites(&vectors_dir(), Some(&dir), &[], &only, true).unwrap();
    assert_eq!(reports[0].failed, 1);
    assert_eq!(reports[0].cases[0].reason, "sibling[2]: expected 1, got 0");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cipher_suites_map_to_their_sizes_and_unknown_numbers_are_refused() {
    let sizes: Vec<(usize, usize, usize)> = CipherSuite::ALL
        .iter()
        .map(|&id| {
            let s = CipherSuite::new(id).unwrap();
            (s.hash_len(), s.key_len(), s.nonce_len())
        })
        .collect();
    assert_eq!(
        sizes,
        [
            (32, 16, 12),
            (32, 16, 12),
            (32, 32, 12),
            (64, 32, 12),
            (64, 32, 12),
            (64, 32, 12),
            (48, 32, 12)
        ]
    );
    for id in [0, 8, 0xffff] {
        assert_eq!(CipherSuite::new(id), Err(UnknownCipherSuite(id)));
    }
    assert_eq!(
        UnknownCipherSuite(8).to_string(),
        "cipher suite 8 is not supported: expected 1 to 7 (RFC 9420 §17.1)"
    );
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

/// Values from crypto-basics.json (suites 1 and 7) at the pinned commit.
#[test]
fn labelled_derivations_match_crypto_basics() {
    let s1 = CipherSuite::new(1).unwrap();
    assert_eq!(
        expand_with_label(
            s1,
            &h("1499360a561335f4ef51d0a1b0d586900dc8007ae405b1ab79bf4207bb3d67e4"),
            b"ExpandWithLabel",
            &h("2ff8c1f9d9c1248f82e372ddb5791c771695e01882abca6a64097bd2f04c971f"),
            16
        )
        .unwrap(),
        h("c1e8eb360391526c0c64039f13e0c5b1")
    );
    assert_eq!(
        derive_secret(
            s1,
            &h("1a9ce178a53f8752d2513c27efe9c85133f6c0a97f7b35ac200695024a77228e"),
            b"DeriveSecret"
        )
        .unwrap(),
        h("3b08c195a246c4ad469c1d11c10e62890d8fa6b684494ff925409efdb1ff0464")
    );
    assert_eq!(
        derive_tree_secret(
            s1,
            &h("5133c6f8bad297f5d3beacdf477f0c45ec51b02de659d305220c5f9385c6eb43"),
            b"DeriveTreeSecret",
            2_694_881_440,
            32
        )
        .unwrap(),
        h("8461f3ccc603eae52149a23a4134d29c880a1ad1ba70441e5d586e3521ec7b25")
    );
    let s7 = CipherSuite::new(7).unwrap();
    assert_eq!(
        expand_with_label(
            s7,
            &h("39bb10928726fffb2b9b61fa4b07fed7ef5e554021a83c9d3af3aac9a8abab3db0bae67df71e8b3dd7ab3cf17dc783ce"),
            b"ExpandWithLabel",
            &h("2588d6b1ca306a9fc348a8b1b4de45c7111c4fb86ee362086ecf3f8f18f0b869df492fc5d30af6dd2d53e7b1eddf7d2f"),
            32
        )
        .unwrap(),
        h("a2b96cd5edc41d0d56ce7a2282ce52aa792c7990483a52cbb044ee3f1f14f159")
    );
}

#[test]
fn secret_bearing_types_never_print_their_bytes() {
    use ratchet_bench::reference::mls::{sender_data_key_nonce, RatchetKind, SecretTree};
    let suite = CipherSuite::new(1).unwrap();
    let tree = SecretTree::new(suite, &[0xab; 32], 4).unwrap();
    let ratchet = tree.ratchet(3, RatchetKind::Application).unwrap();
    let sender_data = sender_data_key_nonce(suite, &[0xab; 32], &[0xcd; 40]).unwrap();
    let epoch = ratchet_bench::reference::mls::key_schedule::key_schedule(
        suite,
        &[0xab; 32],
        &[0xcd; 32],
        &[0; 32],
        b"context",
    )
    .unwrap();
    let printed = format!("{tree:?} {ratchet:?} {sender_data:?} {epoch:?}");
    insta::assert_snapshot!(printed, @"SecretTree { suite: 1, n_leaves: 4, .. } Ratchet { generation: 0, .. } SenderDataKeyNonce { .. } EpochSecrets { .. }");
}

/// A scratch folder holding `file` from the MLS vectors folder after `edit`, or `None`
/// (with a note) when that folder is absent.
fn edited(name: &str, file: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Option<PathBuf> {
    let Some(dir) = common::mls_vectors_dir() else {
        println!("the MLS vectors folder is absent: set {MLS_VECTORS_ENV} to run this test");
        return None;
    };
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    edit(&mut value);
    let scratch = common::temp_dir(name);
    std::fs::write(scratch.join(file), serde_json::to_string(&value).unwrap()).unwrap();
    Some(scratch)
}

/// Flips the last bit of the hex string at `pointer`.
fn flip(value: &mut serde_json::Value, pointer: &str) {
    let field = value.pointer_mut(pointer).unwrap();
    let mut bytes = hex::decode(field.as_str().unwrap()).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    *field = serde_json::Value::String(hex::encode(bytes));
}

/// Replays `suite` from `dir`, accepting the changed hash.
fn replay_changed(dir: &Path, suite: &str) -> Result<SuiteReport, VectorError> {
    let only = vec![suite.to_string()];
    let mut reports = run_suites(&vectors_dir(), Some(dir), &[], &only, true)?;
    assert_eq!(reports.len(), 1);
    Ok(reports.remove(0))
}

/// Replays `suite` with the hex field at `pointer` (in case `case`) flipped; that case
/// alone must fail, with a reason starting `reason`.
fn flipped_fails(suite: &str, file: &str, case: usize, pointer: &str, reason: &str) {
    let name = format!("mls-flip-{suite}-{case}");
    let Some(dir) = edited(&name, file, |v| flip(v, &format!("/{case}{pointer}"))) else {
        return;
    };
    let report = replay_changed(&dir, suite).unwrap();
    assert_eq!(
        (report.passed, report.failed),
        (6, 1),
        "{pointer}: {:?}",
        report.cases
    );
    let failed = &report.cases[case];
    assert_eq!(failed.status, CaseStatus::Fail);
    assert!(
        failed.reason.starts_with(reason),
        "{pointer}: the reason must name the field: {}",
        failed.reason
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flipped_byte_fails_its_crypto_basics_case_naming_the_field() {
    flipped_fails(
        "mls-crypto-basics",
        "crypto-basics.json",
        1,
        "/ref_hash/out",
        "ref_hash.out: expected",
    );
    flipped_fails(
        "mls-crypto-basics",
        "crypto-basics.json",
        6,
        "/derive_tree_secret/secret",
        "derive_tree_secret.out: expected",
    );
    // Ed25519 and HPKE parts are checked for suites 1 and 3.
    flipped_fails(
        "mls-crypto-basics",
        "crypto-basics.json",
        0,
        "/sign_with_label/content",
        "sign_with_label.signature: the signature does not verify",
    );
    flipped_fails(
        "mls-crypto-basics",
        "crypto-basics.json",
        2,
        "/encrypt_with_label/ciphertext",
        "encrypt_with_label.ciphertext: ChaCha20Poly1305 open: the tag does not verify",
    );
}

#[test]
fn a_flipped_byte_fails_its_key_schedule_case_naming_the_field() {
    flipped_fails(
        "mls-key-schedule",
        "key-schedule.json",
        4,
        "/epochs/3/membership_key",
        "epochs[3].membership_key: expected",
    );
    // An input changes what follows it, and the chain carries it into later epochs.
    flipped_fails(
        "mls-key-schedule",
        "key-schedule.json",
        0,
        "/epochs/1/commit_secret",
        "epochs[1].joiner_secret: expected",
    );
    flipped_fails(
        "mls-key-schedule",
        "key-schedule.json",
        2,
        "/epochs/0/tree_hash",
        "epochs[0].group_context: expected",
    );
    flipped_fails(
        "mls-key-schedule",
        "key-schedule.json",
        0,
        "/epochs/2/external_pub",
        "epochs[2].external_pub: expected",
    );
    flipped_fails(
        "mls-key-schedule",
        "key-schedule.json",
        6,
        "/epochs/4/exporter/secret",
        "epochs[4].exporter.secret: expected",
    );
}

#[test]
fn a_flipped_byte_fails_its_message_protection_case_naming_the_field() {
    flipped_fails(
        "mls-message-protection",
        "message-protection.json",
        3,
        "/commit_priv",
        "commit_priv: field ciphertext: Aes256Gcm open: the tag does not verify",
    );
    flipped_fails(
        "mls-message-protection",
        "message-protection.json",
        1,
        "/proposal_pub",
        "proposal_pub membership_tag: expected",
    );
    flipped_fails(
        "mls-message-protection",
        "message-protection.json",
        5,
        "/application",
        "application_priv content: expected",
    );
    // Another member's key: suite 3's signatures (Ed25519) no longer verify.
    let Some(dir) = edited("mls-other-key", "message-protection.json", |v| {
        let other = v[0]["signature_pub"].clone();
        v[2]["signature_pub"] = other;
    }) else {
        return;
    };
    let report = replay_changed(&dir, "mls-message-protection").unwrap();
    assert_eq!((report.passed, report.failed), (6, 1));
    assert_eq!(
        report.cases[2].reason,
        "application_priv auth.signature: the signature does not verify"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_messages_fail_their_case_naming_the_field_and_bad_hex_is_an_error() {
    // Truncated: the ciphertext's length says more than is there.
    let Some(dir) = edited("mls-truncated", "message-protection.json", |v| {
        let field = v.pointer_mut("/0/application_priv").unwrap();
        let text = field.as_str().unwrap().to_string();
        *field = serde_json::Value::String(text[..text.len() - 20].to_string());
        *v.pointer_mut("/1/proposal_priv").unwrap() = serde_json::Value::String("0001".into());
    }) else {
        return;
    };
    let report = replay_changed(&dir, "mls-message-protection").unwrap();
    assert_eq!(report.failed, 2);
    assert!(
        report.cases[0]
            .reason
            .starts_with("application_priv: field ciphertext: expected"),
        "{}",
        report.cases[0].reason
    );
    assert_eq!(
        report.cases[1].reason,
        "proposal_priv: field wire_format: expected 2 more bytes, got 0"
    );
    // Not hex: an error naming the file, the case and the field.
    std::fs::write(
        dir.join("message-protection.json"),
        std::fs::read_to_string(dir.join("message-protection.json"))
            .unwrap()
            .replacen("\"membership_key\":\"", "\"membership_key\":\"zz", 1),
    )
    .unwrap();
    let err = replay_changed(&dir, "mls-message-protection").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("message-protection.json") && text.contains("[0].membership_key"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
