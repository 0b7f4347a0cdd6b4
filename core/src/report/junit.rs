//! The JUnit XML report (`--junit FILE`), for the test tabs of CI systems, written with
//! quick-junit (the data model and serializer cargo-nextest uses).
//!
//! A run becomes four test suites:
//!
//! - `vectors`: a test case per vector file and peer (`signal-dr/honest.json on reference`),
//!   the unit the manifest pins and the snapshots record; its failure names every failing
//!   `tcId` with the first difference, and the command that replays the suite;
//! - `interop`: a test case per cell of every family's matrix;
//! - `expectations`: a test case per entry of the expectations file: passed when its finding
//!   showed, failed when stale, skipped when expired or about peers that did not run;
//! - `findings`: a test case per finding signature: failed when new, skipped when expected
//!   (as pytest reports an expected failure), passed for the notes that never fail a run.
//!
//! Every failure carries the reproducer in its text. A selftest becomes one suite with a
//! test case per planted flaw. No timestamps or durations: one seed gives the same file.

use super::finding::Seen;
use super::render_error::RenderError;
use super::selftest::SelftestReport;
use super::summary::RunReport;
use crate::interop::CellResult;
use crate::vectors::CaseStatus;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write;

fn failure(message: &str, ty: &str, text: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status
        .set_message(message)
        .set_type(ty)
        .set_description(text);
    status
}

fn skipped(message: &str, ty: &str, text: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::skipped();
    status.set_message(message).set_type(ty);
    if !text.is_empty() {
        status.set_description(text);
    }
    status
}

fn case(name: &str, classname: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case
}

/// The finding of `signature` in the run, if it showed.
fn sighting<'r>(r: &'r RunReport, signature: &str) -> Option<&'r Seen> {
    r.findings
        .iter()
        .chain(&r.notes)
        .find(|s| s.signature == signature)
}

/// The text of a finding's failure: what it is, how to see it again.
fn finding_text(s: &Seen) -> String {
    let mut text = format!("{}\n", s.detail);
    if !s.scenario.is_empty() {
        let _ = writeln!(text, "scenario: {}\nsession seed: {}", s.scenario, s.seed);
    }
    let _ = writeln!(text, "reproduce: {}", s.reproducer);
    text
}

fn vectors(r: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new("vectors");
    for v in &r.vectors {
        let name = format!("{} on {}", v.file, v.peer);
        let classname = format!("vectors.{}", v.suite);
        let replay = format!(
            "ratchet-bench vectors replay --suite {}{}",
            v.suite,
            super::peer_arg(&v.peer)
        );
        let status = if let Some(why) = &v.not_run {
            skipped("not run", "not-run", why.clone())
        } else if v.failed > 0 {
            let mut text = String::new();
            let mut new = 0;
            for c in v.cases.iter().filter(|c| c.status == CaseStatus::Fail) {
                let signature = format!("{}/vector-failed/{}/tc{}", v.peer, v.suite, c.tc_id);
                let known = sighting(r, &signature).and_then(|s| s.expected.clone());
                match &known {
                    Some(reason) => {
                        let _ =
                            writeln!(text, "tcId {} (expected: {reason}): {}", c.tc_id, c.reason);
                    }
                    None => {
                        new += 1;
                        let _ = writeln!(text, "tcId {}: {}", c.tc_id, c.reason);
                    }
                }
            }
            let _ = writeln!(text, "reproduce: {replay}");
            if new > 0 {
                failure(
                    &format!("{} of {} cases failed", v.failed, v.cases.len()),
                    "vector-failed",
                    text,
                )
            } else {
                skipped(&format!("{} expected failures", v.failed), "expected", text)
            }
        } else {
            TestCaseStatus::success()
        };
        let mut c = case(&name, &classname, status);
        let skips: Vec<String> = v
            .cases
            .iter()
            .filter(|c| c.status == CaseStatus::Skip)
            .map(|c| format!("tcId {} skipped: {}", c.tc_id, c.reason))
            .collect();
        let mut out = format!(
            "{} passed, {} failed, {} skipped\n",
            v.passed, v.failed, v.skipped
        );
        for s in skips {
            let _ = writeln!(out, "{s}");
        }
        if v.not_run.is_none() {
            c.set_system_out(out);
        }
        suite.add_test_case(c);
    }
    suite
}

