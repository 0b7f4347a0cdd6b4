//! Cipher suites (RFC 9420 §17.1), reduced to what the key derivations need: the hash of
//! the KDF (its output size is `KDF.Nh`) and the AEAD's key and nonce sizes (`AEAD.Nk`,
//! `AEAD.Nn`).

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
}

impl CipherSuite {
    /// Every suite, in number order.
    pub const ALL: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

    /// The suite numbered `id`.
    pub fn new(id: u16) -> Result<CipherSuite, UnknownCipherSuite> {
        // (hash, AEAD.Nk): AES-128-GCM 16, ChaCha20-Poly1305 32, AES-256-GCM 32; all nonces
        // are 12 bytes.
        let (hash, key_len) = match id {
            1 | 2 => (Hash::Sha256, 16),
            3 => (Hash::Sha256, 32),
            4..=6 => (Hash::Sha512, 32),
            7 => (Hash::Sha384, 32),
            other => return Err(UnknownCipherSuite(other)),
        };
        Ok(CipherSuite {
            id,
            hash,
            key_len,
            nonce_len: 12,
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

    /// `AEAD.Nn`: the AEAD nonce size.
    pub fn nonce_len(self) -> usize {
        self.nonce_len
    }
}
