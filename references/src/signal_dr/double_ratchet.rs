//! The Double Ratchet state and the spec's RatchetInitAlice, RatchetInitBob, RatchetEncrypt
//! and RatchetDecrypt (with TrySkippedMessageKeys, SkipMessageKeys and DHRatchet).
//!
//! RatchetDecrypt is written as "plan, verify, commit": every key the message needs is
//! derived into locals, the MAC is checked, and only then is the state changed and the new
//! ratchet key drawn from the RNG. So a refused message leaves the state, the RNG included,
//! exactly as it was, and the wire bytes are the same as the spec's in-place order gives.
//!
//! A party built by the `..._with_flaw_for_testing_only` constructors carries one planted
//! [`Flaw`] (for `ratchet-bench selftest`); the hooks sit where each bug lives in these
//! functions and cost the reference, whose flaw is `None`, one comparison each.

use super::chain_key::kdf_ck;
use super::error::{DecryptError, EncryptError};
use super::flaw::Flaw;
use super::header::Header;
use super::keys::{ChainKey, KeyPair, MessageKey, RootKey};
use super::message_key::{decrypt, decrypt_short_tag, decrypt_unchecked, encrypt};
use super::root_key::kdf_rk;
use super::skipped_keys::SkippedKeys;
use super::{MAX_SKIP, MAX_STORED};
use rand_core::{CryptoRng, RngCore};
use std::fmt;

/// One party's Double Ratchet state, with the RNG its DH ratchet steps draw from. Cloning copies
/// the RNG too, so a clone goes on exactly as the original would.
#[derive(Clone)]
pub struct DoubleRatchet<R> {
    pub(super) dhs: KeyPair,
    pub(super) dhr: Option<[u8; 32]>,
    pub(super) rk: RootKey,
    pub(super) cks: Option<ChainKey>,
    pub(super) ckr: Option<ChainKey>,
    pub(super) ns: u32,
    pub(super) nr: u32,
    pub(super) pn: u32,
    pub(super) mkskipped: SkippedKeys,
    rng: R,
    /// The planted flaw of a mutant (`None` for the reference): see [`Flaw`].
    flaw: Option<Flaw>,
}

impl<R> fmt::Debug for DoubleRatchet<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleRatchet")
            .field("dhs", &self.dhs)
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.mkskipped.len())
            .field("flaw", &self.flaw)
            .finish_non_exhaustive()
    }
}

/// The state change a verified message commits.
struct Plan {
    /// Keys left in the old receiving chain up to the header's PN (DH ratchet only).
    old_chain: Option<([u8; 32], u32, Vec<MessageKey>)>,
    /// The root key after the receiving half of the DH ratchet (DH ratchet only).
    rk: Option<RootKey>,
    /// Keys skipped in the message's own chain, numbered from `first`.
    first: u32,
    skipped: Vec<MessageKey>,
    /// The receiving chain key after the message's key.
    ckr: ChainKey,
    /// The old receiving chain kept whole ([`Flaw::OldChainKept`] only): its ratchet key,
    /// its chain key and next message number.
    kept_chain: Option<([u8; 32], ChainKey, u32)>,
}

impl<R: RngCore + CryptoRng> DoubleRatchet<R> {
    /// RatchetInitAlice: Alice knows SK and Bob's ratchet public key, draws her first ratchet
    /// key pair and derives her first sending chain.
    pub fn init_alice(sk: RootKey, bob_dh_public_key: [u8; 32], rng: R) -> Self {
        Self::init_alice_flawed(sk, bob_dh_public_key, rng, None)
    }

    /// RatchetInitAlice with a planted flaw, for the mutant peer and the tests only.
    #[doc(hidden)]
    pub fn init_alice_with_flaw_for_testing_only(
        sk: RootKey,
        bob_dh_public_key: [u8; 32],
        rng: R,
        flaw: Flaw,
    ) -> Self {
        Self::init_alice_flawed(sk, bob_dh_public_key, rng, Some(flaw))
    }

