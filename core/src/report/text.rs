//! The short text report `ratchet-bench run` prints by default: one screen for a clean run.
//!
//! It holds the verdict and what a reader acts on: one row per peer (vector cases, campaign
//! outcomes, findings), the vector and interop totals, and, in full with their reproducers,
//! only the findings that fail the run (new ones, stale and expired expectations). Everything
//! else (every vector file and skipped case, the interop matrices, every expected finding)
//! is in `--verbose` ([`super::render_verbose`]), `--json` and `--html`.

use super::summary::{header, verdict, RunReport};
use crate::interop::CellResult;
use crate::vectors::SuiteReport;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The campaign outcomes shown per peer, in order (the labels of [`RunReport::outcomes`]).
const OUTCOMES: [&str; 6] = [
    "sent",
    "accepted",
    "rejected",
    "panic",
    "skipped",
    "setup-failed",
];

/// Pass / fail / skip counts of the suites a peer ran.
#[derive(Default)]
struct Cases {
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn cases_by_peer(vectors: &[SuiteReport]) -> BTreeMap<&str, Cases> {
    let mut by = BTreeMap::<&str, Cases>::new();
    for v in vectors.iter().filter(|v| v.not_run.is_none()) {
        let c = by.entry(v.peer.as_str()).or_default();
        c.passed += v.passed;
        c.failed += v.failed;
        c.skipped += v.skipped;
    }
    by
}

/// The peers a signature names (`a+b/kind/...`).
pub(crate) fn signature_peers(signature: &str) -> impl Iterator<Item = &str> {
    signature.split('/').next().unwrap_or_default().split('+')
}

/// `1,234`: thousands separated, for the totals lines.
pub(crate) fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text before the first `; ` of a reason: what, without the how-to that follows.
fn gist(reason: &str) -> &str {
    reason.split("; ").next().unwrap_or(reason)
}

/// The expectations files and how many entries ended in each check (`--verbose` lists the
/// entries not checked, with why).
fn expectations_line(r: &RunReport) -> String {
    if r.expectations.is_empty() {
        return r.expectations_label();
    }
    format!(
        "{} ({} entries: {})",
        r.expectations_label(),
        r.triage.entries.len(),
        r.triage.counts()
    )
}

/// The short human report (the default of `run`); see the module's doc.
pub fn render_text(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", header(r));
    let weakened = r.peers.iter().filter(|p| !p.weakened.is_empty()).count();
    let _ = writeln!(
        out,
        "expectations: {}  weakened checks: {}",
        expectations_line(r),
        if weakened == 0 {
            "none".to_string()
        } else {
            format!("{weakened} peers (--verbose lists them)")
        }
    );
    if !r.not_built.is_empty() {
        let names: Vec<&str> = r.not_built.iter().map(|n| n.peer.as_str()).collect();
        let _ = writeln!(out, "not built: {} (--verbose says why)", names.join(", "));
    }

    // One row per peer: its vector cases, its campaign outcomes, its findings.
    let cases = cases_by_peer(&r.vectors);
    let width = r
        .peers
        .iter()
        .map(|p| p.name.len())
        .chain(cases.keys().map(|k| k.len()))
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = write!(
        out,
        "\n  {:<width$} {:<10} {:>14}",
        "peer", "family", "vectors p/f/s"
    );
    for l in OUTCOMES {
        let _ = write!(out, " {l:>9}");
    }
    let _ = writeln!(out, "  findings");
    let mut rows: Vec<(&str, &str)> = r
        .peers
        .iter()
        .map(|p| (p.name.as_str(), p.family.name()))
        .collect();
    // Vector-only peers (the primitives backend of the Wycheproof suites) after the others.
    for name in cases.keys() {
        if !rows.iter().any(|(n, _)| n == name) {
            rows.push((name, "-"));
        }
    }
    for (name, family) in rows {
        let vectors = cases.get(name).map_or_else(
            || "-".to_string(),
            |c| format!("{}/{}/{}", c.passed, c.failed, c.skipped),
        );
        let _ = write!(out, "  {name:<width$} {family:<10} {vectors:>14}");
        match r.outcomes.get(name) {
            Some(counts) => {
                for l in OUTCOMES {
                    let _ = write!(out, " {:>9}", counts.get(l).copied().unwrap_or(0));
                }
            }
            None => {
                for _ in OUTCOMES {
                    let _ = write!(out, " {:>9}", "-");
                }
            }
        }
        let mine: Vec<_> = r
            .findings
            .iter()
            .filter(|s| signature_peers(&s.signature).any(|p| p == name))
            .collect();
        let new = mine.iter().filter(|s| s.expected.is_none()).count();
        let findings = match (mine.len(), new) {
            (0, _) => "-".to_string(),
            (n, 0) => n.to_string(),
            (n, new) => format!("{n} ({new} NEW)"),
        };
        let _ = writeln!(out, "  {findings}");
    }

    // Totals.
    out.push('\n');
    let ran: Vec<&SuiteReport> = r.vectors.iter().filter(|v| v.not_run.is_none()).collect();
    if r.vectors.is_empty() {
        let _ = writeln!(out, "vectors: not run");
    } else {
        let sum = |f: fn(&SuiteReport) -> usize| ran.iter().map(|v| f(v)).sum::<usize>() as u64;
        let _ = writeln!(
            out,
            "vectors: {} files on {} peers, {} cases: {} passed, {} failed, {} skipped",
            ran.len(),
            cases.len(),
            thousands(sum(|v| v.passed + v.failed + v.skipped)),
            thousands(sum(|v| v.passed)),
            thousands(sum(|v| v.failed)),
            thousands(sum(|v| v.skipped)),
        );
        let mut not_run: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for v in &r.vectors {
            if let Some(why) = &v.not_run {
                not_run.entry(gist(why)).or_default().push(v.suite.as_str());
            }
        }
        for (why, suites) in not_run {
            let _ = writeln!(
                out,
                "  not run: {} ({why}; --verbose says how to run them)",
                suites.join(", ")
            );
        }
    }
    if r.interop.is_empty() {
        let _ = writeln!(out, "interop: not run");
    } else {
        let cells: usize = r.interop.iter().map(|m| m.cells.len()).sum();
        let failing: usize = r.interop.iter().map(|m| m.failures().count()).sum();
        let per: Vec<String> = r
            .interop
            .iter()
            .map(|m| {
                let pass = m.cells.len() - m.failures().count();
                format!("{} {pass}/{}", m.family, m.cells.len())
            })
            .collect();
        let _ = writeln!(
            out,
            "interop: {} cells passed of {cells} ({})",
            cells - failing,
            per.join(", ")
        );
        for m in &r.interop {
            for c in m.failures() {
                if let CellResult::Fail { step, class, .. } = &c.result {
                    let _ = writeln!(
                        out,
                        "  FAIL {}: {} -> {}: {step}: {class}",
                        m.family, c.initiator, c.responder
                    );
                }
            }
        }
    }
    let new: Vec<_> = r.findings.iter().filter(|s| s.expected.is_none()).collect();
    let _ = writeln!(
        out,
        "findings: {} signatures, {} expected, {} new; {} notes (not failing)",
        r.findings.len(),
        r.findings.len() - new.len(),
        new.len(),
        r.notes.len()
    );

    // What fails the run, in full.
    for s in &new {
        let _ = writeln!(out, "  [NEW] {}  ({} scenarios)", s.signature, s.count);
        let _ = writeln!(out, "      {}", s.detail);
        let _ = writeln!(out, "      reproduce: {}", s.reproducer);
    }
    for e in r.triage.stale_entries() {
        let _ = writeln!(
            out,
            "  [STALE] {} ({}): {}",
            e.entry.signature,
            e.file,
            e.check.explain()
        );
        let _ = writeln!(out, "      reproducer: {}", e.entry.reproducer_command());
    }
    if !r.triage.expired.is_empty() {
        let _ = writeln!(
            out,
            "  expired expectations (counted as absent): {}",
            r.triage.expired.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "details: --verbose (every vector file, matrix and finding), --json, --html FILE"
    );
    let _ = writeln!(out, "\nresult: {}", verdict(r));
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn what_fails_the_run_is_shown_in_full() {
        let text = render_text(&fixture::failing());
        assert!(text.contains("  [NEW] beta/accepted-forgery/tamper-body  (3 scenarios)"));
        assert!(text.contains(
            "      reproduce: ratchet-bench replay 'send A 1; tamper m0 body 7' --peer beta --seed 42"
        ));
        assert!(text.contains(
            "  [STALE] alpha/panic/deliver (ci/expectations.json): the reproducer shows no failing finding: remove the entry"
        ));
        assert!(text.contains(
            "      reproducer: ratchet-bench replay 'send A 1; deliver m0' --peer alpha --seed 1"
        ));
        assert!(text.contains(
            "expectations: ci/expectations.json (5 entries: 2 shows, 1 stale, 1 not checked, 1 expired)"
        ));
        assert!(text.contains("expired expectations (counted as absent): alpha/rejected-genuine/*"));
        assert!(
            text.contains("  FAIL signal-dr: alpha -> beta: turn 1: responder decrypts A0: auth")
        );
        assert!(text.contains("  not run: mls-tree-math (no MLS vectors folder; --verbose"));
        // Known findings are counted, not listed.
        assert!(!text.contains("beta/panic/rekey"));
        assert!(text.ends_with(
            "result: FAIL: 2 new findings, 1 stale expectations (1 failed vector cases in all)\n"
        ));
    }

    #[test]
    fn each_peer_has_a_row_with_its_cases_outcomes_and_findings() {
        let text = render_text(&fixture::failing());
        let row = text.lines().find(|l| l.starts_with("  beta ")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        // peer, family, vectors, six outcomes, findings "4 (2 NEW)".
        assert_eq!(cells[..3], ["beta", "signal-dr", "10/1/1"], "{row}");
        assert_eq!(cells[3], "100", "sent: {row}");
        assert_eq!(cells[6], "2", "panic: {row}");
        assert_eq!(cells[9..], ["4", "(2", "NEW)"], "{row}");
    }

    #[test]
    fn an_empty_run_says_what_did_not_run() {
        let text = render_text(&fixture::empty());
        assert!(text.contains("vectors: not run"));
        assert!(text.contains("interop: not run"));
        assert!(text.ends_with("result: PASS: nothing unexpected\n"));
        assert_eq!(thousands(1234567u64), "1,234,567");
        assert_eq!(thousands(999u64), "999");
    }
}
