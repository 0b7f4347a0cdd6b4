//! One side of a session as the bench drives it: the shape of the bench's peer abstraction
//! (`respond` / `initiate` / `encrypt` / `decrypt` / `export_state` / `restore` / `work`), so
//! that an adapter only maps types.
//!
//! A party is one device (device id 1) with its identity key and registration id, its one
//! correspondent's trusted identity, its [`SessionRecord`], and, as a responder, its
//! pre-keys. The wire is one type byte ([`PRE_KEY_TYPE`] `03` or [`WHISPER_TYPE`] `02`,
//! libsignal's `CiphertextMessageType`) and the serialised message. libsignal has no
//! associated data, so it is bound in the payload: the plaintext encrypted is
//! `u32 BE len(ad) || ad || plaintext`, and a decrypted payload bound to other data is
//! refused ([`SignalV3Error::AssociatedData`], class auth) with the state unchanged.
//!
//! **Randomness** comes only from the RNG the party was given, in this order (the bench's
//! `signal-v3` order, PROTOCOL.md):
//! - [`Party::respond`]: identity private key (32), registration id (2), signed pre-key id
//!   (3), signed pre-key private key (32), the signature's Z (64), one-time pre-key id (3),
//!   one-time pre-key private key (32);
//! - [`Party::initiate`]: identity private key (32), registration id (2), base key (32),
//!   first sending ratchet key (32), all after the bundle parsed and its signature verified;
//! - [`Party::decrypt`]: a new sending ratchet key (32) when the accepted message starts a
//!   receiving chain, nothing for a refused one (it is drawn after every check passed);
//! - [`Party::encrypt`] draws nothing.
//!
//! **Trust**: the initiator trusts the bundle's identity key; the responder trusts the
//! identity key of the first pre-key message it accepts (trust on first use, as libsignal's
//! in-memory identity store) and refuses a pre-key message with another one.
//!
//! **Pre-key messages at the responder** (libsignal's `process_prekey`): the identity must be
//! trusted; a message whose base key belongs to a state of the record decrypts in that state
//! (it must name the pre-keys that state was made from: libsignal does not look, but no
//! genuine message names others, and they are not authenticated there); otherwise the
//! signed pre-key it names must be this party's and the one-time pre-key it names (if any)
//! one not used yet, and the new state becomes current once the message decrypts, the
//! one-time pre-key removed. An initiator has no pre-keys: a pre-key message reaching it is
//! refused (unknown signed pre-key) unless it belongs to one of its sessions.
//!
//! **Work**: every chain-key step a call takes is counted
//! ([`super::chain_key_steps_on_this_thread`] around each call, refused calls included);
//! [`Party::work`] gives the count so far and the skipped keys held.

use super::bundle::PreKeyBundle;
use super::chain_key::chain_key_steps_on_this_thread;
use super::draws;
use super::error::{hex, malformed, SignalV3Error};
use super::keys::{KeyPair, PublicKey};
use super::pre_key_signal_message::PreKeySignalMessage;
use super::pre_keys::{OneTimePreKey, SignedPreKey};
use super::session_record::{PlannedDecrypt, SessionRecord};
use super::session_state::{PendingPreKey, SessionState};
use super::signal_message::SignalMessage;
use super::x3dh::{self, AliceParameters, BobParameters};
use super::xeddsa::{self, RANDOM_LEN};
use rand_core::{CryptoRng, RngCore};
use std::fmt;

/// The type byte of a PreKeySignalMessage on the wire (libsignal's
/// `CiphertextMessageType::PreKey`).
pub const PRE_KEY_TYPE: u8 = 3;
/// The type byte of a SignalMessage on the wire (`CiphertextMessageType::Whisper`).
pub const WHISPER_TYPE: u8 = 2;

/// A source of randomness a party can own: any `RngCore + CryptoRng + Send` (rand_core 0.6).
pub trait PartyRng: RngCore + CryptoRng + Send {}

