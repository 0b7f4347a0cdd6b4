//! The GitHub-flavoured Markdown summary (`--summary FILE`, for `$GITHUB_STEP_SUMMARY`).
//!
//! The verdict first; then what fails the run, each with its reproducer (new findings, stale
//! and expired expectations); then the interop matrices, the vector totals per peer, the
//! campaign per peer, and the expected findings folded in a `<details>` block. Every piece of
//! text from the report is escaped: the punctuation Markdown acts on inside a line is
//! backslash-escaped and `<`, `>`, `&` become entities, so a peer's error text cannot open a tag, a link or a table cell;
//! reproducers sit in code blocks fenced longer than any backtick run they hold.

use super::selftest::SelftestReport;
use super::summary::{verdict, RunReport};
use super::text::{signature_peers, thousands};
use crate::interop::CellResult;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `text` safe inside a Markdown paragraph or table cell, on one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            // Emphasis, code, links and images, table cells, strikethrough, headings, math.
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// `text` as an inline code span: fenced by one backtick more than its longest run, padded
/// so that a leading or trailing backtick stays inside; `|` escaped for table cells (GFM
/// reads `\|` as a pipe even inside code).
pub fn code(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ").replace('|', "\\|");
    let fence = "`".repeat(longest_backtick_run(&one_line) + 1);
    format!("{fence} {one_line} {fence}")
}

