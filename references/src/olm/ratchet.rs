//! The Olm ratchet (olm.md, "The Olm Algorithm" and "Sending normal messages" / "Receiving
//! messages"), with libolm's bookkeeping: one sender chain at most, up to
//! [`MAX_RECEIVER_CHAINS`] receiver chains and one store of up to
//! [`MAX_SKIPPED_MESSAGE_KEYS`] skipped message keys for all chains together, both kept
//! newest first; a new entry past the bound evicts the oldest (libolm's `List::insert`).
//!
//! Decryption is two-phase: [`Ratchet::plan_decrypt`] checks and decrypts without touching
//! the state and returns a [`PendingDecrypt`]; [`Ratchet::commit`] applies it. A refused
//! message therefore changes nothing, and a caller can refuse a decrypted payload (for its
//! associated data) before committing.
//!
//! As in libolm, skipped keys are looked up only for a message of a receiver chain still
//! kept; a message of an evicted chain is taken for a new chain and fails its MAC.

use super::chain_key::ChainKey;
use super::error::OlmError;
use super::keys::{Curve25519KeyPair, CURVE25519_KEY_LEN};
use super::message::{normal_len, write_normal, NormalMessage};
use super::message_key::MessageKey;
use super::root_key::RootKey;
use super::{MAX_MESSAGE_GAP, MAX_RECEIVER_CHAINS, MAX_SKIPPED_MESSAGE_KEYS};
use rand_core::{CryptoRng, RngCore};
use std::collections::VecDeque;
use std::fmt;

/// Our current sending chain: our ratchet key T_i and the chain key C_{i,j}.
#[derive(Clone)]
pub(super) struct SenderChain {
    pub(super) ratchet_key: Curve25519KeyPair,
    pub(super) chain_key: ChainKey,
}

/// A chain of the other side: its ratchet key T_i and the next chain key we expect.
#[derive(Clone)]
pub(super) struct ReceiverChain {
    pub(super) ratchet_key: [u8; CURVE25519_KEY_LEN],
    pub(super) chain_key: ChainKey,
}

/// A message key kept for a message that has not arrived yet.
#[derive(Clone)]
pub(super) struct SkippedKey {
    pub(super) ratchet_key: [u8; CURVE25519_KEY_LEN],
    pub(super) message_key: MessageKey,
}

/// One side's Olm ratchet.
#[derive(Clone)]
pub struct Ratchet {
    pub(super) root_key: RootKey,
    pub(super) sender_chain: Option<SenderChain>,
    pub(super) receiver_chains: VecDeque<ReceiverChain>,
    pub(super) skipped: VecDeque<SkippedKey>,
}

/// What a successful decryption changes, applied by [`Ratchet::commit`].
pub struct PendingDecrypt {
    change: Change,
    ratchet_key: [u8; CURVE25519_KEY_LEN],
    /// Keys of the messages skipped on the way, oldest first (at most the newest
    /// [`MAX_SKIPPED_MESSAGE_KEYS`]: older ones would be evicted at once).
    skipped: Vec<MessageKey>,
}

enum Change {
    /// The message used the stored key at this position.
    UsedSkipped(usize),
    /// The receiver chain at this position moves on to `next`.
    Existing { position: usize, next: ChainKey },
    /// A new receiver chain starts, with a new root key; our sender chain ends.
    NewChain { root_key: RootKey, next: ChainKey },
}

impl fmt::Debug for PendingDecrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingDecrypt").finish_non_exhaustive()
    }
}

impl Ratchet {
    /// Alice's ratchet: R_0 and C_{0,0} from the triple-DH secret, her first ratchet key T_0
    /// sending.
    pub fn init_alice(shared_secret: &[u8; 96], ratchet_key: Curve25519KeyPair) -> Self {
        let (root_key, chain_key) = RootKey::from_shared_secret(shared_secret);
        Ratchet {
            root_key,
            sender_chain: Some(SenderChain {
                ratchet_key,
                chain_key,
            }),
            receiver_chains: VecDeque::with_capacity(MAX_RECEIVER_CHAINS),
            skipped: VecDeque::new(),
        }
    }

