//! openmls as an MLS peer at two release lines side by side: today's 0.9.2 (`openmls`) and
//! the earlier 0.6 line (`openmls@0.6`, 0.6.0), each behind a cargo feature of its own
//! (`openmls`, `openmls-0.6`).
//!
//! The earlier line is the same crates under other names (Cargo's package renaming in the
//! workspace manifest: openmls 0.6.0 with openmls_rust_crypto, openmls_basic_credential and
//! openmls_traits 0.3.0, the provider releases built on its traits). One adapter body
//! (`adapter.rs`) serves both: each line's module names its crates `om`, `om_crypto`,
//! `om_credential` and `om_traits` and says its version.
//!
//! Why 0.6: the latest line before today's that can share one build with it. The provider
//! crates of the 0.7 and 0.8 lines pin `hax-lib` at exactly 0.3.6 (through libcrux-sha3
//! 0.0.6), while 0.9.2's providers need 0.3.7, and Cargo puts one release of a
//! semver-compatible line in a build; 0.6's providers do not use it. The calls the adapter
//! makes (`KeyPackage::builder`, `MlsGroup::builder`, `add_members`, `StagedWelcome`,
//! `create_message`, `process_message`) have the same signatures in both lines, and both
//! speak RFC 9420, so a member of one joins a group of the other (the interop matrix, the
//! upgrade gate).

// The point: one adapter body compiled against each line's crates.
#![allow(clippy::duplicate_mod)]

#[cfg(feature = "openmls-0.6")]
pub mod v0_6;
#[cfg(feature = "openmls")]
pub mod v0_9;