impl<T: RngCore + CryptoRng + Send + ?Sized> PartyRng for T {}

/// The randomness a party draws from, injected by its caller.
pub type BoxRng = Box<dyn PartyRng>;

/// Which side of the session a party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Built from a bundle (Alice).
    Initiator,
    /// Published the bundle (Bob).
    Responder,
}

/// What a party has spent, for the bench's bounded-work oracle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// Chain-key steps since the party was built (or restored), refused calls included.
    pub derivations: u64,
    /// Skipped message keys held now, in all session states.
    pub stored_keys: u64,
}

/// One side of a `signal-v3` session.
pub struct Party {
    pub(super) role: Role,
    pub(super) identity: KeyPair,
    pub(super) registration_id: u32,
    pub(super) signed_pre_key: Option<SignedPreKey>,
    pub(super) one_time_pre_keys: Vec<OneTimePreKey>,
    pub(super) trusted_identity: Option<PublicKey>,
    pub(super) record: SessionRecord,
    pub(super) rng: BoxRng,
    pub(super) derivations: u64,
    /// Cleared only by the planted flaw `one-time-pre-keys-not-replenished`: the bundles
    /// after the first offer no one-time pre-key.
    pub(super) replenishes: bool,
}

impl fmt::Debug for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Party")
            .field("role", &self.role)
            .field("identity", &self.identity.public)
            .field("registration_id", &self.registration_id)
            .field("has_session", &self.record.current().is_some())
            .finish_non_exhaustive()
    }
}

/// `u32 BE len(ad) || ad || plaintext`.
pub fn bind_ad(ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
    let len = u32::try_from(ad.len()).map_err(|_| {
        malformed(format!(
            "associated data: expected at most {} bytes, got {}",
            u32::MAX,
            ad.len()
        ))
    })?;
    let mut out = Vec::with_capacity(4 + ad.len() + plaintext.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ad);
    out.extend_from_slice(plaintext);
    Ok(out)
}

/// The plaintext of a payload bound to `ad`, or [`SignalV3Error::AssociatedData`].
pub fn unbind_ad(ad: &[u8], payload: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
    let (len, rest) = payload
        .split_first_chunk::<4>()
        .ok_or(SignalV3Error::AssociatedData)?;
    let len =
        usize::try_from(u32::from_be_bytes(*len)).map_err(|_| SignalV3Error::AssociatedData)?;
    if len != ad.len() || rest.len() < len || &rest[..len] != ad {
        return Err(SignalV3Error::AssociatedData);
    }
    Ok(rest[len..].to_vec())
}

impl Party {
    /// A responder (Bob) and its bundle, drawing in the order the module doc gives: its
    /// identity and registration id, then the bundle as [`Party::publish`] makes it.
    pub fn respond(mut rng: BoxRng) -> (Party, Vec<u8>) {
        let identity = KeyPair::generate(&mut *rng);
        let registration_id = draws::registration_id(&mut *rng);
        let mut party = Party {
            role: Role::Responder,
            identity,
            registration_id,
            signed_pre_key: None,
            one_time_pre_keys: Vec::new(),
            trusted_identity: None,
            record: SessionRecord::default(),
            rng,
            derivations: 0,
            replenishes: true,
        };
        let bundle = party.publish();
        (party, bundle)
    }

    /// An initiator (Alice) from a responder's bundle: malformed if it does not parse, auth
    /// if its signature does not verify (then nothing is drawn).
    pub fn initiate(bundle: &[u8], rng: BoxRng) -> Result<Party, SignalV3Error> {
        Self::initiate_checking(bundle, rng, true)
    }

