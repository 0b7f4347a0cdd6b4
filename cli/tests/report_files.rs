//! The report files CI systems read, written by one run and checked by tools that share no
//! code with the bench: JUnit by Python's junitparser, SARIF by jsonschema against the OASIS
//! SARIF 2.1.0 schema, the HTML report in the distribution's headless Chromium (no console
//! error, no request, a screenshot). `ci/setup` installs them (ci/report-tools/setup, and
//! Chromium from the distribution); a missing tool fails the test with the command to run.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tools() -> PathBuf {
    root().join("ci/report-tools")
}

/// The checkers, or a failure that says how to install them.
fn require_tools() {
    let missing: Vec<&str> = [
        (".venv/bin/python", "the Python checkers"),
        (
            "node_modules/playwright-core/package.json",
            "playwright-core",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !tools().join(path).exists())
    .map(|(_, what)| what)
    .collect();
    assert!(
        missing.is_empty(),
        "{} missing: run ci/report-tools/setup (ci/setup runs it)",
        missing.join(" and ")
    );
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is missing: install Node.js 20 or later (the shims need it too)"
    );
    assert!(
        Path::new(&chromium()).exists(),
        "{} is missing: install the distribution's Chromium (`apt-get install chromium`; ci/setup does)",
        chromium()
    );
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// `check.py KIND FILE`: its JSON verdict, and whether it accepted the file.
fn check(kind: &str, file: &Path) -> (Value, bool) {
    let out = Command::new(tools().join(".venv/bin/python"))
        .arg(tools().join("check.py"))
        .args([kind, &file.display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let verdict: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check.py {kind} printed no verdict ({e}): {stderr}"));
    (verdict, out.status.success())
}

/// Loads `html` in Chromium; its facts (console errors, requests, ...) and the screenshot.
fn browse(html: &Path, screenshot: &Path) -> Value {
    let out = Command::new("node")
        .arg(tools().join("check_html.mjs"))
        .arg(html)
        .arg(screenshot)
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check_html.mjs failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The 1-based line of `file` (relative to the repository) that `is` accepts.
fn line_of(file: &str, is: impl Fn(&str) -> bool) -> i64 {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    text.lines().position(is).unwrap() as i64 + 1
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn one_run_writes_junit_sarif_summary_and_html_that_independent_tools_accept() {
    require_tools();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // An expectations file with one of each: entries that hold (one a vector case), a stale
    // one, an expired one; double-ratchet-2's rejected genuine messages are left new, and
    // ksi-double-ratchet's pinned panic is new once its entry has expired.
    let expectations = dir.join("expectations.json");
    std::fs::write(
        &expectations,
        serde_json::to_string_pretty(&serde_json::json!({ "expectations": [
            { "signature": "double-ratchet-2/panic/*", "reason": "panics on refusal" },
            { "signature": "libolm-olm/vector-failed/olm-invalid/tc10",
              "reason": "accepts trailing bytes <b>&</b>" },
            { "signature": "reference/panic/never-happens", "reason": "stale on purpose" },
            { "signature": "ksi-double-ratchet/panic/rekey", "reason": "expired on purpose",
              "expires": "2000-01-01" },
        ]}))
        .unwrap(),
    )
    .unwrap();
    let file = |name: &str| dir.join(name).display().to_string();
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .current_dir(root())
        .args([
            "run",
            "--seed",
            "3",
            "--scenarios",
            "20",
            "--workers",
            "2",
            "--peer",
            "reference",
            "--peer",
            "ksi-double-ratchet",
            "--peer",
            "double-ratchet-2",
            "--peer",
            "reference-olm",
            "--peer",
            "libolm-olm",
            "--suite",
            "signal-dr-invalid",
            "--suite",
            "olm-invalid",
            "--expectations",
            &expectations.display().to_string(),
            "--json",
            "--junit",
            &file("report.xml"),
            "--sarif",
            &file("report.sarif"),
            "--summary",
            &file("summary.md"),
            "--html",
            &file("report.html"),
        ])
        .output()
        .unwrap();
    eprintln!("the run took {:.1} s", started.elapsed().as_secs_f64());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "new findings and a stale entry: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let notes = report["notes"].as_array().unwrap();
    let new: Vec<&Value> = findings
        .iter()
        .filter(|f| f["expected"].is_null())
        .collect();
    assert!(
        new.iter()
            .any(|f| f["signature"] == "ksi-double-ratchet/panic/rekey"),
        "the expired entry's finding is new"
    );
    assert!(new.iter().any(|f| f["signature"]
        .as_str()
        .unwrap()
        .starts_with("double-ratchet-2/rejected-genuine/")));

    // JUnit: junitparser reads it; every finding, cell, entry and vector file is a case.
    let (junit, ok) = check("junit", &dir.join("report.xml"));
    assert!(ok, "junitparser: {junit}");
    let suites = junit["suites"].as_array().unwrap();
    let suite = |name: &str| -> &Vec<Value> {
        suites
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no suite {name}: {junit}"))["cases"]
            .as_array()
            .unwrap()
    };
    let case = |suite_name: &str, name: &str| -> Value {
        suite(suite_name)
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case {name} in {suite_name}"))
            .clone()
    };
    assert_eq!(suite("findings").len(), findings.len() + notes.len());
    for f in findings {
        let c = case("findings", f["signature"].as_str().unwrap());
        if f["expected"].is_null() {
            assert_eq!(c["status"], "failure", "{c}");
            let text = c["text"].as_str().unwrap();
            assert!(
                text.contains(&format!("reproduce: {}", f["reproducer"].as_str().unwrap())),
                "a failure carries its reproducer: {c}"
            );
        } else {
            assert_eq!(c["status"], "skipped", "an expected finding: {c}");
        }
    }
    let cells: usize = report["interop"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["cells"].as_array().unwrap().len())
        .sum();
    assert_eq!(suite("interop").len(), cells);
    assert!(suite("interop").iter().all(|c| c["status"] == "passed"));
    assert_eq!(
        suite("vectors").len(),
        report["vectors"].as_array().unwrap().len()
    );
    assert_eq!(
        case("vectors", "olm/invalid.json on libolm-olm")["status"],
        "skipped",
        "its one failure is expected"
    );
    assert_eq!(
        case("vectors", "signal-dr/invalid.json on reference")["status"],
        "passed"
    );
    assert_eq!(
        case("expectations", "reference/panic/never-happens")["status"],
        "failure"
    );
    assert_eq!(
        case("expectations", "double-ratchet-2/panic/*")["status"],
        "passed"
    );
    assert_eq!(
        case("expectations", "ksi-double-ratchet/panic/rekey")["status"],
        "skipped"
    );

    // SARIF: valid against the OASIS schema; a result per finding, note and entry; the
    // locations a reviewer opens.
    let (verdict, ok) = check("sarif", &dir.join("report.sarif"));
    assert!(ok, "the SARIF log must validate: {verdict}");
    assert_eq!(verdict["errors"].as_array().unwrap().len(), 0);
    assert_eq!(
        verdict["results"].as_u64().unwrap() as usize,
        findings.len() + notes.len() + 2,
        "findings, notes, the stale and the expired entry"
    );
    let rule_ids = strings(&verdict["ruleIds"]);
    for id in [
        "stale-expectation",
        "expired-expectation",
        "vector-failed",
        "panic",
    ] {
        assert!(rule_ids.iter().any(|r| r == id), "{rule_ids:?}");
    }
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let located = |signature: &str| -> (String, Option<i64>) {
        let r = results
            .iter()
            .find(|r| r["properties"]["signature"] == signature)
            .unwrap_or_else(|| panic!("no result for {signature}"));
        let loc = &r["locations"][0]["physicalLocation"];
        (
            loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
            loc["region"]["startLine"].as_i64(),
        )
    };
    let tc10 = line_of("vectors/olm/invalid.json", |l| l.trim() == "\"tcId\": 10,");
    assert_eq!(
        located("libolm-olm/vector-failed/olm-invalid/tc10"),
        ("vectors/olm/invalid.json".to_string(), Some(tc10))
    );
    let pinned = line_of("vectors/regressions/scenarios.txt", |l| {
        l == "# case ksi-rekey-panic: ksi-double-ratchet/panic/rekey"
    });
    assert_eq!(
        located("ksi-double-ratchet/panic/rekey"),
        (
            "vectors/regressions/scenarios.txt".to_string(),
            Some(pinned)
        )
    );
    let dr2_panic = findings
        .iter()
        .map(|f| f["signature"].as_str().unwrap())
        .find(|s| s.starts_with("double-ratchet-2/panic/"))
        .unwrap();
    let (uri, line) = located(dr2_panic);
    assert!(uri.ends_with("expectations.json"), "{uri}");
    let entry = std::fs::read_to_string(&expectations)
        .unwrap()
        .lines()
        .position(|l| l.contains("\"signature\": \"double-ratchet-2/panic/*\""))
        .unwrap() as i64
        + 1;
    assert_eq!(line, Some(entry), "the line of the entry that lists it");
    for f in &new {
        let r = results
            .iter()
            .find(|r| r["properties"]["signature"] == f["signature"])
            .unwrap();
        assert!(
            r["message"]["text"]
                .as_str()
                .unwrap()
                .contains(f["reproducer"].as_str().unwrap()),
            "the message holds the reproducer: {r}"
        );
    }

    // The job summary: the verdict, then every new finding with its reproducer.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.starts_with("## ❌ ratchet-bench: FAIL"), "{md}");
    assert!(md.contains("### Stale expectations"));
    for f in &new {
        assert!(
            md.contains(f["reproducer"].as_str().unwrap()),
            "{} in the summary",
            f["signature"]
        );
    }

    // The HTML report in a real browser: loads, says nothing on the console, asks for
    // nothing, fits the window's width, shows every finding.
    let shot = dir.join("report.png");
    let page = browse(&dir.join("report.html"), &shot);
    assert_eq!(page["consoleErrors"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(page["pageErrors"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(page["requests"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(
        page["overflowX"], 0,
        "nothing wider than the window: {page}"
    );
    assert!(
        page["details"].as_u64().unwrap() as usize >= findings.len() + notes.len(),
        "{page}"
    );
    let body = page["bodyText"].as_str().unwrap();
    assert!(body.contains("What fails the run"));
    for f in findings.iter().chain(notes) {
        assert!(
            body.contains(f["signature"].as_str().unwrap()),
            "{} on the page",
            f["signature"]
        );
    }
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "a screenshot of the page"
    );
}

#[test]
fn a_selftest_writes_junit_summary_and_html() {
    require_tools();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-files-selftest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| dir.join(name).display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .current_dir(root())
        .args([
            "selftest",
            "--scenarios",
            "30",
            "--junit",
            &file("selftest.xml"),
            "--summary",
            &file("selftest.md"),
            "--html",
            &file("selftest.html"),
            "--json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "selftest printed no JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let flaws = report["flaws"].as_array().unwrap();
    let (junit, ok) = check("junit", &dir.join("selftest.xml"));
    assert!(ok, "{junit}");
    let cases = junit["suites"][0]["cases"].as_array().unwrap();
    assert_eq!(cases.len(), flaws.len());
    for (f, c) in flaws.iter().zip(cases) {
        assert_eq!(c["name"], f["flaw"]);
        let want = if f["caught"] == true {
            "passed"
        } else {
            "failure"
        };
        assert_eq!(c["status"], want, "{c}");
    }
    let md = std::fs::read_to_string(dir.join("selftest.md")).unwrap();
    assert!(md.contains(&format!(
        "{} of {} planted flaws caught",
        report["caught"],
        flaws.len()
    )));
    let page = browse(&dir.join("selftest.html"), &dir.join("selftest.png"));
    assert_eq!(page["consoleErrors"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(page["requests"].as_array().unwrap().len(), 0, "{page}");
    assert_eq!(
        page["overflowX"], 0,
        "nothing wider than the window: {page}"
    );
    let body = page["bodyText"].as_str().unwrap();
    for f in flaws {
        assert!(body.contains(f["flaw"].as_str().unwrap()));
    }
}
