//! A party's whole state as bytes and back: what an attacker who copied the device holds,
//! for the bench's security oracles (forward secrecy, healing, compromise and restore).
//!
//! The encoding, version [`STATE_VERSION`], integers big-endian, public keys serialised (33
//! bytes, [`super::keys`]), private keys as stored (32 bytes, clamped), flags `00` / `01`:
//!
//! ```text
//! version (1) || role (1: 00 initiator, 01 responder)
//! || identity private key (32) || registration id (4)
//! || trusted identity: flag [|| public key]
//! || signed pre-key: flag [|| id (4) || private key (32) || signature (64)]
//! || one-time pre-keys: count (4) || count × (id (4) || private key (32))
//! || current state: flag [|| state] || archived states: count (4) || count × state
//!
//! state = remote identity || root key (32) || previous counter (4)
//!      || sending ratchet private key (32) || sending chain key (32) || its index (4)
//!      || receiving chains: count (4) || count × (ratchet key || chain key (32)
//!         || index (4) || skipped: count (4) || count × (counter (4) || seed (32)))
//!      || pending pre-key: flag [|| one-time id: flag [|| id (4)] || signed id (4)
//!         || base key]
//!      || remote registration id (4) || initiator base key
//!      || made from: flag [|| one-time id: flag [|| id (4)] || signed id (4)]
//! ```
//!
//! A state's local identity and registration id are the party's, so they are not repeated.
//! The decoder refuses, naming the field by its path: a wrong version, truncation, trailing
//! bytes, a flag or role byte other than the ones above, a key that does not parse, and any
//! state no party of this reference could have exported (an initiator with pre-keys or
//! without a session, more than one one-time pre-key, a signature that does not verify, more
//! than [`MAX_RECEIVER_CHAINS`] chains, [`MAX_MESSAGE_KEYS`] skipped keys in a chain or
//! [`ARCHIVED_STATES_MAX_LENGTH`] archived states, skipped counters not strictly rising or
//! not below their chain's index, two chains for one ratchet key). The RNG is not part of
//! the state: a restored party draws from the one it is given, as a copy on another device
//! would; its work count starts at zero. The bytes are secrets: nothing here prints them.

use super::chain_key::ChainKey;
use super::error::SignalV3Error;
use super::keys::{KeyPair, PrivateKey, PublicKey, KEY_LEN, PUBLIC_KEY_LEN};
use super::message_keys::MessageKeySeed;
use super::party::{BoxRng, Party, Role};
use super::pre_keys::{OneTimePreKey, SignedPreKey};
use super::receiver_chain::{ReceiverChain, MAX_MESSAGE_KEYS};
use super::root_key::RootKey;
use super::session_record::{SessionRecord, ARCHIVED_STATES_MAX_LENGTH};
use super::session_state::{PendingPreKey, SenderChain, SessionState, MAX_RECEIVER_CHAINS};
use super::xeddsa;
use std::collections::VecDeque;

/// The encoding's version byte.
pub const STATE_VERSION: u8 = 1;

/// The party's state in the encoding of this module.
pub fn export_state(party: &Party) -> Vec<u8> {
    let mut w = Vec::with_capacity(512);
    w.push(STATE_VERSION);
    w.push(match party.role {
        Role::Initiator => 0,
        Role::Responder => 1,
    });
    w.extend_from_slice(&party.identity.private.to_bytes());
    w.extend_from_slice(&party.registration_id.to_be_bytes());
    put_option(&mut w, party.trusted_identity.as_ref(), |w, k| {
        w.extend_from_slice(&k.serialize())
    });
    put_option(&mut w, party.signed_pre_key.as_ref(), |w, s| {
        w.extend_from_slice(&s.id.to_be_bytes());
        w.extend_from_slice(&s.pair.private.to_bytes());
        w.extend_from_slice(&s.signature);
    });
    put_len(&mut w, party.one_time_pre_keys.len());
    for k in &party.one_time_pre_keys {
        w.extend_from_slice(&k.id.to_be_bytes());
        w.extend_from_slice(&k.pair.private.to_bytes());
    }
    put_option(&mut w, party.record.current.as_ref(), put_state);
    put_len(&mut w, party.record.previous.len());
    for s in &party.record.previous {
        put_state(&mut w, s);
    }
    w
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    // Every count is bounded far below 2^32 by the limits above.
    w.extend_from_slice(&(n as u32).to_be_bytes());
}

