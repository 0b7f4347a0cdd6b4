//! Seeds the fuzz corpus (fuzz/corpus/<target>/) and checks that the fuzz targets' logic
//! passes on it, so that `cargo fuzz run` starts from inputs that reach deep states: the
//! differential targets from the first `max_len` bytes of campaign scenarios.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::campaign::{scenario_bytes, scenario_for};
use ratchet_bench::fuzzing;
use ratchet_bench::peer::Family;
use ratchet_bench::vectors::SessionFile;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bytes` as `name` unless the file already holds them, so tests leave the tree clean.
fn seed(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    if std::fs::read(&path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).unwrap();
    }
}

/// The differential targets and the families each runs.
const DIFF_TARGETS: [(&str, &[Family]); 4] = [
    ("diff_session", fuzzing::SESSION_FAMILIES),
    ("diff_olm", &[Family::OLM]),
    ("diff_megolm", &[Family::MEGOLM]),
    ("diff_signal_v3", &[Family::SIGNAL_V3]),
];

#[test]
fn diff_seeds_are_the_starts_of_campaign_scenarios_without_new_findings() {
    for (target, families) in DIFF_TARGETS {
        diff_seeds(target, families);
    }
}

/// The differential targets run the peers of `run`'s campaign for their families: every
/// bundled peer, and none of the earlier release lines (which the interop matrices and
/// `compare` cover).
#[test]
fn diff_targets_run_the_campaign_s_peers() {
    let bundled = ratchet_bench::peers::bundled();
    for (target, families) in DIFF_TARGETS {
        let ran: Vec<String> = fuzzing::peers_of(families)
            .iter()
            .map(|p| p.info().name)
            .collect();
        let campaign: Vec<String> = bundled
            .iter()
            .map(|p| p.info())
            .filter(|i| families.contains(&i.family))
            .map(|i| i.name)
            .collect();
        assert_eq!(ran, campaign, "{target}");
        assert!(!ran.iter().any(|n| n.contains('@')), "{target}: {ran:?}");
    }
}

/// How much of a campaign scenario's bytes a seed keeps: the targets' `max_len`
/// (ci/clusterfuzzlite/<target>.options), about 30 events of the campaign's 64.
const SEED_BYTES: usize = 128;

fn diff_seeds(target: &str, families: &[Family]) {
    let dir = corpus(target);
    let options = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ci/clusterfuzzlite")
        .join(format!("{target}.options"));
    let options = std::fs::read_to_string(&options).unwrap();
    assert!(
        options
            .lines()
            .any(|l| l.replace(' ', "") == format!("max_len={SEED_BYTES}")),
        "{target}: its options should set max_len = {SEED_BYTES}"
    );
    for index in 0..24 {
        let bytes = &scenario_bytes(1, index)[..SEED_BYTES];
        let (whole, _) = scenario_for(1, index);
        let scenario: ratchet_bench::scenario::Scenario =
            arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(bytes)).unwrap();
        // The last event may be cut short, and so decode otherwise.
        let kept = scenario.steps.len().saturating_sub(1);
        assert!(
            whole.steps.starts_with(&scenario.steps[..kept]),
            "a seed must decode to the start of the campaign's scenario {index}: {scenario} against {whole}"
        );
        let new = fuzzing::unexpected(&scenario, 0, families);
        assert!(
            new.is_empty(),
            "{target}: scenario {index} ({scenario}) gave unexpected findings: {new:?}"
        );
        seed(&dir, &format!("campaign-1-{index:02}"), bytes);
    }
}

#[test]
fn reference_decrypt_seeds_are_vector_messages_and_all_are_refused() {
    let dir = corpus("reference_decrypt");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/signal-dr");
    let mut n = 0;
    for file in ["honest", "out-of-order", "invalid"] {
        let text = std::fs::read_to_string(vectors.join(format!("{file}.json"))).unwrap();
        let parsed: SessionFile = serde_json::from_str(&text).unwrap();
        for test in &parsed.test_groups[0].tests {
            for step in test.steps.iter().filter(|s| s.outcome == "sent").take(2) {
                // Messages of other sessions: the target must refuse them and go on working.
                fuzzing::reference_decrypt(&step.output);
                seed(
                    &dir,
                    &format!("{file}-{}-{}", test.tc_id, step.step),
                    &step.output,
                );
                n += 1;
            }
        }
    }
    assert!(n >= 30, "expected a seed per vector message, got {n}");
    fuzzing::reference_decrypt(&[]);
}

/// One vector_parse seed: its name, its bytes and the loaders that must accept it (every
/// other loader must refuse it with an error naming the file).
struct VectorSeed {
    name: String,
    bytes: Vec<u8>,
    accepted_by: Vec<String>,
}

/// `text` (a whole vector file) cut down to the first `keep` tests of its first group, with
/// `numberOfTests` to match, so that a seed stays small.
fn first_tests(text: &str, keep: usize) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    let groups = v["testGroups"].as_array_mut().unwrap();
    groups.truncate(1);
    let tests = groups[0]["tests"].as_array_mut().unwrap();
    tests.truncate(keep);
    let n = tests.len();
    v["numberOfTests"] = n.into();
    serde_json::to_vec(&v).unwrap()
}

/// A secret-tree case over two leaves made by the reference (so not a copy of the working
/// group's file): suite 1, generations 0 and 2.
fn secret_tree_seed() -> Vec<u8> {
    use ratchet_bench::reference::mls::{
        sender_data_key_nonce, CipherSuite, RatchetKind, SecretTree,
    };
    let suite = CipherSuite::new(1).unwrap();
    let (sd_secret, ciphertext, root) = ([1u8; 32], [2u8; 40], [3u8; 32]);
    let sd = sender_data_key_nonce(suite, &sd_secret, &ciphertext).unwrap();
    let tree = SecretTree::new(suite, &root, 2).unwrap();
    let leaves: Vec<serde_json::Value> = (0..2)
        .map(|leaf| {
            let gens: Vec<serde_json::Value> = [0u32, 2]
                .iter()
                .map(|&g| {
                    let [(hk, hn), (ak, an)] = [RatchetKind::Handshake, RatchetKind::Application]
                        .map(|k| {
                            let mut r = tree.ratchet(leaf, k).unwrap();
                            r.advance_to(g).unwrap();
                            r.key_nonce().unwrap()
                        });
                    serde_json::json!({
                        "generation": g,
                        "handshake_key": hex::encode(hk),
                        "handshake_nonce": hex::encode(hn),
                        "application_key": hex::encode(ak),
                        "application_nonce": hex::encode(an),
                    })
                })
                .collect();
            serde_json::Value::Array(gens)
        })
        .collect();
    serde_json::to_vec(&serde_json::json!([{
        "cipher_suite": 1,
        "sender_data": {
            "sender_data_secret": hex::encode(sd_secret),
            "ciphertext": hex::encode(ciphertext),
            "key": hex::encode(&sd.key),
            "nonce": hex::encode(&sd.nonce),
        },
        "encryption_secret": hex::encode(root),
        "leaves": leaves,
    }]))
    .unwrap()
}

fn vector_seeds() -> Vec<VectorSeed> {
    use ratchet_bench::vectors::wycheproof::WycheproofFile;
    let mls_loaders: Vec<String> = ratchet_bench::vectors::Manifest::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/MANIFEST.json"),
    )
    .unwrap()
    .suites
    .into_iter()
    .filter(|s| ratchet_bench::vectors::mls::MlsFile::from_loader(&s.loader).is_some())
    .map(|s| s.loader)
    .collect();
    let seed = |name: &str, bytes: &[u8], accepted_by: &[&str]| VectorSeed {
        name: name.into(),
        bytes: bytes.to_vec(),
        accepted_by: accepted_by.iter().map(|s| s.to_string()).collect(),
    };
    let mut seeds = Vec::new();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/signal-dr");
    for file in ["honest", "out-of-order", "invalid"] {
        let text = std::fs::read_to_string(vectors.join(format!("{file}.json"))).unwrap();
        seeds.push(seed(
            &format!("signal-dr-{file}"),
            &first_tests(&text, 1),
            &["ratchet-session"],
        ));
    }
    for file in WycheproofFile::ALL {
        let loader = format!("wycheproof {}", file.file_name());
        let mut accepted = vec![loader.as_str()];
        // One schema for both AEAD files, so each parses as the other too.
        let aead = [
            "wycheproof aes_gcm_test.json",
            "wycheproof chacha20_poly1305_test.json",
        ];
        if aead.contains(&loader.as_str()) {
            accepted = aead.to_vec();
        }
        seeds.push(seed(
            &format!(
                "wycheproof-{}",
                file.file_name().trim_end_matches("_test.json")
            ),
            &first_tests(file.json(), 2),
            &accepted,
        ));
    }
    // RFC 9420 appendix C by hand: a one-leaf and a two-leaf tree.
    seeds.push(seed(
        "mls-tree-math",
        br#"[{"n_leaves":1,"n_nodes":1,"root":0,"left":[null],"right":[null],"parent":[null],"sibling":[null]},{"n_leaves":2,"n_nodes":3,"root":1,"left":[null,0,null],"right":[null,2,null],"parent":[1,null,1],"sibling":[2,null,0]}]"#,
        &["mls-tree-math"],
    ));
    seeds.push(seed(
        "mls-secret-tree",
        &secret_tree_seed(),
        &["mls-secret-tree"],
    ));
    // Over the step budget: parsed, not checked, so the target stays fast.
    let far = String::from_utf8(secret_tree_seed()).unwrap().replacen(
        "\"generation\":2",
        "\"generation\":4294967295",
        1,
    );
    seeds.push(seed(
        "mls-secret-tree-far",
        far.as_bytes(),
        &["mls-secret-tree"],
    ));
    // An empty list is a file of no cases to every MLS loader.
    let mls: Vec<&str> = mls_loaders.iter().map(String::as_str).collect();
    seeds.push(seed("empty-list", b"[]", &mls));
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("object", b"{}"),
        ("null", b"null"),
        ("truncated", br#"[{"n_leaves":1,"n_nodes""#),
        ("wrong-type", br#"[{"n_leaves":"one"}]"#),
        ("not-utf8", b"\xff\xfe[]"),
        (
            "wrong-schema",
            br#"{"algorithm":"signal-dr","schema":"other","generatorVersion":"0","numberOfTests":0,"notes":{},"testGroups":[]}"#,
        ),
    ] {
        seeds.push(seed(name, bytes, &[]));
    }
    seeds
}

#[test]
fn vector_parse_seeds_reach_their_loader_and_every_other_loader_refuses_them() {
    let dir = corpus("vector_parse");
    for s in vector_seeds() {
        let verdicts = fuzzing::vector_parse(&s.bytes);
        assert!(
            verdicts.len() > 1 || s.name == "not-utf8",
            "{}: every loader should answer: {verdicts:?}",
            s.name
        );
        for (loader, verdict) in &verdicts {
            match verdict {
                Ok(_) => assert!(
                    s.accepted_by.contains(loader),
                    "seed {} should be refused by {loader}, which accepted it",
                    s.name
                ),
                Err(e) => {
                    assert!(
                        !s.accepted_by.contains(loader),
                        "seed {} should be accepted by {loader}: {e}",
                        s.name
                    );
                    assert!(
                        e.to_string().starts_with("fuzz-input.json: "),
                        "an error should name the file: {e}"
                    );
                }
            }
        }
        for loader in &s.accepted_by {
            assert!(
                verdicts.iter().any(|(l, _)| l == loader),
                "seed {}: no loader named {loader}",
                s.name
            );
        }
        seed(&dir, &s.name, &s.bytes);
    }
}

/// libolm_decode seeds: messages of real libolm sessions (the first byte picks Olm or
/// Megolm), each of which the target must refuse in its own, other session.
#[test]
#[cfg_attr(
    not(feature = "libolm"),
    ignore = "the libolm peers are built only with the libolm feature"
)]
fn libolm_decode_seeds_are_real_messages_and_all_are_refused() {
    use ratchet_bench::peer::SessionInit;
    let dir = corpus("libolm_decode");
    let all = ratchet_bench::peers::bundled();
    let mut n = 0;
    for (selector, name) in fuzzing::LIBOLM_PEERS.iter().enumerate() {
        let peer = all
            .iter()
            .find(|p| p.info().name == *name)
            .expect("the libolm peers are built with the libolm feature");
        let init = SessionInit {
            shared_secret: [1; 32],
        };
        let (mut b, bundle) = peer
            .respond(&init, Box::new(ratchet_bench::rng::stream(5, "seed B")))
            .unwrap();
        let mut a = peer
            .initiate(
                &init,
                &bundle,
                Box::new(ratchet_bench::rng::stream(5, "seed A")),
            )
            .unwrap();
        if let Some(h) = a.handshake().unwrap() {
            b.join(&h).unwrap();
        }
        for i in 0..4u8 {
            let (from, to) = if i % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            let wire = from.encrypt(b"seed", &[i; 40]).unwrap();
            to.decrypt(b"seed", &wire).unwrap();
            let mut input = vec![selector as u8];
            input.extend_from_slice(&wire);
            fuzzing::libolm_decode(&input);
            seed(&dir, &format!("{name}-{i}"), &input);
            n += 1;
        }
    }
    assert_eq!(n, 8);
    fuzzing::libolm_decode(&[]);
}
