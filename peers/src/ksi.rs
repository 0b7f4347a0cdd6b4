//! ksi-double-ratchet, driven through a CryptoProvider set to the `signal-dr` profile.
//!
//! The crate implements the Double Ratchet's state machine and leaves the primitives to a
//! provider. This provider is written separately from the bundled reference (it calls the
//! RustCrypto crates directly and shares no code with `reference::signal_dr`), so that
//! agreement between the two is evidence about both. The crate already binds the header
//! into the associated data as `ad || dh || n (BE) || pn (BE)`, which is the profile's
//! layout; the adapter frames the wire message the same way.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use ksi_double_ratchet::{self as ksi, DecryptError, Header};
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};
use ratchet_bench_references::signal_dr::{ENCRYPT_INFO, KDF_RK_INFO};
use sha2::Sha256;

/// ksi-double-ratchet's MAX_SKIP and key store capacity, from its source.
const KSI_MAX_SKIP: u32 = 1000;
const KSI_MAX_STORED: u32 = 2000;

/// ksi-double-ratchet with the `signal-dr` provider.
pub struct KsiDoubleRatchet;

/// The `signal-dr` profile as a ksi CryptoProvider.
pub struct SignalDrProvider;

/// A ratchet public key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl AsRef<[u8]> for PublicKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// A ratchet key pair.
pub struct KeyPair {
    secret: x25519_dalek::StaticSecret,
    public: PublicKey,
}

impl ksi::KeyPair for KeyPair {
    type PublicKey = PublicKey;

    fn new<R: rand_core_04::CryptoRng + rand_core_04::RngCore>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        let secret = x25519_dalek::StaticSecret::from(bytes);
        let public = PublicKey(x25519_dalek::PublicKey::from(&secret).to_bytes());
        KeyPair { secret, public }
    }

    fn public(&self) -> &PublicKey {
        &self.public
    }
}

/// A 32-byte symmetric key (root, chain or message key).
pub struct Key([u8; 32]);

#[allow(clippy::expect_used)]
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC-SHA-256 accepts keys of every length")
}

fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; N] {
    let mut okm = [0u8; N];
    // N is 64 or 80 here, far below HKDF-SHA-256's 8160-byte limit.
    let _ = Hkdf::<Sha256>::new(Some(salt), ikm).expand(info, &mut okm);
    okm
}

fn split32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes[..32]);
    out
}

impl ksi::CryptoProvider for SignalDrProvider {
    type PublicKey = PublicKey;
    type KeyPair = KeyPair;
    type SharedSecret = [u8; 32];
    type RootKey = Key;
    type ChainKey = Key;
    type MessageKey = Key;

    fn diffie_hellman(us: &KeyPair, them: &PublicKey) -> [u8; 32] {
        us.secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(them.0))
            .to_bytes()
    }

    fn kdf_rk(rk: &Key, dh_out: &[u8; 32]) -> (Key, Key) {
        let okm: [u8; 64] = hkdf(&rk.0, dh_out, KDF_RK_INFO);
        (Key(split32(&okm[..32])), Key(split32(&okm[32..])))
    }

    fn kdf_ck(ck: &Key) -> (Key, Key) {
        let mut mk = hmac(&ck.0);
        mk.update(&[0x01]);
        let mut next = hmac(&ck.0);
        next.update(&[0x02]);
        (
            Key(next.finalize().into_bytes().into()),
            Key(mk.finalize().into_bytes().into()),
        )
    }

    fn encrypt(mk: &Key, plaintext: &[u8], ad: &[u8]) -> Vec<u8> {
        let okm: [u8; 80] = hkdf(&[0u8; 32], &mk.0, ENCRYPT_INFO);
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&okm[64..]);
        let mut ct = cbc::Encryptor::<aes::Aes256>::new(&split32(&okm).into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let mut tag = hmac(&okm[32..64]);
        tag.update(ad);
        tag.update(&ct);
        ct.extend_from_slice(&tag.finalize().into_bytes());
        ct
    }

    fn decrypt(mk: &Key, ciphertext: &[u8], ad: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if ciphertext.len() < 48 || !ciphertext.len().is_multiple_of(16) {
            return Err(DecryptError::DecryptFailure);
        }
        let (body, tag) = ciphertext.split_at(ciphertext.len() - 32);
        let okm: [u8; 80] = hkdf(&[0u8; 32], &mk.0, ENCRYPT_INFO);
        let mut mac = hmac(&okm[32..64]);
        mac.update(ad);
        mac.update(body);
        mac.verify_slice(tag)
            .map_err(|_| DecryptError::DecryptFailure)?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&okm[64..]);
        cbc::Decryptor::<aes::Aes256>::new(&split32(&okm).into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(body)
            .map_err(|_| DecryptError::DecryptFailure)
    }
}

