//! The regression cases of vectors/regressions/scenarios.txt (minimised reproducers of real
//! findings, replayed by every `run`): each is replayed on every bundled peer and what each
//! peer did is snapshotted per case, so that a change of behaviour on a pinned finding is a
//! reviewable diff; a case that names its signature must still show it.
//!
//! Also checks `minimize` on a known finding: padded with steps and large values, it comes
//! back to the smallest reproducer.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::campaign::check_scenario;
use ratchet_bench::minimize::{self, Source};
use ratchet_bench::peer::Peer;
use ratchet_bench::peers;
use ratchet_bench::scenario::{Delivery, Outcome, Record, Scenario};
use std::fmt::Write as _;
use std::path::Path;

fn regressions_file() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/regressions/scenarios.txt")
}

/// A record's outcome as the snapshot pins it. A peer of its own randomness (vodozemac,
/// openmls, mls-rs, double-ratchet-2) sends other bytes on every run, so where a changed or
/// foreign copy of its message is refused, which check trips first (a decoder on bytes that
/// the change shifted, or the MAC) can change from run to run: vodozemac-megolm refuses a
/// Megolm message with bytes appended as malformed in most runs and by its signature in some.
/// For such a refusal the snapshot pins that it was refused, not why; a case's own
/// signature (checked above) still pins its class.
fn pinned_label(injectable_rng: bool, r: &Record) -> String {
    let copy = matches!(r.delivery, Some(Delivery::Forged | Delivery::Foreign));
    match &r.outcome {
        Outcome::Rejected(_) if copy && !injectable_rng => "rejected".into(),
        outcome => outcome.label(),
    }
}

#[test]
fn every_regression_case_replays_as_snapshotted() {
    let text = std::fs::read_to_string(regressions_file()).unwrap();
    let cases = minimize::cases(&text).unwrap();
    assert!(!cases.is_empty(), "the regressions file holds cases");
    let all = peers::bundled();
    let refs: Vec<&dyn Peer> = all.iter().map(|p| p.as_ref()).collect();
    for case in &cases {
        assert!(
            minimize::valid_name(&case.name),
            "case name {:?} must be usable as a file name",
            case.name
        );
        let (transcripts, findings) = check_scenario(&refs, &case.scenario, case.seed);
        let mut out = format!(
            "case: {}\npins: {}\nseed: {}\nscenario: {}\n",
            case.name,
            case.signature.as_deref().unwrap_or("-"),
            case.seed,
            case.scenario
        );
        for t in &transcripts {
            let outcomes: Vec<String> = match &t.setup_failure {
                Some(f) => vec![format!("setup-failed:{}", f.label())],
                None => t
                    .records
                    .iter()
                    .map(|r| {
                        format!(
                            "{}:{}",
                            r.step,
                            pinned_label(t.peer.capabilities.injectable_rng, r)
                        )
                    })
                    .collect(),
            };
            let _ = writeln!(out, "{}: {}", t.peer.name, outcomes.join(" "));
        }
        let mut signatures: Vec<String> = findings
            .iter()
            .map(|f| format!("{} (step {})", f.signature, f.step))
            .collect();
        signatures.sort();
        signatures.dedup();
        let _ = writeln!(out, "findings:");
        for s in &signatures {
            let _ = writeln!(out, "  {s}");
        }
        if let Some(sig) = &case.signature {
            assert!(
                findings.iter().any(|f| &f.signature == sig),
                "case {} must still show {sig}; it shows {signatures:?}",
                case.name
            );
        }
        insta::assert_snapshot!(format!("case-{}", case.name), out);
    }
}

#[test]
fn minimize_brings_a_padded_reproducer_back_to_the_smallest() {
    // mls-rs takes a generation's key before the AEAD check (ci/expectations.json): a
    // tampered copy destroys the genuine message's key. Padded with unrelated steps and
    // large values, minimize must find the three-step form with every value at zero.
    let padded: Scenario = "send A 77; send A 12; deliver m1; inject B 0102; tamper m0 mac 28543; \
                            send A 9; deliver m0; deliver m2"
        .parse()
        .unwrap();
    let source = Source {
        scenario: padded,
        seed: 1,
        target: None,
        origin: "test".into(),
    };
    let all = peers::select(&["mls-rs".to_string()]).unwrap();
    let refs: Vec<&dyn Peer> = all.iter().map(|p| p.as_ref()).collect();
    let finding = minimize::pick_signature(
        &source,
        &refs,
        Some("mls-rs/rejected-genuine/deliver/replay"),
    )
    .unwrap();
    let min = minimize::run(&source, &refs, &finding.signature, 500).unwrap();
    assert_eq!(
        min.scenario.to_string(),
        "send A 0; tamper m0 mac 0; deliver m0",
        "every removable step removed and every value at zero"
    );
    assert_eq!(
        min.finding.signature,
        "mls-rs/rejected-genuine/deliver/replay"
    );
}

