//! One side of a session: the Double Ratchet's state, sending and receiving.
//!
//! Receiving is done in two phases: every key a message needs is derived into a
//! [`Pending`] without touching the session, the message is opened with its key, and only
//! then is the session changed (and a new ratchet key drawn). A refused message therefore
//! leaves the session, its random generator included, as it was.

use crate::envelope::{open, seal};
use crate::header::Header;
use crate::kdf::{chain_step, root_step, Key};
use crate::{Config, Error, MAX_SKIP, MAX_STORED};
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeMap;
use std::fmt;
use x25519_dalek::{PublicKey, StaticSecret};

/// A symmetric chain: its current key and the number of the next message.
#[derive(Clone)]
pub(crate) struct Chain {
    pub(crate) key: Key,
    pub(crate) next: u32,
}

/// One party of a session. Secrets never print: `Debug` shows the counters only.
pub struct Session<R> {
    pub(crate) config: Config,
    pub(crate) rng: R,
    pub(crate) root: Key,
    pub(crate) ours: StaticSecret,
    pub(crate) theirs: Option<[u8; 32]>,
    pub(crate) sending: Option<Chain>,
    pub(crate) receiving: Option<Chain>,
    /// The length of our previous sending chain (the headers' PN).
    pub(crate) previous: u32,
    /// Keys of messages skipped so far, by (their ratchet key, n).
    pub(crate) skipped: BTreeMap<([u8; 32], u32), Key>,
}

impl<R> fmt::Debug for Session<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sent", &self.sending.as_ref().map(|c| c.next))
            .field("received", &self.receiving.as_ref().map(|c| c.next))
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

/// A stored message key: their ratchet key, the message's number, the key.
type Skipped = ([u8; 32], u32, Key);

/// What a message will change once its tag is checked.
struct Pending {
    /// Keys left in the receiving chain being replaced, from the header's PN.
    closing: Vec<Skipped>,
    /// The root key after the receiving half of a DH ratchet step, if the message brings a
    /// new ratchet key.
    root: Option<Key>,
    /// Keys skipped in the message's own chain.
    skipped: Vec<Skipped>,
    /// The message's key.
    key: Key,
    /// The receiving chain after the message.
    chain: Chain,
}

fn new_secret<R: RngCore + CryptoRng>(rng: &mut R) -> StaticSecret {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    StaticSecret::from(bytes)
}

fn dh(ours: &StaticSecret, theirs: &[u8; 32]) -> Key {
    ours.diffie_hellman(&PublicKey::from(*theirs)).to_bytes()
}

/// The keys of messages `from..until` of the chain at `chain` (numbered from `from`), and
/// the chain at `until`; refused beyond MAX_SKIP.
fn skip(
    chain: &Key,
    ratchet_key: [u8; 32],
    from: u32,
    until: u32,
) -> Result<(Vec<Skipped>, Key), Error> {
    let count = u64::from(until).saturating_sub(u64::from(from));
    if count > u64::from(MAX_SKIP) {
        return Err(Error::TooFarAhead { skip: count });
    }
    let mut keys = Vec::new();
    let mut chain = *chain;
    for n in from..until.max(from) {
        let (message_key, next) = chain_step(&chain);
        keys.push((ratchet_key, n, message_key));
        chain = next;
    }
    Ok((keys, chain))
}

impl<R: RngCore + CryptoRng> Session<R> {
    /// The responder (Bob): draws its first ratchet key pair; returns the session and the
    /// public key the initiator needs.
    pub fn responder(config: Config, shared_secret: [u8; 32], mut rng: R) -> (Self, [u8; 32]) {
        let ours = new_secret(&mut rng);
        let public = PublicKey::from(&ours).to_bytes();
        let session = Session {
            config,
            rng,
            root: shared_secret,
            ours,
            theirs: None,
            sending: None,
            receiving: None,
            previous: 0,
            skipped: BTreeMap::new(),
        };
        (session, public)
    }

    /// The initiator (Alice), from the responder's public ratchet key: draws its ratchet key
    /// pair and derives its first sending chain.
    pub fn initiator(
        config: Config,
        shared_secret: [u8; 32],
        theirs: [u8; 32],
        mut rng: R,
    ) -> Self {
        let ours = new_secret(&mut rng);
        let (root, chain) = root_step(&shared_secret, &dh(&ours, &theirs), config.root_info);
        Session {
            config,
            rng,
            root,
            ours,
            theirs: Some(theirs),
            sending: Some(Chain {
                key: chain,
                next: 0,
            }),
            receiving: None,
            previous: 0,
            skipped: BTreeMap::new(),
        }
    }

