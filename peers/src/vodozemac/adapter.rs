//! vodozemac (Matrix's Rust implementation) as an Olm peer and as a Megolm peer: one body,
//! compiled once per release line against that line's crate (`super::vz`), the API
//! differences between lines in `super::api` (see the parent module).
//!
//! Both follow the conventions of [`olm_wire`](ratchet_bench_references::olm_wire): the Olm bundle is the
//! responder's Curve25519 identity key and one one-time key, the wire one type byte and the
//! raw message; a Megolm side hands the other its session key in the shared signed format;
//! associated data travels bound inside the payload. Both use `SessionConfig::version_1()`,
//! the Olm v1 / Megolm v1 formats with 8-byte truncated MACs that every other peer speaks.
//!
//! vodozemac uses up an Olm message key (and, for the first pre-key message, the one-time
//! key) as it decrypts, before the adapter can check the bound associated data. So that a
//! refusal for other associated data leaves the party as it was (as an AEAD failure would),
//! each Olm decryption first copies the session (or the account) with vodozemac's `pickle`
//! and puts the copy back when the associated data differs.
//!
//! Randomness: vodozemac draws every key from the operating system's RNG, with no way to pass
//! one in, so the [`BoxRng`] the bench hands each party is unused and `injectable_rng` is
//! false. vodozemac is compared on outcomes and by cross-decryption, never on bytes.
//!
//! Limits, from vodozemac's source:
//! - Olm: `src/olm/session/receiver_chain.rs` sets `MAX_MESSAGE_GAP = 2000`: a message whose
//!   chain index is more than 2000 past the next index its receiving chain expects is refused
//!   (`gap > MAX_MESSAGE_GAP`, so a gap of exactly 2000 is still taken: the oracle's
//!   "refused when `n - nr > max_skip`"). The same file sets `MAX_MESSAGE_KEYS = 40`: a chain
//!   keeps the keys of at most 40 skipped messages, the oldest dropped first (it does not even
//!   derive a skipped key more than 40 below the message that skips it). `src/olm/session/
//!   mod.rs` sets `MAX_RECEIVING_CHAINS = 5`: a sixth receiving chain evicts the oldest, with
//!   its skipped keys. An Olm message carries no previous-chain length, so a message of a new
//!   chain never makes vodozemac derive keys of the chain before it; that chain stays kept and
//!   its later messages decrypt from its chain key, within the same bounds.
//! - Megolm: an inbound session keeps the ratchet at its first known index and advances a
//!   copy to any later index (`Ratchet::advance_to` in `src/megolm/ratchet.rs` takes any
//!   `u32`): no forward bound, no store of skipped keys, no per-message deletion (a replay
//!   decrypts again; megolm.md leaves replay detection to the application).
//!
//! Errors map onto the bench's classes by vodozemac's variants (see `olm_class`,
//! `megolm_class`), the detail keeping vodozemac's own text, with one distinction the
//! adapter adds: a message of a receiving chain vodozemac dropped fails its MAC there
//! (vodozemac takes it for a new chain) and is classed Replay, its keys being gone, as the
//! libolm peer does. The enums are matched exhaustively (`super::api`), so a new variant in
//! another version fails to build rather than being classed `Other` unnoticed.
//!
//! Known behaviour the campaign sees: vodozemac checks an Olm MAC, and a Megolm MAC and
//! signature, over a re-encoding of the fields it parsed (`to_mac_bytes`,
//! `to_signature_bytes`), not over the bytes received, so bytes that parse to the same fields
//! (a default-valued field's tag turned into an unknown one) decrypt: reported as an
//! accepted malleation. libolm authenticates the bytes as received.
//!
//! Panics: like every adapter, calls are not wrapped here; the executor runs each call into
//! a peer under `ratchet_bench_core::guard::guarded`, so a vodozemac panic becomes a finding.
//!
//! The fuzzing trap: under `cfg(fuzzing)`, which `cargo fuzz` sets for every crate it
//! builds, vodozemac swaps in `Cipher::verify_mac` / `verify_truncated_mac` that accept every
//! MAC (`src/cipher/mod.rs`) and an `Ed25519PublicKey::verify` that accepts every signature
//! (`src/types/ed25519.rs`). Such a build says so in [`PeerInfo::weakened`].

