//! The 0.54 release line, 0.54.0 (`mls-rs@0.54`), with mls-rs-crypto-rustcrypto 0.21.0.

use ::mls_rs_0_54 as mr;
use ::mls_rs_crypto_rustcrypto_0_21 as mr_crypto;

/// The version under test, as reports show it.
const VERSION: &str = "mls-rs 0.54.0, suite 1";
/// The release line the peer's name carries; `None` for today's.
const RELEASE: Option<&str> = Some("0.54");

#[path = "adapter.rs"]
mod adapter;

pub use adapter::{class_of, MlsRs};
