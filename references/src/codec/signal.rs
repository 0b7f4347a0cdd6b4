//! The Signal Protocol's messages as libsignal writes them, behind the bench's type byte
//! (`03` PreKeySignalMessage, `02` SignalMessage): a version byte, the protobuf of wire.proto,
//! and for a SignalMessage its 8-byte truncated MAC. Keys are libsignal's serialised form
//! (`05` || 32 bytes).
//!
//! - SignalMessage { 1 ratchetKey, 2 counter, 3 previousCounter, 4 ciphertext, and in the
//!   `libsignal` family 5 pqRatchet (SPQR) }.
//! - PreKeySignalMessage { 1 preKeyId, 2 baseKey, 3 identityKey, 4 message (a whole
//!   SignalMessage), 5 registrationId, 6 signedPreKeyId, and in the `libsignal` family
//!   7 kyberPreKeyId, 8 kyberCiphertext }.
//! - The `signal-v3` bundle, the bench's fixed layout (shims/PROTOCOL.md): registration id,
//!   device id, identity key, signed pre-key id, signed pre-key, its XEdDSA signature, a flag,
//!   and the one-time pre-key id and key if the flag is `01`. The `libsignal` family's
//!   bundle is JSON, which no field operator speaks.

use super::{byte_node, message, take, versioned_pre_key};
use ratchet_bench_core::codec::protobuf::{self, SchemaField, Shape};
use ratchet_bench_core::codec::{Codec, CodecError, FieldKind, Flavor, IntEncoding, Message, Node};

const MAC_LEN: usize = 8;
const PRE_KEY_TYPE: u8 = 3;
const WHISPER_TYPE: u8 = 2;

/// The versions the family's version byte has been written with: `22` (version 2, before
/// libsignal), `33` (version 3, as libaxolotl's ports write it), `34` (version 3 as libsignal
/// writes it since it knows version 4: the low nibble is the writer's current version),
/// `44` (version 4: PQXDH).
const VERSIONS: &[u64] = &[0x22, 0x33, 0x34, 0x44];

const SIGNAL_MESSAGE: &[SchemaField] = &[
    SchemaField {
        number: 1,
        name: "ratchet-key",
        kind: FieldKind::X25519Key,
        shape: Shape::TypedKey,
    },
    SchemaField {
        number: 2,
        name: "counter",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 3,
        name: "previous-counter",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 4,
        name: "ciphertext",
        kind: FieldKind::Ciphertext,
        shape: Shape::Bytes,
    },
    SchemaField {
        number: 5,
        name: "pq-ratchet",
        kind: FieldKind::Opaque,
        shape: Shape::Bytes,
    },
];

const PRE_KEY_MESSAGE: &[SchemaField] = &[
    SchemaField {
        number: 1,
        name: "pre-key-id",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 2,
        name: "base-key",
        kind: FieldKind::X25519Key,
        shape: Shape::TypedKey,
    },
    SchemaField {
        number: 3,
        name: "identity-key",
        kind: FieldKind::X25519Key,
        shape: Shape::TypedKey,
    },
    SchemaField {
        number: 4,
        name: "message",
        kind: FieldKind::Message,
        shape: Shape::Inner(signal_message),
    },
    SchemaField {
        number: 5,
        name: "registration-id",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 6,
        name: "signed-pre-key-id",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 7,
        name: "kyber-pre-key-id",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 8,
        name: "kyber-ciphertext",
        kind: FieldKind::Opaque,
        shape: Shape::Bytes,
    },
];

/// version || protobuf || MAC: a SignalMessage, as nodes.
fn signal_message(bytes: &[u8]) -> Result<Vec<Node>, CodecError> {
    const WHAT: &str = "SignalMessage";
    let mut rest = bytes;
    let version = take(&mut rest, 1, WHAT, "version")?[0];
    if rest.len() < MAC_LEN {
        return Err(CodecError::new(
            WHAT,
            format!("mac: expected {MAC_LEN} bytes, got {}", rest.len()),
        ));
    }
    let (body, mac) = rest.split_at(rest.len() - MAC_LEN);
    Ok(vec![
        Node::int(
            "version",
            FieldKind::Version,
            u64::from(version),
            IntEncoding::FixedBe(1),
        ),
        Node::seq(
            "payload",
            FieldKind::Message,
            Flavor::Protobuf,
            protobuf::parse(body, SIGNAL_MESSAGE, WHAT)?,
        ),
        Node::bytes("mac", FieldKind::Tag, mac),
    ])
}

