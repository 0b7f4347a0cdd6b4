//! The bundled Olm and Megolm references as peers (families `olm` and `megolm`).
//!
//! Both follow the conventions of [`olm_wire`](super::olm_wire): the Olm bundle is the
//! responder's identity key and its one one-time key, the wire one type byte and the raw
//! message; a Megolm side hands the other its session key (229 bytes, signed); associated
//! data travels bound inside the payload and a payload bound to other data is refused
//! (Auth) with the session left as it was (decryption is planned, the payload checked, then
//! committed).
//!
//! Randomness: every byte comes from the party's injected RNG, in the order and amounts of
//! libolm's C API (see [`crate::reference::olm`] and [`crate::reference::megolm`]):
//! - Olm `respond`: account (64 bytes: Ed25519 seed, Curve25519 identity key), then one
//!   one-time key (32).
//! - Olm `initiate`: account (64), then the outbound session (64: base key, ratchet key).
//! - Olm `encrypt`: 32 bytes when the side must make a new ratchet key, else none.
//! - Megolm `respond` and `initiate`: the outbound group session (160: ratchet, Ed25519
//!   seed); nothing else.
//!
//! Olm responder: before its first pre-key message it has no session; that message makes
//! the inbound session (its one-time key must be the one in the bundle, which is then
//! removed), later pre-key messages of the same session (same identity, base and one-time
//! keys) decrypt in it, others are UnknownSession, as is a normal message or an encrypt
//! before any session.
//!
//! Limits: Olm as libolm (`MAX_MESSAGE_GAP` 2000, `MAX_SKIPPED_MESSAGE_KEYS` 40 in all,
//! `MAX_RECEIVER_CHAINS` 5, oldest evicted); Megolm has no forward bound and no key store.

use super::olm_wire::{self, OlmBundle};
use crate::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};
use crate::reference::megolm::{InboundSession, OutboundSession};
use crate::reference::olm::{self, Account, MessageType, OlmError, Session};

/// The version reports show.
const VERSION: &str = concat!("ratchet-bench ", env!("CARGO_PKG_VERSION"));

/// The bundled Olm reference (family `olm`).
pub struct ReferenceOlm;

/// The bundled Megolm reference (family `megolm`).
pub struct ReferenceMegolm;

/// One side of an Olm session.
struct OlmParty {
    account: Account,
    session: Option<Session>,
    rng: BoxRng,
}

impl Peer for ReferenceOlm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-olm".into(),
            version: VERSION.into(),
            family: Family::Olm,
            limits: Limits {
                max_skip: olm::MAX_MESSAGE_GAP,
                max_stored: Some(olm::MAX_SKIPPED_MESSAGE_KEYS as u32),
                max_stored_per_chain: None,
                when_full: WhenFull::EvictOldest,
                window: None,
                max_chains: Some(olm::MAX_RECEIVER_CHAINS as u32),
            },
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: false,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let mut account = Account::new(&mut rng);
        let one_time_key = account
            .generate_one_time_keys(1, &mut rng)
            .first()
            .copied()
            .ok_or_else(|| Reject::new(RejectClass::Other, "no one-time key was generated"))?;
        let bundle = OlmBundle {
            identity_key: account.curve25519_key(),
            one_time_key,
        };
        let party = OlmParty {
            account,
            session: None,
            rng,
        };
        Ok((Box::new(party), bundle.to_bytes()))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        mut rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bundle = OlmBundle::parse(bundle)?;
        let account = Account::new(&mut rng);
        let session =
            account.create_outbound_session(&bundle.identity_key, &bundle.one_time_key, &mut rng);
        Ok(Box::new(OlmParty {
            account,
            session: Some(session),
            rng,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::olm_layout(wire)
    }
}

impl Party for OlmParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let session = self.session.as_mut().ok_or_else(|| {
            Reject::from(OlmError::UnknownSession(
                "the responder has no session before the first pre-key message".into(),
            ))
        })?;
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        let (message_type, bytes) = session.encrypt(&payload, &mut self.rng)?;
        let type_byte = match message_type {
            MessageType::PreKey => olm_wire::PRE_KEY,
            MessageType::Normal => olm_wire::NORMAL,
        };
        Ok(olm_wire::olm_wire(type_byte, &bytes))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let (type_byte, bytes) = olm_wire::split_olm_wire(wire)?;
        let message_type = if type_byte == olm_wire::PRE_KEY {
            MessageType::PreKey
        } else {
            MessageType::Normal
        };
        match (&mut self.session, message_type) {
            (Some(session), _) => {
                let (payload, pending) = session.plan_decrypt(message_type, bytes)?;
                let plaintext = olm_wire::unbind_ad(ad, &payload)?;
                session.commit(pending);
                Ok(plaintext)
            }
            (None, MessageType::PreKey) => {
                let (payload, pending) = self.account.plan_inbound_session(bytes)?;
                let plaintext = olm_wire::unbind_ad(ad, &payload)?;
                self.session = Some(self.account.commit_inbound_session(pending));
                Ok(plaintext)
            }
            (None, MessageType::Normal) => Err(OlmError::UnknownSession(
                "a normal message before any session: the responder needs a pre-key message \
                 first"
                    .into(),
            )
            .into()),
        }
    }
}

/// One side of a Megolm session: its own outbound session, and the other side's inbound
/// session once it has the key.
struct MegolmParty {
    own: OutboundSession,
    theirs: Option<InboundSession>,
    handshake: Option<Vec<u8>>,
}

impl Peer for ReferenceMegolm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-megolm".into(),
            version: VERSION.into(),
            family: Family::Megolm,
            // Any index at or after the first known one (see the module doc).
            limits: olm_wire::megolm_limits(u32::MAX),
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: false,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        mut rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let own = OutboundSession::new(&mut rng);
        let bundle = own.session_key().0.to_vec();
        let party = MegolmParty {
            own,
            theirs: None,
            handshake: None,
        };
        Ok((Box::new(party), bundle))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        mut rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let theirs = InboundSession::import(bundle)?;
        let own = OutboundSession::new(&mut rng);
        let handshake = Some(own.session_key().0.to_vec());
        Ok(Box::new(MegolmParty {
            own,
            theirs: Some(theirs),
            handshake,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::megolm_layout(wire)
    }
}

impl Party for MegolmParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        Ok(self.own.encrypt(&payload))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let theirs = self.theirs.as_mut().ok_or_else(|| {
            Reject::new(
                RejectClass::UnknownSession,
                "no inbound Megolm session yet: the initiator's session key has not arrived",
            )
        })?;
        let (payload, _index, pending) = theirs.plan_decrypt(wire)?;
        let plaintext = olm_wire::unbind_ad(ad, &payload)?;
        theirs.commit(pending);
        Ok(plaintext)
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        Ok(self.handshake.take())
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.theirs = Some(InboundSession::import(handshake)?);
        Ok(())
    }
}