    /// [`Party::initiate`] without the signed pre-key's signature check, as an initiator
    /// that trusts its key server would: for the planted flaw `signed-pre-key-unchecked`
    /// (`peers::mutant`) only.
    #[doc(hidden)]
    pub fn initiate_unchecked_for_testing_only(
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Party, SignalV3Error> {
        Self::initiate_checking(bundle, rng, false)
    }

    fn initiate_checking(
        bundle: &[u8],
        mut rng: BoxRng,
        check_signature: bool,
    ) -> Result<Party, SignalV3Error> {
        let bundle = PreKeyBundle::parse(bundle)?;
        if check_signature {
            bundle.verify_signature()?;
        }
        let identity = KeyPair::generate(&mut *rng);
        let registration_id = draws::registration_id(&mut *rng);
        let state = start_session(&identity, registration_id, &bundle, &mut *rng)?;
        Ok(Party {
            role: Role::Initiator,
            identity,
            registration_id,
            signed_pre_key: None,
            one_time_pre_keys: Vec::new(),
            trusted_identity: Some(bundle.identity_key),
            record: SessionRecord::new(state),
            rng,
            derivations: 0,
            replenishes: true,
        })
    }

    /// A new bundle of this party's device, for the correspondent to start a new session
    /// from ([`Party::renew`]): its identity key, its signed pre-key (made now if it has
    /// none: an initiator's device), and a new one-time pre-key, kept until a pre-key message
    /// uses it. Draws, in order: where the signed pre-key is made, its id (3), private key
    /// (32) and the signature's Z (64); then the one-time pre-key's id (3) and private key
    /// (32).
    pub fn publish(&mut self) -> Vec<u8> {
        let rng = &mut *self.rng;
        let first = self.signed_pre_key.is_none();
        let signed = match &self.signed_pre_key {
            Some(signed) => signed.clone(),
            None => {
                let id = draws::pre_key_id(rng);
                let pair = KeyPair::generate(rng);
                let mut z = [0u8; RANDOM_LEN];
                rng.fill_bytes(&mut z);
                let signature = xeddsa::sign(&self.identity.private, &pair.public.serialize(), &z);
                let signed = SignedPreKey {
                    id,
                    pair,
                    signature,
                };
                self.signed_pre_key = Some(signed.clone());
                signed
            }
        };
        let one_time = OneTimePreKey {
            id: draws::pre_key_id(rng),
            pair: KeyPair::generate(rng),
        };
        // The planted flaw's bundles after the first: drawn as ever, so every later draw is
        // the reference's, and not offered.
        let one_time = (self.replenishes || first).then_some(one_time);
        let bundle = PreKeyBundle {
            registration_id: self.registration_id,
            identity_key: self.identity.public,
            signed_pre_key_id: signed.id,
            signed_pre_key: signed.pair.public,
            signed_pre_key_signature: signed.signature,
            one_time_pre_key: one_time.as_ref().map(|k| (k.id, k.pair.public)),
        };
        self.one_time_pre_keys.extend(one_time);
        bundle.to_bytes()
    }

    /// Starts a new session from the correspondent's new bundle (libsignal's
    /// `process_prekey_bundle` on a record that has one): the bundle must parse, its
    /// signature verify and its identity be the trusted one (taken on first use); the new
    /// state becomes current and the current one is archived. Draws the base key (32) and
    /// the first sending ratchet key (32), after every check passed.
    pub fn renew(&mut self, bundle: &[u8]) -> Result<(), SignalV3Error> {
        let bundle = PreKeyBundle::parse(bundle)?;
        bundle.verify_signature()?;
        self.check_trusted(&bundle.identity_key)?;
        let state = start_session(
            &self.identity,
            self.registration_id,
            &bundle,
            &mut *self.rng,
        )?;
        self.trusted_identity.get_or_insert(bundle.identity_key);
        self.record.start(state);
        Ok(())
    }

    /// Refuses an identity key other than the trusted one (none is trusted before the first
    /// session: trust on first use).
    fn check_trusted(&self, presented: &PublicKey) -> Result<(), SignalV3Error> {
        match &self.trusted_identity {
            Some(trusted) if trusted != presented => Err(SignalV3Error::UntrustedIdentity {
                trusted: hex(&trusted.serialize()),
                presented: hex(&presented.serialize()),
            }),
            _ => Ok(()),
        }
    }

    /// Makes this party's record replace its current session with a new one instead of
    /// archiving it: for the planted flaw `previous-sessions-dropped` (`peers::mutant`) only.
    #[doc(hidden)]
    pub fn drop_previous_sessions_for_testing_only(&mut self) {
        self.record.drops_previous = true;
    }

    /// Makes this party's bundles after the first offer no one-time pre-key: for the planted
    /// flaw `one-time-pre-keys-not-replenished` (`peers::mutant`) only.
    #[doc(hidden)]
    pub fn stop_replenishing_for_testing_only(&mut self) {
        self.replenishes = false;
    }

    /// Which side this party is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// This party's identity key.
    pub fn identity_key(&self) -> &PublicKey {
        &self.identity.public
    }

    /// This party's registration id.
    pub fn registration_id(&self) -> u32 {
        self.registration_id
    }

    /// The current and archived session states.
    pub fn record(&self) -> &SessionRecord {
        &self.record
    }

    /// What the party has spent so far.
    pub fn work(&self) -> Work {
        Work {
            derivations: self.derivations,
            stored_keys: self.record.skipped_len() as u64,
        }
    }

    /// Runs `f`, adding the chain-key steps it took to the party's count.
    fn counted<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let before = chain_key_steps_on_this_thread();
        let out = f(self);
        let spent = chain_key_steps_on_this_thread().wrapping_sub(before);
        self.derivations = self.derivations.saturating_add(spent);
        out
    }

