//! The Megolm reference with one planted flaw ([`MegolmFlaw`]).

use super::{mutant_info, Rewriting};
use crate::megolm::message::SIGNATURE_LEN;
use crate::megolm::InboundSession;
use crate::peers::olm::{initiate_megolm, respond_megolm, restore_megolm, Import};
use crate::peers::ReferenceMegolm;
use curve25519_dalek::Scalar;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};

/// A planted flaw of the Megolm reference. The doc of each variant says which real bug it
/// models and what an attacker gains from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MegolmFlaw {
    /// A message's Ed25519 signature is verified without the check that S is below the
    /// group order L (RFC 8032 §5.1.7), so S and S + L verify alike: the verifier reduces
    /// S, or computes \[S\]B without a range check. Models libolm's Ed25519 (its divergence
    /// from the reference is listed in ci/expectations.json). The attacker makes a second
    /// valid encoding of every message, which a receiver that deduplicates by the bytes or
    /// their hash takes twice; a flipped bit of S is almost never S + L.
    NonCanonicalSignatureAccepted,
    /// A session key is imported without verifying its signature, as if it were the unsigned
    /// export format (libolm's `olm_import_inbound_group_session` where
    /// `olm_init_inbound_group_session` belongs). A session key changed on its way (its
    /// index, its ratchet, its signing key) is taken: the receiver learns nothing at import
    /// and fails, or misattributes, every message of that sender afterwards.
    SessionKeyUnchecked,
}

impl MegolmFlaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [MegolmFlaw; 2] = [
        MegolmFlaw::NonCanonicalSignatureAccepted,
        MegolmFlaw::SessionKeyUnchecked,
    ];

    /// The flaw's name in peer names (`reference-megolm+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            MegolmFlaw::NonCanonicalSignatureAccepted => "non-canonical-signature-accepted",
            MegolmFlaw::SessionKeyUnchecked => "session-key-unchecked",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            MegolmFlaw::NonCanonicalSignatureAccepted => "a signature with S >= L accepted",
            MegolmFlaw::SessionKeyUnchecked => "a session key's signature not verified",
        }
    }
}

/// The Megolm reference with one planted flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutantMegolm {
    flaw: MegolmFlaw,
}

impl MutantMegolm {
    /// The Megolm reference with `flaw` planted.
    pub fn new(flaw: MegolmFlaw) -> Self {
        MutantMegolm { flaw }
    }

    /// How the mutant imports a session key.
    fn import(&self) -> Import {
        match self.flaw {
            MegolmFlaw::SessionKeyUnchecked => InboundSession::import_unchecked_for_testing_only,
            MegolmFlaw::NonCanonicalSignatureAccepted => InboundSession::import,
        }
    }

    /// The mutant's party: the reference's, reading through the flaw where it is a reader's.
    fn party(&self, inner: Box<dyn Party>) -> Box<dyn Party> {
        match self.flaw {
            MegolmFlaw::NonCanonicalSignatureAccepted => {
                Box::new(Rewriting::wrap(inner, s_reduced))
            }
            MegolmFlaw::SessionKeyUnchecked => inner,
        }
    }
}

/// A Megolm message as a verifier that takes any S sees it: the signature's S reduced
/// modulo L; `None` where S is already below L (or the message is too short to be signed).
fn s_reduced(wire: &[u8]) -> Option<Vec<u8>> {
    let start = wire.len().checked_sub(SIGNATURE_LEN / 2)?;
    let s: [u8; 32] = wire[start..].try_into().ok()?;
    let reduced = Scalar::from_bytes_mod_order(s).to_bytes();
    (reduced != s).then(|| {
        let mut out = wire.to_vec();
        out[start..].copy_from_slice(&reduced);
        out
    })
}

impl Peer for MutantMegolm {
    fn info(&self) -> PeerInfo {
        mutant_info(ReferenceMegolm.info(), self.flaw.name())
    }

    fn respond(
        &self,
        _init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = respond_megolm(rng, self.import());
        Ok((self.party(party), bundle))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        Ok(self.party(initiate_megolm(bundle, rng, self.import())?))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceMegolm.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ReferenceMegolm.codec()
    }

    fn restore(&self, state: &[u8], _rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        Ok(self.party(restore_megolm(state, self.import())?))
    }
}
