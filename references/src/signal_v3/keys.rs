//! libsignal's Curve25519 keys (`libsignal_core::curve`): a public key travels serialised as
//! a type byte, `05` ("DJB"), and the 32-byte X25519 u-coordinate (33 bytes in all); a
//! private key is 32 bytes, clamped when made (libsignal clamps both a generated and a
//! deserialised private key, so the stored bytes are the clamped ones, and XEdDSA signs with
//! exactly those). Identity, signed pre-, one-time pre-, base and ratchet keys are all such
//! keys.
//!
//! Parsing is strict where libsignal is lenient (`PublicKey::deserialize` accepts any length
//! from 33 up and ignores the rest, and x25519 takes any 32 bytes): the reference takes
//! exactly 33 bytes, type `05`, a canonical u-coordinate (below p = 2^255 - 19, so the unused
//! top bit is clear) that is not one of the low-order points. A genuine key, a clamped scalar
//! times the base point, always passes, so no genuine message is refused; and the two
//! encodings of one X25519 key that libsignal would take (top bit set or clear) become one.
//! Private keys never print: `Debug` shows the public key only.

use super::error::{hex, malformed, SignalV3Error};
use rand_core::{CryptoRng, RngCore};
use std::fmt;
use x25519_dalek::StaticSecret;

/// libsignal's `KeyType::Djb`: the type byte of a serialised Curve25519 public key.
pub const DJB_TYPE: u8 = 0x05;
/// Bytes of a serialised public key: the type byte and the u-coordinate.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Bytes of a private key and of an X25519 u-coordinate.
pub const KEY_LEN: usize = 32;

/// The canonical u-coordinates of X25519's low-order points, little-endian: whatever the
/// private key, X25519 with one of them gives all zeros. 0 and 1, the two points of order 8
/// (the u-coordinates of Ed25519's eight-torsion points, as curve25519-dalek's
/// `EIGHT_TORSION` maps them to Montgomery form: 0, 1 and these two) and p - 1, the list
/// libsodium's `crypto_scalarmult_curve25519` refuses (its `has_small_order`), without the
/// non-canonical encodings p and p + 1 that the canonical check already refuses. The tests
/// check each against x25519-dalek and curve25519-dalek.
pub const LOW_ORDER_POINTS: [[u8; KEY_LEN]; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Whether `u` (little-endian) is below p = 2^255 - 19.
fn is_canonical(u: &[u8; KEY_LEN]) -> bool {
    if u[31] & 0x80 != 0 {
        return false;
    }
    // Only 2^255 - 19 ..= 2^255 - 1 remain to refuse: 7f ff .. ff, low byte ed or above.
    let top_all_ones = u[31] == 0x7f && u[1..31].iter().all(|&b| b == 0xff);
    !(top_all_ones && u[0] >= 0xed)
}

/// A Curve25519 public key (the X25519 u-coordinate), canonical and not of low order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// The key serialised as `bytes` (`05` || u), or a refusal naming `field`.
    pub fn deserialize(field: &str, bytes: &[u8]) -> Result<Self, SignalV3Error> {
        let Some((&key_type, u)) = bytes.split_first() else {
            return Err(malformed(format!(
                "{field}: expected {PUBLIC_KEY_LEN} bytes, got 0"
            )));
        };
        if key_type != DJB_TYPE {
            return Err(malformed(format!(
                "{field}: expected key type 0x{DJB_TYPE:02x}, got 0x{key_type:02x}"
            )));
        }
        let u: [u8; KEY_LEN] = u.try_into().map_err(|_| {
            malformed(format!(
                "{field}: expected {PUBLIC_KEY_LEN} bytes, got {}",
                bytes.len()
            ))
        })?;
        Self::from_u(field, u)
    }

    /// The key whose u-coordinate is `u`, or a refusal naming `field`.
    pub fn from_u(field: &str, u: [u8; KEY_LEN]) -> Result<Self, SignalV3Error> {
        if !is_canonical(&u) {
            return Err(malformed(format!(
                "{field}: expected a canonical X25519 u-coordinate (below 2^255 - 19), got {}",
                hex(&u)
            )));
        }
        if LOW_ORDER_POINTS.contains(&u) {
            return Err(malformed(format!(
                "{field}: expected a key of prime order, got the low-order point {}",
                hex(&u)
            )));
        }
        Ok(PublicKey(u))
    }

    /// `05` || u, as libsignal's `PublicKey::serialize`.
    pub fn serialize(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out[0] = DJB_TYPE;
        out[1..].copy_from_slice(&self.0);
        out
    }

    /// The 32-byte u-coordinate.
    pub fn u(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(05{})", hex(&self.0))
    }
}

/// A Curve25519 private key: 32 bytes, clamped.
#[derive(Clone)]
pub struct PrivateKey(StaticSecret);

impl PrivateKey {
    /// The private key made from 32 bytes (drawn or stored), clamped as libsignal's
    /// `PrivateKey::new` and `PrivateKey::deserialize` clamp them.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        PrivateKey(StaticSecret::from(clamp(bytes)))
    }

    /// A fresh private key: 32 bytes from `rng`, clamped.
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// The (clamped) private key bytes, as libsignal's `PrivateKey::serialize` gives them.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0.to_bytes()
    }

    /// The public key: the private key times the base point.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519 with `their` public key (libsignal's `calculate_agreement`).
    pub fn agree(&self, their: &PublicKey) -> [u8; KEY_LEN] {
        self.0
            .diffie_hellman(&x25519_dalek::PublicKey::from(their.0))
            .to_bytes()
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey").finish_non_exhaustive()
    }
}