    /// Bob's ratchet: R_0 and C_{0,0} from the triple-DH secret, receiving on Alice's T_0;
    /// no sending chain until he encrypts.
    pub fn init_bob(shared_secret: &[u8; 96], their_ratchet_key: [u8; CURVE25519_KEY_LEN]) -> Self {
        let (root_key, chain_key) = RootKey::from_shared_secret(shared_secret);
        let mut receiver_chains = VecDeque::with_capacity(MAX_RECEIVER_CHAINS);
        receiver_chains.push_front(ReceiverChain {
            ratchet_key: their_ratchet_key,
            chain_key,
        });
        Ratchet {
            root_key,
            sender_chain: None,
            receiver_chains,
            skipped: VecDeque::new(),
        }
    }

    /// How many random bytes the next [`Ratchet::encrypt_into`] draws: 32 for a new ratchet
    /// key when there is no sender chain, else none (libolm's `encrypt_random_length`).
    pub fn encrypt_random_len(&self) -> usize {
        if self.sender_chain.is_some() {
            0
        } else {
            CURVE25519_KEY_LEN
        }
    }

    /// The length of the next message carrying `plaintext_len` bytes.
    pub fn next_message_len(&self, plaintext_len: usize) -> usize {
        let index = self
            .sender_chain
            .as_ref()
            .map_or(0, |c| c.chain_key.index());
        normal_len(index, plaintext_len)
    }

    /// Encrypts `plaintext` as a normal message appended to `out`. Without a sender chain it
    /// first draws 32 bytes from `rng` as the new ratchet key T_i and advances the root key
    /// with the newest receiver chain's key.
    pub fn encrypt_into<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        out: &mut Vec<u8>,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<(), OlmError> {
        let chain = match &mut self.sender_chain {
            Some(chain) => chain,
            none => {
                let their_key = self
                    .receiver_chains
                    .front()
                    .map(|c| c.ratchet_key)
                    .ok_or_else(|| {
                        OlmError::UnknownSession("no chain of the other side to ratchet on".into())
                    })?;
                let mut random = [0u8; CURVE25519_KEY_LEN];
                rng.fill_bytes(&mut random);
                let ratchet_key = Curve25519KeyPair::from_random(random);
                let (root_key, chain_key) = self.root_key.advance(&ratchet_key, &their_key);
                self.root_key = root_key;
                none.insert(SenderChain {
                    ratchet_key,
                    chain_key,
                })
            }
        };
        let message_key = chain.chain_key.message_key();
        chain.chain_key.advance();
        write_normal(
            out,
            &chain.ratchet_key.public(),
            message_key.index(),
            &message_key.cipher_keys(),
            plaintext,
        );
        Ok(())
    }

    /// Checks and decrypts `message` without changing the ratchet.
    pub fn plan_decrypt(
        &self,
        message: &NormalMessage<'_>,
    ) -> Result<(Vec<u8>, PendingDecrypt), OlmError> {
        let ratchet_key = message.ratchet_key;
        let position = self
            .receiver_chains
            .iter()
            .position(|c| c.ratchet_key == ratchet_key);
        let (change, plaintext, skipped) = match position {
            Some(position) => {
                let chain = &self.receiver_chains[position];
                if message.chain_index < chain.chain_key.index() {
                    let at = self
                        .skipped
                        .iter()
                        .position(|s| {
                            s.ratchet_key == ratchet_key
                                && s.message_key.index() == message.chain_index
                        })
                        .ok_or(OlmError::Replay {
                            index: message.chain_index,
                        })?;
                    let plaintext = decrypt(&self.skipped[at].message_key, message)?;
                    (Change::UsedSkipped(at), plaintext, Vec::new())
                } else {
                    let (plaintext, next, skipped) =
                        advance_and_decrypt(chain.chain_key.clone(), message)?;
                    (Change::Existing { position, next }, plaintext, skipped)
                }
            }
            None => {
                let sender = self
                    .sender_chain
                    .as_ref()
                    .ok_or(OlmError::UnexpectedChain)?;
                check_gap(0, message.chain_index)?;
                let (root_key, chain_key) =
                    self.root_key.advance(&sender.ratchet_key, &ratchet_key);
                let (plaintext, next, skipped) = advance_and_decrypt(chain_key, message)?;
                (Change::NewChain { root_key, next }, plaintext, skipped)
            }
        };
        Ok((
            plaintext,
            PendingDecrypt {
                change,
                ratchet_key,
                skipped,
            },
        ))
    }

