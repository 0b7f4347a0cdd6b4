//! The Olm reference with one planted flaw ([`OlmFlaw`]).

use super::{mutant_info, Rewriting};
use crate::olm::message::{NormalMessage, PreKeyMessage};
use crate::olm_wire;
use crate::peers::olm::{initiate_olm, respond_olm, restore_olm};
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
    /// The responder never removes a one-time key once used, and a pre-key message of
    /// another session starts a new session in place of the current one. Models a libolm
    /// application that does not call `olm_remove_one_time_keys` after making an inbound
    /// session (libolm leaves that to the caller). Anyone holding the published bundle
    /// starts sessions from the same one-time key again, so the key protects none of them
    /// once it leaks, and the responder's replies go to the last initiator: the
    /// attacker's `second` step (another initiator from the same bundle) reaches it; no
    /// bit flip or copy of A's messages does.
    OneTimeKeyKept,
}

impl OlmFlaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [OlmFlaw; 3] = [
        OlmFlaw::MacOverReencoding,
        OlmFlaw::LowOrderBundleKeyAccepted,
        OlmFlaw::OneTimeKeyKept,
    ];

    /// The flaw's name in peer names (`reference-olm+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            OlmFlaw::MacOverReencoding => "mac-over-reencoding",
            OlmFlaw::LowOrderBundleKeyAccepted => "low-order-bundle-key-accepted",
            OlmFlaw::OneTimeKeyKept => "one-time-key-kept",
        }
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            OlmFlaw::MacOverReencoding => "MAC checked over the parsed fields re-encoded",
            OlmFlaw::LowOrderBundleKeyAccepted => "a low-order identity or one-time key accepted",
            OlmFlaw::OneTimeKeyKept => "a used one-time key kept for other sessions",
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

    fn keeps_one_time_keys(&self) -> bool {
        self.flaw == OlmFlaw::OneTimeKeyKept
    }

    /// The mutant's party: the reference's, reading through the flaw where it is a reader's.
    fn party(&self, inner: Box<dyn Party>) -> Box<dyn Party> {
        match self.flaw {
            OlmFlaw::MacOverReencoding => Box::new(Rewriting::wrap(inner, reencoded)),
            OlmFlaw::LowOrderBundleKeyAccepted | OlmFlaw::OneTimeKeyKept => inner,
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
        _init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let (party, bundle) = respond_olm(rng, self.keeps_one_time_keys())?;
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
        Ok(self.party(restore_olm(state, rng, self.keeps_one_time_keys())?))
    }
}
