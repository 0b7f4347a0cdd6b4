//! The MLS working group's tree-math and secret-tree vectors on the reference: every case
//! passes for all seven cipher suites, one insta snapshot per file; without the vectors
//! folder, both suites come back "not run" with the way to fetch them. Also the labelled
//! derivations against values from crypto-basics.json.

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

const SUITES: [&str; 2] = ["mls-tree-math", "mls-secret-tree"];

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
        assert_eq!(reports.len(), 2, "one report per MLS file: {reports:?}");
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
    assert_eq!(reports.len(), 2, "one report per MLS file: {reports:?}");
    for r in &reports {
        assert_eq!(
            r.not_run,
            None,
            "{} must run from {}",
            r.file,
            dir.display()
        );
        assert_eq!(r.peer, "reference");
        let expected_cases = if r.file == "tree-math.json" { 10 } else { 21 };
        assert_eq!(
            (r.passed, r.failed, r.skipped),
            (expected_cases, 0, 0),
            "every case of {} must pass:\n{}",
            r.file,
            table(r)
        );
        insta::assert_snapshot!(format!("reference@{}", r.file), table(r));
    }
    // The secret-tree file covers every suite the reference supports.
    let text = std::fs::read_to_string(dir.join("secret-tree.json")).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let suites: BTreeSet<u64> = cases
        .iter()
        .map(|c| c["cipher_suite"].as_u64().unwrap())
        .collect();
    assert_eq!(
        suites,
        (1..=7).collect(),
        "secret-tree.json covers suites 1 to 7"
    );
}

#[test]
fn without_a_folder_the_suites_are_not_run_with_the_way_to_fetch_them() {
    let reports = run(None, false).unwrap();
    let pins = [
        (
            "tree-math.json",
            "27f04891f56106593b74b674445f01b845e173953770c084deb2f8cf5592e2fc",
        ),
        (
            "secret-tree.json",
            "08f92e6272452e2c832e32d38e16cf0c4aa28967e47d3842c60bc354c6b67a94",
        ),
    ];
    assert_eq!(reports.len(), 2);
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
    let printed = format!("{tree:?} {ratchet:?} {sender_data:?}");
    insta::assert_snapshot!(printed, @"SecretTree { suite: 1, n_leaves: 4, .. } Ratchet { generation: 0, .. } SenderDataKeyNonce { .. }");
}
