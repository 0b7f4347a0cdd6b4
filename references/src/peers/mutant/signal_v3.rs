//! The signal-v3 reference with one planted flaw ([`SignalV3Flaw`]).

use super::mutant_info;
use crate::peers::signal_v3::{initiate_signal_v3, respond_signal_v3};
use crate::peers::ReferenceSignalV3;
use crate::signal_v3;
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
    /// A device never replenishes its one-time pre-keys: the bundles it publishes after its
    /// first offer the signed pre-key alone, so a session set up again rests on the identity
    /// and signed pre-keys that a copy of the device's state taken before already holds
    /// (X3DH, section 4.5: the one-time pre-key is what keeps a new session from an earlier
    /// compromise of the signed pre-key). An attacker who once copied the device reads every
    /// session set up with it afterwards. Every session works: on the mutant alone only the
    /// security oracle's copy, tried on a session set up after it was taken, shows it (beside
    /// the reference, the new session's pre-key message also differs: it names no one-time
    /// pre-key).
    OneTimePreKeysNotReplenished,
}

impl SignalV3Flaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [SignalV3Flaw; 3] = [
        SignalV3Flaw::SignedPreKeyUnchecked,
        SignalV3Flaw::PreviousSessionsDropped,
        SignalV3Flaw::OneTimePreKeysNotReplenished,
    ];

    /// The flaw's name in peer names (`reference-signal-v3+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "signed-pre-key-unchecked",
            SignalV3Flaw::PreviousSessionsDropped => "previous-sessions-dropped",
            SignalV3Flaw::OneTimePreKeysNotReplenished => "one-time-pre-keys-not-replenished",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            SignalV3Flaw::SignedPreKeyUnchecked => "a signed pre-key's signature not verified",
            SignalV3Flaw::PreviousSessionsDropped => "a new session drops the current one",
            SignalV3Flaw::OneTimePreKeysNotReplenished => "later bundles offer no one-time pre-key",
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

    /// Plants the party-level flaws in a party this mutant made.
    fn plant(&self, party: &mut signal_v3::Party) {
        match self.flaw {
            SignalV3Flaw::PreviousSessionsDropped => {
                party.drop_previous_sessions_for_testing_only()
            }
            SignalV3Flaw::OneTimePreKeysNotReplenished => {
                party.stop_replenishing_for_testing_only()
            }
            SignalV3Flaw::SignedPreKeyUnchecked => {}
        }
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
        Ok(respond_signal_v3(rng, |p| self.plant(p)))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let check_signature = self.flaw != SignalV3Flaw::SignedPreKeyUnchecked;
        initiate_signal_v3(bundle, rng, check_signature, |p| self.plant(p))
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
