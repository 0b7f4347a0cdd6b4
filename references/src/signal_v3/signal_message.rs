//! The SignalMessage (libsignal's `SignalMessage`, rust/protocol/src/protocol.rs): a version
//! byte, the protobuf `SignalMessage` of wire.proto, then an 8-byte MAC.
//!
//! ```text
//! version (1) || protobuf { 1 ratchetKey bytes (33), 2 counter uint32,
//!                           3 previousCounter uint32, 4 ciphertext bytes } || mac (8)
//! mac = HMAC-SHA-256(MAC key, sender identity key (33) || receiver identity key (33)
//!                    || version || protobuf)[..8]
//! ```
//!
//! The version byte: the high nibble is the session version (3 here); libsignal fills the
//! low nibble with its `CIPHERTEXT_MESSAGE_CURRENT_VERSION`, 4 since release 0.25 (Kyber), so
//! libsignal 0.72 writes `34` for a version-3 session where the older implementations of the
//! family write `33`. libsignal reads only the high nibble (3 and 4 parse, 0 to 2 are
//! "legacy", 5 up "unrecognized") and then requires the session's version. The reference
//! writes [`VERSION_BYTE`] (`33`, the bench's `signal-v3` convention) and accepts exactly
//! [`ACCEPTED_VERSION_BYTES`]: both what genuine senders write, nothing else. Here the byte
//! is under the MAC, so the choice costs nothing; in a pre-key message's outer byte see
//! [`super::pre_key_signal_message`].
//!
//! Fields: libsignal requires ratchetKey, counter and ciphertext and takes a missing
//! previousCounter as 0; every sender of the family writes all four, so the reference
//! requires all four, in field-number order, each once (see [`super::protobuf`]). The
//! ratchet key must be a canonical 33-byte key ([`super::keys`]). The ciphertext's length is
//! checked after the MAC, as libsignal does.

use super::error::{malformed, SignalV3Error};
use super::keys::PublicKey;
use super::primitives::hmac_sha256;
use super::protobuf::{self, Field, FieldSpec, Kind};
use hmac::Mac;
use std::ops::Range;
use subtle::ConstantTimeEq;

/// The session version this reference speaks (no Kyber pre-key).
pub const SESSION_VERSION: u8 = 3;
/// The version byte the reference writes: session version 3 in both nibbles.
pub const VERSION_BYTE: u8 = 0x33;
/// The version bytes the reference reads: `33`, and `34` as libsignal 0.25 and later write.
pub const ACCEPTED_VERSION_BYTES: [u8; 2] = [0x33, 0x34];
/// Bytes of the truncated MAC.
pub const MAC_LEN: usize = 8;

/// The fields of wire.proto's `SignalMessage`, as the reference requires them.
pub const SCHEMA: [FieldSpec; 4] = [
    FieldSpec {
        number: 1,
        name: "ratchetKey",
        kind: Kind::Bytes,
        required: true,
    },
    FieldSpec {
        number: 2,
        name: "counter",
        kind: Kind::Uint32,
        required: true,
    },
    FieldSpec {
        number: 3,
        name: "previousCounter",
        kind: Kind::Uint32,
        required: true,
    },
    FieldSpec {
        number: 4,
        name: "ciphertext",
        kind: Kind::Bytes,
        required: true,
    },
];

/// Checks a version byte, naming `what`.
pub(super) fn check_version(what: &str, byte: u8) -> Result<(), SignalV3Error> {
    if ACCEPTED_VERSION_BYTES.contains(&byte) {
        Ok(())
    } else {
        Err(malformed(format!(
            "{what} version byte: expected 0x33 or 0x34, got 0x{byte:02x}"
        )))
    }
}

/// A SignalMessage, built or parsed, with its serialised bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SignalMessage {
    ratchet_key: PublicKey,
    counter: u32,
    previous_counter: u32,
    serialized: Vec<u8>,
    fields: Vec<Field>,
}

