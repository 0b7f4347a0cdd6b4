//! Megolm's message format (megolm.md, "Message format"): version byte 3, the protobuf-style
//! payload Message-Index (0x08, varint) and Cipher-Text (0x12, string), the 8-byte truncated
//! MAC over everything before it, and the 64-byte Ed25519 signature over everything before
//! that. Readers take the fields in any order and skip unknown ones of type 0 or 2.

use super::error::MegolmError;
use crate::olm::cipher::{CipherKeys, MAC_LEN};
use crate::olm::message::{read_fields, varint_len, write_varint, Value};

/// The version byte of Megolm messages.
pub const VERSION: u8 = 3;
/// Bytes of the Ed25519 signature that ends each message.
pub const SIGNATURE_LEN: usize = 64;

const MESSAGE_INDEX_TAG: u8 = 0x08;
const CIPHERTEXT_TAG: u8 = 0x12;

fn malformed(what: impl Into<String>) -> MegolmError {
    MegolmError::Malformed(what.into())
}

/// A parsed Megolm message.
#[derive(Debug, Clone, Copy)]
pub struct MegolmMessage<'a> {
    /// i: the ratchet index it was encrypted at.
    pub message_index: u32,
    /// X_i.
    pub ciphertext: &'a [u8],
    /// The bytes the MAC covers.
    pub authenticated: &'a [u8],
    /// The truncated MAC.
    pub mac: &'a [u8],
    /// The bytes the signature covers (everything before it).
    pub signed: &'a [u8],
    /// The Ed25519 signature.
    pub signature: &'a [u8; SIGNATURE_LEN],
}

impl<'a> MegolmMessage<'a> {
    /// Reads a Megolm message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MegolmError> {
        let trailer = MAC_LEN + SIGNATURE_LEN;
        if bytes.len() < 1 + trailer {
            return Err(malformed(format!(
                "expected at least {} bytes, got {}",
                1 + trailer,
                bytes.len()
            )));
        }
        let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let (authenticated, mac) = signed.split_at(signed.len() - MAC_LEN);
        let signature: &[u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| malformed("signature of the wrong length"))?;
        let payload = match authenticated.split_first() {
            Some((&VERSION, rest)) => rest,
            Some((&v, _)) => return Err(malformed(format!("expected version {VERSION}, got {v}"))),
            None => return Err(malformed("empty message")),
        };
        let (mut index, mut ciphertext) = (None, None);
        read_fields(payload, |tag, value| match (tag, value) {
            (MESSAGE_INDEX_TAG, Value::Int(i)) => index = Some(i),
            (CIPHERTEXT_TAG, Value::Bytes(b)) => ciphertext = Some(b),
            _ => {}
        })
        .map_err(malformed)?;
        let index = index.ok_or_else(|| malformed("no message index"))?;
        Ok(MegolmMessage {
            message_index: u32::try_from(index)
                .map_err(|_| malformed(format!("message index {index} beyond 32 bits")))?,
            ciphertext: ciphertext.ok_or_else(|| malformed("no ciphertext"))?,
            authenticated,
            mac,
            signed,
            signature,
        })
    }
}

/// The length of a message at index `index` carrying `plaintext_len` bytes.
pub fn message_len(index: u32, plaintext_len: usize) -> usize {
    let ct = CipherKeys::ciphertext_len(plaintext_len);
    1 + 1 + varint_len(u64::from(index)) + 1 + varint_len(ct as u64) + ct + MAC_LEN + SIGNATURE_LEN
}

/// Appends the version, payload and MAC of the message carrying `plaintext` at `index` to
/// `out` (which must be empty: the MAC covers all of it). The caller appends the signature.
pub fn write_unsigned(out: &mut Vec<u8>, index: u32, keys: &CipherKeys, plaintext: &[u8]) {
    out.push(VERSION);
    out.push(MESSAGE_INDEX_TAG);
    write_varint(out, u64::from(index));
    out.push(CIPHERTEXT_TAG);
    write_varint(out, CipherKeys::ciphertext_len(plaintext.len()) as u64);
    keys.encrypt_into(out, plaintext);
    let mac = keys.mac(out);
    out.extend_from_slice(&mac);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_libolm_group_message_encode_test() {
        // libolm olm/tests/test_message.cpp, "Group message encode test": version 3, index
        // 200 and a 10-byte ciphertext start "\x03\x08\xC8\x01\x12\x0A".
        let mut out = vec![VERSION, MESSAGE_INDEX_TAG];
        write_varint(&mut out, 200);
        out.push(CIPHERTEXT_TAG);
        write_varint(&mut out, 10);
        assert_eq!(out, b"\x03\x08\xC8\x01\x12\x0A");
    }

    #[test]
    fn parse_reads_libolm_group_message_decode_test_fields() {
        // libolm olm/tests/test_message.cpp, "Group message decode test" (its 16-byte
        // signature stand-in is widened to the real 64 bytes).
        let mut m = b"\x03\x08\xC8\x01\x12\x0Aciphertexthmacsha2".to_vec();
        m.extend_from_slice(&[7; SIGNATURE_LEN]);
        let p = MegolmMessage::parse(&m).unwrap();
        assert_eq!(p.message_index, 200);
        assert_eq!(p.ciphertext, b"ciphertext");
        assert_eq!(p.mac, b"hmacsha2");
        assert!(MegolmMessage::parse(&m[..m.len() - 1]).is_err());
    }
}
