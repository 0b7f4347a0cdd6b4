//! double-ratchet-2, in its own wire format (family `dr2`).
//!
//! The crate signals every error by panicking (`unwrap` on a failed AEAD, a bad header, a
//! skip beyond its MAX_SKIP of 100) and draws its randomness from the OS, so it is compared
//! on outcomes only. Each call runs under [`guarded`](super::guarded); the panic becomes a
//! finding and the party, in whatever state the panic left it, stays in the run.
//!
//! Wire framing (the adapter's, since the crate returns a header, a ciphertext and a nonce
//! separately): `header length (u8) || bincode header || nonce (12) || AES-GCM-SIV ciphertext
//! with its 16-byte tag`.

use crate::dr2_codec::Dr2Codec;
use double_ratchet_2::header::Header;
use double_ratchet_2::ratchet::Ratchet;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};
use x25519_dalek::{PublicKey, StaticSecret};

/// double-ratchet-2's MAX_SKIP, from its source.
const DR2_MAX_SKIP: u32 = 100;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Offset of the ratchet key inside the bincode header, after its u64 length.
const DR2_KEY_AT: usize = 8;

/// double-ratchet-2 0.4.0-pre.2.
pub struct DoubleRatchet2;

struct Dr2Party(Ratchet<StaticSecret>);

impl Peer for DoubleRatchet2 {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "double-ratchet-2".into(),
            version: "double-ratchet-2 0.4.0-pre.2".into(),
            family: Family::DR2,
            limits: Limits {
                max_skip: DR2_MAX_SKIP,
                max_stored: None,
                max_stored_per_chain: None,
                when_full: WhenFull::Unbounded,
                window: None,
                max_chains: None,
            },
            capabilities: Capabilities {
                injectable_rng: false,
                export_state: false,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        init: &SessionInit,
        _rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (ratchet, public) = Ratchet::<StaticSecret>::init_bob(init.shared_secret);
        Ok((Box::new(Dr2Party(ratchet)), public.as_bytes().to_vec()))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        _rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bob: [u8; 32] = bundle.try_into().map_err(|_| {
            Reject::new(
                RejectClass::Malformed,
                format!("expected a 32-byte public key, got {} bytes", bundle.len()),
            )
        })?;
        let ratchet = Ratchet::<StaticSecret>::init_alice(init.shared_secret, PublicKey::from(bob));
        Ok(Box::new(Dr2Party(ratchet)))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        let header_end = wire
            .first()
            .map_or(0, |&n| (1 + n as usize).min(wire.len()));
        let tag_start = wire.len().saturating_sub(TAG_LEN).max(header_end);
        WireLayout {
            header: 0..header_end,
            body: header_end..tag_start,
            mac: tag_start..wire.len(),
            // bincode writes the header's key as a u64 length (32) and the 32 bytes.
            ratchet_key: (header_end >= 1 + DR2_KEY_AT + 32)
                .then_some(1 + DR2_KEY_AT..1 + DR2_KEY_AT + 32),
        }
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&Dr2Codec)
    }
}

impl Party for Dr2Party {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let (header, ct, nonce) = self.0.ratchet_encrypt(plaintext, ad);
        let header = header.concat(b"");
        let len = u8::try_from(header.len()).map_err(|_| {
            Reject::new(
                RejectClass::Other,
                format!("expected a header under 256 bytes, got {}", header.len()),
            )
        })?;
        let mut wire = Vec::with_capacity(1 + header.len() + NONCE_LEN + ct.len());
        wire.push(len);
        wire.extend_from_slice(&header);
        wire.extend_from_slice(&nonce);
        wire.extend_from_slice(&ct);
        Ok(wire)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let malformed = |what: &str| {
            Reject::new(
                RejectClass::Malformed,
                format!("expected {what} in a {}-byte message", wire.len()),
            )
        };
        let (&len, rest) = wire
            .split_first()
            .ok_or_else(|| malformed("a header length"))?;
        let len = len as usize;
        if rest.len() < len + NONCE_LEN {
            return Err(malformed("a header and a nonce"));
        }
        let (header, rest) = rest.split_at(len);
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce);
        let header = Header::<PublicKey>::from(header);
        Ok(self.0.ratchet_decrypt(&header, ct, &n, ad))
    }
}