    /// Applies a decryption planned by [`Ratchet::plan_decrypt`] on this same state.
    pub fn commit(&mut self, pending: PendingDecrypt) {
        let PendingDecrypt {
            change,
            ratchet_key,
            skipped,
        } = pending;
        match change {
            Change::UsedSkipped(at) => {
                self.skipped.remove(at);
            }
            Change::Existing { position, next } => {
                if let Some(chain) = self.receiver_chains.get_mut(position) {
                    chain.chain_key = next;
                }
            }
            Change::NewChain { root_key, next } => {
                self.receiver_chains.push_front(ReceiverChain {
                    ratchet_key,
                    chain_key: next,
                });
                self.receiver_chains.truncate(MAX_RECEIVER_CHAINS);
                self.root_key = root_key;
                self.sender_chain = None;
            }
        }
        for message_key in skipped {
            self.skipped.push_front(SkippedKey {
                ratchet_key,
                message_key,
            });
        }
        self.skipped.truncate(MAX_SKIPPED_MESSAGE_KEYS);
    }

    /// How many skipped message keys are kept (the bounded-work oracle's stored keys).
    pub fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// How many skipped message keys are kept, for tests of the bounds.
    #[doc(hidden)]
    pub fn skipped_len_for_testing_only(&self) -> usize {
        self.skipped.len()
    }

    /// How many receiver chains are kept, for tests of the bounds.
    #[doc(hidden)]
    pub fn receiver_chains_len_for_testing_only(&self) -> usize {
        self.receiver_chains.len()
    }
}

/// Refuses a message more than [`MAX_MESSAGE_GAP`] past the chain's next index.
fn check_gap(next: u32, index: u32) -> Result<(), OlmError> {
    let gap = u64::from(index) - u64::from(next.min(index));
    if gap > u64::from(MAX_MESSAGE_GAP) {
        return Err(OlmError::TooFarAhead {
            gap,
            max: MAX_MESSAGE_GAP,
        });
    }
    Ok(())
}

/// Advances a copy of `chain_key` to the message's index, keeping the keys of the newest
/// skipped messages, and decrypts. Returns the plaintext, the chain key after the message
/// and the skipped keys, oldest first.
fn advance_and_decrypt(
    mut chain_key: ChainKey,
    message: &NormalMessage<'_>,
) -> Result<(Vec<u8>, ChainKey, Vec<MessageKey>), OlmError> {
    let target = message.chain_index;
    check_gap(chain_key.index(), target)?;
    let gap = (target - chain_key.index()) as usize;
    let mut skipped = Vec::new();
    if gap > 0 {
        skipped.reserve_exact(gap.min(MAX_SKIPPED_MESSAGE_KEYS));
    }
    while chain_key.index() < target {
        // Keys older than the newest MAX_SKIPPED_MESSAGE_KEYS would be evicted by the ones
        // after them in the same commit: derive only the chain.
        if (target - chain_key.index()) as usize <= MAX_SKIPPED_MESSAGE_KEYS {
            skipped.push(chain_key.message_key());
        }
        chain_key.advance();
    }
    let plaintext = decrypt(&chain_key.message_key(), message)?;
    chain_key.advance();
    Ok((plaintext, chain_key, skipped))
}

/// Verifies the MAC and decrypts.
fn decrypt(message_key: &MessageKey, message: &NormalMessage<'_>) -> Result<Vec<u8>, OlmError> {
    let keys = message_key.cipher_keys();
    if !keys.verify_mac(message.authenticated, message.mac) {
        return Err(OlmError::BadMac);
    }
    keys.decrypt(message.ciphertext).ok_or(OlmError::BadPadding)
}

