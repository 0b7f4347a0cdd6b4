//! Seeds the fuzz corpus (fuzz/corpus/<target>/) and checks that the fuzz targets' logic
//! passes on it, so that `cargo fuzz run` starts from inputs that reach deep states.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::campaign::{scenario_bytes, scenario_for};
use ratchet_bench::fuzzing;
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

#[test]
fn diff_session_seeds_are_campaign_scenarios_without_new_findings() {
    let dir = corpus("diff_session");
    for index in 0..24 {
        let bytes = scenario_bytes(1, index);
        let (scenario, _) = scenario_for(1, index);
        let decoded: ratchet_bench::scenario::Scenario =
            arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes))
                .unwrap();
        assert_eq!(
            decoded, scenario,
            "a seed must decode to the campaign's scenario {index}"
        );
        let new = fuzzing::unexpected(&scenario, 0);
        assert!(
            new.is_empty(),
            "scenario {index} ({scenario}) gave unexpected findings: {new:?}"
        );
        seed(&dir, &format!("campaign-1-{index:02}"), &bytes);
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
