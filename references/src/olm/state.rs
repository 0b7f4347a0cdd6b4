//! A party's whole Olm state as bytes and back: what an attacker who copied the device
//! holds, for the security oracles (forward secrecy, post-compromise healing).
//!
//! The encoding (version 1), integers big-endian, every key 32 bytes, private keys as drawn
//! (unclamped):
//!
//! ```text
//! version (1 byte, 1)
//! account:   Ed25519 seed || Curve25519 identity private key
//!            || one-time key count (4, at most MAX_ONE_TIME_KEYS) || count x private key
//! session:   flag (1) [|| I_A || E_A || E_B || received flag (1) || ratchet]
//! ratchet:   R_i
//!            || sender flag (1) [|| ratchet private key || C_{i,j} || j (4)]
//!            || receiver chain count (4, at most MAX_RECEIVER_CHAINS), newest first,
//!               count x (ratchet public key || chain key || index (4))
//!            || skipped key count (4, at most MAX_SKIPPED_MESSAGE_KEYS), newest first,
//!               count x (ratchet public key || message key || index (4))
//! ```
//!
//! A state that breaks one of libolm's bounds is refused: no party of this reference could
//! have exported it. The RNG is not part of the state: a restored party draws from the RNG
//! it is given, as a copy on another device would. The bytes are secrets: nothing here
//! prints them. The decoder never panics; a refusal names the field that is wrong.

use super::account::Account;
use super::chain_key::ChainKey;
use super::error::OlmError;
use super::keys::Curve25519KeyPair;
use super::message_key::MessageKey;
use super::ratchet::{Ratchet, ReceiverChain, SenderChain, SkippedKey};
use super::root_key::RootKey;
use super::session::Session;
use super::{MAX_ONE_TIME_KEYS, MAX_RECEIVER_CHAINS, MAX_SKIPPED_MESSAGE_KEYS};
use ed25519_dalek::SigningKey;
use std::collections::VecDeque;

/// The encoding's version byte.
pub const STATE_VERSION: u8 = 1;

/// One Olm party's state: its account and, once made, its session.
pub struct OlmPartyState {
    /// The account (identity keys, unused one-time keys).
    pub account: Account,
    /// The session, if the party has one yet.
    pub session: Option<Session>,
}

