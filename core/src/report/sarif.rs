//! The SARIF 2.1.0 log (`--sarif FILE`), for code scanning, written with serde-sarif (its
//! types are generated from the SARIF schema).
//!
//! One result per finding signature, per stale and per expired expectation:
//!
//! - `ruleId` is the finding's kind (`accepted-forgery`, `interop`, `vector-failed`, ...), or
//!   `stale-expectation` / `expired-expectation`; the rules carry the kind's description;
//! - `partialFingerprints["ratchetBenchSignature/v1"]` is the SHA-256 of the signature, so
//!   that code scanning follows one finding from run to run whatever its reproducer or line;
//! - the location is what a reviewer opens: a failed vector case's `tcId` line in its file
//!   (or the suite's entry in `MANIFEST.json` for a suite bundled in a crate), a pinned
//!   scenario's `# case` line in the regressions file, an expectations entry's line, and for
//!   a new finding of the campaign or the interop matrix the expectations file where it
//!   would be listed (its reproducer is in the message);
//! - the message holds the detail and the reproducer command;
//! - an expected finding carries an external suppression with the entry's reason, a note
//!   (a finding that never fails a run) level `note`, a failing one level `error`.
//!
//! Line numbers come from reading the files the report names ([`RunReport::inputs`],
//! relative to the working directory); a file that cannot be read gives a location without
//! a line. URIs are the paths as the run was given them (relative ones are relative to the
//! repository root when the bench runs from there, as CI does).

use super::finding::{FindingKind, Seen};
use super::render_error::RenderError;
use super::summary::RunReport;
use serde_sarif::sarif;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The key of the fingerprint every result carries.
pub const FINGERPRINT_KEY: &str = "ratchetBenchSignature/v1";

/// Rule of a stale expectation.
const STALE: &str = "stale-expectation";
/// Rule of an expired expectation.
const EXPIRED: &str = "expired-expectation";

/// The stable fingerprint of a signature: its SHA-256, hex.
pub fn fingerprint(signature: &str) -> String {
    hex::encode(Sha256::digest(signature.as_bytes()))
}

/// What a finding kind means, for its rule.
fn describe(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::SetupFailed => "The session could not be set up.",
        FindingKind::RejectedGenuine => {
            "A genuine message within the declared limits was refused."
        }
        FindingKind::WrongPlaintext => "A genuine message decrypted to another plaintext.",
        FindingKind::AcceptedReplay => "A replayed message was accepted.",
        FindingKind::AcceptedForgery => {
            "Bytes no party sent were accepted, with a plaintext other than any sent."
        }
        FindingKind::AcceptedMalleated => {
            "A modified copy of a message was accepted with the original's plaintext."
        }
        FindingKind::AcceptedForeign => "A message of another session was accepted.",
        FindingKind::AcceptedTooFarAhead => {
            "A message beyond the declared maximum skip was accepted."
        }
        FindingKind::Panic => "The peer panicked on an input it had to refuse.",
        FindingKind::Hang => "A call into the peer outlasted its budget and was abandoned.",
        FindingKind::DivergenceBytes => {
            "Two peers of one family with injected randomness produced different bytes or outcomes from one seed."
        }
        FindingKind::DivergenceOutcome => {
            "Two peers reached different outcomes where either is allowed (reported, not failing)."
        }
        FindingKind::InteropFailed => {
            "A cell of the interop matrix failed: a session set up by one peer and answered by another did not carry the fixed exchange."
        }
        FindingKind::WeakenedAccept => {
            "A peer that runs with weakened checks accepted a forged or foreign input (reported, not failing)."
        }
        FindingKind::VectorFailed => "A vector case failed on a peer.",
        FindingKind::ForwardSecrecy => {
            "A copy of a party's state taken after it decrypted a message decrypted that message again."
        }
        FindingKind::NoHealing => {
            "A copy of a party's state from before a full DH ratchet round trip decrypted a later message."
        }
        FindingKind::KeyReuse => {
            "Two honest messages under one key and nonce, or a stale ratchet public key on a new chain."
        }
        FindingKind::UnboundedWork => {
            "One input cost more key derivations or stored keys than the declared limits allow."
        }
        FindingKind::ShimFailed => "A shim process broke the shim protocol and was stopped.",
        FindingKind::Abort => "The process was ended by a signal during a peer's turn.",
        FindingKind::RemovedDecrypted => {
            "A member removed from an MLS group decrypted a message of a later epoch."
        }
        FindingKind::Misattributed => {
            "A member accepted a group message and named another sender than the member that sent it."
        }
        FindingKind::Changed => {
            "Two releases of one implementation did differently with the same input (compare)."
        }
    }
}