use super::api::{self, creation_class, olm_class};
use super::vz::megolm::{
    self, GroupSession, InboundGroupSession, MegolmMessage, SessionKey, SessionKeyDecodeError,
};
use super::vz::olm::{self, Account, DecryptionError, MessageType, OlmMessage, Session};
use super::vz::{Curve25519PublicKey, DecodeError};
use super::{RELEASE, VERSION};
use crate::release_name;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};
use ratchet_bench_references::olm_wire::{self, OlmBundle};
use std::collections::VecDeque;

/// `MAX_MESSAGE_GAP` in vodozemac's `src/olm/session/receiver_chain.rs`.
const OLM_MAX_MESSAGE_GAP: u32 = 2000;
/// `MAX_MESSAGE_KEYS` in vodozemac's `src/olm/session/receiver_chain.rs` (per chain).
const OLM_MAX_MESSAGE_KEYS: u32 = 40;
/// `MAX_RECEIVING_CHAINS` in vodozemac's `src/olm/session/mod.rs`.
const OLM_MAX_RECEIVING_CHAINS: u32 = 5;

/// Whether this build has `cfg(fuzzing)`. `cargo fuzz` passes `--cfg fuzzing` to every crate
/// through RUSTFLAGS, so this crate sees the same setting vodozemac was built with. The cfg
/// is not declared to rustc's check-cfg (that needs the manifest's lint table), hence the
/// local allow.
#[allow(unexpected_cfgs)]
const FUZZING_BUILD: bool = cfg!(fuzzing);

/// What [`PeerInfo::weakened`] says of a vodozemac build.
fn weakened() -> Vec<String> {
    if FUZZING_BUILD {
        vec![
            "MAC checks off: built with cfg(fuzzing), under which vodozemac accepts every MAC \
             (and every Ed25519 signature)"
                .to_string(),
        ]
    } else {
        Vec::new()
    }
}

/// A refusal of class `class`: `what` failed with vodozemac's text.
fn reject(class: RejectClass, what: &str, e: impl std::fmt::Display) -> Reject {
    Reject::new(class, format!("{what}: {e}"))
}

/// The class of a Megolm decryption error.
fn megolm_class(e: &megolm::DecryptionError) -> RejectClass {
    use megolm::DecryptionError as E;
    match e {
        E::Signature(_) | E::InvalidMAC(_) => RejectClass::Auth,
        // As for Olm: reached only past a MAC (and signature) check.
        E::InvalidPadding(_) => RejectClass::Auth,
        E::InvalidMACLength(..) => RejectClass::Malformed,
        // An index below the session's first known one: its key was ratcheted away, the
        // "deleted" half of Replay. (The bench imports every session at index 0, so this
        // cannot arise there.)
        E::UnknownMessageIndex(..) => RejectClass::Replay,
    }
}

/// The class of an error reading a Megolm session key.
fn session_key_class(e: &SessionKeyDecodeError) -> RejectClass {
    match e {
        SessionKeyDecodeError::Signature(_) => RejectClass::Auth,
        SessionKeyDecodeError::Version(..)
        | SessionKeyDecodeError::Read(_)
        | SessionKeyDecodeError::Base64(_)
        | SessionKeyDecodeError::PublicKey(_) => RejectClass::Malformed,
    }
}

fn decode_error(what: &str, e: DecodeError) -> Reject {
    reject(RejectClass::Malformed, what, e)
}

/// vodozemac as an Olm peer (family `olm`).
pub struct VodozemacOlm;

/// vodozemac as a Megolm peer (family `megolm`).
pub struct VodozemacMegolm;

/// One side of an Olm session. The responder holds its account until the initiator's first
/// pre-key message makes the session; the initiator has its session from the start.
struct OlmParty {
    account: Account,
    session: Option<Session>,
    chains: ChainBook,
}

