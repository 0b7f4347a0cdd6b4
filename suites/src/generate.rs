//! The generator of our ratchet-session vector files (`signal-dr`, `olm`, `megolm`), run by
//! `ratchet-bench vectors generate`.
//!
//! It runs each case's scenario on the family's bundled reference with recording RNGs,
//! checks that the reference agrees with the oracle on every input (a case the reference
//! gets wrong is an error, not a vector), and writes `<family>/<name>-new.json` beside the
//! committed file for a person to review, rename and pin in the manifest. It never
//! overwrites a file.
//!
//! Each family's cases avoid inputs where the oracle allows either outcome: a vector holds
//! one expected outcome. So Olm has no case at its forward limit (the jump would overflow
//! its 40 kept keys, which it may evict), and Megolm's replays and jumps are accepted cases.

use super::{HexBytes, VectorError};
use super::{SessionFile, SessionGroup, SessionStep, SessionTest, SESSION_SCHEMA};
use rand_core::RngCore;
use ratchet_bench_core::oracle::Verdict;
use ratchet_bench_core::peer::Peer;
use ratchet_bench_core::peer::SessionInit;
use ratchet_bench_core::rng::{self, Recording};
use ratchet_bench_core::scenario::{execute, Outcome, Plaintexts, Scenario, Setup, SESSION_AD};
use ratchet_bench_references::peers::{
    ReferenceMegolm, ReferenceOlm, ReferenceSignalDr, ReferenceSignalV3,
};
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

