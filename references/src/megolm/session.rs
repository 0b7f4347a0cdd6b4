//! Megolm sessions (megolm.md, "The Megolm protocol"): the outbound session that encrypts
//! and signs, the session key that shares it, and the inbound session that imports the key
//! and decrypts.

use super::error::MegolmError;
use super::message::{message_len, write_unsigned, MegolmMessage};
use super::ratchet::{MegolmRatchet, RATCHET_LEN};
use super::KEYS_INFO;
use crate::olm::cipher::CipherKeys;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::{CryptoRng, RngCore};
use std::fmt;

/// Random bytes of a new outbound session: the ratchet, then the Ed25519 seed.
pub const OUTBOUND_RANDOM_LEN: usize = RATCHET_LEN + 32;
/// The session-sharing format's version byte.
pub const SESSION_KEY_VERSION: u8 = 2;
/// Bytes of a session key: version, index, ratchet, public key, signature.
pub const SESSION_KEY_LEN: usize = 1 + 4 + RATCHET_LEN + 32 + 64;
/// Bytes the session key's signature covers.
const SESSION_KEY_SIGNED_LEN: usize = SESSION_KEY_LEN - 64;

/// A session key in the shared signed format (megolm.md, "Session-sharing format").
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey(pub [u8; SESSION_KEY_LEN]);

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey").finish_non_exhaustive()
    }
}

/// The cipher keys of ratchet value R_i.
fn cipher_keys(ratchet: &MegolmRatchet) -> CipherKeys {
    CipherKeys::derive(&ratchet.to_bytes(), KEYS_INFO)
}

/// A sender's own Megolm session.
pub struct OutboundSession {
    pub(super) ratchet: MegolmRatchet,
    pub(super) signing_key: SigningKey,
}

impl OutboundSession {
    /// A new session from [`OUTBOUND_RANDOM_LEN`] bytes of `rng`.
    pub fn new<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut random = [0u8; OUTBOUND_RANDOM_LEN];
        rng.fill_bytes(&mut random);
        Self::from_random(&random)
    }

    /// The session libolm makes from these bytes: R_0 from the first 128, the Ed25519 key
    /// from the last 32 as a seed; index 0.
    pub fn from_random(random: &[u8; OUTBOUND_RANDOM_LEN]) -> Self {
        let mut ratchet = [0u8; RATCHET_LEN];
        let mut seed = [0u8; 32];
        ratchet.copy_from_slice(&random[..RATCHET_LEN]);
        seed.copy_from_slice(&random[RATCHET_LEN..]);
        OutboundSession {
            ratchet: MegolmRatchet::from_bytes(&ratchet, 0),
            signing_key: SigningKey::from_bytes(&seed),
        }
    }

    /// Moves the session to index `index` without encrypting, for tests of far jumps.
    #[doc(hidden)]
    pub fn advance_to_for_testing_only(&mut self, index: u32) {
        self.ratchet.advance_to(index);
    }

    /// The index of the next message.
    pub fn message_index(&self) -> u32 {
        self.ratchet.index()
    }

    /// The Ed25519 public key K that signs the session's messages (its id).
    pub fn signing_public_key(&self) -> [u8; 32] {
        self.signing_key.verifying_key().to_bytes()
    }

    /// The session key at the current index: version 2, i (big endian), R_i, K, and the
    /// signature over those 165 bytes.
    pub fn session_key(&self) -> SessionKey {
        let mut key = [0u8; SESSION_KEY_LEN];
        key[0] = SESSION_KEY_VERSION;
        key[1..5].copy_from_slice(&self.ratchet.index().to_be_bytes());
        key[5..5 + RATCHET_LEN].copy_from_slice(&self.ratchet.to_bytes());
        key[5 + RATCHET_LEN..SESSION_KEY_SIGNED_LEN].copy_from_slice(&self.signing_public_key());
        let signature = self.signing_key.sign(&key[..SESSION_KEY_SIGNED_LEN]);
        key[SESSION_KEY_SIGNED_LEN..].copy_from_slice(&signature.to_bytes());
        SessionKey(key)
    }

    /// Encrypts `plaintext` at the current index, MACs and signs it, then advances the
    /// ratchet.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let index = self.ratchet.index();
        let mut out = Vec::with_capacity(message_len(index, plaintext.len()));
        write_unsigned(&mut out, index, &cipher_keys(&self.ratchet), plaintext);
        self.ratchet.advance();
        let signature = self.signing_key.sign(&out);
        out.extend_from_slice(&signature.to_bytes());
        out
    }
}

