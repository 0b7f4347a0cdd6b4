//! What the MLS peers share: where the regions of a `PrivateMessage` lie, and the
//! associated-data check an application makes.
//!
//! An `MLSMessage` carrying a `PrivateMessage` (RFC 9420 §6.3) reads, in TLS presentation
//! language with the variable-length integers of §2.1.2:
//!
//! ```text
//! version (u16) || wire_format (u16, 2) || group_id<V> || epoch (u64) || content_type (u8)
//! || authenticated_data<V> || encrypted_sender_data<V> || ciphertext<V>
//! ```
//!
//! Everything before the ciphertext's bytes is the cleartext header; the ciphertext ends in
//! the AEAD's 16-byte tag (every cipher suite's AEAD has one that size).

use ratchet_bench_core::peer::{Reject, RejectClass, WireLayout};

const TAG_LEN: usize = 16;
/// `wire_format` of a `PrivateMessage`.
const PRIVATE_MESSAGE: u16 = 2;

/// Reads one variable-length integer (RFC 9420 §2.1.2) at `*at`.
fn varint(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let first = *bytes.get(*at)?;
    let len = match first >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return None,
    };
    let raw = bytes.get(*at..*at + len)?;
    let mut value = usize::from(first & 0x3f);
    for b in &raw[1..] {
        value = (value << 8) | usize::from(*b);
    }
    *at += len;
    Some(value)
}

/// Reads a `<V>` vector at `*at` and returns its bytes' range.
fn vector(bytes: &[u8], at: &mut usize) -> Option<std::ops::Range<usize>> {
    let len = varint(bytes, at)?;
    let start = *at;
    let end = start.checked_add(len)?;
    if end > bytes.len() {
        return None;
    }
    *at = end;
    Some(start..end)
}

/// The fields of a `PrivateMessage` the bench looks at.
struct Fields {
    authenticated_data: std::ops::Range<usize>,
    ciphertext: std::ops::Range<usize>,
}

fn parse(wire: &[u8]) -> Option<Fields> {
    let wire_format = u16::from_be_bytes(wire.get(2..4)?.try_into().ok()?);
    if wire_format != PRIVATE_MESSAGE {
        return None;
    }
    let mut at = 4;
    vector(wire, &mut at)?; // group_id
    at += 8 + 1; // epoch, content_type
    let authenticated_data = vector(wire, &mut at)?;
    vector(wire, &mut at)?; // encrypted_sender_data
    let ciphertext = vector(wire, &mut at)?;
    Some(Fields {
        authenticated_data,
        ciphertext,
    })
}

/// The regions of an MLS `PrivateMessage`; for bytes that do not parse as one, the whole
/// message is the body.
pub(crate) fn layout(wire: &[u8]) -> WireLayout {
    match parse(wire) {
        Some(f) => {
            let mac_start = f
                .ciphertext
                .end
                .saturating_sub(TAG_LEN)
                .max(f.ciphertext.start);
            WireLayout {
                header: 0..f.ciphertext.start,
                body: f.ciphertext.start..mac_start,
                mac: mac_start..f.ciphertext.end,
                ratchet_key: None,
            }
        }
        None => WireLayout {
            header: 0..0,
            body: 0..wire.len(),
            mac: wire.len()..wire.len(),
            ratchet_key: None,
        },
    }
}

/// The application's check of the associated data. MLS carries it inside the message
/// (`authenticated_data`, covered by the AEAD and the sender's signature), so an
/// application compares it with what it expects. The adapters do so before they hand the
/// message to the library, so that a mismatch leaves the group as it was; a message that
/// does not parse goes to the library, whose refusal is the one reported.
pub(crate) fn check_ad(ad: &[u8], wire: &[u8]) -> Result<(), Reject> {
    match parse(wire) {
        Some(f) if wire[f.authenticated_data.clone()] != *ad => Err(Reject::new(
            RejectClass::Auth,
            "the message's authenticated_data is not the associated data the receiver expects",
        )),
        _ => Ok(()),
    }
}

/// A refusal of class `class`, with the library's error after `what`.
pub(crate) fn reject(class: RejectClass, what: &str, e: impl std::fmt::Debug) -> Reject {
    Reject::new(class, format!("{what}: {e:?}"))
}

/// A refusal classed by `class_of` from the library error's variant names.
pub(crate) fn classified(
    class_of: fn(&str) -> RejectClass,
    what: &str,
    e: impl std::fmt::Debug,
) -> Reject {
    let text = format!("{e:?}");
    Reject::new(class_of(&text), format!("{what}: {text}"))
}

/// The member's group, or a refusal before it has taken a Welcome.
pub(crate) fn joined<G>(group: &mut Option<G>) -> Result<&mut G, Reject> {
    group.as_mut().ok_or_else(|| {
        Reject::new(
            RejectClass::UnknownSession,
            "not a member yet: no Welcome taken",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_each_width_parse() {
        let mut at = 0;
        assert_eq!(varint(&[0x25], &mut at), Some(0x25));
        let mut at = 0;
        assert_eq!(varint(&[0x7b, 0xbd], &mut at), Some(15_293));
        assert_eq!(at, 2);
        let mut at = 0;
        assert_eq!(
            varint(&[0x9d, 0x7f, 0x3e, 0x7d], &mut at),
            Some(494_878_333)
        );
        let mut at = 0;
        assert_eq!(varint(&[0xc0], &mut at), None);
    }

    #[test]
    fn a_private_message_splits_into_header_body_and_tag() {
        // version 1, wire_format 2, group_id "g", epoch 7, content_type 1, aad "ad",
        // sender data of 3 bytes, ciphertext of 20 bytes.
        let mut wire = vec![0, 1, 0, 2, 1, b'g'];
        wire.extend_from_slice(&7u64.to_be_bytes());
        wire.push(1);
        wire.extend_from_slice(&[2, b'a', b'd', 3, 9, 9, 9, 20]);
        let header_len = wire.len();
        wire.extend_from_slice(&[0xcc; 20]);
        let l = layout(&wire);
        assert_eq!(l.header, 0..header_len);
        assert_eq!(l.body, header_len..header_len + 4);
        assert_eq!(l.mac, header_len + 4..wire.len());
        assert!(check_ad(b"ad", &wire).is_ok());
        assert_eq!(
            check_ad(b"ae", &wire).map_err(|r| r.class),
            Err(RejectClass::Auth)
        );
        wire.pop();
        assert_eq!(layout(&wire).body, 0..wire.len());
    }
}
