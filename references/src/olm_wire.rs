//! What every Olm and Megolm peer shares, so that any two of them interoperate through the
//! bench: the bundle and handshake bytes, how a message's kind travels, how associated data
//! is bound, and where the regions of a message lie.
//!
//! Neither Olm nor Megolm has associated data. Matrix binds a message's context (room,
//! sender, recipient keys) inside the encrypted payload and checks it after decryption; the
//! adapters do the same with the bench's associated data: the payload is
//! `len(ad) (u32, big endian) || ad || plaintext`, and a decrypted payload whose associated
//! data differs from the receiver's is refused as [`RejectClass::Auth`].
//!
//! Olm (olm.md, "The Olm Message Format"): the responder's bundle is its Curve25519 identity
//! key followed by one of its one-time keys (64 bytes); the first messages of the initiator
//! are pre-key messages until it hears from the responder. On the bench's wire an Olm message
//! is one byte of message type (0 pre-key, 1 normal, as the libraries number them) followed
//! by the message's raw bytes (not base64).
//!
//! Megolm (megolm.md): each side owns an outbound session and hands its session key (the
//! shared format: version 2, message index, the 128-byte ratchet, the Ed25519 public key and a
//! signature over all that, 229 bytes) to the other side: the responder's is its bundle, the
//! initiator's its [`Party::handshake`](ratchet_bench_core::peer::Party::handshake). The wire is the
//! Megolm message's raw bytes.

use ratchet_bench_core::peer::{Limits, Reject, RejectClass, WhenFull, WireLayout};

/// Length of a Curve25519 public key.
pub const KEY_LEN: usize = 32;
/// Length of an Olm bundle: identity key then one-time key.
pub const OLM_BUNDLE_LEN: usize = 2 * KEY_LEN;
/// Length of a Megolm session key in the shared (signed) format (checked by the adapters'
/// tests).
pub const MEGOLM_SESSION_KEY_LEN: usize = 229;
/// Olm's and Megolm's version byte.
pub const VERSION: u8 = 3;
/// Olm and Megolm truncate their HMAC-SHA-256 to this many bytes.
pub const MAC_LEN: usize = 8;
/// An Ed25519 signature, which ends every Megolm message.
pub const SIGNATURE_LEN: usize = 64;

/// The type byte of a pre-key message on the bench's Olm wire.
pub const PRE_KEY: u8 = 0;
/// The type byte of a normal message on the bench's Olm wire.
pub const NORMAL: u8 = 1;

/// The responder's keys an Olm initiator needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OlmBundle {
    /// The responder's Curve25519 identity key.
    pub identity_key: [u8; KEY_LEN],
    /// One of the responder's Curve25519 one-time keys.
    pub one_time_key: [u8; KEY_LEN],
}

impl OlmBundle {
    /// The bundle's bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(OLM_BUNDLE_LEN);
        out.extend_from_slice(&self.identity_key);
        out.extend_from_slice(&self.one_time_key);
        out
    }

    /// Reads a bundle, or says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Self, Reject> {
        if bytes.len() != OLM_BUNDLE_LEN {
            return Err(Reject::new(
                RejectClass::Malformed,
                format!(
                    "an Olm bundle is {OLM_BUNDLE_LEN} bytes (identity key, one-time key), got {}",
                    bytes.len()
                ),
            ));
        }
        let mut identity_key = [0; KEY_LEN];
        let mut one_time_key = [0; KEY_LEN];
        identity_key.copy_from_slice(&bytes[..KEY_LEN]);
        one_time_key.copy_from_slice(&bytes[KEY_LEN..]);
        Ok(OlmBundle {
            identity_key,
            one_time_key,
        })
    }
}

/// A Megolm receiver's limits: only a forward bound. An inbound session keeps the ratchet at
/// the first index it knows and derives any later one on demand, so there is no store of
/// skipped keys, no window and one chain per sender.
pub fn megolm_limits(max_skip: u32) -> Limits {
    Limits {
        max_skip,
        max_stored: None,
        max_stored_per_chain: None,
        when_full: WhenFull::Unbounded,
        window: None,
        max_chains: None,
    }
}

/// An Olm message on the bench's wire: its type byte and the message's bytes.
pub fn olm_wire(message_type: u8, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + message.len());
    out.push(message_type);
    out.extend_from_slice(message);
    out
}