fn put_option<T>(w: &mut Vec<u8>, v: Option<&T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        Some(v) => {
            w.push(1);
            put(w, v);
        }
        None => w.push(0),
    }
}

fn put_ids(w: &mut Vec<u8>, one_time: Option<u32>, signed: u32) {
    put_option(w, one_time.as_ref(), |w, id| {
        w.extend_from_slice(&id.to_be_bytes())
    });
    w.extend_from_slice(&signed.to_be_bytes());
}

fn put_state(w: &mut Vec<u8>, s: &SessionState) {
    w.extend_from_slice(&s.remote_identity.serialize());
    w.extend_from_slice(&s.root_key.0);
    w.extend_from_slice(&s.previous_counter.to_be_bytes());
    w.extend_from_slice(&s.sender.ratchet.private.to_bytes());
    w.extend_from_slice(&s.sender.chain_key.key);
    w.extend_from_slice(&s.sender.chain_key.index.to_be_bytes());
    put_len(w, s.receivers.len());
    for c in &s.receivers {
        w.extend_from_slice(&c.ratchet_key.serialize());
        w.extend_from_slice(&c.chain_key.key);
        w.extend_from_slice(&c.chain_key.index.to_be_bytes());
        put_len(w, c.skipped.len());
        for k in &c.skipped {
            w.extend_from_slice(&k.counter.to_be_bytes());
            w.extend_from_slice(&k.seed);
        }
    }
    put_option(w, s.pending_pre_key.as_ref(), |w, p| {
        put_ids(w, p.pre_key_id, p.signed_pre_key_id);
        w.extend_from_slice(&p.base_key.serialize());
    });
    w.extend_from_slice(&s.remote_registration_id.to_be_bytes());
    w.extend_from_slice(&s.alice_base_key.serialize());
    put_option(w, s.made_from.as_ref(), |w, (one_time, signed)| {
        put_ids(w, *one_time, *signed)
    });
}

