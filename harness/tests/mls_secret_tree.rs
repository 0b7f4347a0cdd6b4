//! The reference MLS secret tree against mls-rs's on fixed cases (what the
//! `mls_secret_tree` fuzz target checks on arbitrary ones), and the target's seed inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::mls_secret_tree::{
    compare, reference_key_nonce, DiffError, MlsRsTree, Normalized, Outcome, SecretTreeCase,
    MAX_GENERATION,
};
use std::path::{Path, PathBuf};

fn epoch_secret(fill: u8) -> [u8; 64] {
    std::array::from_fn(|i| fill.wrapping_add(i as u8))
}

/// The raw fuzz input for a case: the fields in declaration order as `arbitrary` reads
/// them (integers little-endian, then the array's bytes).
fn seed_bytes(suite: u8, log_leaves: u8, leaf: u32, generation: u16, fill: u8) -> Vec<u8> {
    let mut out = vec![suite, log_leaves];
    out.extend_from_slice(&leaf.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out.extend_from_slice(&epoch_secret(fill));
    out
}

fn case(suite: u16, log_leaves: u8, leaf: u32, generation: u16, fill: u8) -> SecretTreeCase {
    SecretTreeCase {
        // `normalized` adds 1 to the suite taken modulo 7.
        suite: (suite - 1) as u8,
        log_leaves,
        leaf,
        generation,
        epoch_secret: epoch_secret(fill),
    }
}

/// (suite, log2 leaves, leaf, generation): every suite mls-rs has, trees of 1 to 32
/// leaves, first, last and middle leaves, generations 0, 1, a few hundred, 1000 and the
/// last mls-rs derives.
const CASES: [(u16, u8, u32, u16); 10] = [
    (1, 0, 0, 0),
    (1, 1, 1, 1),
    (1, 3, 5, 1000),
    (1, 5, 31, 1024),
    (2, 2, 2, 17),
    (2, 4, 0, 300),
    (3, 0, 0, 1000),
    (3, 3, 7, 63),
    (7, 1, 0, 2),
    (7, 5, 16, 1000),
];

#[test]
fn reference_and_mls_rs_agree_on_fixed_cases() {
    for (i, &(suite, log_leaves, leaf, generation)) in CASES.iter().enumerate() {
        let c = case(suite, log_leaves, leaf, generation, i as u8);
        assert_eq!(
            c.normalized(),
            Normalized {
                suite,
                n_leaves: 1 << log_leaves,
                leaf,
                generation: u32::from(generation),
            },
            "the fixed case must be in the compared ranges as written"
        );
        assert_eq!(
            compare(&c),
            Ok(Outcome::Agreed),
            "reference and mls-rs must agree on {c:?}"
        );
    }
}

#[test]
fn suites_mls_rs_lacks_are_skipped_with_the_reason() {
    for suite in [4, 5, 6] {
        match compare(&case(suite, 1, 0, 0, 0)) {
            Ok(Outcome::Skipped(reason)) => assert!(
                reason.contains("suites 1, 2, 3 and 7"),
                "the skip must say which suites mls-rs has: {reason}"
            ),
            other => panic!("suite {suite} should be skipped, got {other:?}"),
        }
    }
}

#[test]
fn a_tree_over_another_secret_or_another_leaf_differs() {
    // The comparison must be able to fail: mls-rs's key differs from the reference's over a
    // secret one bit off, and from the reference's key of the neighbouring leaf.
    let mut tree = MlsRsTree::new(1, 4, &epoch_secret(9)).unwrap();
    let (key, nonce) = tree.derive(2, 5).unwrap();
    let secret = tree.encryption_secret().to_vec();
    assert_eq!(
        reference_key_nonce(1, &secret, 4, 2, 5).unwrap(),
        (key.clone(), nonce.clone()),
        "the reference over the group's encryption secret must give mls-rs's key"
    );
    let mut flipped = secret.clone();
    flipped[0] ^= 1;
    assert_ne!(reference_key_nonce(1, &flipped, 4, 2, 5).unwrap().0, key);
    assert_ne!(reference_key_nonce(1, &secret, 4, 3, 5).unwrap().0, key);
    assert_ne!(reference_key_nonce(1, &secret, 4, 2, 6).unwrap().0, key);
}

#[test]
fn mls_rs_takes_the_sender_as_a_node_index() {
    // Sender 2 is leaf 1 (node 2); sender 1 is node 1, the root of a two-leaf tree, whose
    // "ratchet" mls-rs builds from the encryption secret itself: not leaf 1's.
    let mut tree = MlsRsTree::new(1, 2, &epoch_secret(3)).unwrap();
    let secret = tree.encryption_secret().to_vec();
    let leaf_one = reference_key_nonce(1, &secret, 2, 1, 0).unwrap();
    assert_eq!(tree.derive_sender(2, 0).unwrap(), leaf_one);
    let mut tree = MlsRsTree::new(1, 2, &epoch_secret(3)).unwrap();
    assert_ne!(tree.derive_sender(1, 0).unwrap(), leaf_one);
}

#[test]
fn mls_rs_refuses_generations_beyond_its_forward_limit() {
    let mut tree = MlsRsTree::new(1, 1, &epoch_secret(5)).unwrap();
    match tree.derive(0, MAX_GENERATION + 1) {
        Err(DiffError::MlsRs { detail, .. }) => assert!(
            detail.contains("InvalidFutureGeneration"),
            "mls-rs must name its forward limit: {detail}"
        ),
        other => panic!(
            "generation {} should be refused, got {other:?}",
            MAX_GENERATION + 1
        ),
    }
}

fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/mls_secret_tree");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn seeds_decode_to_the_fixed_cases_and_pass() {
    let dir = corpus();
    for (i, &(suite, log_leaves, leaf, generation)) in CASES.iter().enumerate() {
        let bytes = seed_bytes((suite - 1) as u8, log_leaves, leaf, generation, i as u8);
        let decoded: SecretTreeCase =
            arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes))
                .unwrap();
        // The epoch secret's last byte may decode otherwise (`arbitrary_take_rest`); the
        // compared coordinates must be the fixed case's.
        assert_eq!(
            decoded.normalized(),
            case(suite, log_leaves, leaf, generation, i as u8).normalized(),
            "seed {i} must decode to its fixed case"
        );
        ratchet_bench::mls_secret_tree::fuzz(&decoded);
        let path = dir.join(format!(
            "case-{i:02}-suite{suite}-leaves{}",
            1 << log_leaves
        ));
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(path, &bytes).unwrap();
        }
    }
}
