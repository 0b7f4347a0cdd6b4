//! Olm's message formats (olm.md, "The Olm Message Format"), version 3: a version byte, then
//! protobuf-style key-value fields (a one-byte tag whose low 3 bits give the type, 0 a
//! varint, 2 a length-prefixed string), then, for a normal message, the 8-byte MAC over all
//! the bytes before it.
//!
//! Normal message: Ratchet-Key (0x0A), Chain-Index (0x10), Cipher-Text (0x22), written in
//! that order. Pre-key message: One-Time-Key (0x0A), Base-Key (0x12), Identity-Key (0x1A),
//! Message (0x22, a whole normal message), in that order, as libolm writes them. Readers
//! take fields in any order and skip unknown ones of type 0 or 2 (as libolm does); a field of
//! another type, a truncated field, a missing field or a key not of 32 bytes is malformed
//! (libolm instead stops reading at a field of another type and keeps what it has read: a
//! divergence the expectations list).
//! The varint codec is shared with Megolm's messages.

use super::cipher::{CipherKeys, MAC_LEN};
use super::error::OlmError;
use super::keys::CURVE25519_KEY_LEN;

/// The version byte of Olm v1 messages with truncated MACs.
pub const VERSION: u8 = 3;

const RATCHET_KEY_TAG: u8 = 0x0a;
const CHAIN_INDEX_TAG: u8 = 0x10;
const CIPHERTEXT_TAG: u8 = 0x22;
const ONE_TIME_KEY_TAG: u8 = 0x0a;
const BASE_KEY_TAG: u8 = 0x12;
const IDENTITY_KEY_TAG: u8 = 0x1a;
const MESSAGE_TAG: u8 = 0x22;

/// Appends `value` as a varint: seven bits a byte, least significant first.
pub(crate) fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// How many bytes [`write_varint`] writes for `value`.
pub(crate) fn varint_len(mut value: u64) -> usize {
    let mut n = 1;
    while value >= 0x80 {
        value >>= 7;
        n += 1;
    }
    n
}

/// Appends a string field: tag, length, bytes.
pub(crate) fn write_string_field(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    write_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// A field's value.
pub(crate) enum Value<'a> {
    /// A varint.
    Int(u64),
    /// A string's bytes.
    Bytes(&'a [u8]),
}

/// Reads a varint at `*at`, or says why it cannot.
fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or("truncated varint")?;
        *at += 1;
        let bits = u64::from(b & 0x7f);
        if shift == 63 && bits > 1 {
            return Err("varint beyond 64 bits".into());
        }
        value |= bits << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint beyond 64 bits".into())
}

/// Calls `each` on every field of `payload`, or says where it stops parsing.
pub(crate) fn read_fields<'a>(
    payload: &'a [u8],
    mut each: impl FnMut(u8, Value<'a>),
) -> Result<(), String> {
    let mut at = 0;
    while at < payload.len() {
        let tag = payload[at];
        at += 1;
        match tag & 7 {
            0 => each(tag, Value::Int(read_varint(payload, &mut at)?)),
            2 => {
                let len = read_varint(payload, &mut at)?;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| at.checked_add(l))
                    .filter(|&e| e <= payload.len())
                    .ok_or_else(|| format!("field 0x{tag:02x} runs past the payload"))?;
                each(tag, Value::Bytes(&payload[at..end]));
                at = end;
            }
            t => return Err(format!("field 0x{tag:02x} has unsupported type {t}")),
        }
    }
    Ok(())
}

fn malformed(what: impl Into<String>) -> OlmError {
    OlmError::Malformed(what.into())
}

/// A 32-byte key field, or why it is not one.
fn key(name: &str, value: Option<&[u8]>) -> Result<[u8; CURVE25519_KEY_LEN], OlmError> {
    let v = value.ok_or_else(|| malformed(format!("no {name}")))?;
    v.try_into().map_err(|_| {
        malformed(format!(
            "expected a {CURVE25519_KEY_LEN}-byte {name}, got {} bytes",
            v.len()
        ))
    })
}

