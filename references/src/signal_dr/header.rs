//! HEADER(dh_pair, pn, n) and its encoding.

use super::error::DecryptError;

/// Length of an encoded header: the ratchet public key and two 32-bit counters.
pub const HEADER_LEN: usize = 40;

/// A message header: the sender's current ratchet public key, the length of its previous
/// sending chain (PN) and the message's number in the current chain (N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The sender's ratchet public key.
    pub dh: [u8; 32],
    /// PN: the number of messages in the sender's previous sending chain.
    pub pn: u32,
    /// N: the message's number in the current sending chain.
    pub n: u32,
}

impl Header {
    /// The profile's encoding: `dh || n (BE) || pn (BE)`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..32].copy_from_slice(&self.dh);
        out[32..36].copy_from_slice(&self.n.to_be_bytes());
        out[36..].copy_from_slice(&self.pn.to_be_bytes());
        out
    }

    /// Splits a wire message into its header and the rest.
    pub fn parse(wire: &[u8]) -> Result<(Header, &[u8]), DecryptError> {
        if wire.len() < HEADER_LEN {
            return Err(DecryptError::Malformed(format!(
                "expected at least a {HEADER_LEN}-byte header, got {} bytes",
                wire.len()
            )));
        }
        let (head, rest) = wire.split_at(HEADER_LEN);
        let mut dh = [0u8; 32];
        dh.copy_from_slice(&head[..32]);
        let n = u32::from_be_bytes([head[32], head[33], head[34], head[35]]);
        let pn = u32::from_be_bytes([head[36], head[37], head[38], head[39]]);
        Ok((Header { dh, pn, n }, rest))
    }

    /// CONCAT(ad, header): the associated data the AEAD authenticates.
    pub fn concat(&self, ad: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(ad.len() + HEADER_LEN);
        out.extend_from_slice(ad);
        out.extend_from_slice(&self.encode());
        out
    }
}
