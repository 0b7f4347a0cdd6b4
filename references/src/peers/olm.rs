//! The bundled Olm and Megolm references as peers (families `olm` and `megolm`).
//!
//! Both follow the conventions of [`olm_wire`](crate::olm_wire): the Olm bundle is the
//! responder's identity key and its one one-time key, the wire one type byte and the raw
//! message; a Megolm side hands the other its session key (229 bytes, signed); associated
//! data travels bound inside the payload and a payload bound to other data is refused
//! (Auth) with the session left as it was (decryption is planned, the payload checked, then
//! committed).
//!
//! Randomness: every byte comes from the party's injected RNG, in the order and amounts of
//! libolm's C API (see [`crate::olm`] and [`crate::megolm`]):
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
//!
//! State export (for the security oracles): both peers export a party in an encoding of
//! their own, versioned, described in [`crate::olm::state`] (account and
//! session) and [`crate::megolm::state`] (own session, the other's, a session key
//! not yet handed over); the RNG is not part of it, a restored party draws from the one
//! `restore` is given. Truncated or garbled states are refused (malformed) naming the field.
//!
//! Work (for the bounded-work oracle): an Olm party counts its chain-key steps
//! (C_{i,j} to C_{i,j+1}, [`olm::chain_key_advances_on_this_thread`]), refused messages
//! included, and reports its stored skipped keys. A header carries no previous-chain length,
//! so a message touches exactly one receiver chain (an old one it names, or the new one it
//! starts) and costs at most `MAX_MESSAGE_GAP + 1` = 2001 steps (2000 skipped, then its own
//! key's step): the oracle's bound for Olm, `max_skip + 1`, exactly (the Double Ratchet
//! families get `2 * max_skip + 1` for their two chains). Stored keys stay
//! within `MAX_SKIPPED_MESSAGE_KEYS` (40) after every call: the ratchet keeps only the newest
//! 40 of a long gap and evicts the oldest.
//!
//! Megolm does not count work ([`Party::work`] is `None`): its receiver derives no chain
//! keys and stores no keys; one decryption is one [`MegolmRatchet::advance_to`] from the
//! latest or the initial ratchet, at most 256 steps of each of the four parts plus their
//! reseeds (at most 1,027 HMACs, whatever the gap), a bound by construction, and the
//! oracle's bound from its `max_skip` (`u32::MAX`) could never fire.
//!
//! [`MegolmRatchet::advance_to`]: crate::megolm::MegolmRatchet::advance_to

use crate::megolm::{self, InboundSession, OutboundSession};
use crate::olm::{self, Account, MessageType, OlmError, Session};
use crate::olm_wire::{self, OlmBundle};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout, Work,
};

/// The version reports show.
const VERSION: &str = concat!("ratchet-bench ", env!("CARGO_PKG_VERSION"));

/// The bundled Olm reference (family `olm`).
pub struct ReferenceOlm;

/// The bundled Megolm reference (family `megolm`).
pub struct ReferenceMegolm;

/// One side of an Olm session, and the chain-key steps its calls took (read from the
/// reference's per-thread count around each call, on the thread the call runs on).
struct OlmParty {
    account: Account,
    session: Option<Session>,
    rng: BoxRng,
    derivations: u64,
    /// The planted flaw `one-time-key-kept` (`peers::mutant`): the responder never removes
    /// a used one-time key, and a pre-key message of another session starts a new session
    /// in place of the current one. `false` for the reference.
    keep_one_time_keys: bool,
}

impl OlmParty {
    fn new(account: Account, session: Option<Session>, rng: BoxRng) -> Self {
        OlmParty {
            account,
            session,
            rng,
            derivations: 0,
            keep_one_time_keys: false,
        }
    }

    /// Takes a planned inbound session: the one-time key removed, or kept by the flawed
    /// responder (see `keep_one_time_keys`).
    fn commit_inbound(&mut self, pending: olm::account::PendingInbound) -> Session {
        if self.keep_one_time_keys {
            self.account
                .commit_inbound_session_keeping_key_for_testing_only(pending)
        } else {
            self.account.commit_inbound_session(pending)
        }
    }

    /// Whether `bytes`, a pre-key message, starts a session other than the current one that
    /// the flawed responder takes (see `keep_one_time_keys`).
    fn takes_as_new(&self, bytes: &[u8]) -> bool {
        self.keep_one_time_keys
            && self.session.as_ref().is_some_and(|s| {
                olm::message::PreKeyMessage::parse(bytes).is_ok_and(|m| !s.matches(&m))
            })
    }

    /// Runs `f`, adding the chain-key steps it took to the party's count.
    fn counted<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let before = olm::chain_key_advances_on_this_thread();
        let out = f(self);
        let spent = olm::chain_key_advances_on_this_thread().wrapping_sub(before);
        self.derivations = self.derivations.saturating_add(spent);
        out
    }

    fn encrypt_uncounted(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
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

    fn decrypt_uncounted(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let (type_byte, bytes) = olm_wire::split_olm_wire(wire)?;
        let message_type = if type_byte == olm_wire::PRE_KEY {
            MessageType::PreKey
        } else {
            MessageType::Normal
        };
        if message_type == MessageType::PreKey && self.takes_as_new(bytes) {
            let (payload, pending) = self.account.plan_inbound_session(bytes)?;
            let plaintext = olm_wire::unbind_ad(ad, &payload)?;
            self.session = Some(self.commit_inbound(pending));
            return Ok(plaintext);
        }
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
                self.session = Some(self.commit_inbound(pending));
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

impl Peer for ReferenceOlm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-olm".into(),
            version: VERSION.into(),
            family: Family::OLM,
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
        respond_olm(rng, false)
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        initiate_olm(bundle, rng, true)
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::olm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&crate::codec::OlmCodec)
    }

    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        restore_olm(state, rng, false)
    }
}

