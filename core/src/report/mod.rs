//! Findings, their signatures, the expectations file, and the run's report.

mod check;
mod expectations;
mod finding;
mod summary;
mod transcripts;

pub use check::{conformance, divergence};
pub use expectations::{today, Expectation, Expectations, ExpectationsError, Triage};
pub use finding::{peer_arg, register_peer_arg, Finding, FindingKind, Seen};
pub use summary::{expected_counts, peers_table, render_text, NotBuilt, RunReport};
pub use transcripts::render_transcripts;
