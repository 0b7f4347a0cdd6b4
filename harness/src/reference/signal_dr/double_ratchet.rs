//! The Double Ratchet state and the spec's RatchetInitAlice, RatchetInitBob, RatchetEncrypt
//! and RatchetDecrypt (with TrySkippedMessageKeys, SkipMessageKeys and DHRatchet).
//!
//! RatchetDecrypt is written as "plan, verify, commit": every key the message needs is
//! derived into locals, the MAC is checked, and only then is the state changed and the new
//! ratchet key drawn from the RNG. So a refused message leaves the state, the RNG included,
//! exactly as it was, and the wire bytes are the same as the spec's in-place order gives.

use super::chain_key::kdf_ck;
use super::error::{DecryptError, EncryptError};
use super::header::Header;
use super::keys::{ChainKey, KeyPair, MessageKey, RootKey};
use super::message_key::{decrypt, encrypt};
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
}

impl<R> fmt::Debug for DoubleRatchet<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleRatchet")
            .field("dhs", &self.dhs)
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.mkskipped.len())
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
}

impl<R: RngCore + CryptoRng> DoubleRatchet<R> {
    /// RatchetInitAlice: Alice knows SK and Bob's ratchet public key, draws her first ratchet
    /// key pair and derives her first sending chain.
    pub fn init_alice(sk: RootKey, bob_dh_public_key: [u8; 32], mut rng: R) -> Self {
        let dhs = KeyPair::generate(&mut rng);
        let (rk, cks) = kdf_rk(&sk, &dhs.dh(&bob_dh_public_key));
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
        }
    }

    /// How many skipped message keys the party holds.
    pub fn skipped_len(&self) -> usize {
        self.mkskipped.len()
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
        self.cks = Some(cks);
        let header = Header {
            dh: self.dhs.public(),
            pn: self.pn,
            n: self.ns,
        };
        self.ns += 1;
        let mut wire = header.encode().to_vec();
        wire.extend_from_slice(&encrypt(&mk, plaintext, &header.concat(ad)));
        Ok(wire)
    }

    /// RatchetDecrypt of a wire message.
    pub fn ratchet_decrypt(&mut self, wire: &[u8], ad: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let (header, ciphertext) = Header::parse(wire)?;
        let ad = header.concat(ad);
        if let Some(plaintext) = self.try_skipped_message_keys(&header, ciphertext, &ad)? {
            return Ok(plaintext);
        }
        let plan = self.plan(&header)?;
        let (ckr, mk) = kdf_ck(&plan.ckr);
        let plaintext = decrypt(&mk, ciphertext, &ad)?;
        self.commit(&header, Plan { ckr, ..plan });
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
        let plaintext = decrypt(mk, ciphertext, ad)?;
        self.mkskipped.remove(&header.dh, header.n);
        Ok(Some(plaintext))
    }

    /// Derives, without changing the state, every key the message needs: the rest of the
    /// current receiving chain and a new one if the header carries a new ratchet key, then
    /// the keys skipped in the message's chain. `plan.ckr` is the chain key at the message.
    fn plan(&self, header: &Header) -> Result<Plan, DecryptError> {
        let (old_chain, rk, chain, nr) = if self.dhr != Some(header.dh) {
            let old_chain = match (&self.ckr, self.dhr) {
                (Some(ckr), Some(dhr)) => {
                    let (_, keys) = skip_message_keys(ckr, self.nr, header.pn)?;
                    Some((dhr, self.nr, keys))
                }
                _ => {
                    check_skip(self.nr, header.pn)?;
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
        let (ckr, skipped) = skip_message_keys(&chain, nr, header.n)?;
        let needed = skipped.len() + old_chain.as_ref().map_or(0, |(_, _, k)| k.len());
        if needed > 0 && self.mkskipped.len() + needed > MAX_STORED as usize {
            return Err(DecryptError::StoreFull {
                stored: self.mkskipped.len(),
                needed,
                max: MAX_STORED,
            });
        }
        Ok(Plan {
            old_chain,
            rk,
            first: nr,
            skipped,
            ckr,
        })
    }

    /// Applies a verified message's plan: stores the skipped keys, completes DHRatchet
    /// (drawing the new sending key pair) if the header carried a new ratchet key, and
    /// advances the receiving chain past the message.
    fn commit(&mut self, header: &Header, plan: Plan) {
        if let Some((dhr, first, keys)) = plan.old_chain {
            self.mkskipped.extend(&dhr, first, keys);
        }
        if let Some(rk) = plan.rk {
            // The sending half of DHRatchet.
            self.pn = self.ns;
            self.ns = 0;
            self.dhr = Some(header.dh);
            self.dhs = KeyPair::generate(&mut self.rng);
            let (rk, cks) = kdf_rk(&rk, &self.dhs.dh(&header.dh));
            self.rk = rk;
            self.cks = Some(cks);
        }
        self.mkskipped.extend(&header.dh, plan.first, plan.skipped);
        self.ckr = Some(plan.ckr);
        self.nr = header.n + 1;
    }
}

/// Refuses a header that would skip more than MAX_SKIP keys from `nr` to `until`.
fn check_skip(nr: u32, until: u32) -> Result<(), DecryptError> {
    let skip = u64::from(until).saturating_sub(u64::from(nr));
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
) -> Result<(ChainKey, Vec<MessageKey>), DecryptError> {
    check_skip(nr, until)?;
    let mut ck = ck.clone();
    let mut keys = Vec::with_capacity(until.saturating_sub(nr) as usize);
    for _ in nr..until {
        let (next, mk) = kdf_ck(&ck);
        keys.push(mk);
        ck = next;
    }
    Ok((ck, keys))
}