/// The party [`export_state`] encoded, drawing later randomness from `rng`; a refusal
/// ([`SignalV3Error::MalformedState`]) names the field.
pub fn restore_state(bytes: &[u8], rng: BoxRng) -> Result<Party, SignalV3Error> {
    let mut r = Reader { bytes, at: 0 };
    let version = r.u8("version")?;
    if version != STATE_VERSION {
        return Err(bad(format!(
            "version: expected {STATE_VERSION}, got {version}"
        )));
    }
    let role = match r.u8("role")? {
        0 => Role::Initiator,
        1 => Role::Responder,
        b => return Err(bad(format!("role: expected 0 or 1, got {b}"))),
    };
    let identity = KeyPair::from_private(r.private_key("identity private key")?);
    let registration_id = r.u32("registration id")?;
    let trusted_identity = r.option("trusted identity", |r| r.public_key("trusted identity"))?;
    let signed_pre_key = r.option("signed pre-key", |r| {
        let id = r.u32("signed pre-key id")?;
        let pair = KeyPair::from_private(r.private_key("signed pre-key private key")?);
        let signature = r.array::<64>("signed pre-key signature")?;
        if !xeddsa::verify(&identity.public, &pair.public.serialize(), &signature) {
            return Err(bad(
                "signed pre-key signature: expected a signature by the identity key, got one that does not verify",
            ));
        }
        Ok(SignedPreKey { id, pair, signature })
    })?;
    let max_one_time = usize::from(role == Role::Responder);
    let n = r.count("one-time pre-key count", max_one_time)?;
    let mut one_time_pre_keys = Vec::with_capacity(n);
    for i in 0..n {
        one_time_pre_keys.push(OneTimePreKey {
            id: r.u32(&format!("one-time pre-key {i} id"))?,
            pair: KeyPair::from_private(
                r.private_key(&format!("one-time pre-key {i} private key"))?,
            ),
        });
    }
    let current = r.option("current state", |r| {
        read_state(r, "current state", &identity, registration_id)
    })?;
    let n = r.count("archived state count", ARCHIVED_STATES_MAX_LENGTH)?;
    let mut previous = VecDeque::with_capacity(n);
    for i in 0..n {
        previous.push_back(read_state(
            &mut r,
            &format!("archived state {i}"),
            &identity,
            registration_id,
        )?);
    }
    if r.at != bytes.len() {
        return Err(bad(format!(
            "end: expected {} bytes, got {} more",
            r.at,
            bytes.len() - r.at
        )));
    }
    match role {
        Role::Initiator => {
            if signed_pre_key.is_some() || current.is_none() || trusted_identity.is_none() {
                return Err(bad(
                    "role: expected an initiator to have a session, a trusted identity and no signed pre-key",
                ));
            }
        }
        Role::Responder => {
            if signed_pre_key.is_none() {
                return Err(bad(
                    "signed pre-key: expected one for a responder, got none",
                ));
            }
            if current.is_some() != trusted_identity.is_some() {
                return Err(bad(
                    "trusted identity: expected one exactly when the responder has a session",
                ));
            }
        }
    }
    Ok(Party {
        role,
        identity,
        registration_id,
        signed_pre_key,
        one_time_pre_keys,
        trusted_identity,
        record: SessionRecord {
            current,
            previous,
            drops_previous: false,
        },
        rng,
        derivations: 0,
        replenishes: true,
    })
}

fn bad(what: impl Into<String>) -> SignalV3Error {
    SignalV3Error::MalformedState(what.into())
}

fn read_ids(r: &mut Reader<'_>, path: &str) -> Result<(Option<u32>, u32), SignalV3Error> {
    let one_time = r.option(&format!("{path} one-time pre-key id"), |r| {
        r.u32(&format!("{path} one-time pre-key id"))
    })?;
    Ok((one_time, r.u32(&format!("{path} signed pre-key id"))?))
}

