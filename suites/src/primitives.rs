//! The primitive layer under the peers, behind one trait, so that published primitive
//! vectors (Wycheproof) are written once and run for every backend the bench can reach.
//!
//! The only backend today is [`RustCrypto`]: the crates the bundled reference is built on
//! (x25519-dalek, hkdf, hmac, sha2, aes + cbc), and the RustCrypto AEADs and Ed25519 the
//! Wycheproof suites also cover (aes-gcm, chacha20poly1305, ed25519-dalek). The peers under
//! test do not expose their primitives: ksi-double-ratchet takes the bench's own crypto
//! provider, and double-ratchet-2 keeps its crypto private.

use aes::cipher::{BlockCipher, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyIvInit};
use aes::cipher::{BlockSizeUser, KeyInit};
use aes_gcm::aead::consts::{U1, U10, U12, U128, U15, U16, U2, U20, U257, U32, U4, U6, U64, U8};
use aes_gcm::aead::generic_array::{ArrayLength, GenericArray};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::AesGcm;
use cbc::cipher::block_padding::Pkcs7;
use hmac::Mac;
use sha2::Sha256;

/// Why a backend did not give an output.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The backend refused the input (a failed check, a bad length, bad padding). Short and
    /// stable: reports tally cases by it.
    Refused(String),
    /// The backend's API cannot be asked this (a size it has no instance for); the case is
    /// skipped with this reason.
    Unsupported(String),
}

/// How a backend treats Wycheproof's `acceptable` cases: inputs that are technically valid
/// but that an implementation may refuse. Declared per backend, per case, with the reason
/// in a doc comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Acceptable {
    /// Must be accepted, with the vector's output.
    Accept,
    /// Must be refused.
    Reject,
    /// May go either way; if accepted, the output must still be the vector's.
    Either,
}

impl Acceptable {
    /// The lowercase name used in traces.
    pub fn name(self) -> &'static str {
        match self {
            Acceptable::Accept => "accept",
            Acceptable::Reject => "reject",
            Acceptable::Either => "either",
        }
    }
}

/// The primitive families the Wycheproof suites cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Primitive {
    /// X25519 (RFC 7748).
    X25519,
    /// HKDF with SHA-256 (RFC 5869).
    HkdfSha256,
    /// HMAC with SHA-256.
    HmacSha256,
    /// AES-CBC with PKCS#5 padding.
    AesCbcPkcs5,
    /// AES-GCM.
    AesGcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
    /// Ed25519 verification (RFC 8032).
    Ed25519,
}

/// The AEADs a backend offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AeadAlg {
    /// AES-GCM, 128, 192 or 256-bit key.
    AesGcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

