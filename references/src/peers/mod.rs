//! The bundled references as peers: the signal-dr reference, the Olm and Megolm references,
//! the signal-v3 reference, and these references with a planted flaw each (the selftest's
//! mutants).

pub mod mutant;
mod olm;
mod signal_dr;
mod signal_v3;

pub use olm::{ReferenceMegolm, ReferenceOlm};
pub use signal_dr::{signal_dr_layout, ReferenceSignalDr};
pub use signal_v3::ReferenceSignalV3;

use ratchet_bench_core::peer::{Reject, RejectClass};

/// The responder's ratchet public key from a signal-dr bundle (32 bytes), as the signal-dr
/// peers' `initiate` takes it.
pub fn signal_dr_bundle(bundle: &[u8]) -> Result<[u8; 32], Reject> {
    bundle.try_into().map_err(|_| {
        Reject::new(
            RejectClass::Malformed,
            format!(
                "expected a 32-byte ratchet public key, got {} bytes",
                bundle.len()
            ),
        )
    })
}

/// [`signal_dr_bundle`] as the reference takes it: a key of low order is refused, since the
/// initiator's first DH output with it would be all zero (RFC 7748 §6.1), and a session
/// whose first chain owes nothing to a key exchange is not the Double Ratchet's.
pub fn reference_signal_dr_bundle(bundle: &[u8]) -> Result<[u8; 32], Reject> {
    let key = signal_dr_bundle(bundle)?;
    if crate::x25519::is_low_order(&key) {
        return Err(Reject::new(
            RejectClass::Malformed,
            format!(
                "the responder's ratchet key {} is of low order: X25519 with it gives an all-zero secret",
                hex::encode(key)
            ),
        ));
    }
    Ok(key)
}
