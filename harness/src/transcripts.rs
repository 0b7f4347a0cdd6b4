//! The transcripts the HTML report shows under each finding: its reproducer replayed on the
//! peers its signature names, rendered as `ratchet-bench replay` prints it.

use crate::artifact::render_transcripts;
use crate::campaign::check_scenario;
use crate::peer::Peer;
use crate::report::RunReport;
use crate::scenario::Scenario;
use std::collections::BTreeMap;

/// Per finding signature of `report` (failing findings and notes), the transcript of its
/// reproducer on the peers of `peers` it names. Findings without a scenario (failed vector
/// cases, interop cells) and findings whose peers are not among `peers` have none.
/// Replaying is deterministic: the same report and peers give the same transcripts.
pub fn transcripts(report: &RunReport, peers: &[Box<dyn Peer>]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for seen in report.findings.iter().chain(&report.notes) {
        let Ok(scenario) = seen.scenario.parse::<Scenario>() else {
            continue;
        };
        let names: Vec<&str> = seen
            .signature
            .split('/')
            .next()
            .unwrap_or_default()
            .split('+')
            .collect();
        let named: Vec<&dyn Peer> = peers
            .iter()
            .map(|p| p.as_ref())
            .filter(|p| names.contains(&p.info().name.as_str()))
            .collect();
        if named.len() != names.len() {
            continue;
        }
        let (transcripts, findings) = check_scenario(&named, &scenario, seen.seed);
        out.insert(
            seen.signature.clone(),
            render_transcripts(&transcripts, &findings),
        );
    }
    out
}