fn interop(r: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new("interop");
    for m in &r.interop {
        for cell in &m.cells {
            let name = format!("{} -> {}", cell.initiator, cell.responder);
            let classname = format!("interop.{}", m.family);
            let status = match &cell.result {
                CellResult::Pass { .. } => TestCaseStatus::success(),
                CellResult::Fail {
                    step_kind, class, ..
                } => {
                    let signature = format!(
                        "{}+{}/interop/{step_kind}/{class}",
                        cell.initiator, cell.responder
                    );
                    match sighting(r, &signature) {
                        Some(s) => match &s.expected {
                            Some(reason) => {
                                skipped(&format!("expected: {reason}"), "expected", finding_text(s))
                            }
                            None => failure(&s.detail, "interop", finding_text(s)),
                        },
                        None => failure(&signature, "interop", String::new()),
                    }
                }
            };
            suite.add_test_case(case(&name, &classname, status));
        }
    }
    suite
}

fn expectations(r: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new("expectations");
    let t = &r.triage;
    for e in t.held() {
        let mut c = case(
            &e.entry.signature,
            "expectations",
            TestCaseStatus::success(),
        );
        c.set_system_out(format!(
            "the finding shows, as listed in {}: {}\n{}\nreproducer: {}\n",
            e.file,
            e.entry.reason,
            e.check.explain(),
            e.entry.reproducer_command()
        ));
        suite.add_test_case(c);
    }
    for e in t.stale_entries() {
        suite.add_test_case(case(
            &e.entry.signature,
            "expectations",
            failure(
                "stale: the reproducer no longer shows the finding; remove the entry",
                "stale-expectation",
                format!(
                    "entry in {}: {}\n{}\nreproducer: {}\nreason given: {}\n",
                    e.file,
                    e.entry.signature,
                    e.check.explain(),
                    e.entry.reproducer_command(),
                    e.entry.reason
                ),
            ),
        ));
    }
    for e in t.unjudged() {
        suite.add_test_case(case(
            &e.entry.signature,
            "expectations",
            skipped(
                &format!("not checked: {}", e.check.explain()),
                "not-checked",
                format!("entry in {}\n", e.file),
            ),
        ));
    }
    for signature in &t.expired {
        suite.add_test_case(case(
            signature,
            "expectations",
            skipped(
                "expired: past its expiry date, counted as absent",
                "expired",
                String::new(),
            ),
        ));
    }
    suite
}

fn findings(r: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new("findings");
    for s in r.findings.iter().chain(&r.notes) {
        let classname = format!("findings.{}", s.kind.name());
        let status = match (&s.expected, s.kind.fails_run()) {
            (Some(reason), _) => {
                skipped(&format!("expected: {reason}"), "expected", finding_text(s))
            }
            (None, true) => failure(&s.detail, s.kind.name(), finding_text(s)),
            (None, false) => TestCaseStatus::success(),
        };
        let mut c = case(&s.signature, &classname, status);
        if s.expected.is_none() && !s.kind.fails_run() {
            c.set_system_out(format!("note, not failing: {}", finding_text(s)));
        }
        suite.add_test_case(c);
    }
    suite
}

fn serialize(report: &Report) -> Result<String, RenderError> {
    report
        .to_string()
        .map_err(|e| RenderError::Junit(e.to_string()))
}

/// The run as JUnit XML.
pub fn run(r: &RunReport) -> Result<String, RenderError> {
    let mut report = Report::new("ratchet-bench");
    report.add_test_suites([vectors(r), interop(r), expectations(r), findings(r)]);
    serialize(&report)
}