    /// Encrypts `plaintext` bound to `ad`: the wire bytes (type byte || message).
    pub fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
        self.counted(|p| p.encrypt_uncounted(ad, plaintext))
    }

    fn encrypt_uncounted(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
        let payload = bind_ad(ad, plaintext)?;
        let state = self.record.current_mut().ok_or(SignalV3Error::NoSession(
            "a responder has no session before it accepts a pre-key message",
        ))?;
        let (message, pre_key) = state.encrypt(&payload)?;
        let mut wire = Vec::with_capacity(1 + message.len());
        wire.push(if pre_key { PRE_KEY_TYPE } else { WHISPER_TYPE });
        wire.extend_from_slice(&message);
        Ok(wire)
    }

    /// Decrypts wire bytes bound to `ad`. On a refusal the party is as it was and has drawn
    /// nothing.
    pub fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
        self.counted(|p| p.decrypt_uncounted(ad, wire))
    }

    fn decrypt_uncounted(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, SignalV3Error> {
        let (&type_byte, message) = wire
            .split_first()
            .ok_or_else(|| malformed("wire: expected a type byte, got 0 bytes"))?;
        let (planned, consumed) = match type_byte {
            WHISPER_TYPE => {
                let message = SignalMessage::parse(message)?;
                (self.record.plan_signal_message(&message)?, None)
            }
            PRE_KEY_TYPE => self.plan_pre_key_message(&PreKeySignalMessage::parse(message)?)?,
            t => {
                return Err(malformed(format!(
                    "wire type byte: expected 0x02 or 0x03, got 0x{t:02x}"
                )))
            }
        };
        let plaintext = unbind_ad(ad, &planned.payload)?;
        self.commit(planned, consumed)?;
        Ok(plaintext)
    }

    /// Plans a pre-key message: on the state it belongs to, or on a new one. Also returns
    /// the one-time pre-key and identity to take once it is accepted.
    fn plan_pre_key_message(
        &self,
        message: &PreKeySignalMessage,
    ) -> Result<(PlannedDecrypt, Option<Consumed>), SignalV3Error> {
        self.check_trusted(&message.identity_key)?;
        if let Some((target, state)) = self.record.find_by_base_key(&message.base_key) {
            if let Some(ids) = state.made_from {
                let named = (message.pre_key_id, message.signed_pre_key_id);
                if named != ids {
                    let show = |(one_time, signed): (Option<u32>, u32)| match one_time {
                        Some(id) => format!("(one-time {id}, signed {signed})"),
                        None => format!("(no one-time, signed {signed})"),
                    };
                    return Err(SignalV3Error::PreKeyIdsMismatch {
                        expected: show(ids),
                        got: show(named),
                    });
                }
            }
            let planned = SessionRecord::plan_on(target, state, message.message())?;
            return Ok((planned, None));
        }
        let signed = self
            .signed_pre_key
            .as_ref()
            .filter(|s| s.id == message.signed_pre_key_id)
            .ok_or(SignalV3Error::UnknownSignedPreKey(
                message.signed_pre_key_id,
            ))?;
        let one_time = match message.pre_key_id {
            Some(id) => Some(
                self.one_time_pre_keys
                    .iter()
                    .find(|k| k.id == id)
                    .ok_or(SignalV3Error::UnknownPreKey(id))?,
            ),
            None => None,
        };
        let mut state = x3dh::initialize_bob(&BobParameters {
            our_identity: &self.identity,
            our_signed_pre_key: &signed.pair,
            our_one_time_pre_key: one_time.map(|k| &k.pair),
            their_identity: &message.identity_key,
            their_base_key: &message.base_key,
        })?;
        state.local_registration_id = self.registration_id;
        // As libsignal: a message without one (oldmemo's) counts as 0.
        state.remote_registration_id = message.registration_id.unwrap_or(0);
        state.made_from = Some((message.pre_key_id, message.signed_pre_key_id));
        let planned = SessionRecord::plan_new(state, message.message())?;
        Ok((
            planned,
            Some(Consumed {
                one_time_pre_key: message.pre_key_id,
                identity: message.identity_key,
            }),
        ))
    }

    /// Commits an accepted decryption: draws the new sending ratchet key if it starts a
    /// receiving chain, then moves the record, the pre-keys and the trust.
    fn commit(
        &mut self,
        planned: PlannedDecrypt,
        consumed: Option<Consumed>,
    ) -> Result<(), SignalV3Error> {
        let new_sending = planned
            .needs_new_ratchet_key()
            .then(|| KeyPair::generate(&mut *self.rng));
        self.record.commit(planned, new_sending)?;
        if let Some(consumed) = consumed {
            if let Some(i) = consumed.one_time_pre_key {
                self.one_time_pre_keys.retain(|k| k.id != i);
            }
            self.trusted_identity.get_or_insert(consumed.identity);
        }
        Ok(())
    }
}