fn wire_message(wire: &[u8]) -> Result<Message, CodecError> {
    let mut rest = wire;
    let kind = take(&mut rest, 1, "signal wire", "type")?[0];
    let mut nodes = vec![byte_node("type", FieldKind::Type, kind)];
    match kind {
        WHISPER_TYPE => nodes.extend(signal_message(rest)?),
        PRE_KEY_TYPE => nodes.extend(versioned_pre_key(
            rest,
            "PreKeySignalMessage",
            PRE_KEY_MESSAGE,
        )?),
        other => {
            return Err(CodecError::new(
                "signal wire",
                format!("type: expected 02 or 03, got {other:02x}"),
            ))
        }
    }
    Ok(message(nodes))
}

/// Whether `wire` is a SignalMessage: its version byte and fields are all under its MAC
/// (only a PreKeySignalMessage's envelope is not).
fn signal_message_only(wire: &[u8]) -> bool {
    wire.first() == Some(&WHISPER_TYPE)
}

/// The `signal-v3` codec.
pub struct SignalV3Codec;

impl Codec for SignalV3Codec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        wire_message(wire)
    }

    fn under_one_mac(&self, wire: &[u8]) -> bool {
        signal_message_only(wire)
    }

    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        const WHAT: &str = "signal-v3 bundle";
        let parsed = (|| {
            let mut rest = bundle;
            let int = |rest: &mut &[u8], name: &str| -> Result<Node, CodecError> {
                let b = take(rest, 4, WHAT, name)?;
                let v = IntEncoding::FixedBe(4).decode(b).map_or(0, |d| d.0);
                Ok(Node::int(
                    name,
                    FieldKind::Integer,
                    v,
                    IntEncoding::FixedBe(4),
                ))
            };
            let key = |rest: &mut &[u8], name: &str| -> Result<Vec<Node>, CodecError> {
                let b = take(rest, 33, WHAT, name)?;
                Ok(vec![
                    Node::int(
                        &format!("{name}-type"),
                        FieldKind::Type,
                        u64::from(b[0]),
                        IntEncoding::FixedBe(1),
                    ),
                    Node::bytes(name, FieldKind::X25519Key, &b[1..]),
                ])
            };
            let mut nodes = vec![
                int(&mut rest, "registration-id")?,
                int(&mut rest, "device-id")?,
            ];
            nodes.extend(key(&mut rest, "identity-key")?);
            nodes.push(int(&mut rest, "signed-pre-key-id")?);
            nodes.extend(key(&mut rest, "signed-pre-key")?);
            nodes.push(Node::bytes(
                "signed-pre-key-signature",
                FieldKind::Ed25519Signature,
                take(&mut rest, 64, WHAT, "signed-pre-key-signature")?,
            ));
            let flag = take(&mut rest, 1, WHAT, "one-time-flag")?[0];
            nodes.push(Node::int(
                "one-time-flag",
                FieldKind::Type,
                u64::from(flag),
                IntEncoding::FixedBe(1),
            ));
            if flag == 1 {
                nodes.push(int(&mut rest, "pre-key-id")?);
                nodes.extend(key(&mut rest, "pre-key")?);
            }
            if !rest.is_empty() {
                return Err(CodecError::new(
                    WHAT,
                    format!("expected 143 or 180 bytes, got {}", bundle.len()),
                ));
            }
            Ok(message(nodes))
        })();
        Some(parsed)
    }

    fn versions(&self) -> &[u64] {
        VERSIONS
    }
}

/// The `libsignal` family's codec (messages only: its bundle is JSON).
pub struct LibsignalCodec;

impl Codec for LibsignalCodec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        wire_message(wire)
    }

    fn under_one_mac(&self, wire: &[u8]) -> bool {
        signal_message_only(wire)
    }

    fn versions(&self) -> &[u64] {
        VERSIONS
    }
}
