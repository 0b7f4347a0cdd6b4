//! An Olm account: the long-term identity keys (Curve25519 for the triple DH, Ed25519 for
//! signatures) and the one-time keys a responder publishes (olm.md, "Creating an outbound
//! session" and "Creating an inbound session from a pre-key message").

use super::error::OlmError;
use super::keys::{Curve25519KeyPair, CURVE25519_KEY_LEN};
use super::message::{NormalMessage, PreKeyMessage};
use super::ratchet::{PendingDecrypt, Ratchet};
use super::session::Session;
use super::MAX_ONE_TIME_KEYS;
use ed25519_dalek::SigningKey;
use rand_core::{CryptoRng, RngCore};
use std::fmt;

/// Random bytes of a new account (libolm's `olm_create_account_random_length`): the Ed25519
/// seed, then the Curve25519 identity private key.
pub const ACCOUNT_RANDOM_LEN: usize = 64;
/// Random bytes of a new outbound session (`olm_create_outbound_session_random_length`):
/// the base key E_A, then the first ratchet key T_0.
pub const OUTBOUND_SESSION_RANDOM_LEN: usize = 64;
/// Random bytes of each one-time key (`olm_account_generate_one_time_keys_random_length`).
pub const ONE_TIME_KEY_RANDOM_LEN: usize = 32;

/// An Olm account.
pub struct Account {
    pub(super) ed25519: SigningKey,
    pub(super) curve25519: Curve25519KeyPair,
    /// Newest first; at most [`MAX_ONE_TIME_KEYS`].
    pub(super) one_time_keys: Vec<Curve25519KeyPair>,
}

/// An inbound session made from a pre-key message and its first plaintext, not yet taken:
/// [`Account::commit_inbound_session`] removes the one-time key and hands out the session.
pub struct PendingInbound {
    session: Session,
    pending: PendingDecrypt,
}

impl fmt::Debug for PendingInbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingInbound").finish_non_exhaustive()
    }
}