/// A pre-key message's key, if it is the key's one encoding: the top bit clear and u below
/// p = 2^255 - 19. X25519 reads the other encodings as the same key (RFC 7748 §5), but a
/// session is named by its keys' bytes (libolm's session id hashes them, and a responder
/// matches later pre-key messages by them), so a copy with a second encoding, once taken,
/// names a session the sender's genuine messages do not, and they are refused. The
/// reference refuses the copy instead, as libsignal refuses such a base key.
fn canonical(
    name: &str,
    key: [u8; CURVE25519_KEY_LEN],
) -> Result<[u8; CURVE25519_KEY_LEN], OlmError> {
    let top_bit = key[31] & 0x80 != 0;
    let at_least_p = key[31] == 0x7f && key[1..31].iter().all(|&b| b == 0xff) && key[0] >= 0xed;
    if top_bit || at_least_p {
        return Err(malformed(format!(
            "the {name} {} is not the key's canonical encoding (top bit set or u >= p)",
            hex::encode(key)
        )));
    }
    Ok(key)
}

/// Checks the version byte and returns the rest.
fn versioned(bytes: &[u8]) -> Result<&[u8], OlmError> {
    match bytes.split_first() {
        Some((&VERSION, rest)) => Ok(rest),
        Some((&v, _)) => Err(malformed(format!("expected version {VERSION}, got {v}"))),
        None => Err(malformed("empty message")),
    }
}

/// A parsed normal message.
#[derive(Debug, Clone, Copy)]
pub struct NormalMessage<'a> {
    /// T_i: the sender's ratchet key.
    pub ratchet_key: [u8; CURVE25519_KEY_LEN],
    /// j: the chain index.
    pub chain_index: u32,
    /// X_{i,j}.
    pub ciphertext: &'a [u8],
    /// The bytes the MAC covers (version and payload).
    pub authenticated: &'a [u8],
    /// The truncated MAC.
    pub mac: &'a [u8],
}

impl<'a> NormalMessage<'a> {
    /// Reads a normal message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, OlmError> {
        if bytes.len() < 1 + MAC_LEN {
            return Err(malformed(format!(
                "expected at least {} bytes, got {}",
                1 + MAC_LEN,
                bytes.len()
            )));
        }
        let (authenticated, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        let payload = versioned(authenticated)?;
        let (mut ratchet_key, mut chain_index, mut ciphertext) = (None, None, None);
        read_fields(payload, |tag, value| match (tag, value) {
            (RATCHET_KEY_TAG, Value::Bytes(b)) => ratchet_key = Some(b),
            (CHAIN_INDEX_TAG, Value::Int(i)) => chain_index = Some(i),
            (CIPHERTEXT_TAG, Value::Bytes(b)) => ciphertext = Some(b),
            _ => {}
        })
        .map_err(malformed)?;
        let chain_index = chain_index.ok_or_else(|| malformed("no chain index"))?;
        let chain_index = u32::try_from(chain_index)
            .map_err(|_| malformed(format!("chain index {chain_index} beyond 32 bits")))?;
        Ok(NormalMessage {
            ratchet_key: key("ratchet key", ratchet_key)?,
            chain_index,
            ciphertext: ciphertext.ok_or_else(|| malformed("no ciphertext"))?,
            authenticated,
            mac,
        })
    }
}

impl NormalMessage<'_> {
    /// The message written again from the fields read, as [`write_normal`] lays them out,
    /// with the MAC it came with: the bytes a reader checks when it authenticates what it
    /// parsed instead of what it received. Only the planted flaw of that name
    /// (`mac-over-reencoding`, `peers::mutant`) uses it.
    pub fn reencoded(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.authenticated.len() + self.mac.len());
        out.push(VERSION);
        write_string_field(&mut out, RATCHET_KEY_TAG, &self.ratchet_key);
        out.push(CHAIN_INDEX_TAG);
        write_varint(&mut out, u64::from(self.chain_index));
        write_string_field(&mut out, CIPHERTEXT_TAG, self.ciphertext);
        out.extend_from_slice(self.mac);
        out
    }
}

/// The length of a normal message with chain index `chain_index` and `plaintext_len` bytes
/// of plaintext.
pub fn normal_len(chain_index: u32, plaintext_len: usize) -> usize {
    let ct = CipherKeys::ciphertext_len(plaintext_len);
    1 + 2
        + CURVE25519_KEY_LEN
        + 1
        + varint_len(u64::from(chain_index))
        + 1
        + varint_len(ct as u64)
        + ct
        + MAC_LEN
}