    fn init_alice_flawed(
        sk: RootKey,
        bob_dh_public_key: [u8; 32],
        mut rng: R,
        flaw: Option<Flaw>,
    ) -> Self {
        let dhs = KeyPair::generate(&mut rng);
        let (rk, cks) = kdf_rk(&sk, &dhs.dh(&bob_dh_public_key));
        // The flaw drops KDF_RK's new root key here as in every DH ratchet step.
        let rk = if flaw == Some(Flaw::RootKeyFrozen) {
            sk
        } else {
            rk
        };
        DoubleRatchet {
            dhs,
            dhr: Some(bob_dh_public_key),
            rk,
            cks: Some(cks),
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            mkskipped: SkippedKeys::default(),
            rng,
            flaw,
        }
    }

    /// RatchetInitBob: Bob starts from SK and his ratchet key pair, with no chains yet.
    pub fn init_bob(sk: RootKey, bob_dh_key_pair: KeyPair, rng: R) -> Self {
        DoubleRatchet {
            dhs: bob_dh_key_pair,
            dhr: None,
            rk: sk,
            cks: None,
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            mkskipped: SkippedKeys::default(),
            rng,
            flaw: None,
        }
    }

    /// RatchetInitBob with a planted flaw, for the mutant peer and the tests only.
    #[doc(hidden)]
    pub fn init_bob_with_flaw_for_testing_only(
        sk: RootKey,
        bob_dh_key_pair: KeyPair,
        rng: R,
        flaw: Flaw,
    ) -> Self {
        let mut party = Self::init_bob(sk, bob_dh_key_pair, rng);
        party.flaw = Some(flaw);
        party
    }

    /// A flawed party's state: `length (u32 BE) || the reference's export || kept chains`,
    /// the kept chains ([`Flaw::OldChainKept`] only) as `count (u32 BE) || count x (ratchet
    /// public key (32) || chain key (32) || next message number (u32 BE))`. For the mutant
    /// peer and the tests only.
    #[doc(hidden)]
    pub fn export_flawed_state_for_testing_only(&self) -> Vec<u8> {
        let state = self.export_state();
        let chains: Vec<_> = self.mkskipped.kept_chains().collect();
        let mut out = Vec::with_capacity(8 + state.len() + chains.len() * 68);
        out.extend_from_slice(&(state.len() as u32).to_be_bytes());
        out.extend_from_slice(&state);
        out.extend_from_slice(&(chains.len() as u32).to_be_bytes());
        for (dh, ck, nr) in chains {
            out.extend_from_slice(dh);
            out.extend_from_slice(&ck.0);
            out.extend_from_slice(&nr.to_be_bytes());
        }
        out
    }

    /// A flawed party rebuilt from [`DoubleRatchet::export_flawed_state_for_testing_only`]'s
    /// bytes, with `flaw` planted. For the mutant peer and the tests only.
    #[doc(hidden)]
    pub fn restore_flawed_state_for_testing_only(
        bytes: &[u8],
        rng: R,
        flaw: Flaw,
    ) -> Result<Self, DecryptError> {
        let bad = |what: &str| DecryptError::Malformed(format!("flawed state: {what}"));
        let (len, rest) = split_u32(bytes).ok_or_else(|| bad("no length of the state"))?;
        let len = len as usize;
        let state = rest
            .get(..len)
            .ok_or_else(|| bad("the state is shorter than its length"))?;
        let mut party = Self::restore_state(state, rng)?;
        party.flaw = Some(flaw);
        let rest = rest.get(len..).unwrap_or_default();
        let (count, mut rest) = split_u32(rest).ok_or_else(|| bad("no count of kept chains"))?;
        for _ in 0..count {
            let (dh, tail) = split_key(rest).ok_or_else(|| bad("a kept chain's ratchet key"))?;
            let (ck, tail) = split_key(tail).ok_or_else(|| bad("a kept chain's chain key"))?;
            let (nr, tail) = split_u32(tail).ok_or_else(|| bad("a kept chain's next number"))?;
            party.mkskipped.keep_chain(dh, ChainKey(ck), nr);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(bad(&format!("{} bytes after the last field", rest.len())));
        }
        Ok(party)
    }