fn split32(bytes: &[u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut a = [0; 32];
    let mut b = [0; 32];
    a.copy_from_slice(&bytes[..32]);
    b.copy_from_slice(&bytes[32..]);
    (a, b)
}

impl Account {
    /// A new account from [`ACCOUNT_RANDOM_LEN`] bytes of `rng`.
    pub fn new<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut random = [0u8; ACCOUNT_RANDOM_LEN];
        rng.fill_bytes(&mut random);
        Self::from_random(&random)
    }

    /// The account libolm makes from these random bytes: the first 32 are the Ed25519 seed
    /// (RFC 8032 key generation, as libolm's `ed25519_create_keypair`), the last 32 the
    /// Curve25519 identity private key.
    pub fn from_random(random: &[u8; ACCOUNT_RANDOM_LEN]) -> Self {
        let (seed, curve) = split32(random);
        Account {
            ed25519: SigningKey::from_bytes(&seed),
            curve25519: Curve25519KeyPair::from_random(curve),
            one_time_keys: Vec::new(),
        }
    }

    /// The Curve25519 identity key.
    pub fn curve25519_key(&self) -> [u8; CURVE25519_KEY_LEN] {
        self.curve25519.public()
    }

    /// The Ed25519 identity key.
    pub fn ed25519_key(&self) -> [u8; 32] {
        self.ed25519.verifying_key().to_bytes()
    }

    /// Makes `count` one-time keys, 32 bytes of `rng` each, and returns their public keys.
    pub fn generate_one_time_keys<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        count: usize,
        rng: &mut R,
    ) -> Vec<[u8; CURVE25519_KEY_LEN]> {
        let mut created = Vec::with_capacity(count);
        for _ in 0..count {
            let mut random = [0u8; ONE_TIME_KEY_RANDOM_LEN];
            rng.fill_bytes(&mut random);
            let key = Curve25519KeyPair::from_random(random);
            created.push(key.public());
            self.one_time_keys.insert(0, key);
        }
        self.one_time_keys.truncate(MAX_ONE_TIME_KEYS);
        created
    }

    /// The public one-time keys not used yet, newest first.
    pub fn one_time_keys(&self) -> Vec<[u8; CURVE25519_KEY_LEN]> {
        self.one_time_keys.iter().map(|k| k.public()).collect()
    }

    /// Alice's session with Bob's identity key I_B and one-time key E_B, drawing
    /// [`OUTBOUND_SESSION_RANDOM_LEN`] bytes of `rng` (E_A, then T_0).
    /// S = ECDH(I_A, E_B) || ECDH(E_A, I_B) || ECDH(E_A, E_B).
    pub fn create_outbound_session<R: RngCore + CryptoRng + ?Sized>(
        &self,
        their_identity_key: &[u8; CURVE25519_KEY_LEN],
        their_one_time_key: &[u8; CURVE25519_KEY_LEN],
        rng: &mut R,
    ) -> Session {
        let mut random = [0u8; OUTBOUND_SESSION_RANDOM_LEN];
        rng.fill_bytes(&mut random);
        let (base, ratchet) = split32(&random);
        let base_key = Curve25519KeyPair::from_random(base);
        let ratchet_key = Curve25519KeyPair::from_random(ratchet);
        let mut secret = [0u8; 96];
        secret[..32].copy_from_slice(&self.curve25519.dh(their_one_time_key));
        secret[32..64].copy_from_slice(&base_key.dh(their_identity_key));
        secret[64..].copy_from_slice(&base_key.dh(their_one_time_key));
        Session::new(
            self.curve25519.public(),
            base_key.public(),
            *their_one_time_key,
            Ratchet::init_alice(&secret, ratchet_key),
        )
    }

    /// Bob's session from Alice's first pre-key message, with the message decrypted, without
    /// changing the account: the one-time key must be one of ours.
    /// S = ECDH(E_B, I_A) || ECDH(I_B, E_A) || ECDH(E_B, E_A).
    pub fn plan_inbound_session(
        &self,
        pre_key_message: &[u8],
    ) -> Result<(Vec<u8>, PendingInbound), OlmError> {
        let pre_key = PreKeyMessage::parse(pre_key_message)?;
        let inner = NormalMessage::parse(pre_key.message)?;
        // A key of low order makes its part of the 3DH secret all zero (RFC 7748 §6.1).
        for (what, key) in [
            ("identity key", &pre_key.identity_key),
            ("base key", &pre_key.base_key),
        ] {
            if crate::x25519::is_low_order(key) {
                return Err(OlmError::Malformed(format!(
                    "the pre-key message's {what} is of low order"
                )));
            }
        }
        let one_time_key = self
            .one_time_keys
            .iter()
            .find(|k| k.public() == pre_key.one_time_key)
            .ok_or_else(|| OlmError::UnknownOneTimeKey(hex::encode(pre_key.one_time_key)))?;
        let mut secret = [0u8; 96];
        secret[..32].copy_from_slice(&one_time_key.dh(&pre_key.identity_key));
        secret[32..64].copy_from_slice(&self.curve25519.dh(&pre_key.base_key));
        secret[64..].copy_from_slice(&one_time_key.dh(&pre_key.base_key));
        let session = Session::new(
            pre_key.identity_key,
            pre_key.base_key,
            pre_key.one_time_key,
            Ratchet::init_bob(&secret, inner.ratchet_key),
        );
        let (plaintext, pending) = session.ratchet().plan_decrypt(&inner)?;
        Ok((plaintext, PendingInbound { session, pending }))
    }

    /// Takes a planned inbound session: removes its one-time key from the account (olm.md:
    /// once the first message authenticates, Bob discards E_B) and returns the session.
    pub fn commit_inbound_session(&mut self, pending: PendingInbound) -> Session {
        let session = self.commit_inbound_session_keeping_key_for_testing_only(pending);
        let used = session.bob_one_time_key();
        self.one_time_keys.retain(|k| k.public() != used);
        session
    }

    /// [`Account::commit_inbound_session`] that leaves the one-time key in the account, as
    /// a libolm application that never calls `olm_remove_one_time_keys` does: for the
    /// planted flaw `one-time-key-kept` (`peers::mutant`) only.
    #[doc(hidden)]
    pub fn commit_inbound_session_keeping_key_for_testing_only(
        &self,
        pending: PendingInbound,
    ) -> Session {
        let PendingInbound {
            mut session,
            pending,
        } = pending;
        session.commit(pending);
        session
    }

    /// [`Account::plan_inbound_session`] then [`Account::commit_inbound_session`].
    pub fn create_inbound_session(
        &mut self,
        pre_key_message: &[u8],
    ) -> Result<(Session, Vec<u8>), OlmError> {
        let (plaintext, pending) = self.plan_inbound_session(pre_key_message)?;
        Ok((self.commit_inbound_session(pending), plaintext))
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("curve25519", &hex::encode(self.curve25519_key()))
            .field("ed25519", &hex::encode(self.ed25519_key()))
            .field("one_time_keys", &self.one_time_keys.len())
            .finish_non_exhaustive()
    }
}