/// RFC 7748's clamping: clear the low three bits and the top bit, set bit 254.
fn clamp(mut bytes: [u8; KEY_LEN]) -> [u8; KEY_LEN] {
    bytes[0] &= 0xf8;
    bytes[31] &= 0x7f;
    bytes[31] |= 0x40;
    bytes
}

/// A private key and its public key.
#[derive(Clone)]
pub struct KeyPair {
    /// The private key.
    pub private: PrivateKey,
    /// Its public key.
    pub public: PublicKey,
}

impl KeyPair {
    /// The pair of `private`.
    pub fn from_private(private: PrivateKey) -> Self {
        let public = private.public_key();
        KeyPair { private, public }
    }

    /// A fresh pair: 32 bytes from `rng` as the private key (libsignal's
    /// `KeyPair::generate`).
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_private(PrivateKey::generate(rng))
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;

    fn key(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    #[test]
    fn agreement_matches_libsignals_curve25519_test_agreement() {
        // libsignal rust/core/src/curve/curve25519.rs, test_agreement (libsignal's values).
        let alice = PrivateKey::from_bytes(key(
            "c806439dc9d2c476ffed8f2580c0888d58ab406bf7ae3698879021b96bb4bf59",
        ));
        let bob = PrivateKey::from_bytes(key(
            "b03b34c33a1c44f225b662d2bf4859b8135411fa7b0386d45fb75dc5b91b4466",
        ));
        assert_eq!(
            hex::encode(alice.public_key().u()),
            "1bb75966f2e93a3691dfff942bb2a466a1c08b8d78ca3f4d6df8b8bfa2e4ee28"
        );
        assert_eq!(
            hex::encode(bob.public_key().u()),
            "653614993d2b15ee9e5fd3d86ce719ef4ec1daae1886a87b3f5fa9565a27a22f"
        );
        let shared = "325f239328941ced6e673b86ba41017448e99b649a9c3806c1dd7ca4c477e629";
        assert_eq!(hex::encode(alice.agree(&bob.public_key())), shared);
        assert_eq!(hex::encode(bob.agree(&alice.public_key())), shared);
    }

    #[test]
    fn private_keys_are_stored_clamped() {
        let k = PrivateKey::from_bytes([0xff; 32]);
        let b = k.to_bytes();
        assert_eq!(b[0] & 7, 0);
        assert_eq!(b[31], 0x7f);
        assert_eq!(PrivateKey::from_bytes(b).to_bytes(), b);
    }

    #[test]
    fn deserialize_refuses_other_types_lengths_and_encodings() {
        let good = PrivateKey::from_bytes([7; 32]).public_key().serialize();
        assert_eq!(
            PublicKey::deserialize("k", &good).unwrap().serialize(),
            good
        );
        let err = |bytes: &[u8]| PublicKey::deserialize("the key", bytes).unwrap_err();
        assert_eq!(
            err(&[]),
            SignalV3Error::Malformed("the key: expected 33 bytes, got 0".into())
        );
        assert_eq!(
            err(&good[..32]),
            SignalV3Error::Malformed("the key: expected 33 bytes, got 32".into())
        );
        let mut longer = good.to_vec();
        longer.push(0);
        assert_eq!(
            err(&longer),
            SignalV3Error::Malformed("the key: expected 33 bytes, got 34".into())
        );
        let mut other_type = good;
        other_type[0] = 0x06;
        assert_eq!(
            err(&other_type),
            SignalV3Error::Malformed("the key: expected key type 0x05, got 0x06".into())
        );
        let mut top_bit = good;
        top_bit[32] |= 0x80;
        assert!(matches!(err(&top_bit), SignalV3Error::Malformed(m) if m.contains("canonical")));
        // p itself is non-canonical; p - 2 is canonical and of no low order (it lies on the
        // twist, which X25519 takes as libsignal does).
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(PublicKey::from_u("p", p).is_err());
        let mut p_minus_2 = p;
        p_minus_2[0] = 0xeb;
        assert!(PublicKey::from_u("p - 2", p_minus_2).is_ok());
    }

    #[test]
    fn low_order_points_are_refused_and_are_exactly_those_of_low_order() {
        for u in LOW_ORDER_POINTS {
            assert!(matches!(
                PublicKey::from_u("k", u),
                Err(SignalV3Error::Malformed(m)) if m.contains("low-order")
            ));
            // X25519 with any private key gives all zeros.
            for seed in 1u8..8 {
                let secret = StaticSecret::from([seed; 32]);
                let out = secret.diffie_hellman(&x25519_dalek::PublicKey::from(u));
                assert_eq!(out.to_bytes(), [0; 32], "u = {}", hex::encode(u));
            }
        }
        // Every eight-torsion point of Ed25519 lands on one of the listed u-coordinates.
        for point in EIGHT_TORSION {
            let u = point.to_montgomery().to_bytes();
            assert!(LOW_ORDER_POINTS.contains(&u), "{}", hex::encode(u));
        }
    }

    #[test]
    fn debug_shows_no_private_bytes() {
        let raw = [0x42u8; 32];
        let pair = KeyPair::from_private(PrivateKey::from_bytes(raw));
        let shown = format!("{pair:?} {:?}", pair.private);
        let private_hex = hex::encode(pair.private.to_bytes());
        assert!(!shown.contains(&private_hex), "{shown}");
        assert!(shown.contains(&hex::encode(pair.public.u())), "{shown}");
    }
}
