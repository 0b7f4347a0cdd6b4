//! The PreKeySignalMessage (libsignal's `PreKeySignalMessage`, rust/protocol/src/protocol.rs):
//! what the initiator sends until it has heard from the responder. A version byte, then the
//! protobuf `PreKeySignalMessage` of wire.proto, written in field-number order as libsignal
//! (prost) writes it:
//!
//! ```text
//! version (1) || protobuf { 1 preKeyId uint32 (absent without a one-time pre-key),
//!                           2 baseKey bytes (33), 3 identityKey bytes (33),
//!                           4 message bytes (a whole SignalMessage, with its MAC),
//!                           5 registrationId uint32, 6 signedPreKeyId uint32 }
//! ```
//!
//! The outer part has no MAC of its own. What binds it: the base key, the pre-key ids and
//! the identity key enter the X3DH master secret (a change gives other keys, and the inner
//! MAC fails), and the identity key is also under the inner MAC. What nothing binds, in
//! libsignal or here:
//! - the **registration id**: libsignal stores it as the remote registration id and never
//!   checks it; any value decrypts the same. A bench that changes it sees a message accepted
//!   that is not byte-identical to the genuine one: the family has to declare this field's
//!   value benign (nothing derives from it), it cannot be made strict.
//! - the **version byte's low nibble**: libsignal reads only the high nibble and writes `34`,
//!   the older implementations `33`; the reference takes both (and nothing else), so `33`
//!   and `34` are two accepted encodings of one pre-key message, again benign: no
//!   implementation gives the low nibble a meaning.
//!
//! Where libsignal 0.72 accepts more than the reference (each a second encoding of one
//! message that it decrypts the same, so an attacker on the wire could make it unnoticed):
//! keys longer than 33 bytes (the rest ignored: baseKey and identityKey here are outside any
//! MAC), the base key's unused top bit or a non-canonical u (X25519 ignores the one and
//! reduces the other), unknown fields (including the Kyber fields 7 and 8 of a version-4
//! message, which a version-3 reference does not know), repeated fields, non-minimal varints
//! and a registration id varint beyond 32 bits (truncated). The reference refuses all of
//! them, naming the field: no genuine sender writes any of them. Two things genuine senders
//! do write, it takes as libsignal does: fields in any order (libsignal-protocol-typescript
//! writes them in declaration order) and no registration id (oldmemo; taken as 0). The inner message is parsed as
//! [`super::signal_message`] says.
//!
//! One more, past parsing: a later pre-key message of a session libsignal already has (found
//! by its base key) may name any pre-key ids, since libsignal never looks at them again; the
//! reference requires the ids the session was made from
//! ([`super::error::SignalV3Error::PreKeyIdsMismatch`]). The registration id cannot be held
//! to the first message's the same way: a first message with a changed one is accepted, and
//! every later genuine message would then be refused.

use super::error::{malformed, SignalV3Error};
use super::keys::PublicKey;
use super::protobuf::{self, Field, FieldSpec, Kind};
use super::signal_message::{check_version, SignalMessage, VERSION_BYTE};
use std::ops::Range;

/// The fields of wire.proto's `PreKeySignalMessage` a version-3 message has, in
/// field-number order, as the reference requires them.
pub const SCHEMA: [FieldSpec; 6] = [
    FieldSpec {
        number: 1,
        name: "preKeyId",
        kind: Kind::Uint32,
        required: false,
    },
    FieldSpec {
        number: 2,
        name: "baseKey",
        kind: Kind::Bytes,
        required: true,
    },
    FieldSpec {
        number: 3,
        name: "identityKey",
        kind: Kind::Bytes,
        required: true,
    },
    FieldSpec {
        number: 4,
        name: "message",
        kind: Kind::Bytes,
        required: true,
    },
    FieldSpec {
        number: 5,
        name: "registrationId",
        kind: Kind::Uint32,
        // oldmemo writes none; libsignal takes 0 for it.
        required: false,
    },
    FieldSpec {
        number: 6,
        name: "signedPreKeyId",
        kind: Kind::Uint32,
        required: true,
    },
];

/// A PreKeySignalMessage, built or parsed, with its serialised bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PreKeySignalMessage {
    /// The initiator's registration id, if the message carries one (oldmemo's do not).
    pub registration_id: Option<u32>,
    /// The responder's one-time pre-key the initiator used, if any.
    pub pre_key_id: Option<u32>,
    /// The responder's signed pre-key the initiator used.
    pub signed_pre_key_id: u32,
    /// The initiator's base key.
    pub base_key: PublicKey,
    /// The initiator's identity key.
    pub identity_key: PublicKey,
    message: SignalMessage,
    message_at: usize,
    serialized: Vec<u8>,
    fields: Vec<Field>,
}

impl PreKeySignalMessage {
    /// The pre-key message carrying `message`.
    pub fn new(
        registration_id: u32,
        pre_key_id: Option<u32>,
        signed_pre_key_id: u32,
        base_key: &PublicKey,
        identity_key: &PublicKey,
        message: SignalMessage,
    ) -> Result<Self, SignalV3Error> {
        let inner = message.serialized();
        let mut serialized = Vec::with_capacity(1 + 90 + inner.len() + 12);
        serialized.push(VERSION_BYTE);
        if let Some(id) = pre_key_id {
            protobuf::put_uint32(&mut serialized, 1, id);
        }
        protobuf::put_bytes(&mut serialized, 2, &base_key.serialize());
        protobuf::put_bytes(&mut serialized, 3, &identity_key.serialize());
        protobuf::put_bytes(&mut serialized, 4, inner);
        protobuf::put_uint32(&mut serialized, 5, registration_id);
        protobuf::put_uint32(&mut serialized, 6, signed_pre_key_id);
        let fields = protobuf::read_fields(&serialized[1..], 1, "PreKeySignalMessage")?;
        let message_at = fields
            .iter()
            .find(|f| f.number == 4)
            .map(|f| f.value.start)
            .ok_or(SignalV3Error::Internal(
                "a written pre-key message has no message field",
            ))?;
        Ok(PreKeySignalMessage {
            registration_id: Some(registration_id),
            pre_key_id,
            signed_pre_key_id,
            base_key: *base_key,
            identity_key: *identity_key,
            message,
            message_at,
            serialized,
            fields,
        })
    }

