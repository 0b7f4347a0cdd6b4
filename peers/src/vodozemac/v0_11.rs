//! Today's release line, 0.11.1, named without a line (`vodozemac-olm`, `vodozemac-megolm`).

use ::vodozemac as vz;

/// The version under test, as reports show it.
const VERSION: &str = "vodozemac 0.11.1, v1 (truncated MACs)";
/// The release line the peer names carry; `None` for today's.
const RELEASE: Option<&str> = None;

#[path = "adapter.rs"]
mod adapter;
#[path = "api_0_10.rs"]
mod api;
#[path = "known.rs"]
mod known;

pub use adapter::{VodozemacMegolm, VodozemacOlm};
pub use known::Known;
