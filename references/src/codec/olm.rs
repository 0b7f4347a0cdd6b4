//! Olm's and Megolm's wire (olm.md, megolm.md), behind the bench's Olm type byte.
//!
//! - Olm normal message: `03` || protobuf { 1 ratchet key (32 bytes), 2 chain index
//!   (varint), 4 ciphertext } || MAC (8).
//! - Olm pre-key message: `03` || protobuf { 1 one-time key, 2 base key, 3 identity key
//!   (32 bytes each), 4 a whole normal message }. Nothing but the inner message is MACed.
//! - Megolm message: `03` || protobuf { 1 message index (varint), 2 ciphertext } || MAC (8)
//!   || Ed25519 signature (64) over everything before it.
//! - Olm bundle (the bench's): identity key || one-time key. Megolm bundle: the exported
//!   session key, `02` || index (u32 BE) || ratchet (128) || Ed25519 key (32) || signature
//!   (64).

use super::{byte_node, message, take, versioned_pre_key};
use crate::olm_wire::{MAC_LEN, NORMAL, PRE_KEY, SIGNATURE_LEN, VERSION};
use ratchet_bench_core::codec::protobuf::{self, SchemaField, Shape};
use ratchet_bench_core::codec::{Codec, CodecError, FieldKind, Flavor, IntEncoding, Message, Node};

const NORMAL_SCHEMA: &[SchemaField] = &[
    SchemaField {
        number: 1,
        name: "ratchet-key",
        kind: FieldKind::X25519Key,
        shape: Shape::Bytes,
    },
    SchemaField {
        number: 2,
        name: "chain-index",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 4,
        name: "ciphertext",
        kind: FieldKind::Ciphertext,
        shape: Shape::Bytes,
    },
];

const PRE_KEY_SCHEMA: &[SchemaField] = &[
    SchemaField {
        number: 1,
        name: "one-time-key",
        kind: FieldKind::X25519Key,
        shape: Shape::Bytes,
    },
    SchemaField {
        number: 2,
        name: "base-key",
        kind: FieldKind::X25519Key,
        shape: Shape::Bytes,
    },
    SchemaField {
        number: 3,
        name: "identity-key",
        kind: FieldKind::X25519Key,
        shape: Shape::Bytes,
    },
    SchemaField {
        number: 4,
        name: "message",
        kind: FieldKind::Message,
        shape: Shape::Inner(normal_nodes),
    },
];

const MEGOLM_SCHEMA: &[SchemaField] = &[
    SchemaField {
        number: 1,
        name: "message-index",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    },
    SchemaField {
        number: 2,
        name: "ciphertext",
        kind: FieldKind::Ciphertext,
        shape: Shape::Bytes,
    },
];

/// Olm's and Megolm's version byte is 3 (olm.md, megolm.md); libolm and vodozemac write no
/// other.
const OLM_VERSIONS: &[u64] = &[VERSION as u64];

/// `03` || protobuf || MAC: an Olm normal message, as nodes.
fn normal_nodes(bytes: &[u8]) -> Result<Vec<Node>, CodecError> {
    const WHAT: &str = "olm message";
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
            protobuf::parse(body, NORMAL_SCHEMA, WHAT)?,
        ),
        Node::bytes("mac", FieldKind::Tag, mac),
    ])
}

/// The `olm` codec.
pub struct OlmCodec;

impl Codec for OlmCodec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        let mut rest = wire;
        let kind = take(&mut rest, 1, "olm wire", "type")?[0];
        let mut nodes = vec![byte_node("type", FieldKind::Type, kind)];
        match kind {
            NORMAL => nodes.extend(normal_nodes(rest)?),
            PRE_KEY => nodes.extend(versioned_pre_key(
                rest,
                "olm pre-key message",
                PRE_KEY_SCHEMA,
            )?),
            other => {
                return Err(CodecError::new(
                    "olm wire",
                    format!("type: expected 00 or 01, got {other:02x}"),
                ))
            }
        }
        Ok(message(nodes))
    }

    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        Some(if bundle.len() == 64 {
            Ok(message(vec![
                Node::bytes("identity-key", FieldKind::X25519Key, &bundle[..32]),
                Node::bytes("one-time-key", FieldKind::X25519Key, &bundle[32..]),
            ]))
        } else {
            Err(CodecError::new(
                "olm bundle",
                format!("expected 64 bytes, got {}", bundle.len()),
            ))
        })
    }

    fn versions(&self) -> &[u64] {
        OLM_VERSIONS
    }
}

/// The `megolm` codec.
pub struct MegolmCodec;

impl Codec for MegolmCodec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        const WHAT: &str = "megolm message";
        let mut rest = wire;
        let version = take(&mut rest, 1, WHAT, "version")?[0];
        if rest.len() < MAC_LEN + SIGNATURE_LEN {
            return Err(CodecError::new(
                WHAT,
                format!(
                    "mac and signature: expected {} bytes, got {}",
                    MAC_LEN + SIGNATURE_LEN,
                    rest.len()
                ),
            ));
        }
        let (body, tail) = rest.split_at(rest.len() - MAC_LEN - SIGNATURE_LEN);
        let (mac, signature) = tail.split_at(MAC_LEN);
        Ok(message(vec![
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
                protobuf::parse(body, MEGOLM_SCHEMA, WHAT)?,
            ),
            Node::bytes("mac", FieldKind::Tag, mac),
            Node::bytes("signature", FieldKind::Ed25519Signature, signature),
        ]))
    }

    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        const WHAT: &str = "megolm session key";
        let parsed = (|| {
            let mut rest = bundle;
            let version = take(&mut rest, 1, WHAT, "version")?[0];
            let index = take(&mut rest, 4, WHAT, "message-index")?;
            let ratchet = take(&mut rest, 128, WHAT, "ratchet")?;
            let key = take(&mut rest, 32, WHAT, "signing-key")?;
            let signature = take(&mut rest, 64, WHAT, "signature")?;
            if !rest.is_empty() {
                return Err(CodecError::new(
                    WHAT,
                    format!("expected 229 bytes, got {}", bundle.len()),
                ));
            }
            let index = IntEncoding::FixedBe(4).decode(index).map_or(0, |d| d.0);
            Ok(message(vec![
                Node::int(
                    "version",
                    FieldKind::Version,
                    u64::from(version),
                    IntEncoding::FixedBe(1),
                ),
                Node::int(
                    "message-index",
                    FieldKind::Integer,
                    index,
                    IntEncoding::FixedBe(4),
                ),
                Node::bytes("ratchet", FieldKind::Opaque, ratchet),
                Node::bytes("signing-key", FieldKind::Ed25519Key, key),
                Node::bytes("signature", FieldKind::Ed25519Signature, signature),
            ]))
        })();
        Some(parsed)
    }

    fn versions(&self) -> &[u64] {
        OLM_VERSIONS
    }
}
