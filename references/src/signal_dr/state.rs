//! A party's whole Double Ratchet state as bytes and back: what an attacker who copied the
//! device holds, for the security oracles (forward secrecy, post-compromise healing).
//!
//! The encoding, all integers big-endian:
//!
//! ```text
//! version (1 byte, 1)
//! DHs private key (32)
//! DHr: flag (1) [|| public key (32)]
//! RK (32)
//! CKs: flag (1) [|| chain key (32)]
//! CKr: flag (1) [|| chain key (32)]
//! Ns (4) || Nr (4) || PN (4)
//! MKSKIPPED: count (4) || count x (ratchet public key (32) || n (4) || message key (32))
//! ```
//!
//! The RNG is not part of the state: a restored party draws from the RNG it is given, as a
//! copy on another device would. The bytes are secrets: nothing here prints them.

use super::double_ratchet::DoubleRatchet;
use super::error::DecryptError;
use super::keys::{ChainKey, KeyPair, MessageKey, RootKey};
use rand_core::{CryptoRng, RngCore};

/// The encoding's version byte.
const VERSION: u8 = 1;

impl<R: RngCore + CryptoRng> DoubleRatchet<R> {
    /// The party's state in the encoding of this module (the RNG left out).
    pub fn export_state(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.mkskipped.len() * 68);
        out.push(VERSION);
        out.extend_from_slice(&self.dhs.secret_bytes());
        put_option(&mut out, self.dhr.as_ref());
        out.extend_from_slice(&self.rk.0);
        put_option(&mut out, self.cks.as_ref().map(|k| &k.0));
        put_option(&mut out, self.ckr.as_ref().map(|k| &k.0));
        for n in [self.ns, self.nr, self.pn] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.extend_from_slice(&(self.mkskipped.len() as u32).to_be_bytes());
        for ((dh, n), mk) in self.mkskipped.iter() {
            out.extend_from_slice(dh);
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(&mk.0);
        }
        out
    }

    /// A party rebuilt from [`DoubleRatchet::export_state`]'s bytes, drawing later ratchet
    /// keys from `rng`. Bytes that are not such a state are refused as malformed, naming the
    /// field.
    pub fn restore_state(bytes: &[u8], rng: R) -> Result<Self, DecryptError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.byte("version")?;
        if version != VERSION {
            return Err(DecryptError::Malformed(format!(
                "state: expected version {VERSION}, got {version}"
            )));
        }
        let dhs = KeyPair::from_secret_bytes(r.key("DHs")?);
        let dhr = r.option("DHr")?;
        let rk = RootKey(r.key("RK")?);
        let cks = r.option("CKs")?.map(ChainKey);
        let ckr = r.option("CKr")?.map(ChainKey);
        let ns = r.u32("Ns")?;
        let nr = r.u32("Nr")?;
        let pn = r.u32("PN")?;
        let count = r.u32("MKSKIPPED count")?;
        // Fields are assigned onto a fresh party rather than listed in a struct literal, so
        // that the state keeps working when the ratchet gains a field this encoding does not
        // carry (that field then keeps its initial value).
        let mut party = DoubleRatchet::init_bob(rk, dhs, rng);
        party.dhr = dhr;
        party.cks = cks;
        party.ckr = ckr;
        party.ns = ns;
        party.nr = nr;
        party.pn = pn;
        for _ in 0..count {
            let dh = r.key("MKSKIPPED ratchet key")?;
            let n = r.u32("MKSKIPPED message number")?;
            let mk = MessageKey(r.key("MKSKIPPED message key")?);
            party.mkskipped.extend(&dh, n, vec![mk]);
        }
        if r.at != bytes.len() {
            return Err(DecryptError::Malformed(format!(
                "state: {} bytes after the last field",
                bytes.len() - r.at
            )));
        }
        Ok(party)
    }
}

fn put_option(out: &mut Vec<u8>, key: Option<&[u8; 32]>) {
    match key {
        Some(k) => {
            out.push(1);
            out.extend_from_slice(k);
        }
        None => out.push(0),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, field: &str) -> Result<&[u8], DecryptError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let Some(end) = end else {
            return Err(DecryptError::Malformed(format!(
                "state: {field} needs {n} bytes, {} left",
                self.bytes.len().saturating_sub(self.at)
            )));
        };
        let out = self.bytes.get(self.at..end).unwrap_or_default();
        self.at = end;
        Ok(out)
    }

    fn byte(&mut self, field: &str) -> Result<u8, DecryptError> {
        Ok(self.take(1, field)?.first().copied().unwrap_or_default())
    }

    fn key(&mut self, field: &str) -> Result<[u8; 32], DecryptError> {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.take(32, field)?);
        Ok(key)
    }

    fn u32(&mut self, field: &str) -> Result<u32, DecryptError> {
        let mut n = [0u8; 4];
        n.copy_from_slice(self.take(4, field)?);
        Ok(u32::from_be_bytes(n))
    }

    fn option(&mut self, field: &str) -> Result<Option<[u8; 32]>, DecryptError> {
        match self.byte(field)? {
            0 => Ok(None),
            1 => Ok(Some(self.key(field)?)),
            other => Err(DecryptError::Malformed(format!(
                "state: {field}: expected a flag 0 or 1, got {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    #[test]
    fn a_restored_party_goes_on_as_the_original() {
        let sk = RootKey::from_bytes([7; 32]);
        let mut r = rng(1);
        let pair = KeyPair::generate(&mut r);
        let bob_pub = pair.public();
        let mut bob = DoubleRatchet::init_bob(sk.clone(), pair, rng(2));
        let mut alice = DoubleRatchet::init_alice(sk, bob_pub, rng(3));
        let m0 = alice.ratchet_encrypt(b"zero", b"ad").unwrap();
        let m1 = alice.ratchet_encrypt(b"one", b"ad").unwrap();
        let m2 = alice.ratchet_encrypt(b"two", b"ad").unwrap();
        assert_eq!(bob.ratchet_decrypt(&m1, b"ad").unwrap(), b"one");
        let state = bob.export_state();
        let mut copy = DoubleRatchet::restore_state(&state, rng(9)).unwrap();
        assert_eq!(
            copy.export_state(),
            state,
            "export of a restore gives the same bytes"
        );
        assert_eq!(copy.ratchet_decrypt(&m0, b"ad").unwrap(), b"zero");
        assert_eq!(copy.ratchet_decrypt(&m2, b"ad").unwrap(), b"two");
        assert!(
            copy.ratchet_decrypt(&m1, b"ad").is_err(),
            "m1's key was used"
        );
    }

    #[test]
    fn every_truncation_is_refused_naming_a_field() {
        let mut r = rng(1);
        let party = DoubleRatchet::init_alice(RootKey::from_bytes([1; 32]), [9; 32], rng(4));
        let _ = KeyPair::generate(&mut r);
        let state = party.export_state();
        for cut in 0..state.len() {
            match DoubleRatchet::restore_state(&state[..cut], rng(5)) {
                Err(DecryptError::Malformed(m)) => assert!(m.starts_with("state: "), "{m}"),
                other => panic!("cut at {cut}: expected malformed, got {:?}", other.is_ok()),
            }
        }
        let mut longer = state.clone();
        longer.push(0);
        assert!(DoubleRatchet::restore_state(&longer, rng(5)).is_err());
    }
}
