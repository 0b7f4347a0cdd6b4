//! A scenario's transcripts as text: what each peer did with each input beside the oracle's
//! ruling, and the findings. `ratchet-bench replay` prints it, and so does a gate's replay
//! of a finding's reproducer.

use super::Finding;
use crate::scenario::{Outcome, Transcript};
use std::fmt::Write as _;

/// A scenario run's transcripts and findings as text, one line per input.
pub fn render_transcripts(transcripts: &[Transcript], findings: &[Finding]) -> String {
    let mut out = String::new();
    for t in transcripts {
        let _ = writeln!(out, "\n{} ({}):", t.peer.name, t.peer.family);
        if let Some(f) = &t.setup_failure {
            let _ = writeln!(out, "  set-up failed: {f:?}");
        }
        for r in &t.records {
            let msg = r.msg.map(|m| format!(" {m}")).unwrap_or_default();
            let detail = match &r.outcome {
                Outcome::Rejected(rej) => format!(" ({})", rej.detail),
                Outcome::Panicked(p) => format!(" ({p})"),
                Outcome::Hung { detail, .. } => format!(" ({detail})"),
                Outcome::Skipped(s) => format!(" ({s})"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  step {:>3} {:<13}{msg:<5} {}  oracle {:<34} got {}{detail}",
                r.step,
                r.kind,
                r.party,
                format!("{:?}", r.verdict),
                r.outcome.label()
            );
        }
    }
    let _ = writeln!(out, "\nfindings: {}", findings.len());
    for f in findings {
        let _ = writeln!(out, "  {}  step {}: {}", f.signature, f.step, f.detail);
    }
    out
}