    /// Parses a serialised PreKeySignalMessage; a refusal names the field.
    pub fn parse(bytes: &[u8]) -> Result<Self, SignalV3Error> {
        const WHAT: &str = "PreKeySignalMessage";
        let Some((&version, body)) = bytes.split_first() else {
            return Err(malformed(format!(
                "{WHAT}: expected at least 1 byte, got 0"
            )));
        };
        check_version(WHAT, version)?;
        let fields = protobuf::read_fields(body, 1, WHAT)?;
        let at = protobuf::check_schema(&fields, &SCHEMA, WHAT)?;
        let get = |slot: usize| -> Result<&Field, SignalV3Error> {
            at[slot].map(|i| &fields[i]).ok_or_else(|| {
                malformed(format!(
                    "{WHAT} field {} ({}): expected it, got none",
                    SCHEMA[slot].number, SCHEMA[slot].name
                ))
            })
        };
        let pre_key_id = at[0].map(|i| fields[i].varint as u32);
        let base_key = PublicKey::deserialize(
            "PreKeySignalMessage field 2 (baseKey)",
            &bytes[get(1)?.value.clone()],
        )?;
        let identity_key = PublicKey::deserialize(
            "PreKeySignalMessage field 3 (identityKey)",
            &bytes[get(2)?.value.clone()],
        )?;
        let message_field = get(3)?.value.clone();
        let message = SignalMessage::parse(&bytes[message_field.clone()]).map_err(|e| match e {
            SignalV3Error::Malformed(m) => malformed(format!("{WHAT} field 4 (message): {m}")),
            other => other,
        })?;
        let registration_id = at[4].map(|i| fields[i].varint as u32);
        let signed_pre_key_id = get(5)?.varint as u32;
        Ok(PreKeySignalMessage {
            registration_id,
            pre_key_id,
            signed_pre_key_id,
            base_key,
            identity_key,
            message,
            message_at: message_field.start,
            serialized: bytes.to_vec(),
            fields,
        })
    }

    /// The inner SignalMessage.
    pub fn message(&self) -> &SignalMessage {
        &self.message
    }

    /// Where the inner SignalMessage starts in [`Self::serialized`] (its fields' and MAC's
    /// ranges are relative to that start).
    pub fn message_offset(&self) -> usize {
        self.message_at
    }

    /// The whole message as sent.
    pub fn serialized(&self) -> &[u8] {
        &self.serialized
    }

    /// The outer protobuf fields with their ranges in [`Self::serialized`].
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Where the inner MAC lies in [`Self::serialized`].
    pub fn mac_range(&self) -> Range<usize> {
        let inner = self.message.mac_range();
        self.message_at + inner.start..self.message_at + inner.end
    }
}

impl std::fmt::Debug for PreKeySignalMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreKeySignalMessage")
            .field("registration_id", &self.registration_id)
            .field("pre_key_id", &self.pre_key_id)
            .field("signed_pre_key_id", &self.signed_pre_key_id)
            .field("base_key", &self.base_key)
            .field("identity_key", &self.identity_key)
            .field("message", &self.message)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal_v3::keys::PrivateKey;

    fn key(seed: u8) -> PublicKey {
        PrivateKey::from_bytes([seed; 32]).public_key()
    }

    fn sample(pre_key_id: Option<u32>) -> PreKeySignalMessage {
        let inner =
            SignalMessage::new(&[9; 32], &key(1), 0, 0, &[0xaa; 16], &key(2), &key(3)).unwrap();
        PreKeySignalMessage::new(1234, pre_key_id, 2_097_153, &key(4), &key(2), inner).unwrap()
    }

    #[test]
    fn writes_in_field_number_order_and_parses_back() {
        for id in [Some(2_097_154), None] {
            let m = sample(id);
            let s = m.serialized();
            assert_eq!(s[0], 0x33);
            let numbers: Vec<u32> = m.fields().iter().map(|f| f.number).collect();
            let expected: &[u32] = if id.is_some() {
                &[1, 2, 3, 4, 5, 6]
            } else {
                &[2, 3, 4, 5, 6]
            };
            assert_eq!(numbers, expected);
            let back = PreKeySignalMessage::parse(s).unwrap();
            assert_eq!(back, m);
            assert_eq!(back.pre_key_id, id);
            assert_eq!(
                &s[back.mac_range()],
                &back.message().serialized()[back.message().mac_range()]
            );
        }
    }

    #[test]
    fn refuses_kyber_fields_and_names_inner_errors() {
        let s = sample(None).serialized().to_vec();
        let err = |b: &[u8]| PreKeySignalMessage::parse(b).unwrap_err().to_string();
        let mut kyber = s.clone();
        protobuf::put_uint32(&mut kyber, 7, 1);
        assert!(err(&kyber).contains("got field 7"), "{}", err(&kyber));
        let mut bad_inner = s.clone();
        let m = PreKeySignalMessage::parse(&s).unwrap();
        bad_inner[m.message_offset()] = 0x22;
        assert!(err(&bad_inner).contains(
            "field 4 (message): SignalMessage version byte: expected 0x33 or 0x34, got 0x22"
        ));
        assert!(err(&[]).contains("expected at least 1 byte, got 0"));
    }
}
