//! The signal-v3 reference with one planted flaw ([`SignalV3Flaw`]).

use super::mutant_info;
use crate::peers::signal_v3::{initiate_signal_v3, respond_signal_v3};
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
    /// A device's session record keeps one session: a new one (started from the
    /// correspondent's new bundle, or made from its pre-key message) replaces the current one
    /// instead of archiving it. Messages still in flight on the old session are then lost,
    /// and when both devices start a session at once each drops the one the other sends on:
    /// the "bad MAC" sessions that libsignal's record of previous states (and Sesame) exist
    /// to avoid. Only a session set up again (`renew`) shows it; no change to a message does.
    PreviousSessionsDropped,
}

impl SignalV3Flaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [SignalV3Flaw; 2] = [
        SignalV3Flaw::SignedPreKeyUnchecked,
        SignalV3Flaw::PreviousSessionsDropped,
    ];

    /// The flaw's name in peer names (`reference-signal-v3+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "signed-pre-key-unchecked",
            SignalV3Flaw::PreviousSessionsDropped => "previous-sessions-dropped",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "a signed pre-key's signature not verified",
            SignalV3Flaw::PreviousSessionsDropped => "a new session drops the current one",
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
        let _ = init;
        Ok(respond_signal_v3(
            rng,
            self.flaw == SignalV3Flaw::PreviousSessionsDropped,
        ))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let check_signature = self.flaw != SignalV3Flaw::SignedPreKeyUnchecked;
        let drop_previous = self.flaw == SignalV3Flaw::PreviousSessionsDropped;
        initiate_signal_v3(bundle, rng, check_signature, drop_previous)
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
