//! The message header: the sender's ratchet key and two counters.

use crate::Error;

/// The length of an encoded header.
pub const HEADER_LEN: usize = 40;

/// HEADER(dh, pn, n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The sender's current ratchet public key.
    pub ratchet_key: [u8; 32],
    /// The message's number in the sender's current chain.
    pub n: u32,
    /// How many messages the sender's previous chain held.
    pub pn: u32,
}

impl Header {
    /// `ratchet_key || n (BE) || pn (BE)`.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..32].copy_from_slice(&self.ratchet_key);
        out[32..36].copy_from_slice(&self.n.to_be_bytes());
        out[36..].copy_from_slice(&self.pn.to_be_bytes());
        out
    }

    /// The header at the start of `wire`, and the rest.
    pub fn split(wire: &[u8]) -> Result<(Header, &[u8]), Error> {
        let Some((head, rest)) = wire.split_first_chunk::<HEADER_LEN>() else {
            return Err(Error::Malformed(format!(
                "{} bytes, shorter than a {HEADER_LEN}-byte header",
                wire.len()
            )));
        };
        let word =
            |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let mut ratchet_key = [0u8; 32];
        ratchet_key.copy_from_slice(&head[..32]);
        Ok((
            Header {
                ratchet_key,
                n: word(32),
                pn: word(36),
            },
            rest,
        ))
    }
}
