//! The bundled reference implementations, written from the specifications, and their peers.
//!
//! They are the bench's yardstick, not its oracle: their outputs become regression vectors,
//! and an independent implementation (a crate under test driven with the same profile) is
//! what shows those vectors right.

pub mod codec;
pub mod megolm;
pub mod mls;
pub mod olm;
pub mod olm_wire;
pub mod peers;
pub mod signal_dr;
pub mod signal_v3;
pub mod x25519;
