//! The signal-v3 reference with one planted flaw ([`SignalV3Flaw`]).

use super::mutant_info;
use crate::peers::signal_v3::initiate_signal_v3;
use crate::peers::ReferenceSignalV3;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};

/// A planted flaw of the signal-v3 reference. The doc of each variant says which real bug it
/// models and what an attacker gains from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SignalV3Flaw {
    /// The initiator uses a bundle's signed pre-key without verifying its XEdDSA signature by
    /// the responder's identity key (X3DH §3.3 asks it to abort). A key server substitutes a
    /// pre-key whose private key it holds: the session's secret then rests on the
    /// responder's long-term identity key alone, so whoever learns that key later reads the
    /// session (the forward secrecy that rotating signed pre-keys gives is lost). A bit flip
    /// never reaches a bundle; the attacker's bundle operators (S = 0, a small-order R, all
    /// zeros) do.
    SignedPreKeyUnchecked,
}

impl SignalV3Flaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [SignalV3Flaw; 1] = [SignalV3Flaw::SignedPreKeyUnchecked];

    /// The flaw's name in peer names (`reference-signal-v3+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "signed-pre-key-unchecked",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "a signed pre-key's signature not verified",
        }
    }
}

/// The signal-v3 reference with one planted flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutantSignalV3 {
    flaw: SignalV3Flaw,
}

impl MutantSignalV3 {
    /// The signal-v3 reference with `flaw` planted.
    pub fn new(flaw: SignalV3Flaw) -> Self {
        MutantSignalV3 { flaw }
    }
}

impl Peer for MutantSignalV3 {
    fn info(&self) -> PeerInfo {
        mutant_info(ReferenceSignalV3.info(), self.flaw.name())
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        ReferenceSignalV3.respond(init, rng)
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let check_signature = self.flaw != SignalV3Flaw::SignedPreKeyUnchecked;
        initiate_signal_v3(bundle, rng, check_signature)
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalV3.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ReferenceSignalV3.codec()
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        ReferenceSignalV3.restore(state, rng)
    }
}
