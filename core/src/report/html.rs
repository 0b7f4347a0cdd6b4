//! The HTML report (`--html FILE`): one self-contained page for people.
//!
//! No script, no font, no image, no request of any kind: the style sheet is inline and a
//! Content-Security-Policy of `default-src 'none'` forbids the page to load anything, so it
//! opens the same from a CI artifact, a mail attachment or a machine without network.
//! Sections: the verdict and totals; what fails the run (new findings, stale and expired
//! expectations); the interop matrices as coloured grids; the findings grouped by peer and
//! kind, each expandable (`<details>`) to its detail, reason, reproducer and transcript; the
//! vector suites; the campaign per peer and per operator (the step kind where findings
//! showed); the peers; and the selftest's table when one ran. Every piece of text from the
//! report is escaped ([`escape`]).

use super::finding::Seen;
use super::selftest::SelftestReport;
use super::summary::{limits, verdict, RunReport};
use super::text::thousands;
use crate::interop::CellResult;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What one page shows: a run, a selftest, or both.
#[derive(Clone, Copy, Debug, Default)]
pub struct Page<'a> {
    /// The run's report.
    pub run: Option<&'a RunReport>,
    /// The selftest's report.
    pub selftest: Option<&'a SelftestReport>,
    /// Per finding signature, the transcript of its reproducer (what each peer did, step by
    /// step), shown under the finding; a finding without one shows its reproducer alone.
    pub transcripts: Option<&'a BTreeMap<String, String>>,
}

/// `text` safe in HTML text and in a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9; --warn: #9a6700;
  --warn-bg: #fff8c5; --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; --link: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #1f2328; background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 6px; }
h4 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
a { color: var(--link); text-decoration: none; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--head); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
  overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 6px 0; }
