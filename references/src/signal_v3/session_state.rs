//! One session state (libsignal's `SessionState`, rust/protocol/src/state/session.rs) and the
//! Double Ratchet steps libsignal's session cipher runs on it
//! (rust/protocol/src/session_cipher.rs).
//!
//! **Encrypting** (`message_encrypt`): the sending chain's message keys encrypt the payload
//! (AES-256-CBC); the SignalMessage carries the sending ratchet key, the chain index as
//! counter and the previous counter; the chain steps once. While the state holds an
//! unacknowledged pre-key (an initiator that has not yet decrypted anything in it), the
//! SignalMessage goes inside a PreKeySignalMessage.
//!
//! **Decrypting** (`decrypt_message_with_state`), in two halves so that a refused message
//! changes nothing and draws nothing ([`SessionState::plan_decrypt`], then
//! [`SessionState::apply`]):
//! 1. the receiving chain of the message's ratchet key, or, if there is none, a new one:
//!    `(rk', ck_r) = KDF_RK(rk, DH(our sending ratchet key, their ratchet key))`;
//! 2. the message key: below the chain's index, a stored skipped key (taken out), else
//!    [`super::error::SignalV3Error::Duplicate`]; at or above it, a jump of
//!    `counter - index` keys, refused beyond [`MAX_FORWARD_JUMPS`], whose skipped keys are
//!    stored (see [`super::receiver_chain`]);
//! 3. the MAC (sender identity, receiver identity), then the AES-256-CBC body;
//! 4. once accepted: the chain moves on, the pre-key is acknowledged, and for a new
//!    receiving chain the state keeps at most [`MAX_RECEIVER_CHAINS`] (dropping the oldest)
//!    and takes the other half of the DH step with a freshly drawn sending ratchet key:
//!    `(rk'', ck_s) = KDF_RK(rk', DH(new sending ratchet key, their ratchet key))`, with the
//!    previous counter set to the old sending chain's index minus one (0 if it sent
//!    nothing), exactly as libsignal does.
//!
//! The receiver never reads the previous counter: the old receiving chain stays as it was
//! and a late message of it is derived from it when it comes (so one message walks at most
//! one chain, `MAX_FORWARD_JUMPS + 1` chain steps).
//!
//! libsignal accepts any jump when the session is with oneself (same identity key both
//! sides); the bench never builds one, and the reference refuses a jump beyond the limit
//! whatever the identities.

use super::chain_key::ChainKey;
use super::cipher;
use super::error::SignalV3Error;
use super::keys::{KeyPair, PublicKey};
use super::message_keys::MessageKeySeed;
use super::pre_key_signal_message::PreKeySignalMessage;
use super::receiver_chain::ReceiverChain;
use super::root_key::RootKey;
use super::signal_message::SignalMessage;

/// libsignal's `MAX_FORWARD_JUMPS` (consts.rs, 25,000 since January 2021, in 0.72 and today):
/// the most message keys one message may make a receiver skip in its chain.
pub const MAX_FORWARD_JUMPS: u32 = 25_000;
/// libsignal's `MAX_RECEIVER_CHAINS` (consts.rs): receiving chains kept per session state.
pub const MAX_RECEIVER_CHAINS: usize = 5;

/// The sending chain: our current ratchet key pair and its chain key.
#[derive(Clone, Debug)]
pub struct SenderChain {
    pub(super) ratchet: KeyPair,
    pub(super) chain_key: ChainKey,
}

impl SenderChain {
    /// The chain of `ratchet` at `chain_key`.
    pub fn new(ratchet: KeyPair, chain_key: ChainKey) -> Self {
        SenderChain { ratchet, chain_key }
    }
}

/// What an initiator repeats in every message until the responder has answered (libsignal's
/// `PendingPreKey`): the responder's pre-keys it used and its base key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPreKey {
    /// The one-time pre-key id, if the bundle had one.
    pub pre_key_id: Option<u32>,
    /// The signed pre-key id.
    pub signed_pre_key_id: u32,
    /// The initiator's base key.
    pub base_key: PublicKey,
}

/// One session state.
#[derive(Clone, Debug)]
pub struct SessionState {
    pub(super) local_identity: PublicKey,
    pub(super) remote_identity: PublicKey,
    pub(super) root_key: RootKey,
    pub(super) previous_counter: u32,
    pub(super) sender: SenderChain,
    /// Oldest first, at most [`MAX_RECEIVER_CHAINS`].
    pub(super) receivers: Vec<ReceiverChain>,
    pub(super) pending_pre_key: Option<PendingPreKey>,
    pub(super) local_registration_id: u32,
    pub(super) remote_registration_id: u32,
    /// The initiator's base key: how a responder recognises this session's pre-key messages.
    pub(super) alice_base_key: PublicKey,
    /// On a responder's state: the ids of the pre-keys it was made from (one-time, signed).
    /// libsignal keeps no such thing; the reference refuses a later pre-key message of this
    /// session that names other ids (see [`super::session_record`]).
    pub(super) made_from: Option<(Option<u32>, u32)>,
}

