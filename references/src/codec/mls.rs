//! MLS's wire (RFC 9420 §6): an `MLSMessage` carrying a `PrivateMessage`, in the TLS
//! presentation language with the variable-length integers of §2.1.2:
//!
//! ```text
//! version (u16) || wire_format (u16) || group_id<V> || epoch (u64) || content_type (u8)
//! || authenticated_data<V> || encrypted_sender_data<V> || ciphertext<V>
//! ```
//!
//! RFC 9420 requires the minimal encoding of every length (§2.1.2), so an overlong one is a
//! second encoding a receiver must refuse.

use super::{message, take};
use ratchet_bench_core::codec::{Body, Codec, CodecError, FieldKind, IntEncoding, Message, Node};

/// The `mls` codec.
pub struct MlsCodec;

/// The MLS versions (`mls10` = 1) and, for the operator, values no version has.
const VERSIONS: &[u64] = &[1, 2, 0xffff];

fn vector(rest: &mut &[u8], what: &str, name: &str, kind: FieldKind) -> Result<Node, CodecError> {
    let (len, n) = IntEncoding::Quic
        .decode(rest)
        .ok_or_else(|| CodecError::new(what, format!("{name}: a length that does not end")))?;
    let raw_len = &rest[..n];
    let raw = (!IntEncoding::Quic.is_minimal(raw_len)).then(|| raw_len.to_vec());
    *rest = &rest[n..];
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let value = take(rest, len, what, name)?;
    Ok(Node {
        name: name.into(),
        kind: FieldKind::Length,
        body: Body::Sized {
            enc: IntEncoding::Quic,
            raw,
            content: vec![Node::bytes(name, kind, value)],
        },
    })
}

impl Codec for MlsCodec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        const WHAT: &str = "MLSMessage";
        let mut rest = wire;
        let fixed = |rest: &mut &[u8], w: u8, name: &str, kind| -> Result<Node, CodecError> {
            let b = take(rest, usize::from(w), WHAT, name)?;
            let v = IntEncoding::FixedBe(w).decode(b).map_or(0, |d| d.0);
            Ok(Node::int(name, kind, v, IntEncoding::FixedBe(w)))
        };
        let mut nodes = vec![
            fixed(&mut rest, 2, "version", FieldKind::Version)?,
            fixed(&mut rest, 2, "wire-format", FieldKind::Type)?,
        ];
        nodes.push(vector(&mut rest, WHAT, "group-id", FieldKind::Opaque)?);
        nodes.push(fixed(&mut rest, 8, "epoch", FieldKind::Integer)?);
        nodes.push(fixed(&mut rest, 1, "content-type", FieldKind::Type)?);
        nodes.push(vector(
            &mut rest,
            WHAT,
            "authenticated-data",
            FieldKind::Opaque,
        )?);
        nodes.push(vector(
            &mut rest,
            WHAT,
            "encrypted-sender-data",
            FieldKind::Ciphertext,
        )?);
        nodes.push(vector(
            &mut rest,
            WHAT,
            "ciphertext",
            FieldKind::Ciphertext,
        )?);
        if !rest.is_empty() {
            return Err(CodecError::new(
                WHAT,
                format!("{} bytes after the ciphertext", rest.len()),
            ));
        }
        Ok(message(nodes))
    }

    fn versions(&self) -> &[u64] {
        VERSIONS
    }
}