impl fmt::Debug for OutboundSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundSession")
            .field("index", &self.ratchet.index())
            .field("signing_key", &hex::encode(self.signing_public_key()))
            .finish_non_exhaustive()
    }
}

/// A receiver's copy of another sender's session.
#[derive(Clone)]
pub struct InboundSession {
    /// The earliest ratchet value known, kept so that any later index stays decryptable.
    pub(super) initial: MegolmRatchet,
    /// The ratchet at the latest index decrypted, so that reading in order costs one step.
    pub(super) latest: MegolmRatchet,
    pub(super) signing_key: VerifyingKey,
}

/// What a successful decryption changes: the cached latest ratchet.
pub struct PendingMegolm {
    latest: Option<MegolmRatchet>,
}

impl fmt::Debug for PendingMegolm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingMegolm").finish_non_exhaustive()
    }
}

impl InboundSession {
    /// Imports a session key, checking its length, version and signature.
    pub fn import(session_key: &[u8]) -> Result<Self, MegolmError> {
        Self::import_checking(session_key, true)
    }

    /// [`InboundSession::import`] without the signature check: a receiver that takes a signed
    /// session key as if it were the unsigned export format (libolm's
    /// `olm_import_inbound_group_session`). For the planted flaw `session-key-unchecked`
    /// (`peers::mutant`) only.
    #[doc(hidden)]
    pub fn import_unchecked_for_testing_only(session_key: &[u8]) -> Result<Self, MegolmError> {
        Self::import_checking(session_key, false)
    }

    fn import_checking(session_key: &[u8], check_signature: bool) -> Result<Self, MegolmError> {
        if session_key.len() != SESSION_KEY_LEN {
            return Err(MegolmError::Malformed(format!(
                "expected a {SESSION_KEY_LEN}-byte session key, got {} bytes",
                session_key.len()
            )));
        }
        if session_key[0] != SESSION_KEY_VERSION {
            return Err(MegolmError::Malformed(format!(
                "expected session key version {SESSION_KEY_VERSION}, got {}",
                session_key[0]
            )));
        }
        let mut index = [0u8; 4];
        index.copy_from_slice(&session_key[1..5]);
        let mut ratchet = [0u8; RATCHET_LEN];
        ratchet.copy_from_slice(&session_key[5..5 + RATCHET_LEN]);
        let mut public = [0u8; 32];
        public.copy_from_slice(&session_key[5 + RATCHET_LEN..SESSION_KEY_SIGNED_LEN]);
        let signing_key = VerifyingKey::from_bytes(&public).map_err(|e| {
            MegolmError::Malformed(format!("session key's Ed25519 public key: {e}"))
        })?;
        let signature = Signature::from_slice(&session_key[SESSION_KEY_SIGNED_LEN..])
            .map_err(|_| MegolmError::BadSignature("session key"))?;
        if check_signature {
            signing_key
                .verify_strict(&session_key[..SESSION_KEY_SIGNED_LEN], &signature)
                .map_err(|_| MegolmError::BadSignature("session key"))?;
        }
        let initial = MegolmRatchet::from_bytes(&ratchet, u32::from_be_bytes(index));
        Ok(InboundSession {
            latest: initial.clone(),
            initial,
            signing_key,
        })
    }

