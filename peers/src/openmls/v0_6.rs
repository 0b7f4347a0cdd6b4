//! The 0.6 release line, 0.6.0 (`openmls@0.6`), with openmls_rust_crypto,
//! openmls_basic_credential and openmls_traits 0.3.0.

use ::openmls_0_6 as om;
use ::openmls_basic_credential_0_3 as om_credential;
use ::openmls_rust_crypto_0_3 as om_crypto;
use ::openmls_traits_0_3 as om_traits;

/// The version under test, as reports show it.
const VERSION: &str = "openmls 0.6.0, suite 1";
/// The release line the peer's name carries; `None` for today's.
const RELEASE: Option<&str> = Some("0.6");

#[path = "adapter.rs"]
mod adapter;

pub use adapter::OpenMls;