impl OlmParty {
    fn session(&mut self) -> Result<&mut Session, Reject> {
        self.session.as_mut().ok_or_else(|| {
            Reject::new(
                RejectClass::UnknownSession,
                "no Olm session yet: the responder has not received a pre-key message",
            )
        })
    }
}

/// A party's state for [`Party::export_state`]: vodozemac's own pickles (its serde
/// formats), beside the adapter's chain book so that a restored copy classes refusals as
/// the original does. The bytes are this as JSON: secrets, never printed.
#[derive(serde::Serialize, serde::Deserialize)]
struct OlmState {
    account: olm::AccountPickle,
    session: Option<olm::SessionPickle>,
    kept: Vec<[u8; 32]>,
    dropped: Vec<[u8; 32]>,
}

/// A Megolm party's state for [`Party::export_state`], as JSON of vodozemac's pickles.
#[derive(serde::Serialize, serde::Deserialize)]
struct MegolmState {
    own: megolm::GroupSessionPickle,
    theirs: Option<megolm::InboundGroupSessionPickle>,
}

/// A state that does not parse, as a refusal naming what it is.
fn bad_state(what: &str, e: serde_json::Error) -> Reject {
    Reject::new(
        RejectClass::Malformed,
        format!("{what} state: expected vodozemac pickles as JSON: {e}"),
    )
}

/// How many dropped chains' ratchet keys the adapter remembers.
const DROPPED_REMEMBERED: usize = 64;

/// The ratchet keys of the receiving chains vodozemac keeps (newest first) and of the ones
/// it dropped. vodozemac takes a message of a dropped chain for one of a new chain, whose
/// keys then fail the MAC (`InvalidMAC`); this book lets the adapter say what happened: the
/// chain's keys are gone, [`RejectClass::Replay`], as a deleted key is.
#[derive(Default)]
struct ChainBook {
    kept: VecDeque<[u8; 32]>,
    dropped: VecDeque<[u8; 32]>,
}

impl ChainBook {
    /// Records a message vodozemac decrypted (and the adapter kept): a new ratchet key
    /// makes a new receiving chain, the oldest beyond `MAX_RECEIVING_CHAINS` going, as
    /// vodozemac's `ChainStore::push` does.
    fn accepted(&mut self, key: [u8; 32]) {
        if self.kept.contains(&key) {
            return;
        }
        self.kept.push_front(key);
        while self.kept.len() > OLM_MAX_RECEIVING_CHAINS as usize {
            if let Some(old) = self.kept.pop_back() {
                self.dropped.push_front(old);
            }
        }
        self.dropped.truncate(DROPPED_REMEMBERED);
    }

    /// The refusal of a decryption that failed with `e` for a message of chain `key`.
    fn refusal(&self, e: &DecryptionError, key: &[u8; 32]) -> Reject {
        match e {
            DecryptionError::InvalidMAC(_) if self.dropped.contains(key) => Reject::new(
                RejectClass::Replay,
                format!(
                    "decrypt: {e} (the message's receiving chain was dropped: vodozemac keeps \
                     {OLM_MAX_RECEIVING_CHAINS})"
                ),
            ),
            _ => reject(olm_class(e), "decrypt", e),
        }
    }
}

/// The ratchet key of an Olm message (of the inner message of a pre-key message).
fn ratchet_key(message: &OlmMessage) -> [u8; 32] {
    match message {
        OlmMessage::Normal(m) => m.ratchet_key().to_bytes(),
        OlmMessage::PreKey(m) => m.message().ratchet_key().to_bytes(),
    }
}

fn config() -> olm::SessionConfig {
    olm::SessionConfig::version_1()
}