/// Which receiving chain a planned decryption touches.
#[derive(Debug)]
enum ChainTarget {
    /// The state's receiving chain at this index.
    Existing(usize),
    /// A new chain for `ratchet_key`, made by the first half of a DH step that left the
    /// root key at `root_key`.
    New {
        ratchet_key: PublicKey,
        root_key: RootKey,
    },
}

/// What a planned decryption does to the chain's keys.
#[derive(Debug)]
enum KeyChange {
    /// Takes the stored skipped key at this position out.
    UseStored(usize),
    /// Stores these skipped seeds (the newest [`super::receiver_chain::MAX_MESSAGE_KEYS`]
    /// at most: older ones would be dropped at once) and moves the chain to `next`.
    Advance {
        skipped: Vec<MessageKeySeed>,
        next: ChainKey,
    },
}

/// A decryption that succeeded on paper: the plaintext and the change to make once the
/// caller accepts it.
#[derive(Debug)]
pub struct PlannedChange {
    chain: ChainTarget,
    keys: KeyChange,
}

impl PlannedChange {
    /// The ratchet key of the receiving chain the message starts, if it starts one: then the
    /// caller must draw a new sending ratchet key for [`SessionState::apply`].
    pub fn new_chain(&self) -> Option<&PublicKey> {
        match &self.chain {
            ChainTarget::New { ratchet_key, .. } => Some(ratchet_key),
            ChainTarget::Existing(_) => None,
        }
    }
}

impl SessionState {
    /// A state with these keys and chains, nothing pending, registration ids 0.
    pub(super) fn new(
        local_identity: PublicKey,
        remote_identity: PublicKey,
        root_key: RootKey,
        sender: SenderChain,
        receivers: Vec<ReceiverChain>,
        alice_base_key: PublicKey,
    ) -> Self {
        SessionState {
            local_identity,
            remote_identity,
            root_key,
            previous_counter: 0,
            sender,
            receivers,
            pending_pre_key: None,
            local_registration_id: 0,
            remote_registration_id: 0,
            alice_base_key,
            made_from: None,
        }
    }

    /// The other side's identity key.
    pub fn remote_identity(&self) -> &PublicKey {
        &self.remote_identity
    }

    /// The initiator's base key of this session.
    pub fn alice_base_key(&self) -> &PublicKey {
        &self.alice_base_key
    }

    /// Whether messages still go out as pre-key messages.
    pub fn has_pending_pre_key(&self) -> bool {
        self.pending_pre_key.is_some()
    }

    /// The receiving chains, oldest first.
    pub fn receiver_chains(&self) -> &[ReceiverChain] {
        &self.receivers
    }

    /// The sending chain's next counter.
    pub fn sender_index(&self) -> u32 {
        self.sender.chain_key.index()
    }

    /// Skipped message keys held in all receiving chains.
    pub fn skipped_len(&self) -> usize {
        self.receivers.iter().map(ReceiverChain::skipped_len).sum()
    }

    /// Encrypts `payload`: the serialised message and whether it is a pre-key message. The
    /// state moves on only when everything succeeded.
    pub fn encrypt(&mut self, payload: &[u8]) -> Result<(Vec<u8>, bool), SignalV3Error> {
        let chain_key = &self.sender.chain_key;
        let keys = chain_key.message_key_seed().derive()?;
        let ciphertext = cipher::encrypt(&keys.cipher_key, &keys.iv, payload);
        let message = SignalMessage::new(
            &keys.mac_key,
            &self.sender.ratchet.public,
            chain_key.index(),
            self.previous_counter,
            &ciphertext,
            &self.local_identity,
            &self.remote_identity,
        )?;
        let next = chain_key.next()?;
        let out = match &self.pending_pre_key {
            Some(pending) => (
                PreKeySignalMessage::new(
                    self.local_registration_id,
                    pending.pre_key_id,
                    pending.signed_pre_key_id,
                    &pending.base_key,
                    &self.local_identity,
                    message,
                )?
                .serialized()
                .to_vec(),
                true,
            ),
            None => (message.serialized().to_vec(), false),
        };
        self.sender.chain_key = next;
        Ok(out)
    }

