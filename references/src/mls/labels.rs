//! Labelled key derivations (RFC 9420 §8): ExpandWithLabel, DeriveSecret and
//! DeriveTreeSecret, over the suite's HKDF.
//!
//! ```text
//! ExpandWithLabel(Secret, Label, Context, Length) = KDF.Expand(Secret, KDFLabel, Length)
//!
//! struct {
//!     uint16 length;
//!     opaque label<V> = "MLS 1.0 " + Label;
//!     opaque context<V>;
//! } KDFLabel;
//!
//! DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", KDF.Nh)
//! DeriveTreeSecret(Secret, Label, Generation, Length) =
//!     ExpandWithLabel(Secret, Label, uint32 Generation, Length)
//! ```
//!
//! `opaque x<V>` is a vector prefixed by its length as a variable-length integer
//! (RFC 9420 §2.1.2, the encoding of RFC 9000 §16 without its 8-byte form).

use super::{CipherSuite, Hash};
use hkdf::Hkdf;
use sha2::{Sha256, Sha384, Sha512};

/// Prepended to every label (RFC 9420 §8).
pub const MLS_LABEL_PREFIX: &[u8] = b"MLS 1.0 ";

/// Why a labelled derivation cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// A vector's length does not fit the variable-length integer MLS allows.
    #[error("expected a vector length below 2^30, got {0}")]
    VectorTooLong(usize),
    /// The requested output length does not fit the uint16 `length` field.
    #[error("expected an output length of at most 65535, got {0}")]
    LengthTooLong(usize),
    /// HKDF-Expand refused the secret or the length.
    #[error("HKDF-Expand with {hash:?}: {reason}")]
    Expand {
        /// The suite's hash.
        hash: Hash,
        /// What HKDF said.
        reason: String,
    },
}

/// Appends `n` as an MLS variable-length integer: 1 byte below 64, 2 below 2^14, 4 below
/// 2^30, the top two bits giving the size (RFC 9000 §16, RFC 9420 §2.1.2).
pub fn encode_varint(n: usize, out: &mut Vec<u8>) -> Result<(), LabelError> {
    match n {
        0..=0x3f => out.push(n as u8),
        0x40..=0x3fff => out.extend_from_slice(&(0x4000 | n as u16).to_be_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&(0x8000_0000 | n as u32).to_be_bytes()),
        _ => return Err(LabelError::VectorTooLong(n)),
    }
    Ok(())
}

/// Appends `bytes` as an `opaque x<V>`: its length as a variable-length integer, then
/// the bytes.
pub fn encode_opaque(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), LabelError> {
    encode_varint(bytes.len(), out)?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// The serialised KDFLabel for `label` (without its "MLS 1.0 " prefix), `context` and
/// `length`.
pub fn kdf_label(label: &[u8], context: &[u8], length: usize) -> Result<Vec<u8>, LabelError> {
    let length = u16::try_from(length).map_err(|_| LabelError::LengthTooLong(length))?;
    let mut out = length.to_be_bytes().to_vec();
    let full: Vec<u8> = MLS_LABEL_PREFIX.iter().chain(label).copied().collect();
    encode_opaque(&full, &mut out)?;
    encode_opaque(context, &mut out)?;
    Ok(out)
}

pub(crate) fn hkdf_expand(
    hash: Hash,
    prk: &[u8],
    info: &[u8],
    length: usize,
) -> Result<Vec<u8>, LabelError> {
    let mut okm = vec![0u8; length];
    let fail = |reason: String| LabelError::Expand { hash, reason };
    macro_rules! expand {
        ($h:ty) => {
            Hkdf::<$h>::from_prk(prk)
                .map_err(|_| {
                    fail(format!(
                        "expected a secret of at least {} bytes, got {}",
                        hash.output_len(),
                        prk.len()
                    ))
                })?
                .expand(info, &mut okm)
                .map_err(|_| fail(format!("cannot give {length} bytes")))?
        };
    }
    match hash {
        Hash::Sha256 => expand!(Sha256),
        Hash::Sha384 => expand!(Sha384),
        Hash::Sha512 => expand!(Sha512),
    }
    Ok(okm)
}

/// ExpandWithLabel(secret, label, context, length).
pub fn expand_with_label(
    suite: CipherSuite,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    length: usize,
) -> Result<Vec<u8>, LabelError> {
    let info = kdf_label(label, context, length)?;
    hkdf_expand(suite.hash(), secret, &info, length)
}

/// DeriveSecret(secret, label): ExpandWithLabel with an empty context, `KDF.Nh` bytes.
pub fn derive_secret(
    suite: CipherSuite,
    secret: &[u8],
    label: &[u8],
) -> Result<Vec<u8>, LabelError> {
    expand_with_label(suite, secret, label, &[], suite.hash_len())
}

/// DeriveTreeSecret(secret, label, generation, length): ExpandWithLabel with the
/// generation as a big-endian uint32 context.
pub fn derive_tree_secret(
    suite: CipherSuite,
    secret: &[u8],
    label: &[u8],
    generation: u32,
    length: usize,
) -> Result<Vec<u8>, LabelError> {
    expand_with_label(suite, secret, label, &generation.to_be_bytes(), length)
}

/// RefHash(label, value) = Hash(RefHashInput) (RFC 9420 §5.2), where
/// `struct { opaque label<V>; opaque value<V>; } RefHashInput` and `label` is taken as
/// given (the RFC's labels already start with "MLS 1.0 ").
pub fn ref_hash(suite: CipherSuite, label: &[u8], value: &[u8]) -> Result<Vec<u8>, LabelError> {
    let mut input = Vec::new();
    encode_opaque(label, &mut input)?;
    encode_opaque(value, &mut input)?;
    Ok(super::crypto::hash(suite, &input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(n: usize) -> Result<Vec<u8>, LabelError> {
        let mut out = Vec::new();
        encode_varint(n, &mut out).map(|()| out)
    }

    #[test]
    fn varints_take_the_shortest_form_and_stop_below_2_pow_30() {
        assert_eq!(varint(0), Ok(vec![0x00]));
        assert_eq!(varint(37), Ok(vec![0x25]));
        assert_eq!(varint(63), Ok(vec![0x3f]));
        assert_eq!(varint(64), Ok(vec![0x40, 0x40]));
        // RFC 9000 §A.1's examples that fit MLS's sizes.
        assert_eq!(varint(15_293), Ok(vec![0x7b, 0xbd]));
        assert_eq!(varint(16_383), Ok(vec![0x7f, 0xff]));
        assert_eq!(varint(16_384), Ok(vec![0x80, 0x00, 0x40, 0x00]));
        assert_eq!(varint(494_878_333), Ok(vec![0x9d, 0x7f, 0x3e, 0x7d]));
        assert_eq!(varint(0x3fff_ffff), Ok(vec![0xbf, 0xff, 0xff, 0xff]));
        assert_eq!(
            varint(0x4000_0000),
            Err(LabelError::VectorTooLong(0x4000_0000))
        );
    }

    #[test]
    fn kdf_label_encodes_length_label_and_context() {
        let encoded = kdf_label(b"key", &[1, 2], 16).unwrap();
        let mut expected = vec![0x00, 0x10, 11];
        expected.extend_from_slice(b"MLS 1.0 key");
        expected.extend_from_slice(&[2, 1, 2]);
        assert_eq!(encoded, expected);
    }
}