/// Splits the bench's Olm wire into the message type and the message's bytes.
pub fn split_olm_wire(wire: &[u8]) -> Result<(u8, &[u8]), Reject> {
    match wire.split_first() {
        Some((&t, rest)) if t == PRE_KEY || t == NORMAL => Ok((t, rest)),
        Some((&t, _)) => Err(Reject::new(
            RejectClass::Malformed,
            format!("unknown Olm message type {t}"),
        )),
        None => Err(Reject::new(RejectClass::Malformed, "empty Olm message")),
    }
}

/// The payload that carries `plaintext` bound to `ad`.
pub fn bind_ad(ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
    let len = u32::try_from(ad.len()).map_err(|_| {
        Reject::new(
            RejectClass::Other,
            format!("associated data of {} bytes is too long", ad.len()),
        )
    })?;
    let mut out = Vec::with_capacity(4 + ad.len() + plaintext.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ad);
    out.extend_from_slice(plaintext);
    Ok(out)
}

/// The plaintext of a decrypted payload, if it was bound to `ad`.
pub fn unbind_ad(ad: &[u8], payload: &[u8]) -> Result<Vec<u8>, Reject> {
    let refuse = |why: &str| Reject::new(RejectClass::Auth, format!("associated data: {why}"));
    let len = payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| refuse("payload shorter than its length field"))?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(4))
        .filter(|&e| e <= payload.len())
        .ok_or_else(|| refuse("length beyond the payload"))?;
    if &payload[4..end] != ad {
        return Err(refuse("the sender bound other associated data"));
    }
    Ok(payload[end..].to_vec())
}

/// Reads a protobuf varint at `*at`.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// One field of an Olm or Megolm message: its tag and the range of its value.
struct Field {
    tag: u8,
    value: std::ops::Range<usize>,
}

/// The fields of `bytes[start..end]`, or `None` where they do not parse.
fn fields(bytes: &[u8], start: usize, end: usize) -> Option<Vec<Field>> {
    let mut at = start;
    let mut out = Vec::new();
    while at < end {
        let tag = *bytes.get(at)?;
        at += 1;
        let value_start = at;
        match tag & 7 {
            0 => {
                varint(bytes, &mut at)?;
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let s = at;
                at = s.checked_add(len)?;
                if at > end {
                    return None;
                }
                out.push(Field { tag, value: s..at });
                continue;
            }
            _ => return None,
        }
        out.push(Field {
            tag,
            value: value_start..at,
        });
    }
    (at == end).then_some(out)
}

/// The last field of `fields` with `tag`.
fn last(fields: &[Field], tag: u8) -> Option<&Field> {
    fields.iter().rev().find(|f| f.tag == tag)
}

/// Where the header, body and MAC of a normal Olm message at `bytes[start..]` lie.
fn normal_layout(bytes: &[u8], start: usize) -> Option<WireLayout> {
    let mac_start = bytes.len().checked_sub(MAC_LEN)?;
    if mac_start <= start || bytes[start] != VERSION {
        return None;
    }
    let fields = fields(bytes, start + 1, mac_start)?;
    // A field written twice is read as the decoders read it: the last copy wins (libolm's
    // decoder and prost, vodozemac's, both overwrite). Read otherwise, an accepted copy with
    // a second ratchet key would show the security oracles a key the receiver never used.
    let body = last(&fields, 0x22)?.value.clone();
    let ratchet_key = last(&fields, 0x0a)
        .filter(|f| f.value.len() == KEY_LEN)
        .map(|f| f.value.clone());
    Some(WireLayout {
        header: start..body.start,
        body,
        mac: mac_start..bytes.len(),
        ratchet_key,
    })
}

/// Where the regions of a message on the bench's Olm wire lie: the header is everything
/// before the ciphertext (for a pre-key message, its keys and the inner message's header),
/// the MAC the inner message's last 8 bytes. Unparseable bytes give an empty layout.
pub fn olm_layout(wire: &[u8]) -> WireLayout {
    let parsed = match wire.first() {
        Some(&NORMAL) => normal_layout(wire, 1),
        Some(&PRE_KEY) if wire.get(1) == Some(&VERSION) => fields(wire, 2, wire.len())
            .and_then(|f| f.into_iter().rev().find(|f| f.tag == 0x22))
            .and_then(|inner| {
                let mut l = normal_layout(&wire[..inner.value.end], inner.value.start)?;
                l.header.start = 0;
                Some(l)
            }),
        _ => None,
    };
    parsed.unwrap_or_default()
}

