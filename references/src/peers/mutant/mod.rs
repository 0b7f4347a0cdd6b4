//! The references with one planted flaw each: the peers `ratchet-bench selftest` hunts.
//!
//! The catalogue ([`Planted`]) spans four families. The `signal-dr` flaws
//! ([`Flaw`]) live inside that reference's own functions and model
//! bugs of the ratchet itself. The Olm, Megolm and signal-v3 flaws ([`OlmFlaw`],
//! [`MegolmFlaw`], [`SignalV3Flaw`]) model bugs that only the protocol-aware attacker's
//! operators reach: a second encoding of a field, a low-order key, a non-canonical or
//! missing signature. A bit flip, a cut or an appended byte never makes such an input (a
//! flipped bit of a MAC-covered field fails the MAC whether or not the reader re-encodes,
//! and a flipped bit of a signature or key is almost never a low-order point or S + L).
//!
//! Each flaw is planted where its bug lives: in the reader (what it authenticates or
//! verifies), as a rewrite of the message before the reference's own decryption
//! (a party that rewrites each message), or in the set-up, as a check the reference makes and the mutant leaves
//! out. A mutant says it is the reference of its family (same family, limits and
//! capabilities, so the oracle holds it to the reference's contract) under the name
//! `<reference>+<flaw>`, takes its randomness the same way, and so produces the reference's
//! bytes wherever its flaw does not act. Mutants are never bundled: only `selftest` and the
//! tests build them.

mod megolm;
mod olm;
mod signal_dr;
mod signal_v3;

pub use megolm::{MegolmFlaw, MutantMegolm};
pub use olm::{MutantOlm, OlmFlaw};
pub use signal_dr::MutantReference;
pub use signal_v3::{MutantSignalV3, SignalV3Flaw};

use crate::signal_dr::Flaw;
use ratchet_bench_core::peer::{Family, Party, Peer, PeerInfo, Reject, Work};
use std::fmt;

/// One flaw of the planted-bug catalogue, in the reference of its family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Planted {
    /// A flaw of the `signal-dr` reference.
    SignalDr(Flaw),
    /// A flaw of the Olm reference.
    Olm(OlmFlaw),
    /// A flaw of the Megolm reference.
    Megolm(MegolmFlaw),
    /// A flaw of the `signal-v3` reference.
    SignalV3(SignalV3Flaw),
}

impl Planted {
    /// The whole catalogue: family by family in report order, each in its catalogue order.
    pub fn all() -> Vec<Planted> {
        let mut all: Vec<Planted> = Flaw::ALL.into_iter().map(Planted::SignalDr).collect();
        all.extend(OlmFlaw::ALL.into_iter().map(Planted::Olm));
        all.extend(MegolmFlaw::ALL.into_iter().map(Planted::Megolm));
        all.extend(SignalV3Flaw::ALL.into_iter().map(Planted::SignalV3));
        all
    }

    /// The family whose reference carries the flaw.
    pub fn family(self) -> Family {
        match self {
            Planted::SignalDr(_) => Family::SIGNAL_DR,
            Planted::Olm(_) => Family::OLM,
            Planted::Megolm(_) => Family::MEGOLM,
            Planted::SignalV3(_) => Family::SIGNAL_V3,
        }
    }

    /// The flaw's name, distinct over the whole catalogue.
    pub fn name(self) -> &'static str {
        match self {
            Planted::SignalDr(f) => f.name(),
            Planted::Olm(f) => f.name(),
            Planted::Megolm(f) => f.name(),
            Planted::SignalV3(f) => f.name(),
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            Planted::SignalDr(f) => f.summary(),
            Planted::Olm(f) => f.summary(),
            Planted::Megolm(f) => f.summary(),
            Planted::SignalV3(f) => f.summary(),
        }
    }

    /// The flaw named `name`, if any.
    pub fn from_name(name: &str) -> Option<Planted> {
        Planted::all().into_iter().find(|p| p.name() == name)
    }

    /// The reference of the flaw's family with the flaw planted.
    pub fn mutant(self) -> Box<dyn Peer> {
        match self {
            Planted::SignalDr(f) => Box::new(MutantReference::new(f)),
            Planted::Olm(f) => Box::new(MutantOlm::new(f)),
            Planted::Megolm(f) => Box::new(MutantMegolm::new(f)),
            Planted::SignalV3(f) => Box::new(MutantSignalV3::new(f)),
        }
    }
}

impl fmt::Display for Planted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mutant's info: its reference's, under the name `<reference>+<flaw>`, the flaw in its
/// version.
fn mutant_info(reference: PeerInfo, flaw: &str) -> PeerInfo {
    PeerInfo {
        name: format!("{}+{flaw}", reference.name),
        version: format!("{} with the planted flaw {flaw}", reference.version),
        ..reference
    }
}

/// A party that rewrites every message it is given before the reference's decryption sees
/// it: how a flaw of a reader (what it authenticates, what it verifies) is planted around
/// the reference's own party. `rewrite` gives the bytes the flawed reader would in effect
/// check, or `None` to leave a message as it came.
pub(crate) struct Rewriting {
    inner: Box<dyn Party>,
    rewrite: fn(&[u8]) -> Option<Vec<u8>>,
}

impl Rewriting {
    /// `inner`, reading through `rewrite`.
    pub(crate) fn wrap(inner: Box<dyn Party>, rewrite: fn(&[u8]) -> Option<Vec<u8>>) -> Self {
        Rewriting { inner, rewrite }
    }
}

impl Party for Rewriting {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.inner.encrypt(ad, plaintext)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        match (self.rewrite)(wire) {
            Some(rewritten) => self.inner.decrypt(ad, &rewritten),
            None => self.inner.decrypt(ad, wire),
        }
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        self.inner.handshake()
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        self.inner.export_state()
    }

    fn work(&self) -> Option<Work> {
        self.inner.work()
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.inner.join(handshake)
    }

    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        self.inner.publish()
    }

    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        self.inner.renew(bundle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_found_again() {
        let all = Planted::all();
        let mut names: Vec<&str> = all.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "flaw names are distinct");
        for p in all {
            assert_eq!(Planted::from_name(p.name()), Some(p));
            let info = p.mutant().info();
            assert_eq!(info.family, p.family());
            assert!(
                info.name.ends_with(&format!("+{}", p.name())),
                "{}",
                info.name
            );
        }
    }
}