/// An Olm responder: its account and one one-time key, published as the bundle; with
/// `keep_one_time_keys`, the mutant that never removes a used one.
pub(crate) fn respond_olm(
    mut rng: BoxRng,
    keep_one_time_keys: bool,
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
    let mut party = OlmParty::new(account, None, rng);
    party.keep_one_time_keys = keep_one_time_keys;
    Ok((Box::new(party), bundle.to_bytes()))
}

/// An Olm party from its exported state; with `keep_one_time_keys`, the mutant's.
pub(crate) fn restore_olm(
    state: &[u8],
    rng: BoxRng,
    keep_one_time_keys: bool,
) -> Result<Box<dyn Party>, Reject> {
    let state = olm::state::restore_state(state)?;
    let mut party = OlmParty::new(state.account, state.session, rng);
    party.keep_one_time_keys = keep_one_time_keys;
    Ok(Box::new(party))
}

/// An Olm initiator from the responder's bundle. With `refuse_low_order`, as the reference
/// does, a bundle key of low order is refused: the triple DH with it gives an all-zero part
/// (RFC 7748 §6.1), which libolm does not check; without, the mutant that plants its lack.
pub(crate) fn initiate_olm(
    bundle: &[u8],
    mut rng: BoxRng,
    refuse_low_order: bool,
) -> Result<Box<dyn Party>, Reject> {
    let bundle = OlmBundle::parse(bundle)?;
    for (what, key) in [
        ("identity key", &bundle.identity_key),
        ("one-time key", &bundle.one_time_key),
    ] {
        if refuse_low_order && crate::x25519::is_low_order(key) {
            return Err(OlmError::Malformed(format!(
                "the bundle's {what} {} is of low order: X25519 with it gives an all-zero secret",
                hex::encode(key)
            ))
            .into());
        }
    }
    let account = Account::new(&mut rng);
    let session =
        account.create_outbound_session(&bundle.identity_key, &bundle.one_time_key, &mut rng);
    Ok(Box::new(OlmParty::new(account, Some(session), rng)))
}

impl Party for OlmParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.counted(|p| p.encrypt_uncounted(ad, plaintext))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        self.counted(|p| p.decrypt_uncounted(ad, wire))
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Ok(olm::state::export_state(
            &self.account,
            self.session.as_ref(),
        ))
    }

    fn work(&self) -> Option<Work> {
        Some(Work {
            derivations: self.derivations,
            stored_keys: self
                .session
                .as_ref()
                .map_or(0, |s| s.ratchet().skipped_len() as u64),
        })
    }
}

/// How a Megolm side imports the other's session key: [`InboundSession::import`], or for a
/// mutant its unchecked version.
pub(crate) type Import = fn(&[u8]) -> Result<InboundSession, megolm::MegolmError>;

/// One side of a Megolm session: its own outbound session, and the other side's inbound
/// session once it has the key.
struct MegolmParty {
    own: OutboundSession,
    theirs: Option<InboundSession>,
    handshake: Option<Vec<u8>>,
    import: Import,
}

impl Peer for ReferenceMegolm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "reference-megolm".into(),
            version: VERSION.into(),
            family: Family::MEGOLM,
            // Any index at or after the first known one (see the module doc).
            limits: olm_wire::megolm_limits(u32::MAX),
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
        Ok(respond_megolm(rng, InboundSession::import))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        initiate_megolm(bundle, rng, InboundSession::import)
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::megolm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&crate::codec::MegolmCodec)
    }

    fn restore(&self, state: &[u8], _rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        restore_megolm(state, InboundSession::import)
    }
}

/// A Megolm responder: its outbound session, whose session key is the bundle.
pub(crate) fn respond_megolm(mut rng: BoxRng, import: Import) -> (Box<dyn Party>, Vec<u8>) {
    let own = OutboundSession::new(&mut rng);
    let bundle = own.session_key().0.to_vec();
    let party = MegolmParty {
        own,
        theirs: None,
        handshake: None,
        import,
    };
    (Box::new(party), bundle)
}

/// A Megolm initiator: the responder's session key imported, its own made.
pub(crate) fn initiate_megolm(
    bundle: &[u8],
    mut rng: BoxRng,
    import: Import,
) -> Result<Box<dyn Party>, Reject> {
    let theirs = import(bundle)?;
    let own = OutboundSession::new(&mut rng);
    let handshake = Some(own.session_key().0.to_vec());
    Ok(Box::new(MegolmParty {
        own,
        theirs: Some(theirs),
        handshake,
        import,
    }))
}

/// A Megolm party from its exported state. Megolm draws randomness only when a session is
/// made: a restored party needs none.
pub(crate) fn restore_megolm(state: &[u8], import: Import) -> Result<Box<dyn Party>, Reject> {
    let state = megolm::state::restore_state(state)?;
    Ok(Box::new(MegolmParty {
        own: state.own,
        theirs: state.theirs,
        handshake: state.handshake,
        import,
    }))
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

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Ok(megolm::state::export_state(
            &self.own,
            self.theirs.as_ref(),
            self.handshake.as_deref(),
        ))
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.theirs = Some((self.import)(handshake)?);
        Ok(())
    }
}
