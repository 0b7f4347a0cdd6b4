//! Today's release line, 0.9.2, named without a line (`openmls`).

use ::openmls as om;
use ::openmls_basic_credential as om_credential;
use ::openmls_rust_crypto as om_crypto;
use ::openmls_traits as om_traits;

/// The version under test, as reports show it.
const VERSION: &str = "openmls 0.9.2, suite 1";
/// The release line the peer's name carries; `None` for today's.
const RELEASE: Option<&str> = None;

#[path = "adapter.rs"]
mod adapter;

pub use adapter::OpenMls;
