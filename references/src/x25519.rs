//! The one check every reference makes of an X25519 public key it did not make: that it is
//! not of low order. X25519 multiplies by a clamped scalar, a multiple of the cofactor 8, so
//! its output is all zero exactly for the points whose order divides 8 (RFC 7748 §6.1 tells
//! protocols to check for that output); a key exchange with one contributes nothing of its
//! own. Non-canonical encodings (the top bit set, u >= p) are not refused: RFC 7748 §5 asks
//! X25519 to mask the bit and reduce u, and the result is the canonical key's.

use x25519_dalek::{PublicKey, StaticSecret};

/// Whether `public` is of low order: X25519 with any clamped scalar gives all zeros.
pub fn is_low_order(public: &[u8; 32]) -> bool {
    // Any scalar does: clamping makes it a multiple of 8.
    let probe = StaticSecret::from([0x42u8; 32]);
    probe.diffie_hellman(&PublicKey::from(*public)).to_bytes() == [0u8; 32]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{OsRng, RngCore};
    use ratchet_bench_core::codec::ops::LOW_ORDER_X25519;

    #[test]
    fn every_listed_low_order_point_gives_an_all_zero_secret() {
        for (i, p) in LOW_ORDER_X25519.iter().enumerate() {
            assert!(is_low_order(p), "LOW_ORDER_X25519[{i}] is of low order");
            for _ in 0..4 {
                let mut s = [0u8; 32];
                OsRng.fill_bytes(&mut s);
                let out = StaticSecret::from(s).diffie_hellman(&PublicKey::from(*p));
                assert_eq!(
                    out.to_bytes(),
                    [0u8; 32],
                    "any scalar gives zero with point {i}"
                );
            }
        }
    }

    #[test]
    fn real_keys_are_not_of_low_order() {
        for _ in 0..16 {
            let mut s = [0u8; 32];
            OsRng.fill_bytes(&mut s);
            let public = PublicKey::from(&StaticSecret::from(s));
            assert!(
                !is_low_order(public.as_bytes()),
                "a generated key is of prime order"
            );
        }
    }
}
