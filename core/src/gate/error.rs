//! Why a gate fails, as text a test prints.

use crate::peer::DeclarationError;
use crate::report::{render_verbose, ExpectationsError, RunReport};
use crate::scenario::ParseError;
use crate::vectors::VectorError;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

/// Why a gate did not pass. Its `Debug` is its `Display`, so that a test that returns it or
/// unwraps it prints the text, not the structure.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// Something unexpected happened: a new finding, a stale expectation or a failed vector
    /// case. The text lists them with their reproducers, then the whole report.
    #[error("{}", .0.text)]
    Failed(Box<GateFailure>),
    /// The summary differs from the snapshot file, or there is none yet.
    #[error("ratchet-bench gate: the summary differs from the snapshot {} (the new one is in {}: review it, then rename it over the old one):\n{diff}", .path.display(), .new_path.display())]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Where the new summary was written.
        new_path: PathBuf,
        /// The lines that differ (`-` the snapshot's, `+` the new summary's).
        diff: String,
    },
    /// The snapshot could not be read or the new summary written.
    #[error("ratchet-bench gate: snapshot {}: {source}", .path.display())]
    SnapshotFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Two of the gate's peers have one name.
    #[error("ratchet-bench gate: two peers are named {name:?}; findings and expectations name peers, so each needs its own name")]
    SameName {
        /// The name.
        name: String,
    },
    /// A peer's family declaration is refused, or two peers disagree about a family.
    #[error("ratchet-bench gate: {0}")]
    Family(#[from] DeclarationError),
    /// The expectations file cannot be used.
    #[error("ratchet-bench gate: {0}")]
    Expectations(#[from] ExpectationsError),
    /// A vector file or manifest cannot be used.
    #[error("ratchet-bench gate: {0}")]
    Vectors(#[from] VectorError),
    /// The vectors folder holds no ratchet-session vectors of any of the gate's families.
    #[error("ratchet-bench gate: {} holds no ratchet-session vectors of {families} (a folder with MANIFEST.json, or ratchet-session *.json files whose algorithm names the family)", .dir.display())]
    NoVectors {
        /// The folder.
        dir: PathBuf,
        /// The gate's families, by name.
        families: String,
    },
    /// The pinned scenarios file cannot be used.
    #[error("ratchet-bench gate: {}: {reason}", .path.display())]
    Regressions {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        reason: String,
    },
    /// An expectation's reproducer cannot run (its scenario does not parse).
    #[error("ratchet-bench gate: expectation {signature}: reproducer: {reason}")]
    Reproducer {
        /// The entry's signature.
        signature: String,
        /// What is wrong.
        reason: String,
    },
    /// A scenario given to [`super::Gate::replay`] does not parse.
    #[error("ratchet-bench gate: scenario: {0}")]
    Scenario(ParseError),
}

impl fmt::Debug for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A gate that ran and found something unexpected.
#[derive(Clone, Debug)]
pub struct GateFailure {
    /// The whole report.
    pub report: RunReport,
    /// What failed, then the report, as text.
    pub text: String,
}

/// The failure's text: the verdict, each new finding with its detail and reproducer, each
/// stale expectation, then the whole report.
pub(super) fn failure_text(r: &RunReport, expectations: Option<&Path>) -> String {
    let mut out = String::new();
    let stale = r.triage.stale.len();
    let _ = writeln!(
        out,
        "ratchet-bench gate: FAIL: {} new findings, {stale} stale expectations ({} failed vector cases in all)",
        r.triage.new.len(),
        r.vector_failures,
    );
    if !r.triage.new.is_empty() {
        let file = expectations.map_or_else(
            || "an expectations file (Gate::expectations)".to_string(),
            |p| p.display().to_string(),
        );
        let _ = writeln!(
            out,
            "\nnew findings (fix the implementation, or list the signature with a reason in {file}):"
        );
        for s in r
            .findings
            .iter()
            .filter(|s| r.triage.new.contains(&s.signature))
        {
            let _ = writeln!(out, "  [NEW] {}  ({} scenarios)", s.signature, s.count);
            let _ = writeln!(out, "      {}", s.detail);
            let _ = writeln!(out, "      reproduce: {}", s.reproducer);
        }
    }
    if stale > 0 {
        let _ = writeln!(
            out,
            "\nstale expectations (the reproducer no longer shows the finding: remove the entry):"
        );
        for e in r.triage.stale_entries() {
            let _ = writeln!(
                out,
                "  [STALE] {}  ({}): {}",
                e.entry.signature,
                e.entry.reason,
                e.check.explain()
            );
            let _ = writeln!(out, "      reproducer: {}", e.entry.reproducer_command());
        }
    }
    let _ = writeln!(out, "\nthe whole report:\n");
    out.push_str(&render_verbose(r));
    out
}