/// One primitive layer. Each method returns the output or a [`Refusal`]; comparing with the
/// vector is the runner's job, so a backend only says what it computes.
pub trait PrimitiveBackend: Send + Sync {
    /// The name in reports (`rustcrypto`).
    fn name(&self) -> String;
    /// The policy for an `acceptable` case of `primitive` with these Wycheproof flags.
    fn acceptable(&self, primitive: Primitive, flags: &[String]) -> Acceptable;
    /// X25519(private, public).
    fn x25519(&self, private: &[u8], public: &[u8]) -> Result<Vec<u8>, Refusal>;
    /// HKDF-SHA-256 extract-and-expand to `len` bytes.
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, Refusal>;
    /// The full HMAC-SHA-256 tag.
    fn hmac_sha256(&self, key: &[u8], msg: &[u8]) -> Result<Vec<u8>, Refusal>;
    /// Checks `tag` as an HMAC-SHA-256 tag truncated to `tag_bits`.
    fn hmac_sha256_verify(
        &self,
        key: &[u8],
        msg: &[u8],
        tag: &[u8],
        tag_bits: usize,
    ) -> Result<(), Refusal>;
    /// AES-CBC encryption with PKCS#5 padding.
    fn aes_cbc_encrypt(&self, key: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, Refusal>;
    /// AES-CBC decryption, checking and removing PKCS#5 padding.
    fn aes_cbc_decrypt(&self, key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, Refusal>;
    /// AEAD encryption; returns ciphertext || tag.
    fn aead_seal(&self, alg: AeadAlg, op: AeadOp<'_>, tag_bits: usize) -> Result<Vec<u8>, Refusal>;
    /// AEAD decryption of `op.input` = ciphertext || tag; returns the plaintext.
    fn aead_open(&self, alg: AeadAlg, op: AeadOp<'_>, tag_bits: usize) -> Result<Vec<u8>, Refusal>;
    /// Ed25519 verification of `sig` on `msg` under the encoded public key `public`.
    fn ed25519_verify(&self, public: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), Refusal>;
}

/// The inputs of one AEAD call.
#[derive(Clone, Copy, Debug)]
pub struct AeadOp<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The nonce.
    pub nonce: &'a [u8],
    /// Associated data.
    pub aad: &'a [u8],
    /// The plaintext to seal, or ciphertext || tag to open.
    pub input: &'a [u8],
}

/// Every primitive backend the bench can reach.
pub fn backends() -> Vec<Box<dyn PrimitiveBackend>> {
    vec![Box::new(RustCrypto)]
}

/// The RustCrypto crates: those the reference uses and the RustCrypto AEADs and Ed25519.
///
/// Policy for `acceptable` cases, by primitive:
///
/// - **X25519, low-order public keys** (flags `LowOrderPublic` or `ZeroSharedSecret`):
///   [`Acceptable::Either`]. x25519-dalek's `diffie_hellman` does not refuse them: it
///   returns the all-zero output. This backend counts an all-zero output as a refusal,
///   through x25519-dalek's own `SharedSecret::was_contributory` check (RFC 7748 section
///   6.1 lets a party abort on it). Either outcome is sound for a ratchet, whose keys come
///   from its own generator and from authenticated peers; the reference itself does not
///   make the check.
/// - **X25519, other acceptable cases** (public keys on the twist, non-canonical public
///   keys with u >= p, and edge cases of multiplication on the twist): [`Acceptable::Accept`].
///   RFC 7748 says to mask bit 255 and to compute on any 32-byte u; x25519-dalek does, so
///   these must be accepted with Wycheproof's output.
/// - **Every other primitive**: [`Acceptable::Reject`]. The pinned files hold no acceptable
///   case for them, so this only matters if the data changes: such a case then fails until a
///   person declares a policy here.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

fn refused(why: impl Into<String>) -> Refusal {
    Refusal::Refused(why.into())
}

fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], Refusal> {
    bytes
        .try_into()
        .map_err(|_| refused(format!("{what} must be {N} bytes")))
}

/// Seals (`seal`) or opens `op.input` with any RustCrypto AEAD.
fn seal_or_open<C: Aead>(
    cipher: &C,
    nonce: &GenericArray<u8, C::NonceSize>,
    op: AeadOp<'_>,
    seal: bool,
) -> Result<Vec<u8>, Refusal> {
    let payload = Payload {
        msg: op.input,
        aad: op.aad,
    };
    if seal {
        cipher
            .encrypt(nonce, payload)
            .map_err(|_| refused("encryption refused"))
    } else {
        cipher
            .decrypt(nonce, payload)
            .map_err(|_| refused("tag mismatch"))
    }
}

/// One AES-GCM call with the nonce length as a type, as aes-gcm requires.
fn gcm<A, N>(op: AeadOp<'_>, seal: bool) -> Result<Vec<u8>, Refusal>
where
    A: BlockCipher + BlockSizeUser<BlockSize = U16> + BlockEncrypt + KeyInit,
    N: ArrayLength<u8>,
{
    let cipher = AesGcm::<A, N>::new_from_slice(op.key).map_err(|_| refused("bad key length"))?;
    let nonce = GenericArray::<u8, N>::from_exact_iter(op.nonce.iter().copied())
        .ok_or_else(|| refused("nonce length differs from its type"))?;
    seal_or_open(&cipher, &nonce, op, seal)
}

/// Picks the aes-gcm instance for the nonce's length. aes-gcm fixes the nonce length as a
/// type parameter and accepts any; the bench instantiates the lengths Wycheproof uses.
fn gcm_nonce<A>(op: AeadOp<'_>, seal: bool) -> Result<Vec<u8>, Refusal>
where
    A: BlockCipher + BlockSizeUser<BlockSize = U16> + BlockEncrypt + KeyInit,
{
    match op.nonce.len() {
        // SP 800-38D forbids an empty IV, but aes-gcm's NonceSize has no lower bound: an
        // AesGcm<_, U0> seals and opens with it (tests/wycheproof.rs pins that). No peer
        // builds that instance, so asking it would test the bench's choice, not the library.
        0 => Err(Refusal::Unsupported(
            "a 0-bit nonce: aes-gcm would need an AesGcm<_, U0>, which accepts it; \
             no peer builds one"
                .into(),
        )),
        1 => gcm::<A, U1>(op, seal),
        2 => gcm::<A, U2>(op, seal),
        4 => gcm::<A, U4>(op, seal),
        6 => gcm::<A, U6>(op, seal),
        8 => gcm::<A, U8>(op, seal),
        10 => gcm::<A, U10>(op, seal),
        12 => gcm::<A, U12>(op, seal),
        15 => gcm::<A, U15>(op, seal),
        16 => gcm::<A, U16>(op, seal),
        20 => gcm::<A, U20>(op, seal),
        32 => gcm::<A, U32>(op, seal),
        64 => gcm::<A, U64>(op, seal),
        128 => gcm::<A, U128>(op, seal),
        257 => gcm::<A, U257>(op, seal),
        n => Err(Refusal::Unsupported(format!(
            "a {}-bit nonce: the bench has no aes-gcm instance for it",
            n * 8
        ))),
    }
}

fn aes_gcm(op: AeadOp<'_>, seal: bool) -> Result<Vec<u8>, Refusal> {
    match op.key.len() {
        16 => gcm_nonce::<aes::Aes128>(op, seal),
        24 => gcm_nonce::<aes::Aes192>(op, seal),
        32 => gcm_nonce::<aes::Aes256>(op, seal),
        _ => Err(refused("bad key length")),
    }
}

fn chacha20_poly1305(op: AeadOp<'_>, seal: bool) -> Result<Vec<u8>, Refusal> {
    use chacha20poly1305::ChaCha20Poly1305;
    let cipher = ChaCha20Poly1305::new_from_slice(op.key).map_err(|_| refused("bad key length"))?;
    // The nonce type holds exactly 96 bits; a nonce of another length cannot be built.
    let nonce = chacha20poly1305::Nonce::from_exact_iter(op.nonce.iter().copied())
        .ok_or_else(|| refused("the nonce type holds 96 bits only"))?;
    seal_or_open(&cipher, &nonce, op, seal)
}

fn cbc_encrypt<A>(key: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, Refusal>
where
    A: BlockCipher + BlockEncryptMut + BlockSizeUser<BlockSize = U16> + KeyInit,
{
    let enc = cbc::Encryptor::<A>::new_from_slices(key, iv)
        .map_err(|_| refused("bad key or iv length"))?;
    Ok(enc.encrypt_padded_vec_mut::<Pkcs7>(pt))
}

fn cbc_decrypt<A>(key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, Refusal>
where
    A: BlockCipher + BlockDecryptMut + BlockSizeUser<BlockSize = U16> + KeyInit,
{
    let dec = cbc::Decryptor::<A>::new_from_slices(key, iv)
        .map_err(|_| refused("bad key or iv length"))?;
    dec.decrypt_padded_vec_mut::<Pkcs7>(ct)
        .map_err(|_| refused("bad padding or length"))
}

impl PrimitiveBackend for RustCrypto {
    fn name(&self) -> String {
        "rustcrypto".into()
    }

    fn acceptable(&self, primitive: Primitive, flags: &[String]) -> Acceptable {
        match primitive {
            Primitive::X25519
                if flags
                    .iter()
                    .any(|f| f == "LowOrderPublic" || f == "ZeroSharedSecret") =>
            {
                Acceptable::Either
            }
            Primitive::X25519 => Acceptable::Accept,
            _ => Acceptable::Reject,
        }
    }

    fn x25519(&self, private: &[u8], public: &[u8]) -> Result<Vec<u8>, Refusal> {
        let secret = x25519_dalek::StaticSecret::from(array::<32>(private, "private key")?);
        let public = x25519_dalek::PublicKey::from(array::<32>(public, "public key")?);
        let shared = secret.diffie_hellman(&public);
        if !shared.was_contributory() {
            return Err(refused("all-zero shared secret (not contributory)"));
        }
        Ok(shared.as_bytes().to_vec())
    }

    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Vec<u8>, Refusal> {
        let mut okm = vec![0; len];
        hkdf::Hkdf::<Sha256>::new(Some(salt), ikm)
            .expand(info, &mut okm)
            .map_err(|_| refused("output longer than 255 hash lengths"))?;
        Ok(okm)
    }

    fn hmac_sha256(&self, key: &[u8], msg: &[u8]) -> Result<Vec<u8>, Refusal> {
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(key)
            .map_err(|_| refused("bad key length"))?;
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn hmac_sha256_verify(
        &self,
        key: &[u8],
        msg: &[u8],
        tag: &[u8],
        tag_bits: usize,
    ) -> Result<(), Refusal> {
        if tag_bits == 0 || !tag_bits.is_multiple_of(8) || tag_bits > 256 {
            return Err(Refusal::Unsupported(format!(
                "a {tag_bits}-bit tag: hmac truncates to whole bytes, 1 to 32"
            )));
        }
        // A protocol fixes its tag length; `verify_truncated_left` would take any prefix.
        if tag.len() != tag_bits / 8 {
            return Err(refused("tag length differs from the tag size"));
        }
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(key)
            .map_err(|_| refused("bad key length"))?;
        mac.update(msg);
        mac.verify_truncated_left(tag)
            .map_err(|_| refused("tag mismatch"))
    }

    fn aes_cbc_encrypt(&self, key: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, Refusal> {
        match key.len() {
            16 => cbc_encrypt::<aes::Aes128>(key, iv, pt),
            24 => cbc_encrypt::<aes::Aes192>(key, iv, pt),
            32 => cbc_encrypt::<aes::Aes256>(key, iv, pt),
            _ => Err(refused("bad key length")),
        }
    }

    fn aes_cbc_decrypt(&self, key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Vec<u8>, Refusal> {
        match key.len() {
            16 => cbc_decrypt::<aes::Aes128>(key, iv, ct),
            24 => cbc_decrypt::<aes::Aes192>(key, iv, ct),
            32 => cbc_decrypt::<aes::Aes256>(key, iv, ct),
            _ => Err(refused("bad key length")),
        }
    }

    fn aead_seal(&self, alg: AeadAlg, op: AeadOp<'_>, tag_bits: usize) -> Result<Vec<u8>, Refusal> {
        aead_tag_size(tag_bits)?;
        match alg {
            AeadAlg::AesGcm => aes_gcm(op, true),
            AeadAlg::ChaCha20Poly1305 => chacha20_poly1305(op, true),
        }
    }

    fn aead_open(&self, alg: AeadAlg, op: AeadOp<'_>, tag_bits: usize) -> Result<Vec<u8>, Refusal> {
        aead_tag_size(tag_bits)?;
        match alg {
            AeadAlg::AesGcm => aes_gcm(op, false),
            AeadAlg::ChaCha20Poly1305 => chacha20_poly1305(op, false),
        }
    }

    fn ed25519_verify(&self, public: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), Refusal> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&array::<32>(public, "public key")?)
            .map_err(|_| refused("public key does not decode"))?;
        let sig = ed25519_dalek::Signature::from_slice(sig)
            .map_err(|_| refused("signature must be 64 bytes"))?;
        key.verify_strict(msg, &sig)
            .map_err(|_| refused("signature does not verify"))
    }
}

/// Both AEADs are instantiated with the full 128-bit tag, the only size peers use.
fn aead_tag_size(tag_bits: usize) -> Result<(), Refusal> {
    if tag_bits == 128 {
        Ok(())
    } else {
        Err(Refusal::Unsupported(format!(
            "a {tag_bits}-bit tag: the bench instantiates the AEADs with 128-bit tags only"
        )))
    }
}
