//! Findings, their signatures and reproducers, the expectations files, and the run's report:
//! as short and verbose text, as JSON (serde), and as the files CI systems read (`junit`
//! and `sarif` with the feature `ci-formats`, [`markdown`] for a job summary, [`html`] for
//! people).

pub(crate) mod check;
mod expectations;
mod finding;
#[cfg(test)]
mod fixture;
pub mod html;
#[cfg(feature = "ci-formats")]
pub mod junit;
pub mod markdown;
mod render_error;
mod reproducer;
#[cfg(feature = "ci-formats")]
pub mod sarif;
mod selftest;
mod summary;
mod text;
mod transcripts;

pub use check::{conformance, divergence};
pub use expectations::{
    today, Check, EntryCheck, Expectation, ExpectationSet, Expectations, ExpectationsError, Listed,
    Triage,
};
pub use finding::{peer_arg, register_peer_arg, Finding, FindingKind, Seen};
pub use render_error::RenderError;
pub use reproducer::Reproducer;
pub use selftest::{FlawResult, SelftestFamily, SelftestReport};
pub use summary::{
    expected_counts, peers_table, render_verbose, Inputs, NotBuilt, RunReport, ShardData,
};
pub use text::render_text;
pub use transcripts::render_transcripts;