impl SignalMessage {
    /// The message of `ciphertext` from the sender's `ratchet_key` at `counter`, with
    /// `previous_counter` and the MAC under `mac_key` over both identity keys.
    pub fn new(
        mac_key: &[u8; 32],
        ratchet_key: &PublicKey,
        counter: u32,
        previous_counter: u32,
        ciphertext: &[u8],
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
    ) -> Result<Self, SignalV3Error> {
        let mut serialized = Vec::with_capacity(1 + 48 + ciphertext.len() + MAC_LEN);
        serialized.push(VERSION_BYTE);
        protobuf::put_bytes(&mut serialized, 1, &ratchet_key.serialize());
        protobuf::put_uint32(&mut serialized, 2, counter);
        protobuf::put_uint32(&mut serialized, 3, previous_counter);
        protobuf::put_bytes(&mut serialized, 4, ciphertext);
        let mac = compute_mac(mac_key, sender_identity, receiver_identity, &serialized);
        serialized.extend_from_slice(&mac);
        // The ranges of what was just written, from the one reader.
        let fields = protobuf::read_fields(
            &serialized[1..serialized.len() - MAC_LEN],
            1,
            "SignalMessage",
        )?;
        Ok(SignalMessage {
            ratchet_key: *ratchet_key,
            counter,
            previous_counter,
            serialized,
            fields,
        })
    }

    /// Parses a serialised SignalMessage; a refusal names the field.
    pub fn parse(bytes: &[u8]) -> Result<Self, SignalV3Error> {
        const WHAT: &str = "SignalMessage";
        if bytes.len() < 1 + MAC_LEN {
            return Err(malformed(format!(
                "{WHAT}: expected at least {} bytes, got {}",
                1 + MAC_LEN,
                bytes.len()
            )));
        }
        check_version(WHAT, bytes[0])?;
        let body = &bytes[1..bytes.len() - MAC_LEN];
        let fields = protobuf::read_fields(body, 1, WHAT)?;
        let at = protobuf::check_schema(&fields, &SCHEMA, WHAT)?;
        // check_schema returned Some for every required entry.
        let field = |slot: usize| at[slot].map(|i| &fields[i]);
        let missing =
            |slot: usize| malformed(format!("{WHAT} field {}: missing", SCHEMA[slot].number));
        let ratchet = field(0).ok_or_else(|| missing(0))?;
        let ratchet_key = PublicKey::deserialize(
            "SignalMessage field 1 (ratchetKey)",
            &bytes[ratchet.value.clone()],
        )?;
        let counter = field(1).ok_or_else(|| missing(1))?.varint as u32;
        let previous_counter = field(2).ok_or_else(|| missing(2))?.varint as u32;
        field(3).ok_or_else(|| missing(3))?;
        Ok(SignalMessage {
            ratchet_key,
            counter,
            previous_counter,
            serialized: bytes.to_vec(),
            fields,
        })
    }

    /// The sender's ratchet key.
    pub fn ratchet_key(&self) -> &PublicKey {
        &self.ratchet_key
    }

    /// The message's counter in its chain.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// The length of the sender's previous sending chain, as libsignal writes it (its last
    /// counter, or 0); libsignal's receiver never reads it.
    pub fn previous_counter(&self) -> u32 {
        self.previous_counter
    }

    /// The version byte.
    pub fn version_byte(&self) -> u8 {
        self.serialized[0]
    }

    /// The AES-256-CBC ciphertext.
    pub fn ciphertext(&self) -> &[u8] {
        self.fields
            .iter()
            .find(|f| f.number == 4)
            .map_or(&[][..], |f| &self.serialized[f.value.clone()])
    }

    /// The whole message as sent.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }

    /// The protobuf fields with their ranges in [`Self::serialized`].
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Where the MAC lies in [`Self::serialized`].
    pub fn mac_range(&self) -> Range<usize> {
        self.serialized.len() - MAC_LEN..self.serialized.len()
    }

