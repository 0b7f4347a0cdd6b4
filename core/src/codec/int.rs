//! How integers are written on the wire, and the encodings an attacker can choose instead.

use serde::{Deserialize, Serialize};

/// An integer encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntEncoding {
    /// Big-endian in a fixed number of bytes (1 to 8).
    FixedBe(u8),
    /// Little-endian in a fixed number of bytes (1 to 8).
    FixedLe(u8),
    /// Protobuf's base-128 varint (LEB128): seven bits a byte, low first, the top bit set on
    /// every byte but the last. Minimal unless `raw` says otherwise.
    Varint,
    /// QUIC's variable-length integer, as MLS writes vector lengths (RFC 9420 §2.1.2): the
    /// top two bits of the first byte give the length (1, 2, 4 or 8 bytes), big-endian.
    Quic,
}

impl IntEncoding {
    /// The largest value the encoding holds.
    pub fn max(self) -> u64 {
        match self {
            IntEncoding::FixedBe(w) | IntEncoding::FixedLe(w) if w >= 8 => u64::MAX,
            IntEncoding::FixedBe(w) | IntEncoding::FixedLe(w) => (1u64 << (8 * u32::from(w))) - 1,
            IntEncoding::Varint => u64::MAX,
            IntEncoding::Quic => (1u64 << 62) - 1,
        }
    }

    /// `value`'s minimal encoding; `None` if it does not fit.
    pub fn encode(self, value: u64) -> Option<Vec<u8>> {
        if value > self.max() {
            return None;
        }
        Some(match self {
            IntEncoding::FixedBe(w) => value.to_be_bytes()[8 - usize::from(w)..].to_vec(),
            IntEncoding::FixedLe(w) => value.to_le_bytes()[..usize::from(w)].to_vec(),
            IntEncoding::Varint => {
                let mut out = Vec::new();
                let mut v = value;
                loop {
                    let byte = (v & 0x7f) as u8;
                    v >>= 7;
                    if v == 0 {
                        out.push(byte);
                        break;
                    }
                    out.push(byte | 0x80);
                }
                out
            }
            IntEncoding::Quic => {
                let width = match value {
                    0..=0x3f => 1,
                    0x40..=0x3fff => 2,
                    0x4000..=0x3fff_ffff => 4,
                    _ => 8,
                };
                quic(value, width)?
            }
        })
    }

    /// An encoding of `value` that takes `extra` more bytes than the minimal one, for the
    /// encodings that have such (varints: a trailing `80 .. 00`; QUIC: the next wider form);
    /// `None` for fixed widths or where no wider form exists.
    pub fn overlong(self, value: u64, extra: u8) -> Option<Vec<u8>> {
        let minimal = self.encode(value)?;
        match self {
            IntEncoding::Varint => {
                let extra = usize::from(extra.max(1));
                let mut out = minimal;
                if let Some(last) = out.last_mut() {
                    *last |= 0x80;
                }
                out.extend(std::iter::repeat_n(0x80, extra - 1));
                out.push(0);
                // A varint holds at most ten bytes.
                (out.len() <= 10).then_some(out)
            }
            IntEncoding::Quic => {
                let widths = [1usize, 2, 4, 8];
                let at = widths.iter().position(|w| *w == minimal.len())?;
                let wider = widths.get(at + usize::from(extra.max(1)))?;
                quic(value, *wider)
            }
            IntEncoding::FixedBe(_) | IntEncoding::FixedLe(_) => None,
        }
    }

