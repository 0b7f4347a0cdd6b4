//! Today's release line, 0.57.0, named without a line (`mls-rs`).

use ::mls_rs as mr;
use ::mls_rs_crypto_rustcrypto as mr_crypto;

/// The version under test, as reports show it.
const VERSION: &str = "mls-rs 0.57.0, suite 1";
/// The release line the peer's name carries; `None` for today's.
const RELEASE: Option<&str> = None;

#[path = "adapter.rs"]
mod adapter;

pub use adapter::{class_of, MlsRs};