    /// Whether the MAC verifies under `mac_key` for these identities (constant time).
    pub fn verify_mac(
        &self,
        mac_key: &[u8; 32],
        sender_identity: &PublicKey,
        receiver_identity: &PublicKey,
    ) -> bool {
        let (authenticated, mac) = self.serialized.split_at(self.serialized.len() - MAC_LEN);
        let ours = compute_mac(mac_key, sender_identity, receiver_identity, authenticated);
        ours.ct_eq(mac).into()
    }
}

impl std::fmt::Debug for SignalMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalMessage")
            .field("ratchet_key", &self.ratchet_key)
            .field("counter", &self.counter)
            .field("previous_counter", &self.previous_counter)
            .field("len", &self.serialized.len())
            .finish()
    }
}

/// HMAC-SHA-256(mac key, sender identity || receiver identity || bytes), first 8 bytes.
fn compute_mac(
    mac_key: &[u8; 32],
    sender_identity: &PublicKey,
    receiver_identity: &PublicKey,
    bytes: &[u8],
) -> [u8; MAC_LEN] {
    let mut mac = hmac_sha256(mac_key);
    mac.update(&sender_identity.serialize());
    mac.update(&receiver_identity.serialize());
    mac.update(bytes);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal_v3::keys::PrivateKey;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_bytes([seed; 32]).public_key()
    }

    fn sample() -> SignalMessage {
        SignalMessage::new(&[9; 32], &key(1), 300, 7, &[0xaa; 32], &key(2), &key(3)).unwrap()
    }

    #[test]
    fn writes_libsignals_layout_and_parses_it_back() {
        let m = sample();
        let s = m.serialized();
        assert_eq!(s[0], 0x33);
        assert_eq!(&s[1..3], [0x0a, 0x21]);
        assert_eq!(&s[3..36], key(1).serialize());
        assert_eq!(&s[36..39], [0x10, 0xac, 0x02]);
        assert_eq!(&s[39..41], [0x18, 0x07]);
        assert_eq!(&s[41..43], [0x22, 0x20]);
        assert_eq!(s.len(), 43 + 32 + MAC_LEN);
        let back = SignalMessage::parse(s).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.ciphertext(), [0xaa; 32]);
        assert!(back.verify_mac(&[9; 32], &key(2), &key(3)));
        assert!(!back.verify_mac(&[9; 32], &key(3), &key(2)));
        assert_eq!(back.fields().len(), 4);
        assert_eq!(back.fields()[3].value, 43..75);
    }

    #[test]
    fn refuses_other_versions_short_inputs_and_non_canonical_fields() {
        let s = sample().serialized().to_vec();
        let err = |b: &[u8]| SignalMessage::parse(b).unwrap_err().to_string();
        assert!(err(&s[..8]).contains("expected at least 9 bytes, got 8"));
        for v in [0x23, 0x32, 0x35, 0x43, 0x44] {
            let mut b = s.clone();
            b[0] = v;
            assert!(
                err(&b).contains("version byte: expected 0x33 or 0x34"),
                "{v:02x}"
            );
        }
        let mut libsignal_version = s.clone();
        libsignal_version[0] = 0x34;
        assert!(SignalMessage::parse(&libsignal_version).is_ok());
        // previousCounter dropped (libsignal would read 0).
        let mut no_previous = s.clone();
        no_previous.drain(39..41);
        assert!(err(&no_previous).contains("field 3 (previousCounter): expected it, got none"));
        // A ratchet key with a byte too many (libsignal ignores trailing bytes of a key).
        let mut long_key = s[..1].to_vec();
        protobuf::put_bytes(
            &mut long_key,
            1,
            &[key(1).serialize().as_slice(), &[0]].concat(),
        );
        long_key.extend_from_slice(&s[36..]);
        assert!(err(&long_key).contains("field 1 (ratchetKey): expected 33 bytes, got 34"));
    }
}