    /// The party's planted flaw, `None` for the reference.
    pub fn flaw(&self) -> Option<Flaw> {
        self.flaw
    }

    /// How many skipped message keys the party holds.
    pub fn skipped_len(&self) -> usize {
        self.mkskipped.len()
    }

    /// The AEAD's associated data for a message: CONCAT(ad, header), or what a flaw that
    /// leaves a part unbound makes of it.
    fn aead_ad(&self, header: &Header, ad: &[u8]) -> Vec<u8> {
        match self.flaw {
            Some(Flaw::AdNotBound) => header.encode().to_vec(),
            Some(Flaw::HeaderNotBound) => ad.to_vec(),
            _ => header.concat(ad),
        }
    }

    /// DECRYPT, or the [`Flaw::TruncatedMacAccepted`] mutant's version of it.
    fn open(&self, mk: &MessageKey, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if self.flaw == Some(Flaw::TruncatedMacAccepted) {
            return decrypt_short_tag(mk, ciphertext, ad);
        }
        decrypt(mk, ciphertext, ad)
    }

    /// RatchetEncrypt: one step of the sending chain; returns the wire message
    /// `header || ENCRYPT(mk, plaintext, CONCAT(ad, header))`.
    pub fn ratchet_encrypt(
        &mut self,
        plaintext: &[u8],
        ad: &[u8],
    ) -> Result<Vec<u8>, EncryptError> {
        let cks = self.cks.as_ref().ok_or(EncryptError::NoSendingChain)?;
        let (cks, mk) = kdf_ck(cks);
        if self.flaw != Some(Flaw::KeyAndIvReused) {
            self.cks = Some(cks);
        }
        let header = Header {
            dh: self.dhs.public(),
            pn: self.pn,
            n: self.ns,
        };
        self.ns += 1;
        let mut wire = header.encode().to_vec();
        wire.extend_from_slice(&encrypt(&mk, plaintext, &self.aead_ad(&header, ad)));
        Ok(wire)
    }

    /// RatchetDecrypt of a wire message.
    pub fn ratchet_decrypt(&mut self, wire: &[u8], ad: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let (header, ciphertext) = Header::parse(wire)?;
        let ad = self.aead_ad(&header, ad);
        if let Some(plaintext) = self.try_skipped_message_keys(&header, ciphertext, &ad)? {
            return Ok(plaintext);
        }
        if self.flaw == Some(Flaw::OldChainKept) {
            if let Some(plaintext) = self.try_kept_chain(&header, ciphertext, &ad)? {
                return Ok(plaintext);
            }
        }
        let plan = self.plan(&header)?;
        let (ckr, mk) = kdf_ck(&plan.ckr);
        let plan = Plan { ckr, ..plan };
        let plaintext = match self.flaw {
            None => decrypt(&mk, ciphertext, &ad)?,
            // The state moves first and stays moved when the MAC fails: in a known chain
            // (the message's key consumed before the check), or everywhere, the DH ratchet
            // step included (the spec's in-place order without a rollback).
            Some(Flaw::MacAfterAdvance) if plan.rk.is_none() => {
                self.commit(&header, plan);
                return self.open(&mk, ciphertext, &ad);
            }
            Some(Flaw::NoRollback) => {
                self.commit(&header, plan);
                return self.open(&mk, ciphertext, &ad);
            }
            Some(_) => self.open(&mk, ciphertext, &ad)?,
        };
        self.commit(&header, plan);
        if self.flaw == Some(Flaw::UsedKeysKept) {
            self.mkskipped.extend(&header.dh, header.n, vec![mk]);
        }
        Ok(plaintext)
    }