fn read_state(
    r: &mut Reader<'_>,
    path: &str,
    identity: &KeyPair,
    registration_id: u32,
) -> Result<SessionState, SignalV3Error> {
    let remote_identity = r.public_key(&format!("{path} remote identity"))?;
    let root_key = RootKey::new(r.array::<32>(&format!("{path} root key"))?);
    let previous_counter = r.u32(&format!("{path} previous counter"))?;
    let ratchet = KeyPair::from_private(r.private_key(&format!("{path} sending ratchet key"))?);
    let sending_key = r.array::<32>(&format!("{path} sending chain key"))?;
    let sending_index = r.u32(&format!("{path} sending chain index"))?;
    let n = r.count(
        &format!("{path} receiving chain count"),
        MAX_RECEIVER_CHAINS,
    )?;
    let mut receivers: Vec<ReceiverChain> = Vec::with_capacity(n);
    for c in 0..n {
        let cp = format!("{path} receiving chain {c}");
        let ratchet_key = r.public_key(&format!("{cp} ratchet key"))?;
        if receivers.iter().any(|o| o.ratchet_key == ratchet_key) {
            return Err(bad(format!(
                "{cp} ratchet key: expected one chain per ratchet key, got a second"
            )));
        }
        let key = r.array::<32>(&format!("{cp} chain key"))?;
        let index = r.u32(&format!("{cp} index"))?;
        let mut chain = ReceiverChain::new(ratchet_key, ChainKey::new(key, index));
        let k = r.count(&format!("{cp} skipped key count"), MAX_MESSAGE_KEYS)?;
        let mut last: Option<u32> = None;
        for j in 0..k {
            let counter = r.u32(&format!("{cp} skipped key {j} counter"))?;
            if counter >= index || last.is_some_and(|l| counter <= l) {
                return Err(bad(format!(
                    "{cp} skipped key {j} counter: expected rising counters below the chain index {index}, got {counter}"
                )));
            }
            last = Some(counter);
            let seed = r.array::<32>(&format!("{cp} skipped key {j} seed"))?;
            chain.skipped.push_back(MessageKeySeed::new(seed, counter));
        }
        receivers.push(chain);
    }
    let pending_pre_key = r.option(&format!("{path} pending pre-key"), |r| {
        let (pre_key_id, signed_pre_key_id) = read_ids(r, &format!("{path} pending pre-key"))?;
        Ok(PendingPreKey {
            pre_key_id,
            signed_pre_key_id,
            base_key: r.public_key(&format!("{path} pending pre-key base key"))?,
        })
    })?;
    let remote_registration_id = r.u32(&format!("{path} remote registration id"))?;
    let alice_base_key = r.public_key(&format!("{path} initiator base key"))?;
    let made_from = r.option(&format!("{path} made from"), |r| {
        read_ids(r, &format!("{path} made from"))
    })?;
    let mut state = SessionState::new(
        identity.public,
        remote_identity,
        root_key,
        SenderChain::new(ratchet, ChainKey::new(sending_key, sending_index)),
        receivers,
        alice_base_key,
    );
    state.previous_counter = previous_counter;
    state.pending_pre_key = pending_pre_key;
    state.local_registration_id = registration_id;
    state.remote_registration_id = remote_registration_id;
    state.made_from = made_from;
    Ok(state)
}

/// Reads the encoding front to back, naming each field it fails on.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, name: &str, n: usize) -> Result<&'a [u8], SignalV3Error> {
        let bytes = self.bytes;
        let rest = self.bytes.len() - self.at;
        if rest < n {
            return Err(bad(format!(
                "{name}: expected {n} bytes at byte {}, got {rest}",
                self.at
            )));
        }
        let out = &bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, name: &str) -> Result<[u8; N], SignalV3Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(name, N)?);
        Ok(out)
    }

    fn u8(&mut self, name: &str) -> Result<u8, SignalV3Error> {
        Ok(self.array::<1>(name)?[0])
    }

    fn u32(&mut self, name: &str) -> Result<u32, SignalV3Error> {
        Ok(u32::from_be_bytes(self.array::<4>(name)?))
    }

    fn count(&mut self, name: &str, max: usize) -> Result<usize, SignalV3Error> {
        let n = self.u32(name)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= max)
            .ok_or_else(|| bad(format!("{name}: expected at most {max}, got {n}")))
    }

    fn option<T>(
        &mut self,
        name: &str,
        read: impl FnOnce(&mut Self) -> Result<T, SignalV3Error>,
    ) -> Result<Option<T>, SignalV3Error> {
        match self.u8(&format!("{name} flag"))? {
            0 => Ok(None),
            1 => read(self).map(Some),
            b => Err(bad(format!("{name} flag: expected 0 or 1, got {b}"))),
        }
    }

    fn private_key(&mut self, name: &str) -> Result<PrivateKey, SignalV3Error> {
        let bytes = self.array::<KEY_LEN>(name)?;
        let key = PrivateKey::from_bytes(bytes);
        if key.to_bytes() != bytes {
            return Err(bad(format!(
                "{name}: expected a clamped private key, got one that is not"
            )));
        }
        Ok(key)
    }

    fn public_key(&mut self, name: &str) -> Result<PublicKey, SignalV3Error> {
        let bytes = self.take(name, PUBLIC_KEY_LEN)?;
        PublicKey::deserialize(name, bytes).map_err(|e| match e {
            SignalV3Error::Malformed(m) => bad(m),
            other => other,
        })
    }
}
