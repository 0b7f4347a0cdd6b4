//! The bundled `signal-v3` reference ([`crate::signal_v3`]) as a peer: the Signal Protocol's
//! version-3 session as libsignal speaks it, with the bench's fixed-layout bundle and its
//! associated data bound in the payload (the shim protocol's `signal-v3` conventions).
//!
//! Its limits are libsignal's (consts.rs): a message may skip at most 25,000 keys of its
//! chain, each receiving chain keeps at most 2,000 skipped keys (the oldest dropped), a state
//! keeps 5 receiving chains. Randomness is the party's injected stream, drawn in the order
//! the family's conventions give, so its bytes are the other injectable peers' bytes.

use crate::signal_v3::{self, ErrorClass, SignalV3Error};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout, Work,
};

/// The version reports show.
const VERSION: &str = concat!("ratchet-bench ", env!("CARGO_PKG_VERSION"));

/// The bundled signal-v3 reference (family `signal-v3`).
pub struct ReferenceSignalV3;

/// The class of a reference refusal, its text beside it.
fn reject(e: SignalV3Error) -> Reject {
    let class = match e.class() {
        ErrorClass::Auth => RejectClass::Auth,
        ErrorClass::Replay => RejectClass::Replay,
        ErrorClass::TooFarAhead => RejectClass::TooFarAhead,
        ErrorClass::Malformed => RejectClass::Malformed,
        ErrorClass::StorageFull => RejectClass::StorageFull,
        ErrorClass::UnknownSession => RejectClass::UnknownSession,
        _ => RejectClass::Other,
    };
    Reject::new(class, e.to_string())
}

/// The party's randomness, as the reference takes it.
fn party_rng(rng: BoxRng) -> signal_v3::BoxRng {
    Box::new(rng)
}

struct V3Party(signal_v3::Party);

impl Peer for ReferenceSignalV3 {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-signal-v3".into(),
            version: VERSION.into(),
            family: Family::SIGNAL_V3,
            limits: Limits {
                max_skip: signal_v3::MAX_FORWARD_JUMPS,
                max_stored: None,
                max_stored_per_chain: Some(signal_v3::MAX_MESSAGE_KEYS as u32),
                when_full: WhenFull::EvictOldest,
                window: None,
                max_chains: Some(signal_v3::MAX_RECEIVER_CHAINS as u32),
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
        _init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        Ok(respond_signal_v3(rng, |_| {}))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        initiate_signal_v3(bundle, rng, true, |_| {})
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        match signal_v3::wire::layout(wire) {
            Some(l) => WireLayout {
                header: l.header,
                body: l.body,
                mac: l.mac,
                ratchet_key: Some(l.ratchet_key),
            },
            None => WireLayout {
                body: 0..wire.len(),
                ..WireLayout::default()
            },
        }
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&crate::codec::SignalV3Codec)
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let party = signal_v3::Party::restore(state, party_rng(rng)).map_err(reject)?;
        Ok(Box::new(V3Party(party)))
    }
}

/// A signal-v3 responder and its bundle; `plant` plants a mutant's flaw in the party (the
/// reference's does nothing).
pub(crate) fn respond_signal_v3(
    rng: BoxRng,
    plant: impl Fn(&mut signal_v3::Party),
) -> (Box<dyn Party>, Vec<u8>) {
    let (mut party, bundle) = signal_v3::Party::respond(party_rng(rng));
    plant(&mut party);
    (Box::new(V3Party(party)), bundle)
}

/// A signal-v3 initiator from the responder's bundle; without `check_signature`, the mutant
/// that trusts the signed pre-key without its signature; `plant` as for
/// [`respond_signal_v3`].
pub(crate) fn initiate_signal_v3(
    bundle: &[u8],
    rng: BoxRng,
    check_signature: bool,
    plant: impl Fn(&mut signal_v3::Party),
) -> Result<Box<dyn Party>, Reject> {
    let party = if check_signature {
        signal_v3::Party::initiate(bundle, party_rng(rng))
    } else {
        signal_v3::Party::initiate_unchecked_for_testing_only(bundle, party_rng(rng))
    };
    let mut party = party.map_err(reject)?;
    plant(&mut party);
    Ok(Box::new(V3Party(party)))
}

impl Party for V3Party {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.encrypt(ad, plaintext).map_err(reject)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        self.0.decrypt(ad, wire).map_err(reject)
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Ok(self.0.export_state())
    }

    fn work(&self) -> Option<Work> {
        let w = self.0.work();
        Some(Work {
            derivations: w.derivations,
            stored_keys: w.stored_keys,
        })
    }

    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        Ok(self.0.publish())
    }

    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        self.0.renew(bundle).map_err(reject)
    }
}