/// `text` as a fenced code block, its fence longer than any backtick run it holds.
fn code_block(out: &mut String, text: &str) {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    let _ = writeln!(out, "{fence}text\n{text}\n{fence}");
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The job summary of a run.
pub fn run(r: &RunReport) -> String {
    let mut out = String::new();
    let pass = r.exit_code == 0;
    let _ = writeln!(
        out,
        "## {} ratchet-bench: {}\n",
        if pass { "✅" } else { "❌" },
        escape(&verdict(r))
    );
    let scenarios: Vec<String> = r
        .scenarios
        .iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "{} · seed {} · scenarios {} (+{} pinned) · expectations {}\n",
        escape(&r.tool),
        r.seed,
        escape(&scenarios.join(", ")),
        r.pinned,
        code(&r.expectations_label())
    );
    let new: Vec<_> = r.findings.iter().filter(|s| s.expected.is_none()).collect();
    let cells: usize = r.interop.iter().map(|m| m.cells.len()).sum();
    let failing_cells: usize = r.interop.iter().map(|m| m.failures().count()).sum();
    let ran: Vec<_> = r.vectors.iter().filter(|v| v.not_run.is_none()).collect();
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| peers | {} |", r.peers.len());
    let _ = writeln!(
        out,
        "| vector cases | {} passed, {} failed, {} skipped ({} files; {} suites not run) |",
        thousands(ran.iter().map(|v| v.passed as u64).sum::<u64>()),
        thousands(ran.iter().map(|v| v.failed as u64).sum::<u64>()),
        thousands(ran.iter().map(|v| v.skipped as u64).sum::<u64>()),
        ran.len(),
        r.vectors.len() - ran.len()
    );
    let _ = writeln!(
        out,
        "| interop cells | {} passed of {cells} |",
        cells - failing_cells
    );
    let _ = writeln!(
        out,
        "| findings | {} signatures: {} expected, **{} new** |",
        r.findings.len(),
        r.findings.len() - new.len(),
        new.len()
    );
    let _ = writeln!(
        out,
        "| stale expectations | **{}** (expired: {}) |",
        r.triage.stale.len(),
        r.triage.expired.len()
    );
    let _ = writeln!(out, "| notes (not failing) | {} |\n", r.notes.len());

    if !new.is_empty() {
        let _ = writeln!(out, "### New findings\n");
        for s in &new {
            let _ = writeln!(
                out,
                "- **{}** ({}, {} scenarios): {}\n",
                code(&s.signature),
                escape(s.kind.name()),
                s.count,
                escape(&s.detail)
            );
            code_block(&mut out, &s.reproducer);
            out.push('\n');
        }
    }
    if !r.triage.stale.is_empty() {
        let _ = writeln!(
            out,
            "### Stale expectations\n\nThe reproducer no longer shows the finding; remove the entry.\n"
        );
        for e in r.triage.stale_entries() {
            let _ = writeln!(
                out,
                "- {} ({}): {} (reason given: {})",
                code(&e.entry.signature),
                code(&e.file),
                escape(&e.check.explain()),
                escape(&e.entry.reason)
            );
        }
        out.push('\n');
    }
    if !r.triage.expired.is_empty() {
        let _ = writeln!(out, "### Expired expectations (counted as absent)\n");
        for s in &r.triage.expired {
            let _ = writeln!(out, "- {}", code(s));
        }
        out.push('\n');
    }

    if !r.interop.is_empty() {
        let _ = writeln!(out, "### Interop (rows initiate, columns respond)\n");
        for m in &r.interop {
            let _ = writeln!(out, "**{}**\n", escape(m.family.name()));
            let _ = write!(out, "| |");
            for p in &m.peers {
                let _ = write!(out, " {} |", escape(p));
            }
            let _ = write!(out, "\n|---|");
            for _ in &m.peers {
                out.push_str("---|");
            }
            out.push('\n');
            for (row, a) in m.peers.iter().enumerate() {
                let _ = write!(out, "| **{}** |", escape(a));
                for c in m.cells.iter().skip(row * m.peers.len()).take(m.peers.len()) {
                    match &c.result {
                        CellResult::Pass { .. } => out.push_str(" ✅ pass |"),
                        CellResult::Fail { step, class, .. } => {
                            let signature_start = format!("{}+{}/", c.initiator, c.responder);
                            let known = r.findings.iter().any(|s| {
                                s.signature.starts_with(&signature_start) && s.expected.is_some()
                            });
                            let _ = write!(
                                out,
                                " {} {}: {} |",
                                if known { "⚠️ expected" } else { "❌ FAIL" },
                                escape(step),
                                escape(class)
                            );
                        }
                    }
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }

    if !r.vectors.is_empty() {
        let _ = writeln!(out, "### Vectors\n");
        let mut by_peer: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
        for v in &ran {
            let e = by_peer.entry(v.peer.as_str()).or_default();
            e.0 += 1;
            e.1 += v.passed;
            e.2 += v.failed;
            e.3 += v.skipped;
        }
        let _ = writeln!(
            out,
            "| peer | files | passed | failed | skipped |\n|---|--:|--:|--:|--:|"
        );
        for (peer, (files, p, f, s)) in by_peer {
            let _ = writeln!(out, "| {} | {files} | {p} | {f} | {s} |", escape(peer));
        }
        out.push('\n');
        for v in r.vectors.iter().filter(|v| v.not_run.is_some()) {
            let _ = writeln!(
                out,
                "- not run: {} ({}) on {}: {}",
                code(&v.suite),
                escape(&v.file),
                escape(&v.peer),
                escape(v.not_run.as_deref().unwrap_or_default())
            );
        }
        out.push('\n');
    }

    if !r.outcomes.is_empty() {
        let _ = writeln!(out, "### Campaign\n");
        let labels = [
            "sent",
            "accepted",
            "rejected",
            "panic",
            "skipped",
            "setup-failed",
        ];
        let _ = write!(out, "| peer | family |");
        for l in labels {
            let _ = write!(out, " {l} |");
        }
        let _ = write!(out, " findings |\n|---|---|");
        for _ in labels {
            out.push_str("--:|");
        }
        out.push_str("--:|\n");
        for p in &r.peers {
            let Some(counts) = r.outcomes.get(&p.name) else {
                continue;
            };
            let _ = write!(out, "| {} | {} |", escape(&p.name), escape(p.family.name()));
            for l in labels {
                let _ = write!(out, " {} |", counts.get(l).copied().unwrap_or(0));
            }
            let n = r
                .findings
                .iter()
                .filter(|s| signature_peers(&s.signature).any(|x| x == p.name))
                .count();
            let _ = writeln!(out, " {n} |");
        }
        out.push('\n');
    }

    let expected: Vec<_> = r.findings.iter().filter(|s| s.expected.is_some()).collect();
    if !expected.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Expected findings ({})</summary>\n",
            expected.len()
        );
        let _ = writeln!(
            out,
            "| signature | scenarios | known because |\n|---|--:|---|"
        );
        for s in expected {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&s.signature),
                s.count,
                escape(s.expected.as_deref().unwrap_or_default())
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if !r.notes.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Notes, not failing ({})</summary>\n",
            r.notes.len()
        );
        for s in &r.notes {
            let _ = writeln!(out, "- {}: {}", code(&s.signature), escape(&s.detail));
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}

/// The job summary of a selftest: one row per planted flaw.
pub fn selftest(s: &SelftestReport) -> String {
    let mut out = String::new();
    let all = s.caught == s.flaws.len();
    let _ = writeln!(
        out,
        "## {} ratchet-bench selftest: {} of {} planted flaws caught\n",
        if all { "✅" } else { "❌" },
        s.caught,
        s.flaws.len()
    );
    let _ = writeln!(out, "seed {}\n", s.seed);
    for f in &s.families {
        let _ = writeln!(
            out,
            "- {}: at most {} scenarios per flaw, each mutant beside {}",
            code(&f.family),
            f.scenarios,
            escape(&f.beside.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "\n| family | flaw | what | caught | by | scenarios |\n|---|---|---|---|---|--:|"
    );
    for f in &s.flaws {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            code(&f.family),
            code(&f.flaw),
            escape(&f.summary),
            if f.caught { "✅ yes" } else { "❌ **no**" },
            f.signature.as_deref().map_or_else(|| "-".to_string(), code),
            f.scenarios
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_opens_no_tag_link_or_cell() {
        let e = escape("<script>|[x](http://a)*b*\n`c`");
        assert!(!e.contains('<') && !e.contains('>'), "{e}");
        assert!(!e.contains('\n'));
        // Every pipe, bracket and paren is escaped.
        for (i, c) in e.char_indices() {
            if matches!(c, '|' | '[' | ']' | '(' | ')' | '*' | '`') {
                assert_eq!(&e[i - 1..i], "\\", "{c} at {i} in {e}");
            }
        }
    }

    #[test]
    fn a_failing_run_shows_what_fails_with_reproducers() {
        let r = super::super::fixture::failing();
        let md = run(&r);
        assert!(md.starts_with("## ❌ ratchet-bench: FAIL"), "{md}");
        assert!(md.contains("### New findings"));
        assert!(md.contains(
            "```text\nratchet-bench replay 'send A 1; tamper m0 body 7' --peer beta --seed 42\n```"
        ));
        assert!(md.contains("### Stale expectations"));
        assert!(md.contains("### Expired expectations"));
        assert!(!md.contains("<script"), "{md}");
        // Every row of a table has as many cells as its header: no text opened a cell.
        let mut header_cells = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                header_cells = None;
                continue;
            }
            let cells = line.replace("\\|", "").matches('|').count();
            match header_cells {
                None => header_cells = Some(cells),
                Some(n) => assert_eq!(cells, n, "{line}"),
            }
        }
    }

    #[test]
    fn an_empty_run_passes_with_no_sections_of_findings() {
        let md = run(&super::super::fixture::empty());
        assert!(md.starts_with("## ✅ ratchet-bench: PASS"), "{md}");
        assert!(!md.contains("### New findings"));
        assert!(!md.contains("### Interop"));
    }

    #[test]
    fn a_missed_flaw_shows_in_the_selftest_summary() {
        let md = selftest(&super::super::fixture::selftest());
        assert!(
            md.starts_with("## ❌ ratchet-bench selftest: 1 of 2"),
            "{md}"
        );
        assert!(md.contains("❌ **no**"));
    }

    #[test]
    fn a_code_span_is_fenced_longer_than_its_backticks() {
        assert_eq!(code("a"), "` a `");
        assert_eq!(code("a``b"), "``` a``b ```");
        assert_eq!(code("x|y"), "` x\\|y `");
    }
}