/// Adapts the bench's RNG to the rand_core 0.4 traits the crate takes.
struct Rng04(BoxRng);

impl rand_core_04::RngCore for Rng04 {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_04::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core_04::CryptoRng for Rng04 {}

type Ratchet = ksi::DoubleRatchet<SignalDrProvider>;

/// One ksi party with its RNG.
struct KsiParty {
    ratchet: Ratchet,
    rng: Rng04,
}

const HEADER_LEN: usize = 40;

impl Peer for KsiDoubleRatchet {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: "ksi-double-ratchet".into(),
            version: "ksi-double-ratchet 0.1.3".into(),
            family: Family::SIGNAL_DR,
            limits: Limits {
                max_skip: KSI_MAX_SKIP,
                max_stored: Some(KSI_MAX_STORED),
                max_stored_per_chain: None,
                when_full: WhenFull::Refuse,
                window: None,
                max_chains: None,
            },
            capabilities: Capabilities {
                injectable_rng: true,
                export_state: false,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        init: &SessionInit,
        rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let mut rng = Rng04(rng);
        let pair = <KeyPair as ksi::KeyPair>::new(&mut rng);
        let bundle = pair.public.0.to_vec();
        let ratchet = Ratchet::new_bob(Key(init.shared_secret), pair, None);
        Ok((Box::new(KsiParty { ratchet, rng }), bundle))
    }

    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let bob = ratchet_bench_references::peers::signal_dr_bundle(bundle)?;
        let mut rng = Rng04(rng);
        let ratchet = Ratchet::new_alice(&Key(init.shared_secret), PublicKey(bob), None, &mut rng);
        Ok(Box::new(KsiParty { ratchet, rng }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        ratchet_bench_references::peers::signal_dr_layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::SignalDrCodec)
    }
}

impl Party for KsiParty {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let (header, ct) = self
            .ratchet
            .try_ratchet_encrypt(plaintext, ad, &mut self.rng)
            .map_err(|e| Reject::new(RejectClass::UnknownSession, e.to_string()))?;
        let mut wire = Vec::with_capacity(HEADER_LEN + ct.len());
        wire.extend_from_slice(header.dh.as_ref());
        wire.extend_from_slice(&header.n.to_be_bytes());
        wire.extend_from_slice(&header.pn.to_be_bytes());
        wire.extend_from_slice(&ct);
        Ok(wire)
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        if wire.len() < HEADER_LEN {
            return Err(Reject::new(
                RejectClass::Malformed,
                format!(
                    "expected at least a {HEADER_LEN}-byte header, got {} bytes",
                    wire.len()
                ),
            ));
        }
        let header = Header {
            dh: PublicKey(split32(&wire[..32])),
            n: u32::from_be_bytes([wire[32], wire[33], wire[34], wire[35]]),
            pn: u32::from_be_bytes([wire[36], wire[37], wire[38], wire[39]]),
        };
        self.ratchet
            .ratchet_decrypt(&header, &wire[HEADER_LEN..], ad)
            .map_err(|e| {
                let class = match e {
                    DecryptError::DecryptFailure => RejectClass::Auth,
                    DecryptError::MessageKeyNotFound => RejectClass::Replay,
                    DecryptError::SkipTooLarge => RejectClass::TooFarAhead,
                    DecryptError::StorageFull => RejectClass::StorageFull,
                };
                Reject::new(class, e.to_string())
            })
    }
}