/// Where the regions of a Megolm message lie: the header is the version and message index,
/// the body the ciphertext, the MAC the truncated HMAC (the signature after it is left out of
/// all three regions). Unparseable bytes give an empty layout.
pub fn megolm_layout(wire: &[u8]) -> WireLayout {
    let parsed = (|| {
        let sig_start = wire.len().checked_sub(SIGNATURE_LEN)?;
        let mac_start = sig_start.checked_sub(MAC_LEN)?;
        if mac_start == 0 || wire[0] != VERSION {
            return None;
        }
        let fields = fields(wire, 1, mac_start)?;
        let body = last(&fields, 0x12)?.value.clone();
        Some(WireLayout {
            header: 0..body.start,
            body,
            mac: mac_start..sig_start,
            ratchet_key: None,
        })
    })();
    parsed.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_associated_data_round_trips_and_differs_is_refused() {
        let payload = bind_ad(b"room", b"hello").unwrap();
        assert_eq!(unbind_ad(b"room", &payload).unwrap(), b"hello");
        assert_eq!(
            unbind_ad(b"other", &payload).unwrap_err().class,
            RejectClass::Auth
        );
        assert!(unbind_ad(b"", &[0, 0, 0, 9, 1]).is_err());
        assert!(unbind_ad(b"", &[0, 0]).is_err());
    }

    #[test]
    fn olm_wire_and_bundle_parse_back() {
        let bundle = OlmBundle {
            identity_key: [1; 32],
            one_time_key: [2; 32],
        };
        assert_eq!(OlmBundle::parse(&bundle.to_bytes()).unwrap(), bundle);
        assert!(OlmBundle::parse(&[0; 63]).is_err());
        let wire = olm_wire(NORMAL, b"abc");
        assert_eq!(split_olm_wire(&wire).unwrap(), (NORMAL, &b"abc"[..]));
        assert!(split_olm_wire(&[7, 1]).is_err());
        assert!(split_olm_wire(&[]).is_err());
    }

    #[test]
    fn normal_message_layout_follows_the_fields() {
        // Version, ratchet key (0x0A, 32 bytes), chain index (0x10, varint 300),
        // ciphertext (0x22, 5 bytes), then an 8-byte MAC.
        let mut m = vec![NORMAL, VERSION, 0x0a, 32];
        m.extend_from_slice(&[9; 32]);
        m.extend_from_slice(&[0x10, 0xac, 0x02, 0x22, 5]);
        m.extend_from_slice(&[7; 5]);
        m.extend_from_slice(&[8; MAC_LEN]);
        let l = olm_layout(&m);
        assert_eq!(l.ratchet_key, Some(4..36));
        assert_eq!(l.body, 41..46);
        assert_eq!(l.header, 1..41);
        assert_eq!(l.mac, 46..54);
        assert_eq!(olm_layout(&m[..20]), WireLayout::default());
    }

    #[test]
    fn a_field_written_twice_is_read_at_its_last_copy() {
        // Two ratchet keys (9s then 6s), two ciphertexts (5 bytes then 3): libolm's decoder
        // and prost keep the last copy of each, and so does the layout.
        let mut m = vec![NORMAL, VERSION, 0x0a, 32];
        m.extend_from_slice(&[9; 32]);
        m.extend_from_slice(&[0x0a, 32]);
        m.extend_from_slice(&[6; 32]);
        m.extend_from_slice(&[0x22, 5, 7, 7, 7, 7, 7, 0x22, 3, 5, 5, 5]);
        m.extend_from_slice(&[8; MAC_LEN]);
        let l = olm_layout(&m);
        assert_eq!(l.ratchet_key, Some(38..70));
        assert_eq!(&m[l.ratchet_key.clone().unwrap()], &[6; 32]);
        assert_eq!(l.body, 79..82);
        // A last copy that is no key names no ratchet key, though an earlier copy was one.
        let mut short = vec![NORMAL, VERSION, 0x0a, 32];
        short.extend_from_slice(&[9; 32]);
        short.extend_from_slice(&[0x0a, 1, 6, 0x22, 1, 7]);
        short.extend_from_slice(&[8; MAC_LEN]);
        assert_eq!(olm_layout(&short).ratchet_key, None);
    }
}