    /// Decrypts `message` on paper: its plaintext and the change that accepting it makes.
    /// Nothing in the state changes; the chain steps it took are counted all the same.
    pub fn plan_decrypt(
        &self,
        message: &SignalMessage,
    ) -> Result<(Vec<u8>, PlannedChange), SignalV3Error> {
        let their = message.ratchet_key();
        let counter = message.counter();
        let (chain, start) = match self.receivers.iter().position(|c| &c.ratchet_key == their) {
            Some(i) => (ChainTarget::Existing(i), &self.receivers[i]),
            None => {
                let (root_key, chain_key) = self
                    .root_key
                    .create_chain(their, &self.sender.ratchet.private)?;
                let (planned, seed) = Self::advance(&chain_key, counter)?;
                return self.finish(
                    message,
                    seed,
                    PlannedChange {
                        chain: ChainTarget::New {
                            ratchet_key: *their,
                            root_key,
                        },
                        keys: planned,
                    },
                );
            }
        };
        let (keys, seed) = if counter < start.index() {
            let position = start
                .find_skipped(counter)
                .ok_or(SignalV3Error::Duplicate { counter })?;
            (
                KeyChange::UseStored(position),
                start.skipped[position].clone(),
            )
        } else {
            Self::advance(&start.chain_key, counter)?
        };
        self.finish(message, seed, PlannedChange { chain, keys })
    }

    /// The jump from `chain_key` to `counter`: the skipped seeds to store, the chain key
    /// after the message, and the message's seed.
    fn advance(
        chain_key: &ChainKey,
        counter: u32,
    ) -> Result<(KeyChange, MessageKeySeed), SignalV3Error> {
        let jump = counter
            .checked_sub(chain_key.index())
            .ok_or(SignalV3Error::Internal("a jump backwards"))?;
        if jump > MAX_FORWARD_JUMPS {
            return Err(SignalV3Error::TooFarAhead {
                jump: u64::from(jump),
                max: MAX_FORWARD_JUMPS,
            });
        }
        let keep = super::receiver_chain::MAX_MESSAGE_KEYS as u32;
        let mut skipped = Vec::with_capacity(jump.min(keep) as usize);
        let mut chain = chain_key.clone();
        while chain.index() < counter {
            // Seeds more than MAX_MESSAGE_KEYS behind the message would be dropped at once.
            if counter - chain.index() <= keep {
                skipped.push(chain.message_key_seed());
            }
            chain = chain.next()?;
        }
        let seed = chain.message_key_seed();
        let next = chain.next()?;
        Ok((KeyChange::Advance { skipped, next }, seed))
    }

    /// Checks the MAC and decrypts the body with `seed`'s keys.
    fn finish(
        &self,
        message: &SignalMessage,
        seed: MessageKeySeed,
        change: PlannedChange,
    ) -> Result<(Vec<u8>, PlannedChange), SignalV3Error> {
        let keys = seed.derive()?;
        if !message.verify_mac(&keys.mac_key, &self.remote_identity, &self.local_identity) {
            return Err(SignalV3Error::BadMac);
        }
        let plaintext = cipher::decrypt(&keys.cipher_key, &keys.iv, message.ciphertext())?;
        Ok((plaintext, change))
    }

    /// Commits a planned decryption. `new_sending` is the freshly drawn ratchet key pair when
    /// [`PlannedChange::new_chain`] says the message started a chain (ignored otherwise).
    /// Everything that can fail runs before the state changes.
    pub fn apply(
        &mut self,
        change: PlannedChange,
        new_sending: Option<KeyPair>,
    ) -> Result<(), SignalV3Error> {
        match change.chain {
            ChainTarget::Existing(i) => {
                let chain = self
                    .receivers
                    .get_mut(i)
                    .ok_or(SignalV3Error::Internal("a planned chain is gone"))?;
                Self::apply_keys(chain, change.keys);
            }
            ChainTarget::New {
                ratchet_key,
                root_key,
            } => {
                let sending = new_sending.ok_or(SignalV3Error::Internal(
                    "a new receiving chain needs a new sending ratchet key",
                ))?;
                let (root_key, sending_chain) =
                    root_key.create_chain(&ratchet_key, &sending.private)?;
                let mut chain = ReceiverChain::new(ratchet_key, ChainKey::new([0; 32], 0));
                Self::apply_keys(&mut chain, change.keys);
                self.receivers.push(chain);
                if self.receivers.len() > MAX_RECEIVER_CHAINS {
                    self.receivers.remove(0);
                }
                self.root_key = root_key;
                self.previous_counter = self.sender.chain_key.index().saturating_sub(1);
                self.sender = SenderChain::new(sending, sending_chain);
            }
        }
        self.pending_pre_key = None;
        Ok(())
    }

    fn apply_keys(chain: &mut ReceiverChain, keys: KeyChange) {
        match keys {
            KeyChange::UseStored(position) => {
                chain.skipped.remove(position);
            }
            KeyChange::Advance { skipped, next } => {
                chain.store(skipped);
                chain.chain_key = next;
            }
        }
    }
}