/// The initiator's state of a new session with the device that published `bundle`, its
/// pre-key message pending: draws the base key (32) and the first sending ratchet key (32).
fn start_session(
    identity: &KeyPair,
    registration_id: u32,
    bundle: &PreKeyBundle,
    rng: &mut dyn PartyRng,
) -> Result<SessionState, SignalV3Error> {
    let base_key = KeyPair::generate(rng);
    let sending_ratchet = KeyPair::generate(rng);
    let one_time = bundle.one_time_pre_key.as_ref();
    let mut state = x3dh::initialize_alice(
        &AliceParameters {
            our_identity: identity,
            our_base_key: &base_key,
            their_identity: &bundle.identity_key,
            their_signed_pre_key: &bundle.signed_pre_key,
            their_one_time_pre_key: one_time.map(|(_, key)| key),
        },
        sending_ratchet,
    )?;
    state.pending_pre_key = Some(PendingPreKey {
        pre_key_id: one_time.map(|(id, _)| *id),
        signed_pre_key_id: bundle.signed_pre_key_id,
        base_key: base_key.public,
    });
    state.local_registration_id = registration_id;
    state.remote_registration_id = bundle.registration_id;
    Ok(state)
}

/// What a new session takes once its pre-key message is accepted.
struct Consumed {
    one_time_pre_key: Option<u32>,
    identity: PublicKey,
}
