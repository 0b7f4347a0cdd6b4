//! Olm's asymmetric keys: Curve25519 key pairs for identity, one-time, base and ratchet keys,
//! and the Ed25519 identity key. Each is made from 32 bytes the caller drew from the
//! injected RNG, exactly as libolm makes it from the bytes its C API asks for. None of them
//! prints its secret.

use std::fmt;
use x25519_dalek::{PublicKey, StaticSecret};

/// Length of a Curve25519 key (public or private) and of a DH output.
pub const CURVE25519_KEY_LEN: usize = 32;

/// A Curve25519 key pair.
#[derive(Clone)]
pub struct Curve25519KeyPair {
    secret: StaticSecret,
    public: [u8; CURVE25519_KEY_LEN],
}

impl Curve25519KeyPair {
    /// The key pair whose private key is `random` (clamped when used, as curve25519-donna does
    /// in libolm's `_olm_crypto_curve25519_generate_key`).
    pub fn from_random(random: [u8; CURVE25519_KEY_LEN]) -> Self {
        let secret = StaticSecret::from(random);
        let public = PublicKey::from(&secret).to_bytes();
        Curve25519KeyPair { secret, public }
    }

    /// The private key as drawn (unclamped), for a party's exported state.
    pub(super) fn secret_bytes(&self) -> [u8; CURVE25519_KEY_LEN] {
        self.secret.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> [u8; CURVE25519_KEY_LEN] {
        self.public
    }

    /// ECDH with `their_public` (olm.md's ECDH, computed with our private key).
    pub fn dh(&self, their_public: &[u8; CURVE25519_KEY_LEN]) -> [u8; CURVE25519_KEY_LEN] {
        self.secret
            .diffie_hellman(&PublicKey::from(*their_public))
            .to_bytes()
    }
}

impl fmt::Debug for Curve25519KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Curve25519KeyPair")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn curve25519_matches_libolm_test_crypto_curve25519_test_case_1() {
        // libolm olm/tests/test_crypto.cpp, "Curve25529 Test Case 1" (RFC 7748 6.1): the
        // private keys as given, their public keys and the agreement both ways.
        let alice = Curve25519KeyPair::from_random(key(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = Curve25519KeyPair::from_random(key(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            hex::encode(alice.public()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        assert_eq!(
            hex::encode(bob.public()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
        );
        let agreement = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        assert_eq!(hex::encode(alice.dh(&bob.public())), agreement);
        assert_eq!(hex::encode(bob.dh(&alice.public())), agreement);
    }

    #[test]
    fn debug_shows_the_public_key_only() {
        let secret = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
        let pair = Curve25519KeyPair::from_random(key(secret));
        let shown = format!("{pair:?}");
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("8520f009"), "{shown}");
    }
}
