//! An Olm session (olm.md, "The Olm Protocol"): the ratchet plus the three keys that name
//! the session. The initiator wraps every message in a pre-key message until it has
//! decrypted one from the responder; the responder's session starts from the first pre-key
//! message (see [`Account::plan_inbound_session`](super::Account::plan_inbound_session)).

use super::error::OlmError;
use super::keys::CURVE25519_KEY_LEN;
use super::message::{NormalMessage, PreKeyMessage};
use super::ratchet::{PendingDecrypt, Ratchet};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::fmt;

/// The two kinds of Olm message, numbered as the libraries number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A pre-key message (0): the session's keys and an embedded normal message.
    PreKey = 0,
    /// A normal message (1).
    Normal = 1,
}

/// One Olm session.
#[derive(Clone)]
pub struct Session {
    /// I_A, E_A and E_B: what names the session.
    pub(super) alice_identity_key: [u8; CURVE25519_KEY_LEN],
    pub(super) alice_base_key: [u8; CURVE25519_KEY_LEN],
    pub(super) bob_one_time_key: [u8; CURVE25519_KEY_LEN],
    /// Whether this side decrypted a message of the session yet; until then the initiator
    /// sends pre-key messages.
    pub(super) received_message: bool,
    pub(super) ratchet: Ratchet,
}

impl Session {
    pub(crate) fn new(
        alice_identity_key: [u8; CURVE25519_KEY_LEN],
        alice_base_key: [u8; CURVE25519_KEY_LEN],
        bob_one_time_key: [u8; CURVE25519_KEY_LEN],
        ratchet: Ratchet,
    ) -> Self {
        Session {
            alice_identity_key,
            alice_base_key,
            bob_one_time_key,
            received_message: false,
            ratchet,
        }
    }

    /// The responder's one-time key E_B this session was made with.
    pub(crate) fn bob_one_time_key(&self) -> [u8; CURVE25519_KEY_LEN] {
        self.bob_one_time_key
    }

    pub(crate) fn ratchet(&self) -> &Ratchet {
        &self.ratchet
    }

    /// libolm's session id: SHA-256(I_A || E_A || E_B).
    pub fn session_id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.alice_identity_key);
        h.update(self.alice_base_key);
        h.update(self.bob_one_time_key);
        h.finalize().into()
    }

    /// Whether a pre-key message belongs to this session (same I_A, E_A and E_B).
    pub fn matches(&self, message: &PreKeyMessage<'_>) -> bool {
        message.identity_key == self.alice_identity_key
            && message.base_key == self.alice_base_key
            && message.one_time_key == self.bob_one_time_key
    }

    /// The kind of message [`Session::encrypt`] makes next.
    pub fn encrypt_message_type(&self) -> MessageType {
        if self.received_message {
            MessageType::Normal
        } else {
            MessageType::PreKey
        }
    }

    /// How many random bytes the next [`Session::encrypt`] draws (libolm's
    /// `olm_encrypt_random_length`).
    pub fn encrypt_random_len(&self) -> usize {
        self.ratchet.encrypt_random_len()
    }

    /// Encrypts `plaintext`: a pre-key message until this side has received a message, a
    /// normal one after.
    pub fn encrypt<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<(MessageType, Vec<u8>), OlmError> {
        let inner_len = self.ratchet.next_message_len(plaintext.len());
        let message_type = self.encrypt_message_type();
        let mut out = match message_type {
            MessageType::Normal => Vec::with_capacity(inner_len),
            MessageType::PreKey => {
                let mut out = Vec::with_capacity(PreKeyMessage::header_len(inner_len) + inner_len);
                PreKeyMessage::write_header(
                    &mut out,
                    &self.bob_one_time_key,
                    &self.alice_base_key,
                    &self.alice_identity_key,
                    inner_len,
                );
                out
            }
        };
        self.ratchet.encrypt_into(&mut out, plaintext, rng)?;
        Ok((message_type, out))
    }

    /// Checks and decrypts a message without changing the session. A pre-key message must
    /// belong to this session.
    pub fn plan_decrypt(
        &self,
        message_type: MessageType,
        bytes: &[u8],
    ) -> Result<(Vec<u8>, PendingDecrypt), OlmError> {
        let inner = match message_type {
            MessageType::Normal => bytes,
            MessageType::PreKey => {
                let pre_key = PreKeyMessage::parse(bytes)?;
                if !self.matches(&pre_key) {
                    return Err(OlmError::UnknownSession(
                        "a pre-key message of another session".into(),
                    ));
                }
                pre_key.message
            }
        };
        self.ratchet.plan_decrypt(&NormalMessage::parse(inner)?)
    }

    /// Applies a decryption planned on this same state.
    pub fn commit(&mut self, pending: PendingDecrypt) {
        self.ratchet.commit(pending);
        self.received_message = true;
    }

    /// Decrypts a message of this session; on error nothing changes.
    pub fn decrypt(
        &mut self,
        message_type: MessageType,
        bytes: &[u8],
    ) -> Result<Vec<u8>, OlmError> {
        let (plaintext, pending) = self.plan_decrypt(message_type, bytes)?;
        self.commit(pending);
        Ok(plaintext)
    }

    /// The ratchet, for tests of its bounds.
    #[doc(hidden)]
    pub fn ratchet_for_testing_only(&self) -> &Ratchet {
        &self.ratchet
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &hex::encode(self.session_id()))
            .field("received_message", &self.received_message)
            .field("ratchet", &self.ratchet)
            .finish_non_exhaustive()
    }
}
