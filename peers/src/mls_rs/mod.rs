//! mls-rs as an MLS peer at two release lines side by side: today's 0.57.0 (`mls-rs`) and the
//! earlier 0.54 line (`mls-rs@0.54`, 0.54.0), each behind a cargo feature of its own (`mls-rs`,
//! `mls-rs-0.54`).
//!
//! The earlier line is the same crates under other names (Cargo's package renaming in the
//! workspace manifest: mls-rs 0.54.0 with mls-rs-crypto-rustcrypto 0.21.0, the provider
//! release built on its mls-rs-core 0.26). One adapter body (`adapter.rs`) serves both: each
//! line's module names its crates `mr` and `mr_crypto` and says its version.
//!
//! Why 0.54: the earliest line whose client, group and commit API the adapter calls are
//! unchanged from today's (the same `Client::builder`, `generate_key_package_message`,
//! `commit_builder`, `join_group` and `process_incoming_message` signatures), so that no call
//! differs between the two lines; both speak RFC 9420, so a member of one joins a group of
//! the other (the interop matrix, the upgrade gate). openmls's earlier line sits beside its
//! current one the same way (`crate::openmls`).

// The point: one adapter body compiled against each line's crates.
#![allow(clippy::duplicate_mod)]

#[cfg(feature = "mls-rs-0.54")]
pub mod v0_54;
#[cfg(feature = "mls-rs")]
pub mod v0_57;