/// Appends the normal message carrying `plaintext` under `keys` to `out`; the MAC covers
/// the bytes this call appends.
pub fn write_normal(
    out: &mut Vec<u8>,
    ratchet_key: &[u8; CURVE25519_KEY_LEN],
    chain_index: u32,
    keys: &CipherKeys,
    plaintext: &[u8],
) {
    let start = out.len();
    out.push(VERSION);
    write_string_field(out, RATCHET_KEY_TAG, ratchet_key);
    out.push(CHAIN_INDEX_TAG);
    write_varint(out, u64::from(chain_index));
    out.push(CIPHERTEXT_TAG);
    write_varint(out, CipherKeys::ciphertext_len(plaintext.len()) as u64);
    keys.encrypt_into(out, plaintext);
    let mac = keys.mac(&out[start..]);
    out.extend_from_slice(&mac);
}

/// A parsed pre-key message.
#[derive(Debug, Clone, Copy)]
pub struct PreKeyMessage<'a> {
    /// E_B: the responder's one-time key.
    pub one_time_key: [u8; CURVE25519_KEY_LEN],
    /// E_A: the initiator's base key.
    pub base_key: [u8; CURVE25519_KEY_LEN],
    /// I_A: the initiator's identity key.
    pub identity_key: [u8; CURVE25519_KEY_LEN],
    /// The embedded normal message.
    pub message: &'a [u8],
}

