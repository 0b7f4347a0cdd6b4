//! The `signal-dr` profile's wire: a fixed layout, `dh (32) || n (u32 BE) || pn (u32 BE)`,
//! then the AES-256-CBC ciphertext and the 32-byte HMAC-SHA-256; the bundle is the
//! responder's 32-byte ratchet public key.

use super::{message, take};
use ratchet_bench_core::codec::{Codec, CodecError, FieldKind, IntEncoding, Message, Node};

const MAC_LEN: usize = 32;

/// The `signal-dr` codec.
pub struct SignalDrCodec;

impl Codec for SignalDrCodec {
    fn message(&self, wire: &[u8]) -> Result<Message, CodecError> {
        const WHAT: &str = "signal-dr message";
        let mut rest = wire;
        let key = take(&mut rest, 32, WHAT, "ratchet-key")?;
        let n = take(&mut rest, 4, WHAT, "counter")?;
        let pn = take(&mut rest, 4, WHAT, "previous-counter")?;
        if rest.len() < MAC_LEN {
            return Err(CodecError::new(
                WHAT,
                format!("mac: expected {MAC_LEN} bytes, got {}", rest.len()),
            ));
        }
        let (ciphertext, mac) = rest.split_at(rest.len() - MAC_LEN);
        let int = |name, b: &[u8]| {
            let v = IntEncoding::FixedBe(4).decode(b).map_or(0, |d| d.0);
            Node::int(name, FieldKind::Integer, v, IntEncoding::FixedBe(4))
        };
        Ok(message(vec![
            Node::bytes("ratchet-key", FieldKind::X25519Key, key),
            int("counter", n),
            int("previous-counter", pn),
            Node::bytes("ciphertext", FieldKind::Ciphertext, ciphertext),
            Node::bytes("mac", FieldKind::Tag, mac),
        ]))
    }

    fn bundle(&self, bundle: &[u8]) -> Option<Result<Message, CodecError>> {
        Some(if bundle.len() == 32 {
            Ok(message(vec![Node::bytes(
                "ratchet-key",
                FieldKind::X25519Key,
                bundle,
            )]))
        } else {
            Err(CodecError::new(
                "signal-dr bundle",
                format!("expected 32 bytes, got {}", bundle.len()),
            ))
        })
    }
}