const OLM_HONEST: &[CaseSpec] = &[
    (
        "one pre-key message from A to B",
        &["Honest", "PreKey"],
        "send A 5; deliver m0",
    ),
    (
        "ping-pong over three ratchet turns: pre-key messages until B answers",
        &["Honest", "PreKey", "RatchetTurn"],
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

const OLM_OUT_OF_ORDER: &[CaseSpec] = &[
    (
        "three pre-key messages delivered in reverse: the last creates B's session",
        &["OutOfOrder", "PreKey"],
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
        "delivery out of order in both directions across turns",
        &["OutOfOrder", "RatchetTurn"],
        "send A 2; send A 2; deliver m1; send B 2; send B 2; deliver m3; send A 2; deliver m4; deliver m2; deliver m0",
    ),
];

const OLM_INVALID: &[CaseSpec] = &[
    (
        "a bit flipped in a pre-key message's keys or header is rejected, the message then decrypts",
        &["Tampered", "PreKey"],
        "send A 10; tamper m0 header 5; deliver m0",
    ),
    (
        "a bit flipped in a normal message's header is rejected, the message then decrypts",
        &["Tampered", "RatchetTurn"],
        "send A 4; deliver m0; send B 4; deliver m1; send A 10; tamper m2 header 20; deliver m2",
    ),
    (
        "a bit flipped in the ciphertext is rejected",
        &["Tampered"],
        "send A 40; tamper m0 body 77; deliver m0",
    ),
    (
        "a bit flipped in the MAC is rejected",
        &["Tampered"],
        "send A 10; tamper m0 mac 20; deliver m0",
    ),
    (
        "other associated data is rejected",
        &["Tampered", "AssociatedData"],
        "send A 10; tamper m0 ad 3; deliver m0",
    ),
    (
        "a replay of a delivered message is rejected, later ones decrypt",
        &["Replay"],
        "send A 10; deliver m0; send B 3; deliver m1; send A 4; deliver m2; replay m2; send A 4; deliver m3",
    ),
    (
        "a replay of a message decrypted with a skipped key is rejected",
        &["Replay", "OutOfOrder"],
        "send A 1; deliver m0; send B 1; deliver m1; send A 1; send A 2; deliver m3; deliver m2; replay m2",
    ),
    (
        "a jump past the maximum gap is rejected, the other direction still works",
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
];

const MEGOLM_HONEST: &[CaseSpec] = &[
    (
        "one message from A to B",
        &["Honest"],
        "send A 5; deliver m0",
    ),
    (
        "messages both ways, each side on its own outbound session",
        &["Honest"],
        "send A 16; deliver m0; send B 16; deliver m1; send A 16; deliver m2; send B 0; deliver m3",
    ),
    (
        "empty, block-sized and odd-sized plaintexts",
        &["Honest", "Padding"],
        "send A 0; send A 16; send A 31; deliver-all",
    ),
    (
        "a 1000-byte plaintext",
        &["Honest"],
        "send A 1000; deliver m0",
    ),
];

const MEGOLM_OUT_OF_ORDER: &[CaseSpec] = &[
    (
        "three messages delivered in reverse",
        &["OutOfOrder"],
        "send A 1; send A 2; send A 3; deliver m2; deliver m1; deliver m0",
    ),
    (
        "a lost message does not stop the later ones",
        &["OutOfOrder", "Lost"],
        "send A 4; send A 4; send A 4; drop m1; deliver-all",
    ),
    (
        "a jump of 601 indices (R2 moves twice) decrypts, then an earlier one",
        &["OutOfOrder", "Jump"],
        "send A 4; send A 4; deliver m1; jump A +1; deliver m0",
    ),
    (
        "a replay decrypts again: Megolm leaves replay detection to the application",
        &["Replay"],
        "send A 10; deliver m0; replay m0; send A 4; deliver m1; replay m0",
    ),
];

const MEGOLM_INVALID: &[CaseSpec] = &[
    (
        "a bit flipped in the message index is rejected, the message then decrypts",
        &["Tampered"],
        "send A 10; tamper m0 header 9; deliver m0",
    ),
    (
        "a bit flipped in the ciphertext is rejected",
        &["Tampered"],
        "send A 40; tamper m0 body 77; deliver m0",
    ),
    (
        "a bit flipped in the MAC is rejected",
        &["Tampered"],
        "send A 10; tamper m0 mac 20; deliver m0",
    ),
    (
        "other associated data is rejected",
        &["Tampered", "AssociatedData"],
        "send A 10; tamper m0 ad 3; deliver m0",
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
];

const SIGNAL_V3_HONEST: &[CaseSpec] = &[
    (
        "one pre-key message from A to B",
        &["Honest", "PreKey"],
        "send A 5; deliver m0",
    ),
    (
        "ping-pong over three ratchet turns: pre-key messages until B answers",
        &["Honest", "PreKey", "RatchetTurn"],
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

const SIGNAL_V3_OUT_OF_ORDER: &[CaseSpec] = &[
    (
        "three pre-key messages delivered in reverse: the last creates B's session",
        &["OutOfOrder", "PreKey"],
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
        "delivery out of order in both directions across turns",
        &["OutOfOrder", "RatchetTurn"],
        "send A 2; send A 2; deliver m1; send B 2; send B 2; deliver m3; send A 2; deliver m4; deliver m2; deliver m0",
    ),
];

const SIGNAL_V3_INVALID: &[CaseSpec] = &[
    (
        "a bit flipped in a pre-key message's inner header is rejected, the message then decrypts",
        &["Tampered", "PreKey"],
        "send A 10; tamper m0 header 100; deliver m0",
    ),
    (
        "a bit flipped in a whisper message's header is rejected, the message then decrypts",
        &["Tampered", "RatchetTurn"],
        "send A 4; deliver m0; send B 4; deliver m1; send A 10; tamper m2 header 20; deliver m2",
    ),
    (
        "a bit flipped in the ciphertext is rejected",
        &["Tampered"],
        "send A 40; tamper m0 body 77; deliver m0",
    ),
    (
        "a bit flipped in the MAC is rejected",
        &["Tampered"],
        "send A 10; tamper m0 mac 20; deliver m0",
    ),
    (
        "other associated data is rejected",
        &["Tampered", "AssociatedData"],
        "send A 10; tamper m0 ad 3; deliver m0",
    ),
    (
        "a replay of a delivered message is rejected, later ones decrypt",
        &["Replay"],
        "send A 10; deliver m0; send B 3; deliver m1; send A 4; deliver m2; replay m2; send A 4; deliver m3",
    ),
    (
        "a replay of a message decrypted with a skipped key is rejected",
        &["Replay", "OutOfOrder"],
        "send A 1; deliver m0; send B 1; deliver m1; send A 1; send A 2; deliver m3; deliver m2; replay m2",
    ),
    (
        "a jump past the forward limit is rejected, the other direction still works",
        &["TooFarAhead"],
        "send A 4; deliver m0; send B 3; deliver m1; jump A +1; send B 3; deliver m3",
    ),
    (
        "a truncated message is rejected, the whole one then decrypts",
        &["Truncated"],
        "send A 20; truncate m0 30; deliver m0",
    ),
    (
        "a whisper message with a byte appended is rejected",
        &["Extended", "RatchetTurn"],
        "send A 4; deliver m0; send B 20; extend m1 00; deliver m1",
    ),
    (
        "injected bytes and an empty message are rejected",
        &["Injected"],
        "send A 5; inject B 00112233; inject B -; deliver m0",
    ),
];

/// One generated suite: file stem, title, cases.
type SuiteSpec = (&'static str, &'static str, &'static [CaseSpec]);

/// A family the generator writes vectors for.
struct GeneratedFamily {
    /// The family's name: its folder under `vectors/` and the files' `algorithm`.
    name: &'static str,
    /// Its bundled reference.
    reference: &'static dyn Peer,
    /// The implementation that checks the vectors independently, for the files' header.
    checked_by: &'static str,
    suites: &'static [SuiteSpec],
}

const FAMILIES: &[GeneratedFamily] = &[
    GeneratedFamily {
        name: "signal-dr",
        reference: &ReferenceSignalDr,
        checked_by: "ksi-double-ratchet with the signal-dr provider is the independent check that they are right.",
        suites: &[
            ("honest", "signal-dr sessions delivered in order", HONEST),
            (
                "out-of-order",
                "signal-dr sessions delivered out of order, within the limits",
                OUT_OF_ORDER,
            ),
            (
                "invalid",
                "signal-dr inputs that must be rejected, and the session after them",
                INVALID,
            ),
        ],
    },
    GeneratedFamily {
        name: "olm",
        reference: &ReferenceOlm,
        checked_by: "libolm, fed the same random bytes, is the independent check that they are right, byte for byte.",
        suites: &[
            ("honest", "Olm sessions delivered in order", OLM_HONEST),
            (
                "out-of-order",
                "Olm sessions delivered out of order, within the limits",
                OLM_OUT_OF_ORDER,
            ),
            (
                "invalid",
                "Olm inputs that must be rejected, and the session after them",
                OLM_INVALID,
            ),
        ],
    },
    GeneratedFamily {
        name: "megolm",
        reference: &ReferenceMegolm,
        checked_by: "libolm, fed the same random bytes, is the independent check that they are right, byte for byte; vodozemac decrypts every message.",
        suites: &[
            ("honest", "Megolm sessions delivered in order", MEGOLM_HONEST),
            (
                "out-of-order",
                "Megolm sessions delivered out of order, with jumps and replays (which decrypt)",
                MEGOLM_OUT_OF_ORDER,
            ),
            (
                "invalid",
                "Megolm inputs that must be rejected, and the session after them",
                MEGOLM_INVALID,
            ),
        ],
    },
    GeneratedFamily {
        name: "signal-v3",
        reference: &ReferenceSignalV3,
        checked_by: "python-axolotl and oldmemo (through their shims, fed the same random bytes) replay them; libsignal 0.72.1, which draws its own randomness, reads the reference's messages in the interop matrix.",
        suites: &[
            ("honest", "signal-v3 sessions delivered in order", SIGNAL_V3_HONEST),
            (
                "out-of-order",
                "signal-v3 sessions delivered out of order, within the limits",
                SIGNAL_V3_OUT_OF_ORDER,
            ),
            (
                "invalid",
                "signal-v3 inputs that must be rejected, and the session after them",
                SIGNAL_V3_INVALID,
            ),
        ],
    },
];

/// The families the generator writes vectors for, in order.
pub fn generated_families() -> Vec<&'static str> {
    FAMILIES.iter().map(|f| f.name).collect()
}

/// What each flag means, for the files of `family`.
fn notes(family: &str) -> BTreeMap<String, String> {
    let extra: &[(&str, &str)] = match family {
        "olm" | "signal-v3" => &[(
            "PreKey",
            "The initiator's messages are pre-key messages until it hears from B.",
        )],
        "megolm" => &[(
            "Jump",
            "The receiver advances its ratchet far ahead in one step.",
        )],
        _ => &[],
    };
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
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
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
    family: &GeneratedFamily,
    path: &Path,
    stem: &str,
    tc_id: u64,
    spec: &CaseSpec,
) -> Result<SessionTest, VectorError> {
    let (comment, flags, text) = spec;
    let scenario: Scenario = text
        .parse()
        .map_err(|e| generation_error(path, tc_id, format!("{e}")))?;
    let seed_label = format!("vectors {} {stem} {tc_id}", family.name);
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
        seed: None,
    };
    let t = execute(family.reference, &scenario, setup);
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

/// Writes every generated suite of every family as `<dir>/<family>/<stem>-new.json` and
/// returns each path with its sha256. Nothing is written if any `-new.json` exists already.
pub fn generate(dir: &Path) -> Result<Vec<(PathBuf, String)>, VectorError> {
    for family in FAMILIES {
        for (stem, _, _) in family.suites {
            let path = dir.join(family.name).join(format!("{stem}-new.json"));
            if path.exists() {
                return Err(VectorError::Exists { path });
            }
        }
    }
    let mut written = Vec::new();
    for family in FAMILIES {
        let folder = dir.join(family.name);
        std::fs::create_dir_all(&folder).map_err(|source| VectorError::Write {
            path: folder.clone(),
            source,
        })?;
        for (stem, title, cases) in family.suites {
            let path = folder.join(format!("{stem}-new.json"));
            let tests = cases
                .iter()
                .enumerate()
                .map(|(i, spec)| generate_case(family, &path, stem, i as u64 + 1, spec))
                .collect::<Result<Vec<_>, _>>()?;
            let file = SessionFile {
                algorithm: family.name.into(),
                schema: SESSION_SCHEMA.into(),
                generator_version: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
                number_of_tests: tests.len(),
                header: vec![
                    format!("{title}."),
                    format!(
                        "Regression vectors made by the bundled reference; {}",
                        family.checked_by
                    ),
                ],
                notes: notes(family.name),
                test_groups: vec![SessionGroup {
                    kind: "RatchetSessionTest".into(),
                    ad: HexBytes(SESSION_AD.to_vec()),
                    max_skip: family.reference.info().limits.max_skip,
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
    }
    Ok(written)
}