    /// TrySkippedMessageKeys: a stored key is used once and deleted.
    fn try_skipped_message_keys(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        ad: &[u8],
    ) -> Result<Option<Vec<u8>>, DecryptError> {
        let Some(mk) = self.mkskipped.get(&header.dh, header.n) else {
            return Ok(None);
        };
        let plaintext = match self.flaw {
            None => decrypt(mk, ciphertext, ad)?,
            Some(Flaw::SkippedKeyUnchecked) => decrypt_unchecked(mk, ciphertext)?,
            // The key stays in the store after use.
            Some(Flaw::UsedKeysKept) => return Ok(Some(self.open(mk, ciphertext, ad)?)),
            // The key leaves the store before the check.
            Some(Flaw::MacAfterAdvance | Flaw::NoRollback) => {
                let mk = mk.clone();
                self.mkskipped.remove(&header.dh, header.n);
                return self.open(&mk, ciphertext, ad).map(Some);
            }
            Some(_) => self.open(mk, ciphertext, ad)?,
        };
        self.mkskipped.remove(&header.dh, header.n);
        Ok(Some(plaintext))
    }

    /// A late message of an old receiving chain the [`Flaw::OldChainKept`] mutant kept
    /// whole: derived from that chain on demand, its skipped keys stored, the chain moved
    /// past it.
    fn try_kept_chain(
        &mut self,
        header: &Header,
        ciphertext: &[u8],
        ad: &[u8],
    ) -> Result<Option<Vec<u8>>, DecryptError> {
        let Some((ck, nr)) = self.mkskipped.kept_chain(&header.dh) else {
            return Ok(None);
        };
        if header.n < nr {
            return Err(DecryptError::AlreadyUsed { n: header.n });
        }
        let (ck, skipped) = skip_message_keys(ck, nr, header.n, self.flaw)?;
        self.check_room(skipped.len())?;
        let (next, mk) = kdf_ck(&ck);
        let plaintext = self.open(&mk, ciphertext, ad)?;
        self.mkskipped.extend(&header.dh, nr, skipped);
        self.mkskipped.keep_chain(header.dh, next, header.n + 1);
        Ok(Some(plaintext))
    }

    /// Refuses new skipped keys that would overflow the store (unless the store is the
    /// [`Flaw::StoreUnbounded`] mutant's).
    fn check_room(&self, needed: usize) -> Result<(), DecryptError> {
        if needed > 0
            && self.flaw != Some(Flaw::StoreUnbounded)
            && self.mkskipped.len() + needed > MAX_STORED as usize
        {
            return Err(DecryptError::StoreFull {
                stored: self.mkskipped.len(),
                needed,
                max: MAX_STORED,
            });
        }
        Ok(())
    }

    /// Derives, without changing the state, every key the message needs: the rest of the
    /// current receiving chain and a new one if the header carries a new ratchet key, then
    /// the keys skipped in the message's chain. `plan.ckr` is the chain key at the message.
    fn plan(&self, header: &Header) -> Result<Plan, DecryptError> {
        let mut kept_chain = None;
        let (old_chain, rk, chain, nr) = if self.dhr != Some(header.dh) {
            let old_chain = match (&self.ckr, self.dhr) {
                (Some(ckr), Some(dhr)) if self.flaw == Some(Flaw::OldChainKept) => {
                    // The whole chain is kept instead, and PN goes unchecked.
                    kept_chain = Some((dhr, ckr.clone(), self.nr));
                    None
                }
                (Some(ckr), Some(dhr)) => {
                    let (_, keys) = skip_message_keys(ckr, self.nr, header.pn, self.flaw)?;
                    Some((dhr, self.nr, keys))
                }
                _ => {
                    check_skip(self.nr, header.pn, self.flaw)?;
                    None
                }
            };
            // The receiving half of DHRatchet: RK, CKr = KDF_RK(RK, DH(DHs, DHr)).
            let (rk, ckr) = kdf_rk(&self.rk, &self.dhs.dh(&header.dh));
            (old_chain, Some(rk), ckr, 0)
        } else {
            let ckr = self.ckr.clone().ok_or_else(|| {
                DecryptError::Malformed("a known ratchet key without a receiving chain".into())
            })?;
            if header.n < self.nr {
                return Err(DecryptError::AlreadyUsed { n: header.n });
            }
            (None, None, ckr, self.nr)
        };
        let (ckr, skipped) = skip_message_keys(&chain, nr, header.n, self.flaw)?;
        let needed = skipped.len() + old_chain.as_ref().map_or(0, |(_, _, k)| k.len());
        self.check_room(needed)?;
        Ok(Plan {
            old_chain,
            rk,
            first: nr,
            skipped,
            ckr,
            kept_chain,
        })
    }

