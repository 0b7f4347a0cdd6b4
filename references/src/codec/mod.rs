//! The codecs of the bundled families: each parses its family's wire messages (and bundles,
//! where they have a structure worth attacking) into typed fields
//! ([`ratchet_bench_core::codec`]), and writes back exactly the bytes it parsed. Their tests
//! round-trip every message the references and the real peers of the family produce.

mod mls;
mod olm;
mod signal;
mod signal_dr;

pub use mls::MlsCodec;
pub use olm::{MegolmCodec, OlmCodec};
pub use signal::{LibsignalCodec, SignalV3Codec};
pub use signal_dr::SignalDrCodec;

use ratchet_bench_core::codec::protobuf::{self, SchemaField};
use ratchet_bench_core::codec::{Codec, CodecError, FieldKind, Flavor, IntEncoding, Message, Node};

/// The codec of a built-in family, by the family's name.
pub fn for_family(name: &str) -> Option<&'static dyn Codec> {
    match name {
        "signal-dr" => Some(&SignalDrCodec),
        "olm" => Some(&OlmCodec),
        "megolm" => Some(&MegolmCodec),
        "signal-v3" => Some(&SignalV3Codec),
        "libsignal" => Some(&LibsignalCodec),
        "mls" => Some(&MlsCodec),
        _ => None,
    }
}

/// Splits `n` bytes off the front of `rest`, or says which field is short.
fn take<'a>(
    rest: &mut &'a [u8],
    n: usize,
    what: &str,
    field: &str,
) -> Result<&'a [u8], CodecError> {
    if rest.len() < n {
        return Err(CodecError::new(
            what,
            format!("{field}: expected {n} bytes, got {}", rest.len()),
        ));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

/// A message of `nodes`.
fn message(nodes: Vec<Node>) -> Message {
    Message { nodes }
}

/// A one-byte integer field `name` of `kind` (a wire's type, a message's version).
fn byte_node(name: &str, kind: FieldKind, value: u8) -> Node {
    Node::int(name, kind, u64::from(value), IntEncoding::FixedBe(1))
}

/// A pre-key message as Olm and libsignal write it: a version byte, then the protobuf payload
/// `schema` describes (`what` names it in errors).
fn versioned_pre_key(
    mut rest: &[u8],
    what: &'static str,
    schema: &[SchemaField],
) -> Result<[Node; 2], CodecError> {
    let version = take(&mut rest, 1, what, "version")?[0];
    Ok([
        byte_node("version", FieldKind::Version, version),
        Node::seq(
            "pre-key-payload",
            FieldKind::Message,
            Flavor::Protobuf,
            protobuf::parse(rest, schema, what)?,
        ),
    ])
}
