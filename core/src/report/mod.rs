//! Findings, their signatures, the expectations file, and the run's report.

mod check;
mod expectations;
mod finding;
mod summary;

pub use check::{conformance, divergence};
pub use expectations::{Expectation, Expectations, ExpectationsError, Triage};
pub use finding::{peer_arg, register_peer_arg, Finding, FindingKind, Seen};
pub use summary::{expected_counts, peers_table, render_text, NotBuilt, RunReport};
