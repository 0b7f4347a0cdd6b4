//! Cipher suites (RFC 9420 §17.1): the hash of the KDF (its output size is `KDF.Nh`), the
//! AEAD with its key and nonce sizes (`AEAD.Nk`, `AEAD.Nn`), and the names of the KEM and
//! signature scheme, so that a check the reference cannot do is skipped with the reason.

/// The hash behind a suite's HKDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hash {
    /// SHA-256 (suites 1 to 3).
    Sha256,
    /// SHA-384 (suite 7).
    Sha384,
    /// SHA-512 (suites 4 to 6).
    Sha512,
}

impl Hash {
    /// The hash's output size in bytes: `KDF.Nh`.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

/// A suite's AEAD (RFC 9420 §17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AeadAlg {
    /// AES-128-GCM (suites 1, 2).
    Aes128Gcm,
    /// AES-256-GCM (suites 4, 5, 7).
    Aes256Gcm,
    /// ChaCha20-Poly1305 (suites 3, 6).
    ChaCha20Poly1305,
}

/// A suite's KEM (RFC 9180 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kem {
    /// DHKEM(X25519, HKDF-SHA256), 0x0020 (suites 1, 3).
    X25519,
    /// DHKEM(P-256, HKDF-SHA256), 0x0010 (suite 2).
    P256,
    /// DHKEM(X448, HKDF-SHA512), 0x0021 (suites 4, 6).
    X448,
    /// DHKEM(P-521, HKDF-SHA512), 0x0012 (suite 5).
    P521,
    /// DHKEM(P-384, HKDF-SHA384), 0x0011 (suite 7).
    P384,
}

/// A suite's signature scheme (RFC 9420 §17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// Ed25519 (suites 1, 3).
    Ed25519,
    /// ECDSA over P-256 with SHA-256 (suite 2).
    EcdsaP256,
    /// Ed448 (suites 4, 6).
    Ed448,
    /// ECDSA over P-521 with SHA-512 (suite 5).
    EcdsaP521,
    /// ECDSA over P-384 with SHA-384 (suite 7).
    EcdsaP384,
}

/// A suite number outside 1..=7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cipher suite {0} is not supported: expected 1 to 7 (RFC 9420 §17.1)")]
pub struct UnknownCipherSuite(pub u16);

/// One of the seven cipher suites RFC 9420 registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CipherSuite {
    id: u16,
    hash: Hash,
    key_len: usize,
    nonce_len: usize,
    aead: AeadAlg,
    kem: Kem,
    signature: SignatureScheme,
}

impl CipherSuite {
    /// Every suite, in number order.
    pub const ALL: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

    /// The suite numbered `id`.
    pub fn new(id: u16) -> Result<CipherSuite, UnknownCipherSuite> {
        use AeadAlg::{Aes128Gcm, Aes256Gcm, ChaCha20Poly1305};
        use SignatureScheme::{EcdsaP256, EcdsaP384, EcdsaP521, Ed25519, Ed448};
        let (hash, aead, kem, signature) = match id {
            1 => (Hash::Sha256, Aes128Gcm, Kem::X25519, Ed25519),
            2 => (Hash::Sha256, Aes128Gcm, Kem::P256, EcdsaP256),
            3 => (Hash::Sha256, ChaCha20Poly1305, Kem::X25519, Ed25519),
            4 => (Hash::Sha512, Aes256Gcm, Kem::X448, Ed448),
            5 => (Hash::Sha512, Aes256Gcm, Kem::P521, EcdsaP521),
            6 => (Hash::Sha512, ChaCha20Poly1305, Kem::X448, Ed448),
            7 => (Hash::Sha384, Aes256Gcm, Kem::P384, EcdsaP384),
            other => return Err(UnknownCipherSuite(other)),
        };
        // AEAD.Nk: AES-128-GCM 16, ChaCha20-Poly1305 and AES-256-GCM 32; all nonces are 12
        // bytes.
        let key_len = if aead == Aes128Gcm { 16 } else { 32 };
        Ok(CipherSuite {
            id,
            hash,
            key_len,
            nonce_len: 12,
            aead,
            kem,
            signature,
        })
    }

    /// The suite's number.
    pub fn id(self) -> u16 {
        self.id
    }

    /// The KDF's hash.
    pub fn hash(self) -> Hash {
        self.hash
    }

    /// `KDF.Nh`: the hash's output size.
    pub fn hash_len(self) -> usize {
        self.hash.output_len()
    }

    /// `AEAD.Nk`: the AEAD key size.
    pub fn key_len(self) -> usize {
        self.key_len
    }

    /// The AEAD.
    pub fn aead(self) -> AeadAlg {
        self.aead
    }

    /// The KEM.
    pub fn kem(self) -> Kem {
        self.kem
    }

    /// The signature scheme.
    pub fn signature(self) -> SignatureScheme {
        self.signature
    }

    /// `AEAD.Nn`: the AEAD nonce size.
    pub fn nonce_len(self) -> usize {
        self.nonce_len
    }
}