/// The selftest as JUnit XML: a test case per planted flaw, failed when not caught.
pub fn selftest(s: &SelftestReport) -> Result<String, RenderError> {
    let mut suite = TestSuite::new("selftest");
    for f in &s.flaws {
        let status = if f.caught {
            TestCaseStatus::success()
        } else {
            failure(
                &format!("not caught in {} scenarios", f.scenarios),
                "not-caught",
                format!(
                    "{}\nreproduce: ratchet-bench selftest --flaw {} --seed {} --scenarios {}\n",
                    f.summary,
                    f.flaw,
                    s.seed,
                    s.family(&f.family).map_or(f.scenarios, |fam| fam.scenarios)
                ),
            )
        };
        let mut c = case(&f.flaw, &format!("selftest.{}", f.family), status);
        if let (Some(sig), Some(scenario), Some(seed)) = (&f.signature, &f.scenario, f.session_seed)
        {
            c.set_system_out(format!(
                "caught by {sig} after {} scenarios\nsession seed {seed}: {scenario}\n",
                f.scenarios
            ));
        }
        suite.add_test_case(c);
    }
    let mut report = Report::new("ratchet-bench selftest");
    report.add_test_suite(suite);
    serialize(&report)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{self, HOSTILE};
    use super::*;

    /// The `<testcase ...>...</testcase>` element (or self-closed one) named `name`.
    fn case_xml<'x>(xml: &'x str, name: &str) -> &'x str {
        let start = xml
            .find(&format!("<testcase name=\"{name}\""))
            .unwrap_or_else(|| panic!("no test case {name} in\n{xml}"));
        let rest = &xml[start..];
        let open_end = rest.find('>').unwrap_or(rest.len());
        if rest[..open_end].ends_with('/') {
            return &rest[..=open_end];
        }
        let end = rest.find("</testcase>").unwrap_or(rest.len());
        &rest[..end]
    }

    #[test]
    fn an_empty_run_gives_four_empty_suites() {
        let xml = run(&fixture::empty()).unwrap();
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(
            xml.contains(
                "<testsuites name=\"ratchet-bench\" tests=\"0\" failures=\"0\" errors=\"0\""
            ),
            "{xml}"
        );
        for suite in ["vectors", "interop", "expectations", "findings"] {
            assert!(
                xml.contains(&format!("<testsuite name=\"{suite}\"")),
                "{suite}: {xml}"
            );
        }
    }

    #[test]
    fn a_failing_run_fails_what_fails_and_skips_what_is_known() {
        let r = fixture::failing();
        let xml = run(&r).unwrap();
        // New findings, the new interop cell and the stale entry fail, with the reproducer.
        let forgery = case_xml(&xml, "beta/accepted-forgery/tamper-body");
        assert!(forgery.contains("<failure"), "{forgery}");
        assert!(
            forgery.contains("reproduce: ratchet-bench replay &apos;send A 1; tamper m0 body 7&apos; --peer beta --seed 42")
                || forgery.contains("reproduce: ratchet-bench replay 'send A 1; tamper m0 body 7' --peer beta --seed 42"),
            "{forgery}"
        );
        assert!(
            case_xml(&xml, "alpha -&gt; beta").contains("<failure"),
            "{xml}"
        );
        assert!(case_xml(&xml, "alpha/panic/deliver").contains("<failure"));
        // Known findings are skipped as expected failures; the note passes.
        let known = case_xml(&xml, "beta/panic/rekey");
        assert!(
            known.contains("<skipped") && known.contains("beta panics, known"),
            "{known}"
        );
        assert!(!case_xml(&xml, "alpha+beta/divergence-outcome/deliver").contains("<failure"));
        // The vector file with only a known failure is skipped; the suite not run too.
        let file = case_xml(&xml, "signal-dr/invalid.json on beta");
        assert!(
            file.contains("<skipped") && file.contains("tcId 3"),
            "{file}"
        );
        assert!(case_xml(&xml, "tree-math.json on alpha").contains("<skipped"));
        // Held entries pass, expired and unjudged ones are skipped.
        assert!(!case_xml(&xml, "beta/panic/*").contains("<failure"));
        assert!(case_xml(&xml, "alpha/rejected-genuine/*").contains("<skipped"));
        assert!(case_xml(&xml, "gamma/panic/*").contains("<skipped"));
        // Passing interop cells pass.
        assert!(!case_xml(&xml, "beta -&gt; alpha").contains("<failure"));
        // 4 failures: the forgery, the interop cell in its suite and as a finding, the stale
        // entry.
        assert!(
            xml.contains("<testsuites name=\"ratchet-bench\" tests=\"16\" failures=\"4\""),
            "{xml}"
        );
    }

    #[test]
    fn hostile_text_is_escaped_and_control_characters_dropped() {
        let xml = run(&fixture::failing()).unwrap();
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(xml.contains("&lt;script&gt;"));
        assert!(
            !xml.contains('\u{1b}'),
            "an escape character is not valid XML 1.0"
        );
        assert!(HOSTILE.contains("]]>") && !xml.contains("]]>"));
    }

    #[test]
    fn one_report_gives_one_file() {
        let r = fixture::failing();
        assert_eq!(run(&r).unwrap(), run(&r).unwrap());
    }

    #[test]
    fn a_missed_flaw_fails_its_test_case() {
        let xml = selftest(&fixture::selftest()).unwrap();
        assert!(case_xml(&xml, "slow-leak").contains("<failure"), "{xml}");
        assert!(!case_xml(&xml, "skip-mac").contains("<failure"), "{xml}");
        assert!(xml.contains("ratchet-bench selftest --flaw slow-leak --seed 1"));
    }
}
