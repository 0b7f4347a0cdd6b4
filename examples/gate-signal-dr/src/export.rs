//! A session's whole state as bytes, and back: what an attacker who compromised the device
//! would hold (the bench's security oracles restore such copies).
//!
//! Layout (integers big-endian): version `1`; the root key (32); our ratchet private key
//! (32); their ratchet key (a flag byte, then 32 bytes if set); the sending and the
//! receiving chain (each a flag byte, then key (32) and next number (4) if set); PN (4);
//! the count of skipped keys (4), then each as ratchet key (32), n (4), message key (32).

use crate::session::{Chain, Session};
use crate::{Config, Error};
use rand_core::{CryptoRng, RngCore};
use std::collections::BTreeMap;
use x25519_dalek::StaticSecret;

const VERSION: u8 = 1;

impl<R: RngCore + CryptoRng> Session<R> {
    /// The session's state as bytes; secret, like the session itself.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&self.ours.to_bytes());
        match &self.theirs {
            Some(key) => {
                out.push(1);
                out.extend_from_slice(key);
            }
            None => out.push(0),
        }
        for chain in [&self.sending, &self.receiving] {
            match chain {
                Some(c) => {
                    out.push(1);
                    out.extend_from_slice(&c.key);
                    out.extend_from_slice(&c.next.to_be_bytes());
                }
                None => out.push(0),
            }
        }
        out.extend_from_slice(&self.previous.to_be_bytes());
        out.extend_from_slice(&(self.skipped.len() as u32).to_be_bytes());
        for ((ratchet_key, n), key) in &self.skipped {
            out.extend_from_slice(ratchet_key);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(key);
        }
        out
    }

    /// A session rebuilt from [`Session::to_bytes`], drawing its later randomness from
    /// `rng`. Bytes that are not such a state are refused, naming the field.
    pub fn from_bytes(config: Config, bytes: &[u8], rng: R) -> Result<Self, Error> {
        let mut r = Reader(bytes);
        if r.byte("version")? != VERSION {
            return Err(Error::Malformed(format!(
                "state version: expected {VERSION}"
            )));
        }
        let root = r.key("root key")?;
        let ours = StaticSecret::from(r.key("ratchet private key")?);
        let theirs = match r.byte("their key flag")? {
            0 => None,
            _ => Some(r.key("their ratchet key")?),
        };
        let mut chains = [None, None];
        for (slot, name) in chains.iter_mut().zip(["sending chain", "receiving chain"]) {
            if r.byte(name)? != 0 {
                *slot = Some(Chain {
                    key: r.key(name)?,
                    next: r.word(name)?,
                });
            }
        }
        let [sending, receiving] = chains;
        let previous = r.word("previous chain length")?;
        let count = r.word("skipped key count")?;
        let mut skipped = BTreeMap::new();
        for _ in 0..count {
            let ratchet_key = r.key("skipped key's ratchet key")?;
            let n = r.word("skipped key's number")?;
            skipped.insert((ratchet_key, n), r.key("skipped key")?);
        }
        if !r.0.is_empty() {
            return Err(Error::Malformed(format!(
                "state: {} bytes after the last skipped key",
                r.0.len()
            )));
        }
        Ok(Session {
            config,
            rng,
            root,
            ours,
            theirs,
            sending,
            receiving,
            previous,
            skipped,
        })
    }
}

/// Reads a state front to back, naming the field that is cut short.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self, field: &str) -> Result<[u8; N], Error> {
        let Some((head, rest)) = self.0.split_first_chunk::<N>() else {
            return Err(Error::Malformed(format!("state: {field} is cut short")));
        };
        self.0 = rest;
        Ok(*head)
    }

    fn byte(&mut self, field: &str) -> Result<u8, Error> {
        Ok(self.take::<1>(field)?[0])
    }

    fn word(&mut self, field: &str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.take(field)?))
    }

    fn key(&mut self, field: &str) -> Result<[u8; 32], Error> {
        self.take(field)
    }
}
