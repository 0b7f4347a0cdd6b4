//! The Olm reference with one planted flaw ([`OlmFlaw`]).

use super::{mutant_info, Rewriting};
use crate::olm::message::{NormalMessage, PreKeyMessage};
use crate::olm_wire;
use crate::peers::olm::initiate_olm;
use crate::peers::ReferenceOlm;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};

/// A planted flaw of the Olm reference. The doc of each variant says which real bug it
/// models and what an attacker gains from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum OlmFlaw {
    /// The MAC is checked over the message written again from the fields the reader parsed,
    /// not over the bytes received (a reader that decodes into a struct and authenticates
    /// its re-encoding). Models vodozemac's Olm, which takes a chain index written in more
    /// bytes than needed (listed in ci/expectations.json). The attacker makes copies of any
    /// message that the receiver takes for the original (an overlong integer, an unknown
    /// field, a duplicated field whose last copy wins), past any replay cache or
    /// deduplication keyed on the bytes; a bit flip of a covered field still fails the MAC.
    MacOverReencoding,
    /// The initiator takes a responder's identity key or one-time key of low order without
    /// the check for an all-zero X25519 output (RFC 7748 §6.1): the triple DH's parts with
    /// such a key are all zero. Models libolm, which does not check (the reference refuses,
    /// vodozemac since 0.10.0). A key server that publishes low-order identity and one-time
    /// keys for the responder knows the whole shared secret and reads the session.
    LowOrderBundleKeyAccepted,
}

impl OlmFlaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [OlmFlaw; 2] = [
        OlmFlaw::MacOverReencoding,
        OlmFlaw::LowOrderBundleKeyAccepted,
    ];

    /// The flaw's name in peer names (`reference-olm+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            OlmFlaw::MacOverReencoding => "mac-over-reencoding",
            OlmFlaw::LowOrderBundleKeyAccepted => "low-order-bundle-key-accepted",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            OlmFlaw::MacOverReencoding => "MAC checked over the parsed fields re-encoded",
            OlmFlaw::LowOrderBundleKeyAccepted => "a low-order identity or one-time key accepted",
        }
    }
}

/// The Olm reference with one planted flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutantOlm {
    flaw: OlmFlaw,
}

impl MutantOlm {
    /// The Olm reference with `flaw` planted.
    pub fn new(flaw: OlmFlaw) -> Self {
        MutantOlm { flaw }
    }

    /// The mutant's party: the reference's, reading through the flaw where it is a reader's.
    fn party(&self, inner: Box<dyn Party>) -> Box<dyn Party> {
        match self.flaw {
            OlmFlaw::MacOverReencoding => Box::new(Rewriting::wrap(inner, reencoded)),
            OlmFlaw::LowOrderBundleKeyAccepted => inner,
        }
    }
}

/// An Olm wire message as a reader that re-encodes what it parsed sees it: the normal
/// message (or the pre-key message and the normal message it embeds) written again from its
/// fields, the MAC kept; `None` where it does not parse (the reference then refuses it as
/// it came).
fn reencoded(wire: &[u8]) -> Option<Vec<u8>> {
    let (type_byte, bytes) = olm_wire::split_olm_wire(wire).ok()?;
    let message = if type_byte == olm_wire::PRE_KEY {
        let pre_key = PreKeyMessage::parse(bytes).ok()?;
        let inner = NormalMessage::parse(pre_key.message).ok()?.reencoded();
        pre_key.reencoded(&inner)
    } else {
        NormalMessage::parse(bytes).ok()?.reencoded()
    };
    Some(olm_wire::olm_wire(type_byte, &message))
}

impl Peer for MutantOlm {
    fn info(&self) -> PeerInfo {
        mutant_info(ReferenceOlm.info(), self.flaw.name())
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = ReferenceOlm.respond(init, rng)?;
        Ok((self.party(party), bundle))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let refuse_low_order = self.flaw != OlmFlaw::LowOrderBundleKeyAccepted;
        Ok(self.party(initiate_olm(bundle, rng, refuse_low_order)?))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ReferenceOlm.layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        ReferenceOlm.codec()
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        Ok(self.party(ReferenceOlm.restore(state, rng)?))
    }
}
