//! The group adapters: openmls and mls-rs as [`GroupPeer`]s, for group schedules of any
//! size and length (`ratchet_bench_core::group`). The two-party adapters
//! ([`crate::OpenMls`], [`crate::MlsRs`]) stay as they are: one epoch between two members.
//!
//! Both adapters use cipher suite 1 and basic credentials carrying the member's name, so an
//! openmls member and an mls-rs member can share a group (key packages, Welcomes, commits and
//! application messages cross between them). Each declares the limits the oracles hold it to,
//! from its source and the configuration it sets (see each module).

#[cfg(feature = "mls-rs")]
mod mls_rs;
#[cfg(feature = "openmls")]
mod openmls;
mod state;
#[doc(hidden)]
pub mod weakened_for_testing_only;

#[cfg(feature = "mls-rs")]
pub use self::mls_rs::MlsRsGroup;
#[cfg(feature = "openmls")]
pub use self::openmls::OpenMlsGroup;

use ratchet_bench_core::group::GroupPeer;

/// Every group peer this build has, in report order.
// Each peer is behind its own feature, so the list cannot be one `vec!`.
#[allow(unused_mut, clippy::vec_init_then_push)]
pub fn bundled() -> Vec<Box<dyn GroupPeer>> {
    let mut all: Vec<Box<dyn GroupPeer>> = Vec::new();
    #[cfg(feature = "openmls")]
    all.push(Box::new(OpenMlsGroup));
    #[cfg(feature = "mls-rs")]
    all.push(Box::new(MlsRsGroup));
    all
}

/// The group peers among `names` (the two-party peers' names: `openmls`, `mls-rs`), in
/// report order; every one when `names` is empty.
pub fn named(names: &[String]) -> Vec<Box<dyn GroupPeer>> {
    bundled()
        .into_iter()
        .filter(|p| names.is_empty() || names.contains(&p.info().name))
        .collect()
}