.muted { color: var(--muted); }
.verdict { border-radius: 8px; padding: 12px 16px; margin: 12px 0; font-size: 16px; font-weight: 600; }
.verdict.pass { background: var(--ok-bg); color: var(--ok); border: 1px solid #aceebb; }
.verdict.fail { background: var(--bad-bg); color: var(--bad); border: 1px solid #ffcecb; }
nav { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .n { font-size: 22px; font-weight: 600; }
.card .l { color: var(--muted); font-size: 12px; }
.card.bad { border-color: #ffcecb; background: var(--bad-bg); }
table { border-collapse: collapse; margin: 6px 0 12px; display: block; max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid td { text-align: center; min-width: 120px; font-weight: 600; }
.grid th.row { text-align: right; }
.grid .corner { font-weight: 400; color: var(--muted); font-size: 12px; }
td.pass { background: var(--ok-bg); color: var(--ok); }
td.fail { background: var(--bad-bg); color: var(--bad); }
td.known { background: var(--warn-bg); color: var(--warn); }
td small { display: block; font-weight: 400; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 11.5px; font-weight: 600;
  margin-right: 6px; vertical-align: 1px; }
.badge.new, .badge.stale { background: var(--bad); color: #fff; }
.badge.known { background: var(--warn-bg); color: var(--warn); border: 1px solid #eed888; }
.badge.note { background: var(--head); color: var(--muted); border: 1px solid var(--line); }
.badge.ok { background: var(--ok-bg); color: var(--ok); border: 1px solid #aceebb; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; background: #fff; }
details > summary { cursor: pointer; padding: 6px 10px; list-style-position: inside; }
details[open] > summary { border-bottom: 1px solid var(--line); background: var(--head); }
details > .body { padding: 6px 12px 8px; }
details details { margin: 6px 0; }
.group { border-left: 3px solid var(--line); padding-left: 12px; margin: 12px 0; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; margin: 6px 0; }
dt { color: var(--muted); }
dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
td details { border: 0; margin: 0; }
.wide { overflow-x: auto; max-width: 100%; }
td details > summary { padding: 0; }
"#;

/// The page.
pub fn render(page: &Page) -> String {
    let mut out = String::new();
    let title = match (page.run, page.selftest) {
        (Some(r), _) => format!("{}: {}", r.tool, verdict(r)),
        (None, Some(s)) => format!(
            "{} selftest: {} of {} flaws caught",
            s.tool,
            s.caught,
            s.flaws.len()
        ),
        (None, None) => "ratchet-bench report".to_string(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        escape(&title)
    );
    let empty = BTreeMap::new();
    let transcripts = page.transcripts.unwrap_or(&empty);
    if let Some(r) = page.run {
        run(&mut out, r, transcripts, page.selftest.is_some());
    }
    if let Some(s) = page.selftest {
        selftest(&mut out, s, page.run.is_none());
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn run(
    out: &mut String,
    r: &RunReport,
    transcripts: &BTreeMap<String, String>,
    with_selftest: bool,
) {
    let pass = r.exit_code == 0;
    let _ = writeln!(out, "<h1>{}</h1>", escape(&r.tool));
    let scenarios: Vec<String> = r
        .scenarios
        .iter()
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "<div class=\"muted\">seed <span class=\"mono\">{}</span> · drawn scenarios {} (+{} pinned per peer) · expectations <span class=\"mono\">{}</span></div>",
        r.seed,
        escape(&scenarios.join(", ")),
        r.pinned,
        escape(&r.expectations_label())
    );
    let _ = writeln!(
        out,
        "<div class=\"verdict {}\">{}</div>",
        if pass { "pass" } else { "fail" },
        escape(&verdict(r))
    );
    let mut nav = vec![];
    if !pass {
        nav.push(("failing", "What fails the run"));
    }
    nav.extend([
        ("interop", "Interop"),
        ("findings", "Findings"),
        ("vectors", "Vectors"),
        ("campaign", "Campaign"),
        ("peers", "Peers"),
    ]);
    if with_selftest {
        nav.push(("selftest", "Selftest"));
    }
    out.push_str("<nav>");
    for (id, label) in nav {
        let _ = write!(out, "<a href=\"#{id}\">{label}</a>");
    }
    out.push_str("</nav>\n");

    // Totals.
    let new = r.findings.iter().filter(|s| s.expected.is_none()).count();
    let ran: Vec<_> = r.vectors.iter().filter(|v| v.not_run.is_none()).collect();
    let cells: usize = r.interop.iter().map(|m| m.cells.len()).sum();
    let failing_cells: usize = r.interop.iter().map(|m| m.failures().count()).sum();
    let cases: u64 = ran
        .iter()
        .map(|v| (v.passed + v.failed + v.skipped) as u64)
        .sum();
    let failed_cases: u64 = ran.iter().map(|v| v.failed as u64).sum();
    out.push_str("<div class=\"cards\">");
    let mut card = |n: String, label: &str, bad: bool| {
        let _ = write!(
            out,
            "<div class=\"card{}\"><div class=\"n\">{}</div><div class=\"l\">{}</div></div>",
            if bad { " bad" } else { "" },
            escape(&n),
            escape(label)
        );
    };
    card(r.peers.len().to_string(), "peers", false);
    card(
        format!("{} / {}", thousands(cases - failed_cases), thousands(cases)),
        "vector cases passed (failures and skips below)",
        false,
    );
    card(
        format!("{} / {cells}", cells - failing_cells),
        "interop cells passed",
        false,
    );
    card(
        format!("{} + {new} new", r.findings.len() - new),
        "findings: expected + new",
        new > 0,
    );
    card(
        r.triage.stale.len().to_string(),
        "stale expectations",
        !r.triage.stale.is_empty(),
    );
    card(r.notes.len().to_string(), "notes (not failing)", false);
    out.push_str("</div>\n");

    if !pass {
        let _ = writeln!(out, "<h2 id=\"failing\">What fails the run</h2>");
        for s in r.findings.iter().filter(|s| s.expected.is_none()) {
            finding(out, s, transcripts, true);
        }
        for e in r.triage.stale_entries() {
            let _ = writeln!(
                out,
                "<details open><summary><span class=\"badge stale\">STALE</span><code>{}</code></summary><div class=\"body\"><p>The reproducer no longer shows the finding: remove the entry from <code>{}</code>.</p><dl><dt>replay</dt><dd>{}</dd><dt>reproducer</dt><dd><code>{}</code></dd><dt>reason given</dt><dd>{}</dd></dl></div></details>",
                escape(&e.entry.signature),
                escape(&e.file),
                escape(&e.check.explain()),
                escape(&e.entry.reproducer_command()),
                escape(&e.entry.reason)
            );
        }
        for s in &r.triage.expired {
            let _ = writeln!(
                out,
                "<p><span class=\"badge stale\">EXPIRED</span><code>{}</code> is past its expiry date and counts as absent.</p>",
                escape(s)
            );
        }
    }

    // Interop.
    let _ = writeln!(out, "<h2 id=\"interop\">Interop</h2>");
    if r.interop.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">Not run.</p>");
    }
    for m in &r.interop {
        let _ = writeln!(out, "<h3>{}</h3>", escape(m.family.name()));
        let _ = write!(
            out,
            "<table class=\"grid\"><tr><th class=\"corner\">initiator ↓ · responder →</th>"
        );
        for p in &m.peers {
            let _ = write!(out, "<th>{}</th>", escape(p));
        }
        out.push_str("</tr>\n");
        for (row, a) in m.peers.iter().enumerate() {
            let _ = write!(out, "<tr><th class=\"row\">{}</th>", escape(a));
            for c in m.cells.iter().skip(row * m.peers.len()).take(m.peers.len()) {
                match &c.result {
                    CellResult::Pass { delivered } => {
                        let _ = write!(
                            out,
                            "<td class=\"pass\" title=\"{} delivered and decrypted\">pass<small>{delivered} messages</small></td>",
                            delivered
                        );
                    }
                    CellResult::Fail {
                        step,
                        class,
                        detail,
                        ..
                    } => {
                        let prefix = format!("{}+{}/", c.initiator, c.responder);
                        let known = r
                            .findings
                            .iter()
                            .any(|s| s.signature.starts_with(&prefix) && s.expected.is_some());
                        let _ = write!(
                            out,
                            "<td class=\"{}\" title=\"{}\">{}<small>{}: {}</small></td>",
                            if known { "known" } else { "fail" },
                            escape(detail),
                            if known { "expected failure" } else { "FAIL" },
                            escape(step),
                            escape(class)
                        );
                    }
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }

    // Findings by peer, then kind.
    let _ = writeln!(out, "<h2 id=\"findings\">Findings</h2>");
    if r.findings.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">None.</p>");
    }
    grouped(out, &r.findings, transcripts);
    if !r.notes.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Notes (not failing)</h3><p class=\"muted\">Peers that differ where either outcome is allowed, or a peer with weakened checks that accepted a forgery.</p>"
        );
        grouped(out, &r.notes, transcripts);
    }

    // Vectors.
    let _ = writeln!(out, "<h2 id=\"vectors\">Vectors</h2>");
    if r.vectors.is_empty() {
        let _ = writeln!(out, "<p class=\"muted\">Not run.</p>");
    } else {
        let _ = writeln!(
            out,
            "<table><tr><th>suite</th><th>file</th><th>peer</th><th class=\"num\">pass</th><th class=\"num\">fail</th><th class=\"num\">skip</th><th>expected results</th><th>cases not passed</th></tr>"
        );
        for v in &r.vectors {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td>",
                escape(&v.suite),
                escape(&v.file),
                escape(&v.peer)
            );
            if let Some(why) = &v.not_run {
                let _ = writeln!(
                    out,
                    "<td colspan=\"5\" class=\"known\">not run: {}</td></tr>",
                    escape(why)
                );
                continue;
            }
            let expected = v.expected.map_or_else(String::new, |e| {
                format!(
                    "valid {} · invalid {} · acceptable {}",
                    e.valid, e.invalid, e.acceptable
                )
            });
            let _ = write!(
                out,
                "<td class=\"num\">{}</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"muted\">{}</td><td>",
                v.passed,
                if v.failed > 0 { " fail" } else { "" },
                v.failed,
                v.skipped,
                escape(&expected)
            );
            let odd: Vec<_> = v.cases.iter().filter(|c| !c.reason.is_empty()).collect();
            if !odd.is_empty() {
                let _ = write!(out, "<details><summary>{} cases</summary><ul>", odd.len());
                for c in odd {
                    let _ = write!(
                        out,
                        "<li>tcId {} <b>{:?}</b>: {}</li>",
                        c.tc_id,
                        c.status,
                        escape(&c.reason)
                    );
                }
                out.push_str("</ul></details>");
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</table>\n");
    }

    // Campaign.
    let _ = writeln!(
        out,
        "<h2 id=\"campaign\">Campaign</h2><p class=\"muted\">{} pinned scenarios per peer, then the drawn ones of its family. Outcomes count the inputs of every scenario.</p>",
        r.pinned
    );
    let labels = [
        "sent",
        "accepted",
        "rejected",
        "panic",
        "skipped",
        "setup-failed",
    ];
    let _ = write!(
        out,
        "<table><tr><th>peer</th><th>family</th><th class=\"num\">drawn scenarios</th>"
    );
    for l in labels {
        let _ = write!(out, "<th class=\"num\">{l}</th>");
    }
    out.push_str("</tr>\n");
    for p in &r.peers {
        let counts = r.outcomes.get(&p.name);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
            escape(&p.name),
            escape(p.family.name()),
            r.scenarios.get(p.family.name()).copied().unwrap_or(0)
        );
        for l in labels {
            let n = counts.and_then(|c| c.get(l)).copied().unwrap_or(0);
            let _ = write!(out, "<td class=\"num\">{}</td>", thousands(n));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    // Scenarios with a finding, per peer and the operator (step kind) where it showed.
    let mut by_op: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut ops: Vec<&str> = Vec::new();
    for s in r.findings.iter().chain(&r.notes) {
        let mut parts = s.signature.split('/');
        let (Some(peers), Some(_kind), Some(op)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !ops.contains(&op) {
            ops.push(op);
        }
        *by_op.entry(peers).or_default().entry(op).or_default() += s.count;
    }
    ops.sort_unstable();
    if !by_op.is_empty() {
        let _ = write!(
            out,
            "<h3>Scenarios with a finding, by peer and operator</h3><div class=\"wide\"><table><tr><th>peer(s)</th>"
        );
        for op in &ops {
            let _ = write!(out, "<th class=\"num\">{}</th>", escape(op));
        }
        out.push_str("</tr>\n");
        for (peers, counts) in &by_op {
            let _ = write!(out, "<tr><td>{}</td>", escape(peers));
            for op in &ops {
                match counts.get(op) {
                    Some(n) => {
                        let _ = write!(out, "<td class=\"num\">{}</td>", thousands(*n));
                    }
                    None => out.push_str("<td class=\"num muted\">·</td>"),
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table></div>\n");
    }

    // Peers.
    let _ = writeln!(
        out,
        "<h2 id=\"peers\">Peers</h2><table><tr><th>peer</th><th>family</th><th>version</th><th>limits</th><th>weakened checks</th></tr>"
    );
    for p in &r.peers {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&p.name),
            escape(p.family.name()),
            escape(&p.version),
            escape(&limits(p)),
            if p.weakened.is_empty() {
                "none".to_string()
            } else {
                escape(&p.weakened.join("; "))
            }
        );
    }
    for n in &r.not_built {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td colspan=\"4\" class=\"muted\">not built: {}</td></tr>",
            escape(&n.peer),
            escape(&n.reason)
        );
    }
    out.push_str("</table>\n");
}

/// Findings grouped by the peers they name, then by kind.
fn grouped(out: &mut String, seen: &[Seen], transcripts: &BTreeMap<String, String>) {
    let mut groups: BTreeMap<&str, BTreeMap<&str, Vec<&Seen>>> = BTreeMap::new();
    for s in seen {
        let peers = s.signature.split('/').next().unwrap_or_default();
        groups
            .entry(peers)
            .or_default()
            .entry(s.kind.name())
            .or_default()
            .push(s);
    }
    for (peers, kinds) in groups {
        let n: usize = kinds.values().map(Vec::len).sum();
        let _ = writeln!(
            out,
            "<div class=\"group\"><h3>{} <span class=\"muted\">· {n} signatures</span></h3>",
            escape(peers)
        );
        for (kind, list) in kinds {
            let _ = writeln!(out, "<h4>{}</h4>", escape(kind));
            for s in list {
                finding(out, s, transcripts, false);
            }
        }
        out.push_str("</div>\n");
    }
}

/// One finding, expandable to everything known about it.
fn finding(out: &mut String, s: &Seen, transcripts: &BTreeMap<String, String>, open: bool) {
    let badge = match (&s.expected, s.kind.fails_run()) {
        (Some(_), _) => "<span class=\"badge known\">expected</span>",
        (None, true) => "<span class=\"badge new\">NEW</span>",
        (None, false) => "<span class=\"badge note\">note</span>",
    };
    let _ = write!(
        out,
        "<details{}><summary>{badge}<code>{}</code> <span class=\"muted\">· {} scenarios</span></summary><div class=\"body\"><p>{}</p><dl>",
        if open { " open" } else { "" },
        escape(&s.signature),
        s.count,
        escape(&s.detail)
    );
    if let Some(reason) = &s.expected {
        let _ = write!(out, "<dt>known because</dt><dd>{}</dd>", escape(reason));
    }
    if !s.scenario.is_empty() {
        let _ = write!(
            out,
            "<dt>scenario</dt><dd><code>{}</code></dd><dt>session seed</dt><dd><code>{}</code></dd>",
            escape(&s.scenario),
            s.seed
        );
    }
    let _ = write!(
        out,
        "</dl><div class=\"muted\">reproduce:</div><pre>{}</pre>",
        escape(&s.reproducer)
    );
    if let Some(t) = transcripts.get(&s.signature) {
        let _ = write!(
            out,
            "<details><summary>transcript</summary><pre>{}</pre></details>",
            escape(t.trim())
        );
    }
    out.push_str("</div></details>\n");
}

fn selftest(out: &mut String, s: &SelftestReport, alone: bool) {
    let all = s.caught == s.flaws.len();
    if alone {
        let _ = writeln!(out, "<h1>{} selftest</h1>", escape(&s.tool));
    }
    let _ = writeln!(
        out,
        "<h2 id=\"selftest\">Selftest: the bench hunting its own planted bugs</h2>\
         <div class=\"muted\">seed <span class=\"mono\">{}</span></div>\
         <div class=\"verdict {}\">{} of {} planted flaws caught</div>",
        s.seed,
        if all { "pass" } else { "fail" },
        s.caught,
        s.flaws.len()
    );
    out.push_str("<ul>");
    for f in &s.families {
        let _ = write!(
            out,
            "<li><code>{}</code>: at most {} scenarios per flaw, each mutant beside {}</li>",
            escape(&f.family),
            f.scenarios,
            escape(&f.beside.join(", "))
        );
    }
    out.push_str("</ul>\n");
    if !s.ignored.is_empty() {
        let names: Vec<&str> = s.ignored.iter().map(|k| k.name()).collect();
        let _ = writeln!(
            out,
            "<p>Not counted as catches: {}</p>",
            escape(&names.join(", "))
        );
    }
    let _ = writeln!(
        out,
        "<table><tr><th>family</th><th>flaw</th><th>what</th><th>caught</th><th>by</th><th class=\"num\">scenarios</th><th class=\"num\">seconds</th><th>signature and reproducer</th></tr>"
    );
    for f in &s.flaws {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td>",
            escape(&f.family),
            escape(&f.flaw),
            escape(&f.summary),
            if f.caught { "pass" } else { "fail" },
            if f.caught { "yes" } else { "NO" },
            f.kind.map_or("-", |k| k.name()),
            f.scenarios,
            f.seconds
        );
        if let (Some(sig), Some(scenario), Some(seed)) = (&f.signature, &f.scenario, f.session_seed)
        {
            let also: Vec<&str> = f.also.iter().map(|k| k.name()).collect();
            let _ = write!(
                out,
                "<details><summary><code>{}</code></summary><div class=\"body\">{}{}<pre>{seed} {}</pre></div></details>",
                escape(sig),
                f.detail.as_deref().map(escape).unwrap_or_default(),
                if also.is_empty() {
                    String::new()
                } else {
                    format!(" (also {})", escape(&also.join(", ")))
                },
                escape(scenario)
            );
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    fn page(r: Option<&RunReport>, s: Option<&SelftestReport>) -> String {
        let transcripts = BTreeMap::from([(
            "beta/accepted-forgery/tamper-body".to_string(),
            "beta (signal-dr):\n  step 1 deliver <forged>".to_string(),
        )]);
        render(&Page {
            run: r,
            selftest: s,
            transcripts: Some(&transcripts),
        })
    }

    fn balanced(html: &str) {
        for tag in [
            "details", "summary", "table", "tr", "td", "th", "div", "pre", "dl", "ul", "li",
        ] {
            let open = html.matches(&format!("<{tag}>")).count()
                + html.matches(&format!("<{tag} ")).count();
            let close = html.matches(&format!("</{tag}>")).count();
            assert_eq!(open, close, "<{tag}> opened {open} times, closed {close}");
        }
    }

    #[test]
    fn the_page_loads_nothing_and_runs_no_script() {
        let html = page(Some(&fixture::failing()), Some(&fixture::selftest()));
        assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
        assert!(
            !html.contains("<script"),
            "the hostile text is escaped, and the page has none"
        );
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        for attr in ["src=", "href=\"http", "url(", "@import"] {
            assert!(!html.contains(attr), "{attr}");
        }
        balanced(&html);
    }

    #[test]
    fn findings_are_grouped_by_peer_and_kind_and_expand_to_their_transcript() {
        let html = page(Some(&fixture::failing()), None);
        let beta = html.find("<h3>beta <span").unwrap();
        let pair = html.find("<h3>alpha+beta <span").unwrap();
        assert!(pair < beta, "groups in order");
        assert!(html[beta..].contains("<h4>accepted-forgery</h4>"));
        assert!(html.contains("<summary>transcript</summary><pre>beta (signal-dr):\n  step 1 deliver &lt;forged&gt;</pre>"));
        // What fails the run opens first, with its reproducer.
        let failing = html.find("id=\"failing\"").unwrap();
        assert!(failing < html.find("id=\"interop\"").unwrap());
        assert!(html
            .contains("<span class=\"badge stale\">STALE</span><code>alpha/panic/deliver</code>"));
        // The interop grid colours each cell.
        assert_eq!(html.matches("<td class=\"pass\"").count(), 3);
        assert_eq!(html.matches("<td class=\"fail\"").count(), 1);
    }

    #[test]
    fn an_empty_run_and_a_selftest_alone_render() {
        let html = page(Some(&fixture::empty()), None);
        assert!(html.contains("verdict pass"));
        balanced(&html);
        let html = page(None, Some(&fixture::selftest()));
        assert!(html.contains("<title>ratchet-bench 0.1.0 selftest: 1 of 2 flaws caught</title>"));
        assert!(html.contains("<td class=\"fail\">NO</td>"));
        balanced(&html);
    }
}
