//! The bundled reference as a peer.

use crate::signal_dr::{self, DoubleRatchet, KeyPair, RootKey, HEADER_LEN, MAC_LEN};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, SessionInit, WhenFull,
    WireLayout, Work,
};

/// The bundled `signal-dr` reference.
pub struct ReferenceSignalDr;

impl Peer for ReferenceSignalDr {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference".into(),
            version: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
            family: Family::SIGNAL_DR,
            limits: Limits {
                max_skip: signal_dr::MAX_SKIP,
                max_stored: Some(signal_dr::MAX_STORED),
                max_stored_per_chain: None,
                when_full: WhenFull::Refuse,
                window: None,
                max_chains: None,
            },
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: true,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let pair = KeyPair::generate(&mut rng);
        let bundle = pair.public().to_vec();
        let party = DoubleRatchet::init_bob(RootKey::from_bytes(init.shared_secret), pair, rng);
        Ok((Box::new(ReferenceParty::new(party)), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bob = super::reference_signal_dr_bundle(bundle)?;
        Ok(Box::new(ReferenceParty::new(DoubleRatchet::init_alice(
            RootKey::from_bytes(init.shared_secret),
            bob,
            rng,
        ))))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        signal_dr_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&crate::codec::SignalDrCodec)
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let party = DoubleRatchet::restore_state(state, rng)?;
        Ok(Box::new(ReferenceParty::new(party)))
    }
}

/// A reference party as the bench drives it: the ratchet, and the KDF_CK steps its calls
/// made (read from the reference's per-thread count around each call, on the thread the
/// call runs on), for the bounded-work oracle. The planted-flaw peers use it too, with their
/// own state export.
pub(crate) struct ReferenceParty {
    ratchet: DoubleRatchet<BoxRng>,
    derivations: u64,
    export: fn(&DoubleRatchet<BoxRng>) -> Vec<u8>,
}

impl ReferenceParty {
    fn new(ratchet: DoubleRatchet<BoxRng>) -> Self {
        Self::with_export(ratchet, DoubleRatchet::export_state)
    }

    /// A party whose [`Party::export_state`] is `export` (a mutant's state carries what its
    /// flaw keeps beside the reference's state).
    pub(crate) fn with_export(
        ratchet: DoubleRatchet<BoxRng>,
        export: fn(&DoubleRatchet<BoxRng>) -> Vec<u8>,
    ) -> Self {
        ReferenceParty {
            ratchet,
            derivations: 0,
            export,
        }
    }

    fn counted<T>(&mut self, f: impl FnOnce(&mut DoubleRatchet<BoxRng>) -> T) -> T {
        let before = signal_dr::kdf_ck_calls_on_this_thread();
        let out = f(&mut self.ratchet);
        let spent = signal_dr::kdf_ck_calls_on_this_thread().wrapping_sub(before);
        self.derivations = self.derivations.saturating_add(spent);
        out
    }
}

impl Party for ReferenceParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        Ok(self.counted(|r| r.ratchet_encrypt(plaintext, ad))?)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        Ok(self.counted(|r| r.ratchet_decrypt(wire, ad))?)
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Ok((self.export)(&self.ratchet))
    }

    fn work(&self) -> Option<Work> {
        Some(Work {
            derivations: self.derivations,
            stored_keys: self.ratchet.skipped_len() as u64,
        })
    }
}

/// The `signal-dr` wire layout: 40-byte header, CBC body, 32-byte MAC.
pub fn signal_dr_layout(wire: &[u8]) -> WireLayout {
    let header_end = HEADER_LEN.min(wire.len());
    let mac_start = wire.len().saturating_sub(MAC_LEN).max(header_end);
    WireLayout {
        header: 0..header_end,
        body: header_end..mac_start,
        mac: mac_start..wire.len(),
        ratchet_key: (wire.len() >= 32).then_some(0..32),
    }
}

impl Party for DoubleRatchet<BoxRng> {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        Ok(self.ratchet_encrypt(plaintext, ad)?)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        Ok(self.ratchet_decrypt(wire, ad)?)
    }
}
