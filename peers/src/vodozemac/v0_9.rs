//! The 0.9 release line, 0.9.0 (`vodozemac-olm@0.9`, `vodozemac-megolm@0.9`).

use ::vodozemac_0_9 as vz;

/// The version under test, as reports show it.
const VERSION: &str = "vodozemac 0.9.0, v1 (truncated MACs)";
/// The release line the peer names carry; `None` for today's.
const RELEASE: Option<&str> = Some("0.9");

#[path = "adapter.rs"]
mod adapter;
#[path = "api_0_9.rs"]
mod api;
#[path = "known.rs"]
mod known;

pub use adapter::{VodozemacMegolm, VodozemacOlm};
pub use known::Known;