/// A path as a URI reference: forward slashes, everything but unreserved characters
/// percent-encoded; an absolute path becomes a `file://` URI.
fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The 1-based number of the first line of `path` that `is` accepts.
fn line_of(path: &str, is: impl Fn(&str) -> bool) -> Option<i64> {
    let text = std::fs::read_to_string(path).ok()?;
    let index = text.lines().position(is)?;
    i64::try_from(index + 1).ok()
}

fn location(path: &str, line: Option<i64>) -> sarif::Location {
    let artifact = sarif::ArtifactLocation::builder().uri(uri(path)).build();
    let physical = match line {
        Some(line) => sarif::PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(sarif::Region::builder().start_line(line).build())
            .build(),
        None => sarif::PhysicalLocation::builder()
            .artifact_location(artifact)
            .build(),
    };
    sarif::Location::builder()
        .physical_location(physical)
        .build()
}

/// A location that names the peers alone, for a finding no file of the run holds.
fn logical(peers: &str) -> sarif::Location {
    sarif::Location::builder()
        .logical_locations(vec![sarif::LogicalLocation::builder()
            .name(peers)
            .kind("module")
            .build()])
        .build()
}

/// Where a reviewer looks for things in the run's files.
struct Files<'r> {
    /// The first (the project's) expectations file, where a new entry goes.
    expectations: Option<&'r str>,
    vectors_dir: Option<&'r str>,
    regressions: Option<&'r str>,
}

impl Files<'_> {
    /// The line of the entry whose signature is `entry` in the expectations file `path`.
    fn entry(&self, path: &str, entry: &str) -> Option<sarif::Location> {
        let quoted = serde_json::to_string(entry).ok()?;
        let line = line_of(path, |l| l.contains("\"signature\"") && l.contains(&quoted));
        Some(location(path, line))
    }

    /// The `tcId` line of a vector case, or the suite's manifest entry.
    fn vector_case(&self, r: &RunReport, s: &Seen) -> Option<sarif::Location> {
        let dir = self.vectors_dir?;
        // `peer/vector-failed/suite/tcN`
        let mut parts = s.signature.split('/');
        let (Some(peer), Some(_), Some(suite), Some(tc)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let tc_id: u64 = tc.strip_prefix("tc")?.parse().ok()?;
        let report = r
            .vectors
            .iter()
            .find(|v| v.suite == suite && v.peer == peer)?;
        let file = format!("{}/{}", dir.trim_end_matches('/'), report.file);
        if std::path::Path::new(&file).is_file() {
            let line = line_of(&file, |l| {
                let Some(rest) = l.trim_start().strip_prefix("\"tcId\"") else {
                    return false;
                };
                let digits: String = rest
                    .trim_start_matches([':', ' '])
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse::<u64>().ok() == Some(tc_id)
            });
            return Some(location(&file, line));
        }
        let manifest = format!("{}/MANIFEST.json", dir.trim_end_matches('/'));
        let quoted = serde_json::to_string(suite).ok()?;
        let line = line_of(&manifest, |l| l.contains("\"name\"") && l.contains(&quoted));
        Some(location(&manifest, line))
    }

    /// The `# case NAME: SIGNATURE` line of a pinned scenario that shows `signature`.
    fn pinned(&self, signature: &str) -> Option<sarif::Location> {
        let path = self.regressions?;
        let suffix = format!(": {signature}");
        let line = line_of(path, |l| l.starts_with("# case ") && l.ends_with(&suffix))?;
        Some(location(path, Some(line)))
    }
}

fn message(text: String) -> sarif::Message {
    sarif::Message::builder().text(text).build()
}

fn fingerprints(key: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint(key))])
}

fn properties(values: serde_json::Map<String, serde_json::Value>) -> sarif::PropertyBag {
    sarif::PropertyBag::builder()
        .additional_properties(values.into_iter().collect::<BTreeMap<_, _>>())
        .build()
}