#[test]
fn minimize_refuses_a_scenario_without_the_signature_naming_what_it_saw() {
    let source = minimize::source("send A 5; deliver m0", None, 0).unwrap();
    let all = peers::select(&["reference".to_string()]).unwrap();
    let refs: Vec<&dyn Peer> = all.iter().map(|p| p.as_ref()).collect();
    let err = minimize::pick_signature(&source, &refs, Some("reference/panic/deliver"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no finding \"reference/panic/deliver\""),
        "{err}"
    );
    assert!(err.contains("it shows: none"), "{err}");
}

#[test]
fn cases_are_named_by_their_case_line_and_errors_name_the_line() {
    let text = "# why\n# case one: a/b/c\n1 send A 1; deliver m0\n\n2 send A 2\n";
    let cases = minimize::cases(text).unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].name, "one");
    assert_eq!(cases[0].signature.as_deref(), Some("a/b/c"));
    assert_eq!(cases[0].comment, vec!["why".to_string()]);
    assert_eq!(cases[1].name, "line-5");
    let err = minimize::cases("# x\n1 send A 1; deliver m7\n").unwrap_err();
    assert!(err.starts_with("line 2: "), "{err}");
}

#[test]
fn fuzz_report_groups_artifacts_by_signature_and_names_the_smallest() {
    use ratchet_bench::artifact::{self, Input, Target};
    let dir = std::env::temp_dir().join(format!("rb-fuzz-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let session = dir.join("diff_session");
    let tree = dir.join("mls_secret_tree");
    std::fs::create_dir_all(&session).unwrap();
    std::fs::create_dir_all(&tree).unwrap();
    // Two campaign scenarios (no unexpected finding in this build), the smaller one named
    // second; a secret-tree input too short to decode (libFuzzer never runs it); a log.
    let big = ratchet_bench::campaign::scenario_bytes(1, 0);
    let small = &big[..40];
    std::fs::write(session.join("crash-aaaa"), &big).unwrap();
    std::fs::write(session.join("crash-bbbb"), small).unwrap();
    std::fs::write(session.join("fuzz-smoke.log"), b"not an input").unwrap();
    std::fs::write(tree.join("timeout-cccc"), [1u8, 2, 3]).unwrap();

    assert_eq!(
        Target::detect(&session.join("crash-aaaa")),
        Some(Target::DiffSession)
    );
    assert!(matches!(
        artifact::decode(Target::DiffSession, &big),
        Input::Scenario(s) if s == ratchet_bench::campaign::scenario_for(1, 0).0
    ));

    let report = ratchet_bench::fuzz_report::report(&dir).unwrap();
    assert_eq!(report.artifacts, 3, "the log is not an artifact");
    let rows: Vec<(&str, usize, &str)> = report
        .rows
        .iter()
        .map(|r| {
            (
                r.signature.as_str(),
                r.count,
                r.reproducer.file_name().unwrap().to_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("diff_session/no-crash-on-replay", 2, "crash-bbbb"),
            ("mls_secret_tree/not-run", 1, "timeout-cccc"),
        ]
    );
    assert!(report.rows[0]
        .replay
        .ends_with("crash-bbbb --target diff_session"));
    assert_eq!(report.rows[1].artifact_kind, "timeout");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_message_names_its_signature_alone_on_its_first_line() {
    use ratchet_bench::fuzzing::{crash_signature, CRASH_PREFIX};
    let log = format!(
        "thread '<unnamed>' panicked at src/fuzzing.rs:1:1:\n{CRASH_PREFIX}a+b/kind/step/class\ndetail 1\nscenario: x"
    );
    assert_eq!(crash_signature(&log), Some("a+b/kind/step/class"));
    assert_eq!(crash_signature("some other panic"), None);
}
