//! The generator of our `signal-dr` vector files, run by `ratchet-bench vectors generate`.
//!
//! It runs each case's scenario on the bundled reference with recording RNGs, checks that
//! the reference agrees with the oracle on every input (a case the reference gets wrong is
//! an error, not a vector), and writes `<name>-new.json` beside the committed file for a
//! person to review, rename and pin in the manifest. It never overwrites a file.

use super::session::{SessionFile, SessionGroup, SessionStep, SessionTest, SESSION_SCHEMA};
use super::{HexBytes, VectorError};
use crate::oracle::Verdict;
use crate::peer::SessionInit;
use crate::peers::ReferenceSignalDr;
use crate::reference::signal_dr::MAX_SKIP;
use crate::rng::{self, Recording};
use crate::scenario::{execute, Outcome, Plaintexts, Scenario, Setup, SESSION_AD};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A case: comment, flags, scenario.
type CaseSpec = (&'static str, &'static [&'static str], &'static str);

const HONEST: &[CaseSpec] = &[
    ("one message from A to B", &["Honest"], "send A 5; deliver m0"),
    (
        "ping-pong over three DH ratchet turns",
        &["Honest", "RatchetTurn"],
        "send A 16; deliver m0; send B 16; deliver m1; send A 16; deliver m2; send B 0; deliver m3",
    ),
    (
        "empty, block-sized and odd-sized plaintexts",
        &["Honest", "Padding"],
        "send A 0; send A 16; send A 31; deliver-all",
    ),
    ("a 1000-byte plaintext", &["Honest"], "send A 1000; deliver m0"),
    (
        "two messages each way per turn",
        &["Honest", "RatchetTurn"],
        "send A 3; send A 4; deliver m0; deliver m1; send B 5; send B 6; deliver m2; deliver m3; send A 7; deliver m4",
    ),
];

const OUT_OF_ORDER: &[CaseSpec] = &[
    (
        "three messages of one chain delivered in reverse",
        &["OutOfOrder"],
        "send A 1; send A 2; send A 3; deliver m2; deliver m1; deliver m0",
    ),
    (
        "a message of the previous chain arrives after the next chain began",
        &["OutOfOrder", "RatchetTurn"],
        "send A 8; send A 8; deliver m0; send B 8; deliver m2; send A 8; deliver m3; deliver m1",
    ),
    (
        "a lost message does not stop the later ones",
        &["OutOfOrder", "Lost"],
        "send A 4; send A 4; send A 4; drop m1; deliver-all",
    ),
    (
        "a jump of exactly MAX_SKIP keys is accepted",
        &["OutOfOrder", "AtLimit"],
        "send A 4; deliver m0; jump A +0; send B 4; deliver m2",
    ),
    (
        "delivery out of order in both directions across turns",
        &["OutOfOrder", "RatchetTurn"],
        "send A 2; send A 2; deliver m1; send B 2; send B 2; deliver m3; send A 2; deliver m4; deliver m2; deliver m0",
    ),
];

const INVALID: &[CaseSpec] = &[
    (
        "a bit flipped in the header's ratchet key is rejected, the message then decrypts",
        &["Tampered"],
        "send A 10; tamper m0 header 5; deliver m0",
    ),
    (
        "a bit flipped in the header's N is rejected, the message then decrypts",
        &["Tampered"],
        "send A 10; tamper m0 header 280; deliver m0",
    ),
    (
        "a bit flipped in the ciphertext is rejected",
        &["Tampered"],
        "send A 40; tamper m0 body 77; deliver m0",
    ),
    (
        "a bit flipped in the MAC is rejected",
        &["Tampered"],
        "send A 10; tamper m0 mac 200; deliver m0",
    ),
    (
        "other associated data is rejected",
        &["Tampered", "AssociatedData"],
        "send A 10; tamper m0 ad 3; deliver m0",
    ),
    (
        "a replay of a delivered message is rejected, later ones decrypt",
        &["Replay"],
        "send A 10; deliver m0; replay m0; send A 4; deliver m1",
    ),
    (
        "a replay of a message decrypted with a skipped key is rejected",
        &["Replay", "OutOfOrder"],
        "send A 1; send A 2; deliver m1; deliver m0; replay m0",
    ),
    (
        "a jump of MAX_SKIP + 1 keys is rejected, the other direction still works",
        &["TooFarAhead"],
        "send A 4; deliver m0; send B 3; deliver m1; jump A +1; send B 3; deliver m3",
    ),
    (
        "a truncated message is rejected, the whole one then decrypts",
        &["Truncated"],
        "send A 20; truncate m0 30; deliver m0",
    ),
    (
        "a message with a byte appended is rejected",
        &["Extended"],
        "send A 20; extend m0 00; deliver m0",
    ),
    (
        "injected bytes and an empty message are rejected",
        &["Injected"],
        "send A 5; inject B 00112233; inject B -; deliver m0",
    ),
    (
        "a reply with a bit flipped in its new ratchet key is rejected, the reply then decrypts",
        &["Tampered", "RatchetTurn"],
        "send A 4; deliver m0; send B 4; tamper m1 header 0; deliver m1",
    ),
];

/// The suites the generator writes: file stem, cases.
pub const GENERATED_SUITES: &[(&str, &str)] = &[
    ("honest", "signal-dr sessions delivered in order"),
    (
        "out-of-order",
        "signal-dr sessions delivered out of order, within the limits",
    ),
    (
        "invalid",
        "signal-dr inputs that must be rejected, and the session after them",
    ),
];

fn notes() -> BTreeMap<String, String> {
    [
        (
            "Honest",
            "Every message is delivered once, in order, untampered.",
        ),
        ("RatchetTurn", "The session goes through DH ratchet steps."),
        ("Padding", "Plaintext lengths around the AES block size."),
        (
            "OutOfOrder",
            "Messages arrive out of order; skipped keys are stored and used.",
        ),
        ("Lost", "A message is never delivered."),
        (
            "AtLimit",
            "A message skips exactly MAX_SKIP keys, which must be accepted.",
        ),
        (
            "Tampered",
            "A bit of the message or of its associated data is flipped.",
        ),
        (
            "AssociatedData",
            "The associated data differs from the sender's.",
        ),
        ("Replay", "A message is delivered a second time."),
        ("TooFarAhead", "A message skips more than MAX_SKIP keys."),
        ("Truncated", "A message is cut short."),
        ("Extended", "Bytes are appended to a message."),
        ("Injected", "Bytes no party sent are delivered."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn cases_of(stem: &str) -> &'static [CaseSpec] {
    match stem {
        "honest" => HONEST,
        "out-of-order" => OUT_OF_ORDER,
        _ => INVALID,
    }
}

fn generation_error(path: &Path, tc_id: u64, reason: String) -> VectorError {
    VectorError::Field {
        path: path.to_path_buf(),
        case: format!("tcId {tc_id}, "),
        field: "scenario".into(),
        reason,
    }
}

fn generate_case(
    path: &Path,
    stem: &str,
    tc_id: u64,
    spec: &CaseSpec,
) -> Result<SessionTest, VectorError> {
    let (comment, flags, text) = spec;
    let scenario: Scenario = text
        .parse()
        .map_err(|e| generation_error(path, tc_id, format!("{e}")))?;
    let seed_label = format!("vectors signal-dr {stem} {tc_id}");
    let mut shared_secret = [0u8; 32];
    rng::stream(0, &format!("{seed_label} shared secret")).fill_bytes(&mut shared_secret);
    let (rng_a, log_a) = Recording::new(rng::stream(0, &format!("{seed_label} A")));
    let (rng_b, log_b) = Recording::new(rng::stream(0, &format!("{seed_label} B")));
    let setup = Setup {
        init: SessionInit { shared_secret },
        rng_a: Box::new(rng_a),
        rng_b: Box::new(rng_b),
        plaintexts: Plaintexts::Stream(Box::new(rng::stream(
            0,
            &format!("{seed_label} plaintexts"),
        ))),
        ad: SESSION_AD.to_vec(),
        foreign_seed: None,
    };
    let t = execute(&ReferenceSignalDr, &scenario, setup);
    if let Some(failure) = &t.setup_failure {
        return Err(generation_error(
            path,
            tc_id,
            format!("the reference could not set up: {}", failure.label()),
        ));
    }
    let mut steps = Vec::new();
    let mut invalid = false;
    for r in &t.records {
        let (outcome, output) = match (&r.verdict, &r.outcome) {
            (Verdict::MustAccept, Outcome::Sent(w)) => ("sent", w.clone()),
            (Verdict::MustAccept, Outcome::Accepted(pt)) if r.expected.as_ref() == Some(pt) => ("accepted", pt.clone()),
            (Verdict::MustReject(_), Outcome::Rejected(_)) => {
                invalid = true;
                ("rejected", Vec::new())
            }
            (verdict, outcome) => {
                return Err(generation_error(
                    path,
                    tc_id,
                    format!(
                        "step {} ({}): the reference gave {} where the oracle rules {verdict:?}; fix the reference or the case",
                        r.step,
                        r.kind,
                        outcome.label()
                    ),
                ))
            }
        };
        steps.push(SessionStep {
            step: r.step,
            kind: r.kind.into(),
            party: r.party.to_string(),
            input: HexBytes(r.input.clone()),
            outcome: outcome.into(),
            output: HexBytes(output),
        });
    }
    let drawn = |log: &std::sync::Arc<std::sync::Mutex<Vec<u8>>>| {
        HexBytes(log.lock().map(|l| l.clone()).unwrap_or_default())
    };
    Ok(SessionTest {
        tc_id,
        comment: (*comment).into(),
        flags: flags.iter().map(|f| (*f).to_string()).collect(),
        result: if invalid { "invalid" } else { "valid" }.into(),
        shared_secret: HexBytes(shared_secret.to_vec()),
        random_a: drawn(&log_a),
        random_b: drawn(&log_b),
        scenario: scenario.to_string(),
        steps,
        sent_digest: HexBytes(t.sent_digest.to_vec()),
    })
}

/// Writes every generated suite as `<dir>/signal-dr/<stem>-new.json` and returns each path
/// with its sha256.
pub fn generate(dir: &Path) -> Result<Vec<(PathBuf, String)>, VectorError> {
    let folder = dir.join("signal-dr");
    std::fs::create_dir_all(&folder).map_err(|source| VectorError::Write {
        path: folder.clone(),
        source,
    })?;
    let mut written = Vec::new();
    for (stem, title) in GENERATED_SUITES {
        let path = folder.join(format!("{stem}-new.json"));
        if path.exists() {
            return Err(VectorError::Exists { path });
        }
        let tests = cases_of(stem)
            .iter()
            .enumerate()
            .map(|(i, spec)| generate_case(&path, stem, i as u64 + 1, spec))
            .collect::<Result<Vec<_>, _>>()?;
        let file = SessionFile {
            algorithm: "signal-dr".into(),
            schema: SESSION_SCHEMA.into(),
            generator_version: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
            number_of_tests: tests.len(),
            header: vec![
                format!("{title}."),
                "Regression vectors made by the bundled reference; ksi-double-ratchet with the \
                 signal-dr provider is the independent check that they are right."
                    .into(),
            ],
            notes: notes(),
            test_groups: vec![SessionGroup {
                kind: "RatchetSessionTest".into(),
                ad: HexBytes(SESSION_AD.to_vec()),
                max_skip: MAX_SKIP,
                tests,
            }],
        };
        let mut json = serde_json::to_string_pretty(&file).map_err(|e| VectorError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        json.push('\n');
        std::fs::write(&path, &json).map_err(|source| VectorError::Write {
            path: path.clone(),
            source,
        })?;
        written.push((path, hex::encode(Sha256::digest(json.as_bytes()))));
    }
    Ok(written)
}
