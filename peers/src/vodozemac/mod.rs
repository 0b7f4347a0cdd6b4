//! vodozemac as Olm and Megolm peers, at three release lines side by side: today's 0.11.1
//! (`vodozemac-olm`, `vodozemac-megolm`) and the earlier lines 0.10 and 0.9
//! (`vodozemac-olm@0.10`, `vodozemac-megolm@0.9`, ...), each behind a cargo feature of its
//! own (`vodozemac`, `vodozemac-0.10`, `vodozemac-0.9`).
//!
//! The earlier lines are the same crate under other names (Cargo's package renaming in the
//! workspace manifest: `vodozemac_0_9 = { package = "vodozemac", version = "=0.9.0" }`).
//! One adapter body (`adapter.rs`) serves every line: each line's module below
//! names its crate `vz`, says its version, and picks the module of the calls whose signatures
//! differ (`api_0_10.rs` for 0.10 and later, `api_0_9.rs` for 0.9), which the body reaches as
//! `super::vz` and `super::api`.
//!
//! Behaviour that differs between the lines, from vodozemac's CHANGELOG: 0.10.0 refuses
//! non-contributory (low-order) Diffie-Hellman keys where 0.9 derives a session from an
//! all-zero shared secret (pull request 298), verifies Ed25519 signatures strictly (pull
//! request 299), and refuses a pre-key message of another session config than the one asked
//! for (pull request 300). 0.10 and 0.11 take the same calls from the adapter.
//! `ratchet-bench compare vodozemac-olm@0.9 vodozemac-olm@0.10` shows the first.

// The point: one adapter body compiled against each line's crate.
#![allow(clippy::duplicate_mod)]

#[cfg(feature = "vodozemac-0.10")]
pub mod v0_10;
#[cfg(feature = "vodozemac")]
pub mod v0_11;
#[cfg(feature = "vodozemac-0.9")]
pub mod v0_9;