impl Peer for VodozemacOlm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: release_name("vodozemac-olm", RELEASE),
            version: VERSION.into(),
            family: Family::OLM,
            limits: Limits {
                max_skip: OLM_MAX_MESSAGE_GAP,
                max_stored: None,
                max_stored_per_chain: Some(OLM_MAX_MESSAGE_KEYS),
                when_full: WhenFull::EvictOldest,
                window: None,
                max_chains: Some(OLM_MAX_RECEIVING_CHAINS),
            },
            capabilities: Capabilities {
                injectable_rng: false,
                export_state: true,
            },
            weakened: weakened(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        _rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let mut account = Account::new();
        let one_time_key = account
            .generate_one_time_keys(1)
            .created
            .first()
            .copied()
            .ok_or_else(|| Reject::new(RejectClass::Other, "no one-time key was generated"))?;
        account.mark_keys_as_published();
        let bundle = OlmBundle {
            identity_key: account.curve25519_key().to_bytes(),
            one_time_key: one_time_key.to_bytes(),
        };
        let party = OlmParty {
            account,
            session: None,
            chains: ChainBook::default(),
        };
        Ok((Box::new(party), bundle.to_bytes()))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        _rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bundle = OlmBundle::parse(bundle)?;
        let account = Account::new();
        let session = api::create_outbound_session(
            &account,
            config(),
            Curve25519PublicKey::from_bytes(bundle.identity_key),
            Curve25519PublicKey::from_bytes(bundle.one_time_key),
        )
        .map_err(|e| reject(creation_class(&e), "create_outbound_session", e))?;
        Ok(Box::new(OlmParty {
            account,
            session: Some(session),
            chains: ChainBook::default(),
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::olm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::OlmCodec)
    }

    fn restore(&self, state: &[u8], _rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let state: OlmState = serde_json::from_slice(state).map_err(|e| bad_state("Olm", e))?;
        Ok(Box::new(OlmParty {
            account: Account::from_pickle(state.account),
            session: state.session.map(Session::from_pickle),
            chains: ChainBook {
                kept: state.kept.into(),
                dropped: state.dropped.into(),
            },
        }))
    }
}

impl Party for OlmParty {
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let state = OlmState {
            account: self.account.pickle(),
            session: self.session.as_ref().map(Session::pickle),
            kept: self.chains.kept.iter().copied().collect(),
            dropped: self.chains.dropped.iter().copied().collect(),
        };
        serde_json::to_vec(&state).map_err(|e| reject(RejectClass::Other, "export", e))
    }

    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        let message = api::encrypt(self.session()?, payload)
            .map_err(|e| reject(RejectClass::Other, "encrypt", e))?;
        let message_type = match message.message_type() {
            MessageType::PreKey => olm_wire::PRE_KEY,
            MessageType::Normal => olm_wire::NORMAL,
        };
        let (_, bytes) = message.to_parts();
        Ok(olm_wire::olm_wire(message_type, &bytes))
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let (message_type, bytes) = olm_wire::split_olm_wire(wire)?;
        let message = OlmMessage::from_parts(usize::from(message_type), bytes)
            .map_err(|e| decode_error("Olm message", e))?;
        let key = ratchet_key(&message);
        let OlmParty {
            account,
            session,
            chains,
        } = self;
        let plaintext = match (&message, session.as_mut()) {
            (OlmMessage::PreKey(pre_key), Some(session))
                if pre_key.session_id() != session.session_id() =>
            {
                Err(Reject::new(
                    RejectClass::UnknownSession,
                    format!(
                        "pre-key message of session {}, this party holds session {}",
                        pre_key.session_id(),
                        session.session_id()
                    ),
                ))
            }
            (_, Some(session)) => {
                // vodozemac deletes the message key on decryption, before the adapter can
                // check the bound associated data; a refusal must leave the state as it
                // was, so the session is restored from a copy taken before.
                let before = session.pickle();
                let payload = session
                    .decrypt(&message)
                    .map_err(|e| chains.refusal(&e, &key))?;
                olm_wire::unbind_ad(ad, &payload).inspect_err(|_| {
                    *session = Session::from_pickle(before);
                })
            }
            (OlmMessage::PreKey(pre_key), None) => {
                // As above: creating the session uses up the one-time key.
                let before = account.pickle();
                let created =
                    api::create_inbound_session(account, config(), pre_key.identity_key(), pre_key)
                        .map_err(|e| reject(creation_class(&e), "create_inbound_session", e))?;
                match olm_wire::unbind_ad(ad, &created.plaintext) {
                    Ok(plaintext) => {
                        *session = Some(created.session);
                        Ok(plaintext)
                    }
                    Err(refused) => {
                        *account = Account::from_pickle(before);
                        Err(refused)
                    }
                }
            }
            (OlmMessage::Normal(_), None) => Err(Reject::new(
                RejectClass::UnknownSession,
                "a normal Olm message before any session: the responder needs a pre-key \
                 message first",
            )),
        }?;
        chains.accepted(key);
        Ok(plaintext)
    }
}