    /// The first index this session can decrypt.
    pub fn first_known_index(&self) -> u32 {
        self.initial.index()
    }

    /// The sender's Ed25519 public key.
    pub fn signing_public_key(&self) -> [u8; 32] {
        self.signing_key.to_bytes()
    }

    /// Checks and decrypts a message without changing the session: the signature, then the
    /// index, then the MAC, then the padding. Returns the plaintext and the message index.
    pub fn plan_decrypt(&self, bytes: &[u8]) -> Result<(Vec<u8>, u32, PendingMegolm), MegolmError> {
        let message = MegolmMessage::parse(bytes)?;
        let signature = Signature::from_bytes(message.signature);
        self.signing_key
            .verify_strict(message.signed, &signature)
            .map_err(|_| MegolmError::BadSignature("message"))?;
        let index = message.message_index;
        let first = self.initial.index();
        if index < first {
            return Err(MegolmError::UnknownIndex { first, index });
        }
        let ratchet = if index == self.latest.index() {
            None
        } else {
            let mut r = if index > self.latest.index() {
                self.latest.clone()
            } else {
                self.initial.clone()
            };
            r.advance_to(index);
            Some(r)
        };
        let keys = cipher_keys(ratchet.as_ref().unwrap_or(&self.latest));
        if !keys.verify_mac(message.authenticated, message.mac) {
            return Err(MegolmError::BadMac);
        }
        let plaintext = keys
            .decrypt(message.ciphertext)
            .ok_or(MegolmError::BadPadding)?;
        Ok((plaintext, index, PendingMegolm { latest: ratchet }))
    }

    /// Applies a decryption planned on this same state.
    pub fn commit(&mut self, pending: PendingMegolm) {
        if let Some(latest) = pending.latest {
            self.latest = latest;
        }
    }

    /// Decrypts a message; on error nothing changes. Returns the plaintext and the index.
    pub fn decrypt(&mut self, bytes: &[u8]) -> Result<(Vec<u8>, u32), MegolmError> {
        let (plaintext, index, pending) = self.plan_decrypt(bytes)?;
        self.commit(pending);
        Ok((plaintext, index))
    }
}

impl fmt::Debug for InboundSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSession")
            .field("first_known_index", &self.initial.index())
            .field("signing_key", &hex::encode(self.signing_key.to_bytes()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_ratchet_or_seed() {
        let random = [0x5a; OUTBOUND_RANDOM_LEN];
        let outbound = OutboundSession::from_random(&random);
        let key = outbound.session_key();
        let inbound = InboundSession::import(&key.0).unwrap();
        let shown = format!("{outbound:?} {key:?} {inbound:?}");
        assert!(!shown.contains("5a5a5a"), "{shown}");
        assert!(!shown.contains("90, 90"), "{shown}");
        assert!(shown.contains("SessionKey { .. }"), "{shown}");
    }

    #[test]
    fn a_refused_message_leaves_the_cached_ratchet_alone() {
        let mut outbound = OutboundSession::from_random(&[1; OUTBOUND_RANDOM_LEN]);
        let mut inbound = InboundSession::import(&outbound.session_key().0).unwrap();
        let m0 = outbound.encrypt(b"0");
        outbound.advance_to_for_testing_only(500);
        let m500 = outbound.encrypt(b"500");
        let mut bad = m500.clone();
        let at = bad.len() - 64 - 1;
        bad[at] ^= 1; // in the MAC: the signature check fails first
        assert_eq!(
            inbound.decrypt(&bad).unwrap_err(),
            MegolmError::BadSignature("message")
        );
        assert_eq!(inbound.latest.index(), 0);
        assert_eq!(inbound.decrypt(&m500).unwrap(), (b"500".to_vec(), 500));
        assert_eq!(inbound.latest.index(), 500);
        assert_eq!(inbound.decrypt(&m0).unwrap(), (b"0".to_vec(), 0));
        assert_eq!(inbound.latest.index(), 0);
    }
}