    /// Encrypts `plaintext`, binding `ad`: the wire message `header || body || tag`.
    pub fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let ratchet_key = PublicKey::from(&self.ours).to_bytes();
        let chain = self.sending.as_mut().ok_or(Error::NoSendingChain)?;
        let (message_key, next) = chain_step(&chain.key);
        let header = Header {
            ratchet_key,
            n: chain.next,
            pn: self.previous,
        };
        chain.key = next;
        chain.next = chain.next.saturating_add(1);
        let mut wire = header.to_bytes().to_vec();
        let associated = [ad, &wire].concat();
        wire.extend(seal(&message_key, &self.config, &associated, plaintext));
        Ok(wire)
    }

    /// Decrypts a wire message, checking that it binds `ad`. A refused message changes
    /// nothing.
    pub fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Error> {
        let (header, sealed) = Header::split(wire)?;
        let associated = [ad, &wire[..crate::HEADER_LEN]].concat();
        let id = (header.ratchet_key, header.n);
        if let Some(key) = self.skipped.get(&id) {
            let plaintext = open(key, &self.config, &associated, sealed)?;
            self.skipped.remove(&id);
            return Ok(plaintext);
        }
        let pending = self.prepare(&header)?;
        let plaintext = open(&pending.key, &self.config, &associated, sealed)?;
        self.apply(&header, pending);
        Ok(plaintext)
    }

    /// Derives what `header` needs, changing nothing.
    fn prepare(&self, header: &Header) -> Result<Pending, Error> {
        let mut closing = Vec::new();
        let (root, chain, from) = if self.theirs == Some(header.ratchet_key) {
            let Some(current) = &self.receiving else {
                return Err(Error::Malformed(
                    "a message under the responder's published key, which never sends".into(),
                ));
            };
            if header.n < current.next {
                return Err(Error::Replay { n: header.n });
            }
            (None, current.key, current.next)
        } else {
            match (&self.receiving, self.theirs) {
                (Some(current), Some(old)) => {
                    closing = skip(&current.key, old, current.next, header.pn)?.0;
                }
                _ => {
                    // No receiving chain yet: the header's PN still may not exceed MAX_SKIP.
                    if header.pn > MAX_SKIP {
                        return Err(Error::TooFarAhead {
                            skip: u64::from(header.pn),
                        });
                    }
                }
            }
            let (root, chain) = root_step(
                &self.root,
                &dh(&self.ours, &header.ratchet_key),
                self.config.root_info,
            );
            (Some(root), chain, 0)
        };
        let (skipped, at) = skip(&chain, header.ratchet_key, from, header.n)?;
        let needed = skipped.len() + closing.len();
        if needed > 0 && self.skipped.len() + needed > MAX_STORED {
            return Err(Error::StoreFull {
                held: self.skipped.len(),
                needed,
            });
        }
        let (key, next) = chain_step(&at);
        Ok(Pending {
            closing,
            root,
            skipped,
            key,
            chain: Chain {
                key: next,
                next: header.n.saturating_add(1),
            },
        })
    }

    /// Commits a checked message: stores the skipped keys, completes the DH ratchet step
    /// (drawing our next key pair) if the message brought a new ratchet key, and moves the
    /// receiving chain past it.
    fn apply(&mut self, header: &Header, pending: Pending) {
        let stored = pending.closing.into_iter().chain(pending.skipped);
        for (ratchet_key, n, key) in stored {
            self.skipped.insert((ratchet_key, n), key);
        }
        if let Some(root) = pending.root {
            self.previous = self.sending.as_ref().map_or(0, |c| c.next);
            self.theirs = Some(header.ratchet_key);
            self.ours = new_secret(&mut self.rng);
            let (root, chain) = root_step(
                &root,
                &dh(&self.ours, &header.ratchet_key),
                self.config.root_info,
            );
            self.root = root;
            self.sending = Some(Chain {
                key: chain,
                next: 0,
            });
        }
        self.receiving = Some(pending.chain);
    }

    /// How many skipped keys the session holds.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }
}