impl std::fmt::Debug for OlmPartyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OlmPartyState")
            .field("has_session", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

/// `account` and `session` in the encoding of this module.
pub fn export_state(account: &Account, session: Option<&Session>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(STATE_VERSION);
    out.extend_from_slice(account.ed25519.as_bytes());
    out.extend_from_slice(&account.curve25519.secret_bytes());
    put_len(&mut out, account.one_time_keys.len());
    for key in &account.one_time_keys {
        out.extend_from_slice(&key.secret_bytes());
    }
    let Some(session) = session else {
        out.push(0);
        return out;
    };
    out.push(1);
    out.extend_from_slice(&session.alice_identity_key);
    out.extend_from_slice(&session.alice_base_key);
    out.extend_from_slice(&session.bob_one_time_key);
    out.push(u8::from(session.received_message));
    let ratchet = &session.ratchet;
    out.extend_from_slice(&ratchet.root_key.0);
    match &ratchet.sender_chain {
        Some(chain) => {
            out.push(1);
            out.extend_from_slice(&chain.ratchet_key.secret_bytes());
            put_chain_key(&mut out, &chain.chain_key);
        }
        None => out.push(0),
    }
    put_len(&mut out, ratchet.receiver_chains.len());
    for chain in &ratchet.receiver_chains {
        out.extend_from_slice(&chain.ratchet_key);
        put_chain_key(&mut out, &chain.chain_key);
    }
    put_len(&mut out, ratchet.skipped.len());
    for skipped in &ratchet.skipped {
        out.extend_from_slice(&skipped.ratchet_key);
        out.extend_from_slice(&skipped.message_key.key);
        out.extend_from_slice(&skipped.message_key.index.to_be_bytes());
    }
    out
}

/// The account and session [`export_state`] encoded, or a refusal (malformed) naming the
/// field that is wrong.
pub fn restore_state(bytes: &[u8]) -> Result<OlmPartyState, OlmError> {
    read(bytes).map_err(OlmError::Malformed)
}

fn read(bytes: &[u8]) -> Result<OlmPartyState, String> {
    let mut r = StateReader::new(bytes, "Olm state");
    r.version(STATE_VERSION)?;
    let seed = r.key("account Ed25519 seed")?;
    let identity = r.key("account Curve25519 identity key")?;
    let count = r.count("account one-time key count", MAX_ONE_TIME_KEYS)?;
    let mut one_time_keys = Vec::with_capacity(count);
    for _ in 0..count {
        one_time_keys.push(Curve25519KeyPair::from_random(
            r.key("account one-time key")?,
        ));
    }
    let account = Account {
        ed25519: SigningKey::from_bytes(&seed),
        curve25519: Curve25519KeyPair::from_random(identity),
        one_time_keys,
    };
    let session = if r.flag("session flag")? {
        let alice_identity_key = r.key("session I_A")?;
        let alice_base_key = r.key("session E_A")?;
        let bob_one_time_key = r.key("session E_B")?;
        let received_message = r.flag("session received flag")?;
        let root_key = RootKey(r.key("ratchet root key")?);
        let sender_chain = if r.flag("ratchet sender chain flag")? {
            Some(SenderChain {
                ratchet_key: Curve25519KeyPair::from_random(
                    r.key("sender chain ratchet private key")?,
                ),
                chain_key: ChainKey::new(r.key("sender chain key")?, r.u32("sender chain index")?),
            })
        } else {
            None
        };
        let count = r.count("receiver chain count", MAX_RECEIVER_CHAINS)?;
        let mut receiver_chains = VecDeque::with_capacity(MAX_RECEIVER_CHAINS);
        for _ in 0..count {
            receiver_chains.push_back(ReceiverChain {
                ratchet_key: r.key("receiver chain ratchet key")?,
                chain_key: ChainKey::new(
                    r.key("receiver chain key")?,
                    r.u32("receiver chain index")?,
                ),
            });
        }
        let count = r.count("skipped key count", MAX_SKIPPED_MESSAGE_KEYS)?;
        let mut skipped = VecDeque::with_capacity(count);
        for _ in 0..count {
            let ratchet_key = r.key("skipped key ratchet key")?;
            let key = r.key("skipped message key")?;
            let index = r.u32("skipped message key index")?;
            skipped.push_back(SkippedKey {
                ratchet_key,
                message_key: MessageKey::new(key, index),
            });
        }
        Some(Session {
            alice_identity_key,
            alice_base_key,
            bob_one_time_key,
            received_message,
            ratchet: Ratchet {
                root_key,
                sender_chain,
                receiver_chains,
                skipped,
            },
        })
    } else {
        None
    };
    r.finish()?;
    Ok(OlmPartyState { account, session })
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u32).to_be_bytes());
}

fn put_chain_key(out: &mut Vec<u8>, chain_key: &ChainKey) {
    out.extend_from_slice(&chain_key.key);
    out.extend_from_slice(&chain_key.index.to_be_bytes());
}

