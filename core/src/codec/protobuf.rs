//! A protobuf reader that builds a [`Message`] tree from a schema (field number to name,
//! kind and shape), keeping every byte as it came: a non-minimal varint, an unknown field, a
//! repeated field or fields out of order parse and write back unchanged, so that a codec
//! round-trips whatever an attacker wrote as well as what a genuine sender wrote.

use super::{Body, CodecError, FieldKind, IntEncoding, Message, Node};

/// The shape of a field's value.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// A varint (wire type 0).
    Varint,
    /// Length-delimited bytes of the field's kind (wire type 2).
    Bytes,
    /// A length-delimited public key in libsignal's serialised form, a type byte then the
    /// 32-byte key (wire type 2).
    TypedKey,
    /// A length-delimited nested message of another schema (wire type 2).
    Nested(&'static [SchemaField]),
    /// A length-delimited value another parser reads (a whole message with its own framing
    /// nested in a field, wire type 2); bytes it refuses stay opaque.
    Inner(fn(&[u8]) -> Result<Vec<Node>, CodecError>),
}

/// One field of a schema.
#[derive(Clone, Copy, Debug)]
pub struct SchemaField {
    /// The field number.
    pub number: u32,
    /// The family's name for it.
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// How its value is written.
    pub shape: Shape,
}

/// Parses `bytes` as protobuf fields of `schema`; `what` names the message in errors.
pub fn parse(bytes: &[u8], schema: &[SchemaField], what: &str) -> Result<Vec<Node>, CodecError> {
    let mut nodes = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (key, key_len) = IntEncoding::Varint.decode(&bytes[at..]).ok_or_else(|| {
            CodecError::new(what, format!("byte {at}: a field key that does not end"))
        })?;
        let raw_key = &bytes[at..at + key_len];
        let raw_key = (!IntEncoding::Varint.is_minimal(raw_key)).then(|| raw_key.to_vec());
        at += key_len;
        let number = u32::try_from(key >> 3).map_err(|_| {
            CodecError::new(what, format!("field number {} is too large", key >> 3))
        })?;
        let wire_type = key & 7;
        let spec = schema.iter().find(|s| s.number == number);
        let (name, kind) = match spec {
            Some(s) => (s.name.to_string(), s.kind),
            None => (format!("unknown-{number}"), FieldKind::Unknown),
        };
        // A typed key's field wraps the key: the key node inside carries the kind, so that a
        // selector finds the 32 bytes, not their wrapping.
        let outer = match spec.map(|s| s.shape) {
            Some(Shape::TypedKey) => FieldKind::Opaque,
            _ => kind,
        };
        let field = |value: Body, raw_key: Option<Vec<u8>>| Node {
            name: name.clone(),
            kind: outer,
            body: Body::Field {
                number,
                raw_key,
                value: Box::new(value),
            },
        };
        match wire_type {
            0 => {
                let (value, n) = IntEncoding::Varint.decode(&bytes[at..]).ok_or_else(|| {
                    CodecError::new(
                        what,
                        format!("field {number} ({name}): a varint that does not end"),
                    )
                })?;
                let raw = &bytes[at..at + n];
                let raw = (!IntEncoding::Varint.is_minimal(raw)).then(|| raw.to_vec());
                at += n;
                nodes.push(field(
                    Body::Int {
                        value,
                        enc: IntEncoding::Varint,
                        raw,
                    },
                    raw_key,
                ));
            }
            2 => {
                let (len, n) = IntEncoding::Varint.decode(&bytes[at..]).ok_or_else(|| {
                    CodecError::new(
                        what,
                        format!("field {number} ({name}): a length that does not end"),
                    )
                })?;
                let raw_len = &bytes[at..at + n];
                let raw_len = (!IntEncoding::Varint.is_minimal(raw_len)).then(|| raw_len.to_vec());
                at += n;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let end = at
                    .checked_add(len)
                    .filter(|e| *e <= bytes.len())
                    .ok_or_else(|| {
                        CodecError::new(
                            what,
                            format!(
                                "field {number} ({name}): expected {len} bytes, got {}",
                                bytes.len() - at
                            ),
                        )
                    })?;
                let value = &bytes[at..end];
                at = end;
                let content = match spec.map(|s| s.shape) {
                    Some(Shape::TypedKey) if value.len() == 33 => vec![
                        Node::int(
                            &format!("{name}-type"),
                            FieldKind::Type,
                            u64::from(value[0]),
                            IntEncoding::FixedBe(1),
                        ),
                        Node::bytes(&name, kind, &value[1..]),
                    ],
                    Some(Shape::Nested(inner)) => match parse(value, inner, &name) {
                        Ok(children) => children,
                        Err(_) => vec![Node::bytes(&name, FieldKind::Opaque, value)],
                    },
                    Some(Shape::Inner(read)) => match read(value) {
                        Ok(children) if encode_all(&children) == value => children,
                        _ => vec![Node::bytes(&name, FieldKind::Opaque, value)],
                    },
                    _ => vec![Node::bytes(&name, kind, value)],
                };
                nodes.push(field(
                    Body::Sized {
                        enc: IntEncoding::Varint,
                        raw: raw_len,
                        content,
                    },
                    raw_key,
                ));
            }
            1 | 5 => {
                let len = if wire_type == 1 { 8 } else { 4 };
                let value = bytes.get(at..at + len).ok_or_else(|| {
                    CodecError::new(
                        what,
                        format!("field {number} ({name}): expected {len} bytes"),
                    )
                })?;
                at += len;
                // The key is kept as written: a fixed-width value does not say its wire type.
                nodes.push(field(
                    Body::Bytes(value.to_vec()),
                    Some(bytes[at - len - key_len..at - len].to_vec()),
                ));
            }
            other => {
                return Err(CodecError::new(
                    what,
                    format!(
                        "field {number} ({name}): wire type {other} is not one these messages use"
                    ),
                ))
            }
        }
    }
    Ok(nodes)
}

