//! Replays a ratchet-session vector file against one peer.

use super::session::{SessionFile, SessionStep, SessionTest, SESSION_SCHEMA};
use super::{parse_json, VectorError};
use crate::peer::{Peer, PeerInfo, SessionInit};
use crate::rng::Scripted;
use crate::scenario::{
    execute, hex_preview, jump_base, Delivery, Outcome, Plaintexts, Record, Scenario, Setup, Step,
};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How one case went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CaseStatus {
    /// Every input matched.
    Pass,
    /// An input differed; the reason says where.
    Fail,
    /// The case was not run; the reason says why.
    Skip,
}

/// One case's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// The case.
    pub tc_id: u64,
    /// Pass, fail or skip.
    pub status: CaseStatus,
    /// For a failure, the first difference with expected and actual hex; for a skip, why.
    pub reason: String,
    /// What the peer did with each input, in order (`sent`, `accepted`,
    /// `rejected:<class>`, ...), so that a change of behaviour shows even when a case still
    /// passes.
    pub trace: String,
}

/// One file replayed on one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    /// The suite's name.
    pub suite: String,
    /// The file, relative to the vectors folder.
    pub file: String,
    /// The peer.
    pub peer: String,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run.
    pub skipped: usize,
    /// Every case, in file order.
    pub cases: Vec<CaseResult>,
    /// When the whole suite was not run on this peer, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    /// For a published suite whose cases carry an expected result (Wycheproof), how many of
    /// each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<ExpectedResults>,
}

/// How many cases of a file expect each Wycheproof result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedResults {
    /// Must be accepted with the file's output.
    pub valid: usize,
    /// Must be refused.
    pub invalid: usize,
    /// Either, as the backend's declared policy says.
    pub acceptable: usize,
}

impl SuiteReport {
    /// A suite that was not run at all, with the reason (and the command that fixes it).
    pub fn not_run(suite: &str, file: &str, peer: &str, why: String) -> Self {
        SuiteReport {
            suite: suite.into(),
            file: file.into(),
            peer: peer.into(),
            passed: 0,
            failed: 0,
            skipped: 0,
            cases: Vec::new(),
            not_run: Some(why),
            expected: None,
        }
    }
}

/// A checked test: its scenario parsed and its shared secret sized.
struct Case<'f> {
    test: &'f SessionTest,
    scenario: Scenario,
    shared_secret: [u8; 32],
}

fn field_error(path: &Path, tc_id: u64, field: &str, reason: String) -> VectorError {
    VectorError::Field {
        path: path.to_path_buf(),
        case: format!("tcId {tc_id}, "),
        field: field.into(),
        reason,
    }
}

/// Parses and checks every case of a file before any runs, so that a bad file is an error
/// naming file, case and field rather than a failed case.
fn check_file<'f>(
    path: &Path,
    file: &'f SessionFile,
) -> Result<Vec<(usize, Case<'f>)>, VectorError> {
    if file.schema != SESSION_SCHEMA {
        return Err(VectorError::Field {
            path: path.to_path_buf(),
            case: String::new(),
            field: "schema".into(),
            reason: format!("expected {SESSION_SCHEMA:?}, got {:?}", file.schema),
        });
    }
    let mut cases = Vec::new();
    for (g, group) in file.test_groups.iter().enumerate() {
        for test in &group.tests {
            let id = test.tc_id;
            let scenario: Scenario = test
                .scenario
                .parse()
                .map_err(|e| field_error(path, id, "scenario", format!("{e}")))?;
            let shared_secret: [u8; 32] =
                test.shared_secret.0.as_slice().try_into().map_err(|_| {
                    field_error(
                        path,
                        id,
                        "sharedSecret",
                        format!("expected 32 bytes, got {}", test.shared_secret.len()),
                    )
                })?;
            if !matches!(test.result.as_str(), "valid" | "invalid") {
                return Err(field_error(
                    path,
                    id,
                    "result",
                    format!("expected valid or invalid, got {:?}", test.result),
                ));
            }
            for (i, s) in test.steps.iter().enumerate() {
                if !matches!(s.outcome.as_str(), "sent" | "accepted" | "rejected") {
                    return Err(field_error(
                        path,
                        id,
                        &format!("steps[{i}].outcome"),
                        format!("expected sent, accepted or rejected, got {:?}", s.outcome),
                    ));
                }
                if !matches!(s.party.as_str(), "A" | "B") {
                    return Err(field_error(
                        path,
                        id,
                        &format!("steps[{i}].party"),
                        format!("expected A or B, got {:?}", s.party),
                    ));
                }
            }
            if file.test_groups[..g]
                .iter()
                .chain(std::iter::once(group))
                .flat_map(|gr| &gr.tests)
                .filter(|t| t.tc_id == id)
                .count()
                > 1
            {
                return Err(field_error(
                    path,
                    id,
                    "tcId",
                    "expected a unique tcId, got a repeat".into(),
                ));
            }
            cases.push((
                g,
                Case {
                    test,
                    scenario,
                    shared_secret,
                },
            ));
        }
    }
    Ok(cases)
}