fn finding_result(r: &RunReport, files: &Files, s: &Seen) -> sarif::Result {
    let peers = s.signature.split('/').next().unwrap_or_default();
    // The entry that lists it, if any (an entry ending in `*` covers many signatures).
    let entry = r
        .triage
        .held()
        .find(|e| e.entry.matches(&s.signature))
        .map(|e| (e.file.clone(), e.entry.signature.clone()));
    let place = if s.kind == FindingKind::VectorFailed {
        files.vector_case(r, s)
    } else {
        None
    }
    .or_else(|| entry.as_ref().and_then(|(f, e)| files.entry(f, e)))
    .or_else(|| files.pinned(&s.signature))
    .or_else(|| files.expectations.map(|p| location(p, None)))
    .or_else(|| files.regressions.map(|p| location(p, None)))
    .unwrap_or_else(|| logical(peers));

    let mut text = format!("{}: {}", s.signature, s.detail);
    match (&s.expected, s.kind.fails_run()) {
        (Some(reason), _) => text.push_str(&format!("\nKnown (expectations): {reason}")),
        (None, true) => text.push_str(&format!(
            "\nNew: not listed in {}.",
            files.expectations.unwrap_or("an expectations file")
        )),
        (None, false) => text.push_str("\nNote: reported, never fails a run."),
    }
    if !s.scenario.is_empty() {
        text.push_str(&format!(
            "\nScenario (session seed {}): {}",
            s.seed, s.scenario
        ));
    }
    text.push_str(&format!("\nReproduce: {}", s.reproducer));

    let mut props = serde_json::Map::new();
    props.insert("signature".into(), s.signature.clone().into());
    props.insert("scenarios".into(), s.count.into());
    props.insert("reproducer".into(), s.reproducer.clone().into());

    let level = if s.kind.fails_run() {
        sarif::ResultLevel::Error
    } else {
        sarif::ResultLevel::Note
    };
    let result = sarif::Result::builder()
        .rule_id(s.kind.name())
        .level(level)
        .message(message(text))
        .locations(vec![place])
        .partial_fingerprints(fingerprints(&s.signature))
        .properties(properties(props));
    match &s.expected {
        Some(reason) => result
            .suppressions(vec![sarif::Suppression::builder()
                .kind(serde_json::json!("external"))
                .status(serde_json::json!("accepted"))
                .justification(reason.clone())
                .build()])
            .build(),
        None => result.build(),
    }
}

fn rule(id: &str, text: &str, level: &str) -> sarif::ReportingDescriptor {
    sarif::ReportingDescriptor::builder()
        .id(id)
        .name(id)
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(text)
                .build(),
        )
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(serde_json::json!(level))
                .build(),
        )
        .build()
}