fn encode_all(nodes: &[Node]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nodes {
        n.write(&mut out);
    }
    out
}

/// A message of top-level `nodes`, for codecs whose whole message is protobuf.
pub fn message(bytes: &[u8], schema: &[SchemaField], what: &str) -> Result<Message, CodecError> {
    Ok(Message {
        nodes: parse(bytes, schema, what)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Flavor;
    use proptest::prelude::*;

    const INNER: &[SchemaField] = &[SchemaField {
        number: 1,
        name: "counter",
        kind: FieldKind::Integer,
        shape: Shape::Varint,
    }];
    const SCHEMA: &[SchemaField] = &[
        SchemaField {
            number: 1,
            name: "key",
            kind: FieldKind::X25519Key,
            shape: Shape::TypedKey,
        },
        SchemaField {
            number: 2,
            name: "n",
            kind: FieldKind::Integer,
            shape: Shape::Varint,
        },
        SchemaField {
            number: 4,
            name: "inner",
            kind: FieldKind::Message,
            shape: Shape::Nested(INNER),
        },
    ];

    #[test]
    fn fields_are_named_and_typed() {
        let mut bytes = vec![0x0a, 33, 5];
        bytes.extend([7u8; 32]);
        bytes.extend([0x10, 0xac, 0x02, 0x22, 0x02, 0x08, 0x05, 0x78, 0x01]);
        let m = message(&bytes, SCHEMA, "m").unwrap();
        assert_eq!(m.encode(), bytes);
        let (_, key) = m.find(FieldKind::X25519Key, 0).unwrap();
        assert_eq!(key.name, "key");
        assert_eq!(key.encode(), [7u8; 32]);
        assert_eq!(m.count(FieldKind::Integer), 2, "n, the nested counter");
        assert_eq!(m.find(FieldKind::Unknown, 0).unwrap().1.name, "unknown-15");
        let (path, _) = m.find(FieldKind::Integer, 1).unwrap();
        assert_eq!(m.parent_flavor(&path), Flavor::Protobuf);
    }

    proptest! {
        #[test]
        fn whatever_parses_writes_back_unchanged(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(m) = message(&bytes, SCHEMA, "m") {
                prop_assert_eq!(m.encode(), bytes);
            }
        }
    }
}
