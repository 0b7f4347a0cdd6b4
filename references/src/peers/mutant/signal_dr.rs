//! The `signal-dr` reference with one planted flaw.
//!
//! A [`MutantReference`] is the bundled `signal-dr` reference built with one [`Flaw`] of its
//! catalogue. It says it is the reference (same family, limits and capabilities, so the
//! oracle holds it to the reference's contract) under the name `reference+<flaw>`, and its
//! randomness is injected the same way, so that wherever the flaw does not act it produces
//! the reference's wire bytes. It is never bundled: only `selftest` and the tests build one.

use crate::peers::signal_dr::ReferenceParty;
use crate::peers::ReferenceSignalDr;
use crate::signal_dr::{DoubleRatchet, Flaw, KeyPair, RootKey};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};

/// The reference with one planted flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutantReference {
    flaw: Flaw,
}

impl MutantReference {
    /// The reference with `flaw` planted.
    pub fn new(flaw: Flaw) -> Self {
        MutantReference { flaw }
    }

    /// The planted flaw.
    pub fn flaw(&self) -> Flaw {
        self.flaw
    }

    /// One mutant per flaw of the catalogue, in catalogue order.
    pub fn all() -> Vec<MutantReference> {
        Flaw::ALL.into_iter().map(MutantReference::new).collect()
    }

    /// The mutant's peer name: `reference+<flaw>`.
    pub fn name_of(flaw: Flaw) -> String {
        format!("reference+{}", flaw.name())
    }
}

impl Peer for MutantReference {
    fn info(&self) -> PeerInfo {
        let mut info = ReferenceSignalDr.info();
        info.name = Self::name_of(self.flaw);
        info.version = format!("{} with the planted flaw {}", info.version, self.flaw);
        info
    }

    fn respond(
        &self,
        init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let pair = KeyPair::generate(&mut rng);
        let bundle = pair.public().to_vec();
        let party = DoubleRatchet::init_bob_with_flaw_for_testing_only(
            RootKey::from_bytes(init.shared_secret),
            pair,
            rng,
            self.flaw,
        );
        Ok((Box::new(mutant_party(party)), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bob = if self.flaw == Flaw::LowOrderKeyAccepted {
            crate::peers::signal_dr_bundle(bundle)?
        } else {
            crate::peers::reference_signal_dr_bundle(bundle)?
        };
        let party = DoubleRatchet::init_alice_with_flaw_for_testing_only(
            RootKey::from_bytes(init.shared_secret),
            bob,
            rng,
            self.flaw,
        );
        Ok(Box::new(mutant_party(party)))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceSignalDr.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&crate::codec::SignalDrCodec)
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let party = DoubleRatchet::restore_flawed_state_for_testing_only(state, rng, self.flaw)?;
        Ok(Box::new(mutant_party(party)))
    }
}

/// A mutant's party: the reference's, exporting the state its flaw keeps as well.
fn mutant_party(ratchet: DoubleRatchet<BoxRng>) -> ReferenceParty {
    ReferenceParty::with_export(ratchet, DoubleRatchet::export_flawed_state_for_testing_only)
}
