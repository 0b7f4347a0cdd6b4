//! The key types of the ratchet. None of them prints its bytes.

use rand_core::{CryptoRng, RngCore};
use std::fmt;
use x25519_dalek::{PublicKey, StaticSecret};

macro_rules! symmetric_key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(pub(crate) [u8; 32]);

        impl $name {
            /// Wraps raw key bytes (from a vector or a key agreement).
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(bytes)
            }

            /// The raw key bytes, for known-answer tests and vector files.
            #[doc(hidden)]
            pub fn to_bytes_for_testing_only(&self) -> [u8; 32] {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

symmetric_key!(
    /// RK: the root key, updated by every DH ratchet step.
    RootKey
);
symmetric_key!(
    /// CKs or CKr: a sending or receiving chain key.
    ChainKey
);
symmetric_key!(
    /// MK: the key of one message.
    MessageKey
);

/// A Diffie-Hellman key pair (the spec's DHs).
#[derive(Clone)]
pub struct KeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl KeyPair {
    /// GENERATE_DH: 32 bytes from `rng` as the X25519 private key.
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret);
        KeyPair { secret, public }
    }

    /// The key pair of a private key, for a state restored from its export.
    pub(super) fn from_secret_bytes(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret);
        KeyPair { secret, public }
    }

    /// The private key's bytes, for the state export only.
    pub(super) fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The public half, as sent in headers.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// DH(dh_pair, dh_pub): the X25519 output with `their_public`.
    pub fn dh(&self, their_public: &[u8; 32]) -> [u8; 32] {
        self.secret
            .diffie_hellman(&PublicKey::from(*their_public))
            .to_bytes()
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &hex::encode(self.public.as_bytes()))
            .finish_non_exhaustive()
    }
}