/// Reads `text` (the file at `path`, shown as `rel`) and replays every case on `peer`.
pub fn replay_file(
    path: &Path,
    rel: &str,
    suite: &str,
    text: &str,
    peer: &dyn Peer,
) -> Result<SuiteReport, VectorError> {
    let file: SessionFile = parse_json(path, text)?;
    let cases = check_file(path, &file)?;
    let info = peer.info();
    let mut report = SuiteReport {
        suite: suite.into(),
        file: rel.into(),
        peer: info.name.clone(),
        passed: 0,
        failed: 0,
        skipped: 0,
        cases: Vec::new(),
        not_run: None,
        expected: None,
    };
    for (g, case) in cases {
        let ad = &file.test_groups[g].ad;
        let max_skip = file.test_groups[g].max_skip;
        let (status, reason, trace) = match skip_reason(&case.scenario, max_skip, &info) {
            Some(why) => (CaseStatus::Skip, why, String::new()),
            None => {
                let (result, trace) = run_case(peer, &case, ad);
                match result {
                    Ok(()) => (CaseStatus::Pass, String::new(), trace),
                    Err(Mismatch::Fail(reason)) => (CaseStatus::Fail, reason, trace),
                    Err(Mismatch::Skip(reason)) => (CaseStatus::Skip, reason, trace),
                }
            }
        };
        match status {
            CaseStatus::Pass => report.passed += 1,
            CaseStatus::Fail => report.failed += 1,
            CaseStatus::Skip => report.skipped += 1,
        }
        report.cases.push(CaseResult {
            tc_id: case.test.tc_id,
            status,
            reason,
            trace,
        });
    }
    Ok(report)
}

/// Vector files hold no second session, so `foreign` steps cannot be replayed.
/// Why a case cannot replay on a peer, if it cannot: a foreign step needs a second seeded
/// session, which vector files do not hold; a jump sends as many messages as the receiver's
/// declared MAX_SKIP, so on a peer that declares another MAX_SKIP than the recording
/// reference (the group's `maxSkip`) it sends other messages than the file holds.
fn skip_reason(scenario: &Scenario, max_skip: u32, peer: &PeerInfo) -> Option<String> {
    if scenario
        .steps
        .iter()
        .any(|s| matches!(s, Step::Foreign { .. }))
    {
        return Some(
            "foreign steps need a second seeded session, which vector files do not hold".into(),
        );
    }
    let jumps = scenario
        .steps
        .iter()
        .any(|s| matches!(s, Step::Jump { .. }));
    (jumps && jump_base(peer.limits.max_skip) != jump_base(max_skip)).then(|| {
        format!(
            "the case jumps by the recording reference's MAX_SKIP ({max_skip}); {} declares {}, so its jump sends other messages",
            peer.name, peer.limits.max_skip
        )
    })
}

/// Why a case did not pass.
enum Mismatch {
    /// The first difference.
    Fail(String),
    /// Why the rest of the case cannot be compared.
    Skip(String),
}

impl From<String> for Mismatch {
    fn from(why: String) -> Self {
        Mismatch::Fail(why)
    }
}

/// A message as its family compares it: its comparison form where it has one, else itself.
fn compared<'a>(
    form: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    bytes: &'a [u8],
) -> std::borrow::Cow<'a, [u8]> {
    form(bytes).map_or(std::borrow::Cow::Borrowed(bytes), std::borrow::Cow::Owned)
}

