//! Where a `PublicMessage`'s membership tag lies, so that a schedule can flip one of its bits.
//!
//! An `MLSMessage` carrying a `PublicMessage` from a member reads (RFC 9420 §6.2, TLS
//! presentation language with the variable-length integers of §2.1.2):
//!
//! ```text
//! version (u16) || wire_format (u16, 1) || group_id<V> || epoch (u64)
//! || sender_type (u8, 1 = member) || leaf_index (u32) || ... || membership_tag<V>
//! ```
//!
//! The membership tag, a MAC of the cipher suite's hash (32, 48 or 64 bytes), is the last
//! field of a member's `PublicMessage`, so it is found from the end: the tag's bytes preceded
//! by their length as a variable-length integer.

use std::ops::Range;

/// `wire_format` of a `PublicMessage` (RFC 9420 §6).
const PUBLIC_MESSAGE: u16 = 1;
/// `sender_type` of a member (RFC 9420 §6).
const MEMBER: u8 = 1;
/// MAC lengths of the registered cipher suites' hashes (SHA-256, SHA-384, SHA-512).
const TAG_LENGTHS: [usize; 3] = [32, 48, 64];

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

/// The minimal encoding of `len` as a variable-length integer (below 2^14).
fn length_prefix(len: usize) -> Vec<u8> {
    if len < 64 {
        vec![len as u8]
    } else {
        vec![0x40 | (len >> 8) as u8, (len & 0xff) as u8]
    }
}

/// Whether the bytes are a `PublicMessage` sent by a member.
pub fn is_public_from_member(wire: &[u8]) -> bool {
    let Some(format) = wire.get(2..4) else {
        return false;
    };
    if u16::from_be_bytes([format[0], format[1]]) != PUBLIC_MESSAGE {
        return false;
    }
    let mut at = 4;
    let Some(group_id) = varint(wire, &mut at) else {
        return false;
    };
    wire.get(at + group_id + 8) == Some(&MEMBER)
}

/// The range of a member's `PublicMessage`'s membership tag, or `None` when the bytes are
/// not such a message.
pub fn membership_tag(wire: &[u8]) -> Option<Range<usize>> {
    if !is_public_from_member(wire) {
        return None;
    }
    TAG_LENGTHS.iter().find_map(|&len| {
        let prefix = length_prefix(len);
        let start = wire.len().checked_sub(len)?;
        let before = start.checked_sub(prefix.len())?;
        (wire[before..start] == prefix[..]).then_some(start..wire.len())
    })
}

/// A copy of `wire` with bit `bit` (modulo the tag's size) of its membership tag flipped, or
/// `None` when it has none.
pub fn flip_tag_bit(wire: &[u8], bit: u16) -> Option<Vec<u8>> {
    let range = membership_tag(wire)?;
    let bits = range.len() * 8;
    let bit = usize::from(bit) % bits;
    let mut copy = wire.to_vec();
    copy[range.start + bit / 8] ^= 0x80 >> (bit % 8);
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member's PublicMessage in suite 1: group id "g", epoch 3, leaf 2, some content,
    /// then a 32-byte tag.
    fn public_message() -> Vec<u8> {
        let mut wire = vec![0, 1, 0, 1, 1, b'g'];
        wire.extend_from_slice(&3u64.to_be_bytes());
        wire.push(MEMBER);
        wire.extend_from_slice(&2u32.to_be_bytes());
        wire.extend_from_slice(&[0, 3, 0xaa, 0xbb]);
        wire.push(32);
        wire.extend_from_slice(&[0x5a; 32]);
        wire
    }

    #[test]
    fn the_tag_of_a_members_public_message_is_its_last_32_bytes() {
        let wire = public_message();
        assert_eq!(membership_tag(&wire), Some(wire.len() - 32..wire.len()));
        let flipped = flip_tag_bit(&wire, 8 * 32 + 9).unwrap();
        let differing: Vec<usize> = (0..wire.len()).filter(|&i| wire[i] != flipped[i]).collect();
        assert_eq!(differing, vec![wire.len() - 32 + 1]);
        assert_eq!(flipped[wire.len() - 31] ^ wire[wire.len() - 31], 0x40);
    }

    #[test]
    fn other_messages_have_no_tag() {
        let mut wire = public_message();
        wire[3] = 2; // a PrivateMessage
        assert_eq!(membership_tag(&wire), None);
        let mut wire = public_message();
        wire[14] = 2; // sent by an external sender: no membership tag
        assert_eq!(membership_tag(&wire), None);
        assert_eq!(membership_tag(&[0, 1]), None);
        let mut wire = public_message();
        let at = wire.len() - 33;
        wire[at] = 31; // the length before the last 32 bytes is wrong
        assert_eq!(membership_tag(&wire), None);
    }
}