/// Reads the fields of an exported state in order; every refusal is a sentence naming the
/// state and the field. Shared with Megolm's state.
pub struct StateReader<'a> {
    bytes: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> StateReader<'a> {
    /// A reader of `bytes`, a state of kind `what` (named in every refusal).
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        StateReader { bytes, at: 0, what }
    }

    /// The next `n` bytes, as field `field`.
    pub fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], String> {
        let left = self.bytes.len().saturating_sub(self.at);
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.at..end).map(|s| (end, s))) {
            Some((end, slice)) => {
                self.at = end;
                Ok(slice)
            }
            None => Err(format!(
                "{}: {field}: expected {n} bytes, {left} left",
                self.what
            )),
        }
    }

    /// The version byte, which must be `expected`.
    pub fn version(&mut self, expected: u8) -> Result<(), String> {
        let got = self.byte("version")?;
        if got != expected {
            return Err(format!(
                "{}: version: expected {expected}, got {got}",
                self.what
            ));
        }
        Ok(())
    }

    /// One byte.
    pub fn byte(&mut self, field: &str) -> Result<u8, String> {
        Ok(self.take(1, field)?.first().copied().unwrap_or_default())
    }

    /// A flag byte: 0 or 1.
    pub fn flag(&mut self, field: &str) -> Result<bool, String> {
        match self.byte(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!(
                "{}: {field}: expected 0 or 1, got {other}",
                self.what
            )),
        }
    }

    /// `N` bytes.
    pub fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    /// A 32-byte key.
    pub fn key(&mut self, field: &str) -> Result<[u8; 32], String> {
        self.array::<32>(field)
    }

    /// A big-endian u32.
    pub fn u32(&mut self, field: &str) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array::<4>(field)?))
    }

    /// A big-endian u32 count of at most `max`.
    pub fn count(&mut self, field: &str, max: usize) -> Result<usize, String> {
        let n = self.u32(field)?;
        match usize::try_from(n).ok().filter(|n| *n <= max) {
            Some(n) => Ok(n),
            None => Err(format!(
                "{}: {field}: expected at most {max}, got {n}",
                self.what
            )),
        }
    }

    /// Refuses bytes after the last field.
    pub fn finish(&self) -> Result<(), String> {
        let left = self.bytes.len().saturating_sub(self.at);
        if left > 0 {
            return Err(format!("{}: {left} bytes after the last field", self.what));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::MessageType;
    use super::*;
    use ratchet_bench_core::rng::stream;

    /// Alice's session after a round trip, Bob's account and session.
    fn parties() -> (Account, Session, Account, Session, Vec<Vec<u8>>) {
        let mut rng = stream(11, "olm state test");
        let mut bob = Account::new(&mut rng);
        let otk = bob.generate_one_time_keys(3, &mut rng)[1];
        let alice = Account::new(&mut rng);
        let mut a = alice.create_outbound_session(&bob.curve25519_key(), &otk, &mut rng);
        let (_, first) = a.encrypt(b"first", &mut rng).unwrap();
        let (mut b, _) = bob.create_inbound_session(&first).unwrap();
        let (_, reply) = b.encrypt(b"reply", &mut rng).unwrap();
        a.decrypt(MessageType::Normal, &reply).unwrap();
        let later: Vec<Vec<u8>> = (0..4)
            .map(|i| a.encrypt(&[i], &mut rng).unwrap().1)
            .collect();
        // Bob takes the last: three skipped keys stored.
        b.decrypt(MessageType::Normal, &later[3]).unwrap();
        (alice, a, bob, b, later)
    }

    #[test]
    fn a_state_reads_back_to_the_same_bytes_and_goes_on_as_the_original() {
        let (alice, a, bob, b, later) = parties();
        for (account, session) in [(&alice, &a), (&bob, &b)] {
            let bytes = export_state(account, Some(session));
            let back = restore_state(&bytes).unwrap();
            assert_eq!(
                export_state(&back.account, back.session.as_ref()),
                bytes,
                "export of a restore gives the same bytes"
            );
        }
        let mut copy = restore_state(&export_state(&bob, Some(&b)))
            .unwrap()
            .session
            .unwrap();
        assert_eq!(copy.decrypt(MessageType::Normal, &later[1]).unwrap(), [1]);
        assert!(copy.decrypt(MessageType::Normal, &later[3]).is_err());
        let no_session = export_state(&bob, None);
        assert!(restore_state(&no_session).unwrap().session.is_none());
    }

    #[test]
    fn every_truncation_and_a_bad_flag_or_count_is_refused_naming_a_field() {
        let (_, _, bob, b, _) = parties();
        let bytes = export_state(&bob, Some(&b));
        for cut in 0..bytes.len() {
            match restore_state(&bytes[..cut]) {
                Err(OlmError::Malformed(m)) => {
                    assert!(m.starts_with("Olm state: "), "{m}");
                    assert!(m.contains("expected"), "{m}");
                }
                Err(e) => panic!("cut at {cut}: expected malformed, got {e}"),
                Ok(_) => panic!("cut at {cut}: a truncated state was taken"),
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            restore_state(&longer).unwrap_err(),
            OlmError::Malformed("Olm state: 1 bytes after the last field".into())
        );
        let mut version = bytes.clone();
        version[0] = 2;
        assert_eq!(
            restore_state(&version).unwrap_err(),
            OlmError::Malformed("Olm state: version: expected 1, got 2".into())
        );
        // Bob has two one-time keys left: the count sits after the two 32-byte keys.
        let mut count = bytes.clone();
        count[65..69].copy_from_slice(&101u32.to_be_bytes());
        assert_eq!(
            restore_state(&count).unwrap_err(),
            OlmError::Malformed(
                "Olm state: account one-time key count: expected at most 100, got 101".into()
            )
        );
        let mut flag = bytes;
        flag[69 + 64] = 7;
        assert_eq!(
            restore_state(&flag).unwrap_err(),
            OlmError::Malformed("Olm state: session flag: expected 0 or 1, got 7".into())
        );
    }
}
