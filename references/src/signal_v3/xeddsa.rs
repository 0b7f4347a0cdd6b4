//! XEdDSA over Curve25519 as libsignal computes it (`libsignal_core::curve::curve25519`,
//! `calculate_signature` and `verify_signature`): the signed pre-key's signature is made with
//! the X25519 identity private key itself.
//!
//! Signing with private key k (32 bytes, clamped), message M and 64 random bytes Z:
//! - a = k mod L; A = a·B (Ed25519), and A's sign bit is the top bit of its encoding;
//! - r = SHA-512(`fe` || 31 × `ff` || k || M || Z) mod L (XEdDSA's hash_1 prefix);
//! - R = r·B; h = SHA-512(R || A || M) mod L; s = h·a + r mod L;
//! - signature = R || s, with A's sign bit written into the top bit of s's last byte (a
//!   reduced s is below 2^253, so that bit is free).
//!
//! libsignal differs from the XEdDSA paper here: the paper negates a when A's sign bit is
//! set, so that every key verifies with sign 0; libsignal keeps a and carries the sign in
//! the signature (for compatibility with libsignal-protocol-java, its comment says).
//!
//! Verifying with the X25519 public key u: the Edwards point of u with the signature's sign
//! bit (refused if u = -1 or it is not a point), s with that bit cleared, refused if any of
//! its top three bits is set (s ≥ 2^253), then R' = s·B - h·A compared with R byte for byte.
//!
//! **Non-canonical s.** libsignal checks only s < 2^253, not s < L (≈ 2^252): given a valid
//! (R, s), (R, s + L) verifies as well whenever s + L < 2^253, which holds for nearly every
//! signature. This reference does what libsignal does, so that the two agree on every
//! bundle: a bundle libsignal takes, the reference takes. The second encoding is benign: it
//! is the same signature value (s mod L) over the same key and message, so it proves
//! nothing the genuine one does not, and nobody without the private key can make a
//! signature for anything else from it. A bench codec that wants to see it as a re-encoding
//! finds it with [`is_canonical`]. R must be canonical either way (the check compares R's
//! bytes with a freshly compressed point).

use super::keys::{PrivateKey, PublicKey};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Bytes of a signature: R (32) and s with the sign bit (32).
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of the random Z a signature draws.
pub const RANDOM_LEN: usize = 64;

/// XEdDSA's hash_1 prefix: 2^256 - 2 as 32 little-endian bytes, `fe` then 31 × `ff`.
const HASH_1_PREFIX: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xfe;
    p
};

/// The Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493, little-endian
/// (RFC 8032, section 5.1).
pub const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

fn scalar_of_hash(hash: Sha512) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// The XEdDSA signature of `message` by `private`, with the caller's 64 random bytes `z`.
pub fn sign(private: &PrivateKey, message: &[u8], z: &[u8; RANDOM_LEN]) -> [u8; SIGNATURE_LEN] {
    let k = private.to_bytes();
    let a = Scalar::from_bytes_mod_order(k);
    let big_a = EdwardsPoint::mul_base(&a).compress();
    let sign_bit = big_a.as_bytes()[31] & 0x80;

    let mut hash_1 = Sha512::new();
    hash_1.update(HASH_1_PREFIX);
    hash_1.update(k);
    hash_1.update(message);
    hash_1.update(z);
    let r = scalar_of_hash(hash_1);
    let big_r = EdwardsPoint::mul_base(&r).compress();

    let mut hash = Sha512::new();
    hash.update(big_r.as_bytes());
    hash.update(big_a.as_bytes());
    hash.update(message);
    let h = scalar_of_hash(hash);
    let s = h * a + r;

    let mut signature = [0u8; SIGNATURE_LEN];
    signature[..32].copy_from_slice(big_r.as_bytes());
    signature[32..].copy_from_slice(s.as_bytes());
    signature[63] = (signature[63] & 0x7f) | sign_bit;
    signature
}