impl<'a> PreKeyMessage<'a> {
    /// Reads a pre-key message (not the embedded message).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, OlmError> {
        let payload = versioned(bytes)?;
        let (mut otk, mut base, mut identity, mut message) = (None, None, None, None);
        read_fields(payload, |tag, value| {
            if let Value::Bytes(b) = value {
                match tag {
                    ONE_TIME_KEY_TAG => otk = Some(b),
                    BASE_KEY_TAG => base = Some(b),
                    IDENTITY_KEY_TAG => identity = Some(b),
                    MESSAGE_TAG => message = Some(b),
                    _ => {}
                }
            }
        })
        .map_err(malformed)?;
        Ok(PreKeyMessage {
            one_time_key: canonical("one-time key", key("one-time key", otk)?)?,
            base_key: canonical("base key", key("base key", base)?)?,
            identity_key: canonical("identity key", key("identity key", identity)?)?,
            message: message.ok_or_else(|| malformed("no embedded message"))?,
        })
    }

    /// Appends the pre-key header (everything before the embedded message's bytes) for an
    /// embedded message of `message_len` bytes.
    pub fn write_header(
        out: &mut Vec<u8>,
        one_time_key: &[u8; CURVE25519_KEY_LEN],
        base_key: &[u8; CURVE25519_KEY_LEN],
        identity_key: &[u8; CURVE25519_KEY_LEN],
        message_len: usize,
    ) {
        out.push(VERSION);
        write_string_field(out, ONE_TIME_KEY_TAG, one_time_key);
        write_string_field(out, BASE_KEY_TAG, base_key);
        write_string_field(out, IDENTITY_KEY_TAG, identity_key);
        out.push(MESSAGE_TAG);
        write_varint(out, message_len as u64);
    }

    /// The pre-key message written again from the keys read, as libolm lays them out, around
    /// `message` (the embedded message, itself re-encoded or not): see
    /// [`NormalMessage::reencoded`].
    pub fn reencoded(&self, message: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::header_len(message.len()) + message.len());
        Self::write_header(
            &mut out,
            &self.one_time_key,
            &self.base_key,
            &self.identity_key,
            message.len(),
        );
        out.extend_from_slice(message);
        out
    }

    /// The length of the pre-key header for an embedded message of `message_len` bytes.
    pub fn header_len(message_len: usize) -> usize {
        1 + 3 * (2 + CURVE25519_KEY_LEN) + 1 + varint_len(message_len as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_spec_examples() {
        // olm.md: seven bits a byte, least significant first, high bit on all but the last.
        let mut out = Vec::new();
        write_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(varint_len(300), 2);
        let mut at = 0;
        assert_eq!(read_varint(&out, &mut at).unwrap(), 300);
        assert!(read_varint(&[0x80], &mut 0).is_err());
    }

    #[test]
    fn libolm_test_message_encodes_as_published() {
        // libolm olm/tests/test_message.cpp, "Message encode test": version 3, ratchet key
        // "ratchetkey", counter 1, ciphertext "ciphertext" give these bytes (before the MAC).
        let expected = b"\x03\x0A\x0Aratchetkey\x10\x01\x22\x0Aciphertext";
        let mut out = vec![VERSION];
        write_string_field(&mut out, RATCHET_KEY_TAG, b"ratchetkey");
        out.push(CHAIN_INDEX_TAG);
        write_varint(&mut out, 1);
        write_string_field(&mut out, CIPHERTEXT_TAG, b"ciphertext");
        assert_eq!(out, expected);
    }

    #[test]
    fn libolm_test_message_decodes_as_published() {
        // libolm olm/tests/test_message.cpp, "Message decode test": the message
        // "\x03\x10\x01\n\nratchetkey\"\nciphertexthmacsha2" with an 8-byte MAC has counter 1,
        // ratchet key "ratchetkey" and ciphertext "ciphertext". The reference wants a 32-byte
        // ratchet key, so it refuses the 10-byte one, naming it; the other fields it reads.
        let bytes = b"\x03\x10\x01\n\nratchetkey\"\nciphertexthmacsha2";
        let err = NormalMessage::parse(bytes).unwrap_err();
        assert_eq!(
            err,
            OlmError::Malformed("expected a 32-byte ratchet key, got 10 bytes".into())
        );
        let mut seen = Vec::new();
        read_fields(&bytes[1..bytes.len() - MAC_LEN], |t, v| {
            seen.push(match v {
                Value::Int(i) => (t, i.to_string()),
                Value::Bytes(b) => (t, String::from_utf8_lossy(b).into_owned()),
            })
        })
        .unwrap();
        let expected = [(0x10, "1"), (0x0a, "ratchetkey"), (0x22, "ciphertext")];
        let expected: Vec<(u8, String)> = expected.iter().map(|&(t, v)| (t, v.into())).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_reencoded_message_drops_what_the_reader_skipped() {
        // An overlong chain index (1 written in two bytes) and an unknown varint field
        // (tag 0x28) read as the message written canonically, MAC kept.
        let mut canonical = vec![VERSION];
        write_string_field(&mut canonical, RATCHET_KEY_TAG, &[7; 32]);
        canonical.extend_from_slice(&[CHAIN_INDEX_TAG, 0x01]);
        write_string_field(&mut canonical, CIPHERTEXT_TAG, b"sixteen bytes..!");
        canonical.extend_from_slice(b"8bytemac");
        let mut odd = vec![VERSION, 0x28, 0x05];
        write_string_field(&mut odd, RATCHET_KEY_TAG, &[7; 32]);
        odd.extend_from_slice(&[CHAIN_INDEX_TAG, 0x81, 0x00]);
        write_string_field(&mut odd, CIPHERTEXT_TAG, b"sixteen bytes..!");
        odd.extend_from_slice(b"8bytemac");
        assert_eq!(NormalMessage::parse(&odd).unwrap().reencoded(), canonical);
        assert_eq!(
            NormalMessage::parse(&canonical).unwrap().reencoded(),
            canonical
        );
        let mut pre_key = Vec::new();
        PreKeyMessage::write_header(&mut pre_key, &[1; 32], &[2; 32], &[3; 32], odd.len());
        pre_key.extend_from_slice(&odd);
        let parsed = PreKeyMessage::parse(&pre_key).unwrap();
        assert_eq!(parsed.reencoded(parsed.message), pre_key);
    }

    #[test]
    fn a_pre_key_message_with_a_second_encoding_of_a_key_is_refused() {
        // p = 2^255 - 19 and the top bit: both read as another encoding of a key below p.
        let p = {
            let mut p = [0xff; 32];
            p[0] = 0xed;
            p[31] = 0x7f;
            p
        };
        let mut top = [9; 32];
        top[31] |= 0x80;
        for (at, bad) in [(0, p), (1, top), (2, top)] {
            let mut keys = [[1; 32], [2; 32], [3; 32]];
            keys[at] = bad;
            let mut out = Vec::new();
            PreKeyMessage::write_header(&mut out, &keys[0], &keys[1], &keys[2], 4);
            out.extend_from_slice(&[9; 4]);
            let err = PreKeyMessage::parse(&out).unwrap_err();
            assert!(
                matches!(&err, OlmError::Malformed(m) if m.contains("canonical")),
                "key {at}: {err:?}"
            );
        }
    }

    #[test]
    fn pre_key_header_length_matches_what_is_written() {
        let mut out = Vec::new();
        PreKeyMessage::write_header(&mut out, &[1; 32], &[2; 32], &[3; 32], 300);
        assert_eq!(out.len(), PreKeyMessage::header_len(300));
        out.extend_from_slice(&[9; 300]);
        let m = PreKeyMessage::parse(&out).unwrap();
        assert_eq!(
            (m.one_time_key, m.base_key, m.identity_key, m.message.len()),
            ([1; 32], [2; 32], [3; 32], 300)
        );
        assert!(PreKeyMessage::parse(&out[..out.len() - 1]).is_err());
    }
}