impl fmt::Debug for Ratchet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ratchet")
            .field("sending", &self.sender_chain.is_some())
            .field("receiver_chains", &self.receiver_chains.len())
            .field("skipped_keys", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Account, MessageType, OlmError, Session};
    use super::*;
    use ratchet_bench_core::rng::{stream, Recording};

    /// Alice's outbound session and Bob's account, Bob with one one-time key.
    fn pair(seed: u64) -> (Session, Account, rand_chacha::ChaCha20Rng) {
        let mut rng = stream(seed, "olm ratchet test");
        let mut bob = Account::new(&mut rng);
        let otk = bob.generate_one_time_keys(1, &mut rng)[0];
        let alice = Account::new(&mut rng);
        let session = alice.create_outbound_session(&bob.curve25519_key(), &otk, &mut rng);
        (session, bob, rng)
    }

    #[test]
    fn randomness_is_drawn_as_libolm_asks() {
        let (rec, log) = Recording::new(stream(1, "count"));
        let mut rng = rec;
        let mut bob = Account::new(&mut rng);
        assert_eq!(log.lock().unwrap().len(), 64);
        let otk = bob.generate_one_time_keys(1, &mut rng)[0];
        assert_eq!(log.lock().unwrap().len(), 96);
        let alice = Account::new(&mut rng);
        let mut a = alice.create_outbound_session(&bob.curve25519_key(), &otk, &mut rng);
        assert_eq!(log.lock().unwrap().len(), 224);
        let (t, m) = a.encrypt(b"one", &mut rng).unwrap();
        assert_eq!((t, log.lock().unwrap().len()), (MessageType::PreKey, 224));
        let (mut b, _) = bob.create_inbound_session(&m).unwrap();
        assert_eq!(log.lock().unwrap().len(), 224);
        assert_eq!(b.encrypt_random_len(), 32);
        let (t, m) = b.encrypt(b"two", &mut rng).unwrap();
        assert_eq!((t, log.lock().unwrap().len()), (MessageType::Normal, 256));
        b.encrypt(b"three", &mut rng).unwrap();
        assert_eq!(log.lock().unwrap().len(), 256);
        a.decrypt(MessageType::Normal, &m).unwrap();
        assert_eq!(a.encrypt_random_len(), 32);
        a.encrypt(b"four", &mut rng).unwrap();
        assert_eq!(log.lock().unwrap().len(), 288);
    }

    #[test]
    fn the_first_one_time_key_is_removed_only_after_the_message_authenticates() {
        let (mut a, mut bob, mut rng) = pair(2);
        let (_, m) = a.encrypt(b"hi", &mut rng).unwrap();
        let mut forged = m.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            bob.create_inbound_session(&forged).unwrap_err(),
            OlmError::BadMac
        );
        assert_eq!(bob.one_time_keys().len(), 1);
        let (_, plaintext) = bob.create_inbound_session(&m).unwrap();
        assert_eq!(plaintext, b"hi");
        assert!(bob.one_time_keys().is_empty());
        assert!(matches!(
            bob.create_inbound_session(&m).unwrap_err(),
            OlmError::UnknownOneTimeKey(_)
        ));
    }

    #[test]
    fn skipped_keys_are_kept_forty_in_all_and_the_gap_is_bounded_at_2000() {
        let (mut a, mut bob, mut rng) = pair(3);
        let (_, first) = a.encrypt(b"0", &mut rng).unwrap();
        let (mut b, _) = bob.create_inbound_session(&first).unwrap();
        let messages: Vec<_> = (1..=2100)
            .map(|i| a.encrypt(i.to_string().as_bytes(), &mut rng).unwrap().1)
            .collect();
        // Next expected index 1; message i has index i. A gap of exactly 2000 is taken.
        let mut too_far = b.clone();
        assert!(matches!(
            too_far
                .decrypt(MessageType::PreKey, &messages[2001])
                .unwrap_err(),
            OlmError::TooFarAhead {
                gap: 2001,
                max: 2000
            }
        ));
        assert_eq!(
            b.decrypt(MessageType::PreKey, &messages[2000]).unwrap(),
            b"2001"
        );
        assert_eq!(b.ratchet().skipped.len(), MAX_SKIPPED_MESSAGE_KEYS);
        // The 40 newest skipped (1961..=2000) decrypt; older ones were never kept.
        assert_eq!(
            b.decrypt(MessageType::PreKey, &messages[1960]).unwrap(),
            b"1961"
        );
        assert_eq!(
            b.decrypt(MessageType::PreKey, &messages[1959]).unwrap_err(),
            OlmError::Replay { index: 1960 }
        );
        // A used key is gone.
        assert_eq!(
            b.decrypt(MessageType::PreKey, &messages[1960]).unwrap_err(),
            OlmError::Replay { index: 1961 }
        );
        assert_eq!(b.ratchet().skipped.len(), MAX_SKIPPED_MESSAGE_KEYS - 1);
    }

    #[test]
    fn a_refused_message_changes_nothing() {
        let (mut a, mut bob, mut rng) = pair(4);
        let (_, first) = a.encrypt(b"0", &mut rng).unwrap();
        let (mut b, _) = bob.create_inbound_session(&first).unwrap();
        let m5: Vec<_> = (0..5)
            .map(|_| a.encrypt(b"x", &mut rng).unwrap().1)
            .collect();
        let before = format!("{:?}", b.ratchet());
        let mut tampered = m5[4].clone();
        let at = tampered.len() - 12;
        tampered[at] ^= 0x80;
        assert_eq!(
            b.decrypt(MessageType::PreKey, &tampered).unwrap_err(),
            OlmError::BadMac
        );
        assert_eq!(format!("{:?}", b.ratchet()), before);
        assert_eq!(b.ratchet().skipped.len(), 0);
        for m in m5.iter().rev() {
            assert_eq!(b.decrypt(MessageType::PreKey, m).unwrap(), b"x");
        }
    }

    #[test]
    fn six_turns_keep_five_receiver_chains_and_evict_the_oldest() {
        let (mut a, mut bob, mut rng) = pair(5);
        let (_, first) = a.encrypt(b"a0", &mut rng).unwrap();
        let (mut b, _) = bob.create_inbound_session(&first).unwrap();
        // An undelivered message of each of Alice's chains.
        let mut held = vec![a.encrypt(b"held 0", &mut rng).unwrap()];
        for turn in 1..=6 {
            let (_, m) = b.encrypt(b"b", &mut rng).unwrap();
            a.decrypt(MessageType::Normal, &m).unwrap();
            let (t, m) = a.encrypt(b"a", &mut rng).unwrap();
            assert_eq!(t, MessageType::Normal);
            b.decrypt(t, &m).unwrap();
            held.push(
                a.encrypt(format!("held {turn}").as_bytes(), &mut rng)
                    .unwrap(),
            );
        }
        assert_eq!(b.ratchet().receiver_chains.len(), MAX_RECEIVER_CHAINS);
        let (_, m) = b.encrypt(b"b", &mut rng).unwrap();
        a.decrypt(MessageType::Normal, &m).unwrap();
        // Chains 2..=6 are kept; 0 and 1 were evicted, so their messages fail.
        for (turn, (t, m)) in held.iter().enumerate() {
            let r = b.decrypt(*t, m);
            if turn >= 2 {
                assert_eq!(r.unwrap(), format!("held {turn}").as_bytes());
            } else {
                // Taken for a new chain, whose keys do not match.
                assert_eq!(r.unwrap_err(), OlmError::BadMac, "chain {turn}");
            }
        }
    }

    #[test]
    fn debug_prints_no_key() {
        let (a, bob, _) = pair(6);
        let shown = format!("{a:?} {bob:?}");
        assert!(!shown.contains("root_key: ["), "{shown}");
        assert!(shown.contains("Session {"), "{shown}");
        assert!(shown.ends_with(".. }"), "{shown}");
    }
}