/// Whether `signature` is a valid XEdDSA signature of `message` under `public`, as
/// libsignal's `verify_signature` decides (non-canonical s below 2^253 included).
pub fn verify(public: &PublicKey, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    let sign = signature[63] >> 7;
    let Some(a) = MontgomeryPoint(*public.u()).to_edwards(sign) else {
        return false;
    };
    let big_a = a.compress();
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    s[31] &= 0x7f;
    if s[31] & 0xe0 != 0 {
        return false;
    }
    let mut hash = Sha512::new();
    hash.update(&signature[..32]);
    hash.update(big_a.as_bytes());
    hash.update(message);
    let h = scalar_of_hash(hash);
    let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(
        &h,
        &-a,
        &Scalar::from_bytes_mod_order(s),
    )
    .compress();
    r_check.as_bytes().ct_eq(&signature[..32]).into()
}

/// Whether the signature's s (sign bit cleared) is below L: the one encoding a signer makes.
pub fn is_canonical(signature: &[u8; SIGNATURE_LEN]) -> bool {
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    s[31] &= 0x7f;
    // Little-endian comparison with L, from the most significant byte.
    for i in (0..32).rev() {
        if s[i] != GROUP_ORDER[i] {
            return s[i] < GROUP_ORDER[i];
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// libsignal rust/core/src/curve/curve25519.rs, test_signature: a signature libsignal
    /// made, of a serialised public key, with its key pair.
    fn libsignal_test_signature() -> (PrivateKey, [u8; 33], [u8; 64]) {
        (
            PrivateKey::from_bytes(bytes(
                "c097248412e58bf05df487968205132794178e367637f5818f81e0e6ce73e865",
            )),
            bytes("05edce9d9c415ca78cb7252e72c2c4a554d3eb29485a0e1d503118d1a82d99fb4a"),
            bytes(
                "5de88ca9a89b4a115da79109c67c9c7464a3e4180274f1cb8c63c2984e286dfb\
                 ede82deb9dcd9fae0bfbb821569b3d9001bd8130cd11d486cef047bd60b86e88",
            ),
        )
    }

    #[test]
    fn verifies_libsignals_test_signature_and_refuses_every_bit_flip() {
        let (private, message, signature) = libsignal_test_signature();
        let public = private.public_key();
        assert_eq!(
            hex::encode(public.u()),
            "ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64"
        );
        assert!(verify(&public, &message, &signature));
        for i in 0..SIGNATURE_LEN {
            for bit in 0..8 {
                let mut flipped = signature;
                flipped[i] ^= 1 << bit;
                assert!(!verify(&public, &message, &flipped), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn signs_what_verifies_and_only_for_its_message() {
        for seed in 0u8..16 {
            let private = PrivateKey::from_bytes([seed.wrapping_mul(37) ^ 0xa5; 32]);
            let message = [seed; 33];
            let signature = sign(&private, &message, &[seed; 64]);
            assert!(is_canonical(&signature));
            assert!(verify(&private.public_key(), &message, &signature));
            assert!(!verify(&private.public_key(), &[seed ^ 1; 33], &signature));
        }
    }

    #[test]
    fn z_changes_the_signature_not_its_validity() {
        let private = PrivateKey::from_bytes([9; 32]);
        let one = sign(&private, b"m", &[1; 64]);
        let two = sign(&private, b"m", &[2; 64]);
        assert_ne!(one, two);
        assert!(verify(&private.public_key(), b"m", &two));
    }

    #[test]
    fn s_plus_l_verifies_as_in_libsignal_and_s_plus_2l_does_not() {
        let (private, message, signature) = libsignal_test_signature();
        let public = private.public_key();
        let add_l = |sig: [u8; 64]| {
            let mut out = sig;
            let sign = sig[63] & 0x80;
            out[63] &= 0x7f;
            let mut carry = 0u16;
            for i in 0..32 {
                let v = u16::from(out[32 + i]) + u16::from(GROUP_ORDER[i]) + carry;
                out[32 + i] = v as u8;
                carry = v >> 8;
            }
            out[63] |= sign;
            out
        };
        let once = add_l(signature);
        assert!(!is_canonical(&once));
        assert!(
            verify(&public, &message, &once),
            "s + L is below 2^253 here"
        );
        // s + 2L reaches 2^253: refused by the top-bits check.
        assert!(!verify(&public, &message, &add_l(once)));
    }
}