    /// Applies a verified message's plan: stores the skipped keys, completes DHRatchet
    /// (drawing the new sending key pair) if the header carried a new ratchet key, and
    /// advances the receiving chain past the message.
    fn commit(&mut self, header: &Header, plan: Plan) {
        if let Some((dhr, first, keys)) = plan.old_chain {
            self.mkskipped.extend(&dhr, first, keys);
        }
        if let Some((dhr, ck, nr)) = plan.kept_chain {
            self.mkskipped.keep_chain(dhr, ck, nr);
        }
        if let Some(rk) = plan.rk {
            // The sending half of DHRatchet.
            self.pn = self.ns;
            self.ns = 0;
            self.dhr = Some(header.dh);
            self.dhs = KeyPair::generate(&mut self.rng);
            let frozen = self.flaw == Some(Flaw::RootKeyFrozen);
            // With the flaw both halves start from the root key that was never updated.
            let rk = if frozen { self.rk.clone() } else { rk };
            let (rk, cks) = kdf_rk(&rk, &self.dhs.dh(&header.dh));
            if !frozen {
                self.rk = rk;
            }
            self.cks = Some(cks);
        }
        self.mkskipped.extend(&header.dh, plan.first, plan.skipped);
        self.ckr = Some(plan.ckr);
        self.nr = header.n + 1;
    }
}

/// Refuses a header that would skip more than MAX_SKIP keys from `nr` to `until`. The
/// [`Flaw::MaxSkipIgnored`] mutant checks the store's bound here instead, before deriving,
/// so that only the store's capacity limits it.
fn check_skip(nr: u32, until: u32, flaw: Option<Flaw>) -> Result<(), DecryptError> {
    let skip = u64::from(until).saturating_sub(u64::from(nr));
    if flaw == Some(Flaw::MaxSkipIgnored) {
        if skip > u64::from(MAX_STORED) {
            return Err(DecryptError::StoreFull {
                stored: 0,
                needed: usize::try_from(skip).unwrap_or(usize::MAX),
                max: MAX_STORED,
            });
        }
        return Ok(());
    }
    if skip > u64::from(MAX_SKIP) {
        return Err(DecryptError::TooFarAhead {
            skip,
            max: MAX_SKIP,
        });
    }
    Ok(())
}

/// SkipMessageKeys without the store: the keys of messages `nr..until` of the chain at `ck`,
/// and the chain key at message `until`.
fn skip_message_keys(
    ck: &ChainKey,
    nr: u32,
    until: u32,
    flaw: Option<Flaw>,
) -> Result<(ChainKey, Vec<MessageKey>), DecryptError> {
    check_skip(nr, until, flaw)?;
    let mut ck = ck.clone();
    let mut keys = Vec::with_capacity(until.saturating_sub(nr) as usize);
    for _ in nr..until {
        let (next, mk) = kdf_ck(&ck);
        keys.push(mk);
        ck = next;
    }
    Ok((ck, keys))
}

fn split_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*head), rest))
}

fn split_key(bytes: &[u8]) -> Option<([u8; 32], &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<32>()?;
    Some((*head, rest))
}