/// One side of a Megolm session: its own outbound session, and the other side's imported
/// inbound session once it has the key.
struct MegolmParty {
    own: GroupSession,
    theirs: Option<InboundGroupSession>,
    handshake: Option<Vec<u8>>,
}

fn megolm_config() -> megolm::SessionConfig {
    megolm::SessionConfig::version_1()
}

fn import(session_key: &[u8], what: &str) -> Result<InboundGroupSession, Reject> {
    let key =
        SessionKey::from_bytes(session_key).map_err(|e| reject(session_key_class(&e), what, e))?;
    Ok(InboundGroupSession::new(&key, megolm_config()))
}

impl Peer for VodozemacMegolm {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: release_name("vodozemac-megolm", RELEASE),
            version: VERSION.into(),
            family: Family::MEGOLM,
            // No forward bound in vodozemac's Megolm (see the module doc).
            limits: olm_wire::megolm_limits(u32::MAX),
            capabilities: Capabilities {
                injectable_rng: false,
                export_state: true,
            },
            weakened: weakened(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        _rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let own = GroupSession::new(megolm_config());
        let bundle = own.session_key().to_bytes();
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
        _rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let theirs = import(bundle, "the responder's session key")?;
        let own = GroupSession::new(megolm_config());
        // Taken now, at index 0, whenever the bench asks for it.
        let handshake = Some(own.session_key().to_bytes());
        Ok(Box::new(MegolmParty {
            own,
            theirs: Some(theirs),
            handshake,
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        olm_wire::megolm_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::MegolmCodec)
    }

    fn restore(&self, state: &[u8], _rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let state: MegolmState =
            serde_json::from_slice(state).map_err(|e| bad_state("Megolm", e))?;
        Ok(Box::new(MegolmParty {
            own: GroupSession::from_pickle(state.own),
            theirs: state.theirs.map(InboundGroupSession::from_pickle),
            handshake: None,
        }))
    }
}

impl Party for MegolmParty {
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let state = MegolmState {
            own: self.own.pickle(),
            theirs: self.theirs.as_ref().map(InboundGroupSession::pickle),
        };
        serde_json::to_vec(&state).map_err(|e| reject(RejectClass::Other, "export", e))
    }

    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let payload = olm_wire::bind_ad(ad, plaintext)?;
        Ok(self.own.encrypt(payload).to_bytes())
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        let theirs = self.theirs.as_mut().ok_or_else(|| {
            Reject::new(
                RejectClass::UnknownSession,
                "no inbound Megolm session yet: the initiator's session key has not arrived",
            )
        })?;
        let message =
            MegolmMessage::from_bytes(wire).map_err(|e| decode_error("Megolm message", e))?;
        // A Megolm message names no session (Matrix puts the session id in the event around
        // it), so a message of another session fails the signature check here: Auth.
        let decrypted = theirs
            .decrypt(&message)
            .map_err(|e| reject(megolm_class(&e), "decrypt", e))?;
        olm_wire::unbind_ad(ad, &decrypted.plaintext)
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        Ok(self.handshake.take())
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        self.theirs = Some(import(handshake, "the initiator's session key")?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_megolm_bundle_is_a_signed_session_key_of_the_shared_length() {
        let (_, bundle) = VodozemacMegolm
            .respond(
                &SessionInit {
                    shared_secret: [0; 32],
                },
                Box::new(ratchet_bench_core::rng::stream(0, "B")),
            )
            .unwrap();
        assert_eq!(bundle.len(), olm_wire::MEGOLM_SESSION_KEY_LEN);
        // megolm.md's session-sharing format: version 2, then the index 0 big-endian.
        assert_eq!(bundle[..5], [2, 0, 0, 0, 0]);
    }
}
