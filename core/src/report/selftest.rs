//! The selftest's report: for each planted flaw, whether the campaign caught it, by which
//! finding, after how many scenarios. `ratchet-bench selftest` fills it (the hunt lives in
//! the `ratchet-bench` crate's `selftest` module); the report files render it.

use super::finding::FindingKind;
use serde::Serialize;

/// How the hunt for one flaw ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlawResult {
    /// The family whose reference carries the flaw.
    pub family: String,
    /// The flaw's name.
    pub flaw: String,
    /// What the flaw is, in a few words.
    pub summary: String,
    /// The mutant's peer name.
    pub peer: String,
    /// Whether a finding caught it within the campaign size.
    pub caught: bool,
    /// The kind of the catching finding.
    pub kind: Option<FindingKind>,
    /// The catching finding's signature.
    pub signature: Option<String>,
    /// The kinds of the other findings that caught it in the same scenario.
    pub also: Vec<FindingKind>,
    /// What the catching finding saw.
    pub detail: Option<String>,
    /// Scenarios run: up to and including the catching one, or all of them.
    pub scenarios: u64,
    /// Wall-clock seconds of the hunt (one thread).
    pub seconds: f64,
    /// The catching scenario, cut after the step where the finding showed.
    pub scenario: Option<String>,
    /// The session seed of that scenario.
    pub session_seed: Option<u64>,
}

/// What `selftest` found.
#[derive(Clone, Debug, Serialize)]
pub struct SelftestReport {
    /// The tool and its version.
    pub tool: String,
    /// The campaign's seed.
    pub seed: u64,
    /// The families hunted, in report order.
    pub families: Vec<SelftestFamily>,
    /// Finding kinds that did not count as a catch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<FindingKind>,
    /// One result per flaw, in catalogue order.
    pub flaws: Vec<FlawResult>,
    /// How many flaws were caught.
    pub caught: usize,
    /// 0 when every flaw was caught, 1 otherwise.
    pub exit_code: i32,
}

/// How one family's mutants were hunted.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SelftestFamily {
    /// The family.
    pub family: String,
    /// The most scenarios drawn per flaw.
    pub scenarios: u64,
    /// The real peers each mutant of the family runs beside, its reference first.
    pub beside: Vec<String>,
}

impl SelftestReport {
    /// How `family`'s mutants were hunted, if it was.
    pub fn family(&self, family: &str) -> Option<&SelftestFamily> {
        self.families.iter().find(|f| f.family == family)
    }
}
