//! Findings, their signatures and reproducers, the expectations files, and the run's report.

mod check;
mod expectations;
mod finding;
mod reproducer;
mod summary;

pub use check::{conformance, divergence};
pub use expectations::{
    Check, EntryCheck, Expectation, ExpectationSet, Expectations, ExpectationsError, Listed, Triage,
};
pub use finding::{peer_arg, register_peer_arg, Finding, FindingKind, Seen};
pub use reproducer::Reproducer;
pub use summary::{expected_counts, peers_table, render_text, NotBuilt, RunReport, ShardData};