/// The run as a SARIF 2.1.0 log (pretty JSON).
pub fn run(r: &RunReport) -> Result<String, RenderError> {
    let files = Files {
        expectations: r.expectations.first().map(String::as_str),
        vectors_dir: r.inputs.vectors_dir.as_deref(),
        regressions: r.inputs.regressions.as_deref(),
    };
    let mut results: Vec<sarif::Result> = r
        .findings
        .iter()
        .chain(&r.notes)
        .map(|s| finding_result(r, &files, s))
        .collect();
    for e in r.triage.stale_entries() {
        let signature = &e.entry.signature;
        let place = files
            .entry(&e.file, signature)
            .unwrap_or_else(|| logical(signature));
        results.push(
            sarif::Result::builder()
                .rule_id(STALE)
                .level(sarif::ResultLevel::Error)
                .message(message(format!(
                    "{signature}: listed in {}, but the replay of its reproducer ({}) no longer shows the finding: {}; remove the entry (its reason: {})",
                    e.file,
                    e.entry.reproducer_command(),
                    e.check.explain(),
                    e.entry.reason
                )))
                .locations(vec![place])
                .partial_fingerprints(fingerprints(&format!("{STALE}:{signature}")))
                .build(),
        );
    }
    for e in r
        .triage
        .entries
        .iter()
        .filter(|e| e.check == crate::report::Check::Expired)
    {
        let signature = &e.entry.signature;
        let expectations = &e.file;
        let place = files
            .entry(expectations, signature)
            .unwrap_or_else(|| logical(signature));
        results.push(
            sarif::Result::builder()
                .rule_id(EXPIRED)
                .level(sarif::ResultLevel::Warning)
                .message(message(format!(
                    "{signature}: the entry in {expectations} is past its expiry date and counts as absent; renew or remove it"
                )))
                .locations(vec![place])
                .partial_fingerprints(fingerprints(&format!("{EXPIRED}:{signature}")))
                .build(),
        );
    }

    // One rule per kind that showed, in a stable order, then the expectations' own.
    let mut kinds: Vec<FindingKind> = r.findings.iter().chain(&r.notes).map(|s| s.kind).collect();
    kinds.sort();
    kinds.dedup();
    let mut rules: Vec<sarif::ReportingDescriptor> = kinds
        .into_iter()
        .map(|k| {
            rule(
                k.name(),
                describe(k),
                if k.fails_run() { "error" } else { "note" },
            )
        })
        .collect();
    if !r.triage.stale.is_empty() {
        rules.push(rule(
            STALE,
            "An expectations entry whose finding no longer shows.",
            "error",
        ));
    }
    if !r.triage.expired.is_empty() {
        rules.push(rule(
            EXPIRED,
            "An expectations entry past its expiry date.",
            "warning",
        ));
    }
    let version = r.tool.rsplit(' ').next().unwrap_or_default().to_string();
    let driver = sarif::ToolComponent::builder()
        .name("ratchet-bench")
        .version(version)
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(sarif::Tool::from(driver))
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut text =
        serde_json::to_string_pretty(&log).map_err(|e| RenderError::Sarif(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, HOSTILE};
    use super::super::Inputs;
    use super::*;
    use serde_json::Value;

    fn log(r: &RunReport) -> Value {
        serde_json::from_str(&run(r).unwrap()).unwrap()
    }

    fn results(log: &Value) -> &Vec<Value> {
        log["runs"][0]["results"].as_array().unwrap()
    }

    fn result<'l>(log: &'l Value, signature: &str) -> &'l Value {
        results(log)
            .iter()
            .find(|r| r["properties"]["signature"] == signature)
            .unwrap_or_else(|| panic!("no result for {signature}"))
    }

    #[test]
    fn the_fingerprint_is_the_signatures_sha256() {
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn fingerprints_follow_the_signature_not_the_reproducer_or_count() {
        let a = fixture::failing();
        let mut b = fixture::failing();
        for s in &mut b.findings {
            s.count += 100;
            s.seed += 1;
            s.scenario = "send B 9".into();
            s.reproducer = "ratchet-bench replay 'send B 9' --seed 43".into();
        }
        let (la, lb) = (log(&a), log(&b));
        let prints = |l: &Value| -> Vec<Value> {
            results(l)
                .iter()
                .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].clone())
                .collect()
        };
        assert_eq!(prints(&la), prints(&lb));
        let mut distinct = prints(&la);
        distinct.sort_by_key(|v| v.to_string());
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            results(&la).len(),
            "one fingerprint per result"
        );
        assert_eq!(
            result(&la, "beta/panic/rekey")["partialFingerprints"][FINGERPRINT_KEY],
            fingerprint("beta/panic/rekey")
        );
    }

    #[test]
    fn a_failing_run_has_a_result_per_finding_and_entry() {
        let r = fixture::failing();
        let l = log(&r);
        assert_eq!(l["version"], "2.1.0");
        assert_eq!(l["runs"][0]["tool"]["driver"]["name"], "ratchet-bench");
        // 4 findings, 1 note, 1 stale entry, 1 expired entry.
        assert_eq!(results(&l).len(), 7);
        let forgery = result(&l, "beta/accepted-forgery/tamper-body");
        assert_eq!(forgery["ruleId"], "accepted-forgery");
        assert_eq!(forgery["level"], "error");
        let text = forgery["message"]["text"].as_str().unwrap();
        assert!(
            text.contains(HOSTILE),
            "JSON carries the text verbatim: {text}"
        );
        assert!(text.contains(
            "Reproduce: ratchet-bench replay 'send A 1; tamper m0 body 7' --peer beta --seed 42"
        ));
        assert!(forgery.get("suppressions").is_none());
        let known = result(&l, "beta/panic/rekey");
        assert_eq!(known["suppressions"][0]["kind"], "external");
        assert_eq!(
            known["suppressions"][0]["justification"],
            "beta panics, known"
        );
        assert_eq!(
            result(&l, "alpha+beta/divergence-outcome/deliver")["level"],
            "note"
        );
        let rule_ids: Vec<&str> = results(&l)
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        for id in [
            "stale-expectation",
            "expired-expectation",
            "interop",
            "vector-failed",
        ] {
            assert!(rule_ids.contains(&id), "{rule_ids:?}");
        }
        let rules: Vec<&str> = l["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for id in &rule_ids {
            assert!(rules.contains(id), "rule {id} is declared: {rules:?}");
        }
    }

    #[test]
    fn an_empty_run_is_a_log_without_results() {
        let l = log(&fixture::empty());
        assert_eq!(l["version"], "2.1.0");
        assert_eq!(results(&l).len(), 0);
    }

    #[test]
    fn locations_point_at_the_line_a_reviewer_opens() {
        let dir = std::env::temp_dir().join(format!("ratchet-bench-sarif-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("vectors/signal-dr")).unwrap();
        let expectations = dir.join("expectations.json");
        std::fs::write(
            &expectations,
            "{ \"expectations\": [\n  { \"signature\": \"beta/panic/*\",\n    \"reason\": \"r\" },\n  { \"signature\": \"alpha/panic/deliver\", \"reason\": \"r\" },\n  { \"signature\": \"beta/vector-failed/signal-dr-invalid/tc3\", \"reason\": \"r\" }\n] }\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("vectors/signal-dr/invalid.json"),
            "{\n  \"testGroups\": [ { \"tests\": [\n    { \"tcId\": 1 },\n    { \"tcId\": 30 },\n    {\n      \"tcId\": 3,\n      \"comment\": \"x\" } ] } ]\n}\n",
        )
        .unwrap();
        let regressions = dir.join("scenarios.txt");
        std::fs::write(
            &regressions,
            "# pinned\n# case forged: beta/accepted-forgery/tamper-body\n1 send A 1; tamper m0 body 7\n",
        )
        .unwrap();
        let mut r = fixture::failing();
        r.expectations = vec![expectations.display().to_string()];
        for e in &mut r.triage.entries {
            e.file = expectations.display().to_string();
        }
        r.inputs = Inputs {
            vectors_dir: Some(dir.join("vectors").display().to_string()),
            regressions: Some(regressions.display().to_string()),
        };
        let l = log(&r);
        let place = |sig: &str| -> (String, Option<i64>) {
            let loc = &result(&l, sig)["locations"][0]["physicalLocation"];
            (
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                loc["region"]["startLine"].as_i64(),
            )
        };
        let (uri, line) = place("beta/vector-failed/signal-dr-invalid/tc3");
        assert!(
            uri.starts_with("file:///") && uri.ends_with("vectors/signal-dr/invalid.json"),
            "{uri}"
        );
        assert_eq!(line, Some(6), "the tcId 3 line, not tcId 30's");
        let (uri, line) = place("beta/panic/rekey");
        assert!(uri.ends_with("expectations.json"), "{uri}");
        assert_eq!(line, Some(2), "the wildcard entry that covers it");
        let (uri, line) = place("beta/accepted-forgery/tamper-body");
        assert!(uri.ends_with("scenarios.txt"), "{uri}");
        assert_eq!(line, Some(2), "the pinned case's line");
        let (uri, line) = place("alpha+beta/interop/decrypt/auth");
        assert!(
            uri.ends_with("expectations.json"),
            "where it would be listed: {uri}"
        );
        assert_eq!(line, None);
        let stale = results(&l)
            .iter()
            .find(|x| x["ruleId"] == "stale-expectation")
            .unwrap();
        assert_eq!(
            stale["locations"][0]["physicalLocation"]["region"]["startLine"],
            4
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("ci/expectations.json"), "ci/expectations.json");
        assert_eq!(uri("a dir\\b#c.json"), "a%20dir/b%23c.json");
        assert_eq!(uri("/tmp/x y"), "file:///tmp/x%20y");
    }
}