/// Compares one recorded input with the vector's. A sent message, and a genuine delivery of
/// one, are compared in the comparison form of their family (`form` makes it), whose genuine
/// senders may write one message in several encodings; `re_encoded` says that this peer
/// wrote an earlier message of the case so, which makes a changed copy of it (a tamper at a
/// byte offset, a cut) another input than the vector's: the rest of the case is then skipped
/// with the reason, not failed.
fn compare(
    i: usize,
    expected: &SessionStep,
    actual: &Record,
    form: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    re_encoded: &mut bool,
) -> Result<(), Mismatch> {
    let at = format!(
        "input {i} (step {} {} by {})",
        expected.step, expected.kind, expected.party
    );
    let party = actual.party.to_string();
    if expected.step != actual.step || expected.kind != actual.kind || expected.party != party {
        return Err(Mismatch::Fail(format!(
            "{at}: expected this input, got step {} {} by {party}",
            actual.step, actual.kind
        )));
    }
    if expected.input.0 != actual.input {
        let genuine = matches!(actual.delivery, Some(Delivery::Genuine))
            && compared(form, &expected.input) == compared(form, &actual.input);
        if !genuine && *re_encoded && matches!(actual.delivery, Some(Delivery::Forged)) {
            return Err(Mismatch::Skip(format!(
                "{at} changes a message the peer wrote in another encoding than the vector's (one its family declares benign), so the changed copy is another input; the inputs before it matched"
            )));
        }
        if !genuine {
            return Err(Mismatch::Fail(format!(
                "{at}: input: expected {}, got {}",
                hex_preview(&expected.input, 64),
                hex_preview(&actual.input, 64)
            )));
        }
    }
    let (outcome, output) = (
        actual.outcome.kind(),
        actual.outcome.bytes().unwrap_or_default(),
    );
    if expected.outcome != outcome {
        let detail = match &actual.outcome {
            Outcome::Rejected(r) => format!(" ({r})"),
            Outcome::Panicked(p) => format!(" ({p})"),
            _ => String::new(),
        };
        return Err(Mismatch::Fail(format!(
            "{at}: outcome: expected {}, got {outcome}{detail}",
            expected.outcome
        )));
    }
    let expected_form = match actual.outcome {
        Outcome::Sent(_) => form(&expected.output.0),
        _ => None,
    };
    let actual_form = actual.compared_bytes().unwrap_or_default();
    if expected_form.as_deref().unwrap_or(&expected.output.0) != actual_form {
        return Err(Mismatch::Fail(format!(
            "{at}: output: expected {}, got {}",
            hex_preview(&expected.output, 64),
            hex_preview(output, 64)
        )));
    }
    *re_encoded |= expected.output.0 != output;
    Ok(())
}

/// Runs one case; returns the first difference (if any) and the trace of outcomes.
fn run_case(peer: &dyn Peer, case: &Case<'_>, ad: &[u8]) -> (Result<(), Mismatch>, String) {
    let test = case.test;
    let (rng_a, exhausted_a) = Scripted::new(test.random_a.0.clone());
    let (rng_b, exhausted_b) = Scripted::new(test.random_b.0.clone());
    let plaintexts = test
        .steps
        .iter()
        .filter(|s| s.outcome == "sent")
        .map(|s| s.input.0.clone())
        .collect();
    let setup = Setup {
        init: SessionInit {
            shared_secret: case.shared_secret,
        },
        rng_a: Box::new(rng_a),
        rng_b: Box::new(rng_b),
        plaintexts: Plaintexts::Listed(plaintexts),
        ad: ad.to_vec(),
        foreign_seed: None,
        seed: None,
    };
    let t = execute(peer, &case.scenario, setup);
    let trace = t
        .records
        .iter()
        .map(|r| r.outcome.label())
        .collect::<Vec<_>>()
        .join(" ");
    let spec = peer.info().family.spec();
    let form = |wire: &[u8]| crate::codec::comparison_form(peer.codec(), spec, wire);
    (
        check_transcript(test, &t, [exhausted_a, exhausted_b], &form),
        trace,
    )
}

fn check_transcript(
    test: &SessionTest,
    t: &crate::scenario::Transcript,
    exhausted: [std::sync::Arc<std::sync::Mutex<bool>>; 2],
    form: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
) -> Result<(), Mismatch> {
    if let Some(failure) = &t.setup_failure {
        return Err(format!("session set-up: expected success, got {}", failure.label()).into());
    }
    let mut re_encoded = false;
    for (i, (expected, actual)) in test.steps.iter().zip(&t.records).enumerate() {
        compare(i, expected, actual, form, &mut re_encoded)?;
    }
    if test.steps.len() != t.records.len() {
        return Err(format!(
            "expected {} inputs, got {}",
            test.steps.len(),
            t.records.len()
        )
        .into());
    }
    for (side, flag) in ["A", "B"].into_iter().zip(exhausted) {
        if flag.lock().map(|f| *f).unwrap_or(true) {
            return Err(format!("party {side} drew more randomness than the vector holds").into());
        }
    }
    if test.sent_digest.0 != t.sent_digest {
        return Err(format!(
            "sentDigest: expected {}, got {}",
            hex::encode(&test.sent_digest.0),
            hex::encode(t.sent_digest)
        )
        .into());
    }
    Ok(())
}
