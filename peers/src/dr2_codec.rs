//! double-ratchet-2's wire as the adapter frames it: `header length (u8) || bincode header ||
//! nonce (12) || AES-GCM-SIV ciphertext with its 16-byte tag`. The header is bincode 1's
//! default encoding of the crate's `Header` (little-endian, lengths as u64): the public key
//! as a byte vector (u64 length, 32 bytes), the associated data as an `Option<Vec<u8>>` (one
//! tag byte, then a u64 length and the bytes), PN and N as u64. The header is authenticated
//! only as the AEAD's associated data, so every field is under the tag.

use ratchet_bench_core::codec::{
    Body, Codec, CodecError, FieldKind, Flavor, IntEncoding, Message, Node,
};

const WHAT: &str = "dr2 message";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The `dr2` codec.
pub struct Dr2Codec;

fn take<'a>(rest: &mut &'a [u8], n: usize, field: &str) -> Result<&'a [u8], CodecError> {
    if rest.len() < n {
        return Err(CodecError::new(
            WHAT,
            format!("{field}: expected {n} bytes, got {}", rest.len()),
        ));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn u64_node(rest: &mut &[u8], name: &str, kind: FieldKind) -> Result<Node, CodecError> {
    let b = take(rest, 8, name)?;
    let v = IntEncoding::FixedLe(8).decode(b).map_or(0, |d| d.0);
    Ok(Node::int(name, kind, v, IntEncoding::FixedLe(8)))
}

/// A bincode byte vector: u64 length, then the bytes.
fn vector(rest: &mut &[u8], name: &str, kind: FieldKind) -> Result<Node, CodecError> {
    let b = take(rest, 8, name)?;
    let len = IntEncoding::FixedLe(8).decode(b).map_or(0, |d| d.0);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let value = take(rest, len, name)?;
    Ok(Node {
        name: name.into(),
        kind: FieldKind::Length,
        body: Body::Sized {
            enc: IntEncoding::FixedLe(8),
            raw: None,
            content: vec![Node::bytes(name, kind, value)],
        },
    })
}

fn header(mut rest: &[u8]) -> Result<Vec<Node>, CodecError> {
    let mut nodes = vec![vector(&mut rest, "ratchet-key", FieldKind::X25519Key)?];
    let tag = take(&mut rest, 1, "ad-present")?[0];
    nodes.push(Node::int(
        "ad-present",
        FieldKind::Type,
        u64::from(tag),
        IntEncoding::FixedLe(1),
    ));
    if tag == 1 {
        nodes.push(vector(&mut rest, "ad", FieldKind::Opaque)?);
    }
    nodes.push(u64_node(&mut rest, "previous-counter", FieldKind::Integer)?);
    nodes.push(u64_node(&mut rest, "counter", FieldKind::Integer)?);
    if !rest.is_empty() {
        return Err(CodecError::new(
            WHAT,
            format!("header: {} bytes after the counter", rest.len()),
        ));
    }
    Ok(nodes)
}

impl Codec for Dr2Codec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        let mut rest = wire;
        let len = usize::from(take(&mut rest, 1, "header-length")?[0]);
        let head = take(&mut rest, len, "header")?;
        let nonce = take(&mut rest, NONCE_LEN, "nonce")?;
        if rest.len() < TAG_LEN {
            return Err(CodecError::new(
                WHAT,
                format!("tag: expected {TAG_LEN} bytes, got {}", rest.len()),
            ));
        }
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        Ok(Message {
            nodes: vec![
                Node {
                    name: "header".into(),
                    kind: FieldKind::Length,
                    body: Body::Sized {
                        enc: IntEncoding::FixedBe(1),
                        raw: None,
                        content: vec![Node::seq(
                            "header",
                            FieldKind::Message,
                            Flavor::Tls,
                            header(head)?,
                        )],
                    },
                },
                Node::bytes("nonce", FieldKind::Nonce, nonce),
                Node::bytes("ciphertext", FieldKind::Ciphertext, ciphertext),
                Node::bytes("tag", FieldKind::Tag, tag),
            ],
        })
    }

    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        Some(if bundle.len() == 32 {
            Ok(Message {
                nodes: vec![Node::bytes("ratchet-key", FieldKind::X25519Key, bundle)],
            })
        } else {
            Err(CodecError::new(
                "dr2 bundle",
                format!("expected 32 bytes, got {}", bundle.len()),
            ))
        })
    }
}
