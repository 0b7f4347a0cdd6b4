//! The 0.10 release line, 0.10.0 (`vodozemac-olm@0.10`, `vodozemac-megolm@0.10`).

use ::vodozemac_0_10 as vz;

/// The version under test, as reports show it.
const VERSION: &str = "vodozemac 0.10.0, v1 (truncated MACs)";
/// The release line the peer names carry; `None` for today's.
const RELEASE: Option<&str> = Some("0.10");

#[path = "adapter.rs"]
mod adapter;
#[path = "api_0_10.rs"]
mod api;
#[path = "known.rs"]
mod known;

pub use adapter::{VodozemacMegolm, VodozemacOlm};
pub use known::Known;