    /// Reads one integer from the start of `bytes`: its value and how many bytes it took.
    /// Varints are read whatever their length (up to ten bytes), so that a codec can parse
    /// what an attacker wrote; whether it was minimal is [`IntEncoding::is_minimal`]'s to say.
    pub fn decode(self, bytes: &[u8]) -> Option<(u64, usize)> {
        match self {
            IntEncoding::FixedBe(w) | IntEncoding::FixedLe(w) => {
                let w = usize::from(w);
                let b = bytes.get(..w)?;
                let mut v = 0u64;
                if matches!(self, IntEncoding::FixedBe(_)) {
                    for &x in b {
                        v = (v << 8) | u64::from(x);
                    }
                } else {
                    for &x in b.iter().rev() {
                        v = (v << 8) | u64::from(x);
                    }
                }
                Some((v, w))
            }
            IntEncoding::Varint => {
                let mut v = 0u64;
                for (i, &b) in bytes.iter().take(10).enumerate() {
                    v |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
                    if b & 0x80 == 0 {
                        return Some((v, i + 1));
                    }
                }
                None
            }
            IntEncoding::Quic => {
                let first = *bytes.first()?;
                let width = 1usize << (first >> 6);
                let b = bytes.get(..width)?;
                let mut v = u64::from(first & 0x3f);
                for &x in &b[1..] {
                    v = (v << 8) | u64::from(x);
                }
                Some((v, width))
            }
        }
    }

    /// Whether `raw` is the minimal encoding of the value it holds.
    pub fn is_minimal(self, raw: &[u8]) -> bool {
        self.decode(raw)
            .is_some_and(|(v, n)| n == raw.len() && self.encode(v).as_deref() == Some(raw))
    }
}

fn quic(value: u64, width: usize) -> Option<Vec<u8>> {
    let prefix: u8 = match width {
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        _ => return None,
    };
    let limit = (1u64 << (8 * width - 2)) - 1;
    if value > limit {
        return None;
    }
    let mut out = value.to_be_bytes()[8 - width..].to_vec();
    out[0] |= prefix << 6;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        assert_eq!(IntEncoding::Varint.encode(300).unwrap(), [0xac, 0x02]);
        assert_eq!(IntEncoding::Varint.overlong(0, 1).unwrap(), [0x80, 0x00]);
        assert_eq!(
            IntEncoding::Varint.overlong(1, 2).unwrap(),
            [0x81, 0x80, 0x00]
        );
        // RFC 9000 §16's examples.
        assert_eq!(IntEncoding::Quic.encode(37).unwrap(), [0x25]);
        assert_eq!(IntEncoding::Quic.encode(15293).unwrap(), [0x7b, 0xbd]);
        assert_eq!(IntEncoding::Quic.overlong(37, 1).unwrap(), [0x40, 0x25]);
        assert_eq!(
            IntEncoding::Quic.decode(&[0x9d, 0x7f, 0x3e, 0x7d]),
            Some((494_878_333, 4))
        );
        assert_eq!(IntEncoding::FixedBe(4).encode(1).unwrap(), [0, 0, 0, 1]);
        assert_eq!(IntEncoding::FixedLe(2).encode(1).unwrap(), [1, 0]);
        assert_eq!(IntEncoding::FixedBe(1).encode(256), None);
        assert!(!IntEncoding::Varint.is_minimal(&[0x80, 0x00]));
        assert!(IntEncoding::Varint.is_minimal(&[0x00]));
    }

    proptest! {
        #[test]
        fn every_encoding_reads_back(v in any::<u64>(), w in 1u8..=8, extra in 1u8..3) {
            for enc in [IntEncoding::FixedBe(w), IntEncoding::FixedLe(w), IntEncoding::Varint, IntEncoding::Quic] {
                if let Some(bytes) = enc.encode(v) {
                    prop_assert_eq!(enc.decode(&bytes), Some((v, bytes.len())), "{:?} reads back", enc);
                    prop_assert!(enc.is_minimal(&bytes));
                }
                if let Some(long) = enc.overlong(v, extra) {
                    prop_assert_eq!(enc.decode(&long).map(|d| d.0), Some(v), "{:?} overlong reads back", enc);
                    prop_assert!(!enc.is_minimal(&long));
                }
            }
        }
    }
}
