//! The reference MLS secret tree (RFC 9420 §9) against mls-rs's, for any cipher suite,
//! number of leaves, leaf and generation: the logic of the `mls_secret_tree` fuzz target,
//! its regular test and its bench.
//!
//! # What the libraries expose, and the way round it
//!
//! Neither library derives a secret tree over a secret the caller chooses:
//!
//! - openmls 0.9.2 keeps its `SecretTree`, `EncryptionSecret` and labelled derivations
//!   `pub(crate)`, also under its `test-utils` feature, and gives no message key out. It is
//!   not used here.
//! - mls-rs 0.57.0 keeps its `SecretTree` and key schedule crate-private too; its
//!   `secret_tree_access` feature adds `Group::derive_decryption_key(sender, generation)`,
//!   which runs the group's own secret tree for the current epoch and returns the
//!   application key and nonce of that generation. Its `sender` is a *node* index
//!   (`NodeIndex::from(u32)` is the identity), so leaf `l` is asked for as node `2 l`.
//!
//! So the encryption secret of a real mls-rs group is made known instead:
//!
//! 1. The group's creator uses [`ChosenEpochSecret`], a crypto provider that forwards
//!    everything to mls-rs's RustCrypto provider except its random draws of `KDF.Nh` bytes,
//!    which return the epoch secret the caller chose. mls-rs creates a group with
//!    `KeySchedule::from_random_epoch_secret`, one such draw (the group id is given, so it
//!    draws none for that), so epoch 0's `epoch_secret` is the chosen one.
//! 2. For a tree of `n > 1` leaves, the creator adds `n / 2` members in one commit. An
//!    add-only commit carries no UpdatePath by default, so `commit_secret` is all zero, as
//!    is `psk_secret` without PSKs. The reference runs its own key schedule from epoch 0's
//!    `init_secret` with the new GroupContext that mls-rs's `Group::context()` reports
//!    (its bytes are an input, not an output of the derivations compared).
//! 3. Before any secret-tree comparison, the reference's exporter output
//!    (`MLS-Exporter`, §8.5) must equal mls-rs's `Group::export_secret`: this confirms,
//!    through a public output of mls-rs, that both hold the same epoch secret. Otherwise the
//!    comparison stops with [`DiffError::Exporter`] rather than compare trees over
//!    different roots.
//! 4. The reference's [`SecretTree`] over `DeriveSecret(epoch_secret, "encryption")` then
//!    derives leaf `l`'s application ratchet at generation `g`; its key and nonce must equal
//!    what `derive_decryption_key(2 l, g)` returns.
//!
//! mls-rs derives at most `MAX_RATCHET_BACK_HISTORY` = 1024 generations ahead of a fresh
//! ratchet, so [`MAX_GENERATION`] is 1024. Its RustCrypto provider has suites 1, 2, 3 and
//! 7; the others (X448 / Ed448 and P-521) are reported as skipped with that reason.

use arbitrary::Arbitrary;
use mls_rs::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider};
use mls_rs::error::IntoAnyError;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rs_codec::MlsEncode;
use mls_rs::{CipherSuiteProvider, Client, CryptoProvider, Group, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use ratchet_bench_references::mls::key_schedule::{key_schedule, mls_exporter};
use ratchet_bench_references::mls::{derive_secret, CipherSuite, RatchetKind, SecretTree};
// mls-rs's provider trait returns `zeroize::Zeroizing`; the harness reaches that crate through
// `cipher`'s re-export rather than a dependency of its own.
use aes::cipher::zeroize::Zeroizing;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// The furthest generation mls-rs derives on a fresh ratchet (`MAX_RATCHET_BACK_HISTORY`).
pub const MAX_GENERATION: u32 = 1024;
/// The largest tree compared: 2^5 leaves, so at most 17 members to add per case.
pub const MAX_LOG_LEAVES: u32 = 5;
/// The suites mls-rs's RustCrypto provider implements (RFC 9420 §17.1 numbers).
pub const MLS_RS_SUITES: [u16; 4] = [1, 2, 3, 7];

/// The group id the comparison's groups use, so that mls-rs draws no random one.
const GROUP_ID: &[u8] = b"ratchet-bench mls_secret_tree";
/// The exporter call whose output confirms that both sides hold the same epoch secret.
const EXPORTER_LABEL: &[u8] = b"ratchet-bench epoch check";
const EXPORTER_LEN: usize = 32;

/// One comparison: a suite, a tree size, a leaf, a generation and the epoch secret of the
/// group's first epoch. Derives `Arbitrary` for the fuzz target; [`SecretTreeCase::normalized`]
/// maps every value onto the ranges compared.
#[derive(Clone, Arbitrary)]
pub struct SecretTreeCase {
    /// The cipher suite, taken modulo 7 plus 1.
    pub suite: u8,
    /// log2 of the number of leaves, taken modulo [`MAX_LOG_LEAVES`] + 1.
    pub log_leaves: u8,
    /// The leaf, taken modulo the number of leaves.
    pub leaf: u32,
    /// The generation, taken modulo [`MAX_GENERATION`] + 1.
    pub generation: u16,
    /// The chosen epoch secret of epoch 0; its first `KDF.Nh` bytes are used.
    pub epoch_secret: [u8; 64],
}

impl fmt::Debug for SecretTreeCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.normalized();
        f.debug_struct("SecretTreeCase")
            .field("suite", &n.suite)
            .field("n_leaves", &n.n_leaves)
            .field("leaf", &n.leaf)
            .field("generation", &n.generation)
            .finish_non_exhaustive()
    }
}

/// A case within the compared ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Normalized {
    /// RFC 9420 suite number, 1 to 7.
    pub suite: u16,
    /// A power of two, 1 to 2^[`MAX_LOG_LEAVES`].
    pub n_leaves: u32,
    /// Below `n_leaves`.
    pub leaf: u32,
    /// At most [`MAX_GENERATION`].
    pub generation: u32,
}

impl SecretTreeCase {
    /// The case mapped onto the compared ranges.
    pub fn normalized(&self) -> Normalized {
        let n_leaves = 1u32 << (u32::from(self.log_leaves) % (MAX_LOG_LEAVES + 1));
        Normalized {
            suite: u16::from(self.suite % 7) + 1,
            n_leaves,
            leaf: self.leaf % n_leaves,
            generation: u32::from(self.generation) % (MAX_GENERATION + 1),
        }
    }
}

/// Why a comparison did not agree, or could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// mls-rs refused to build the group or to derive; its own text.
    #[error("mls-rs: {what}: {detail}")]
    MlsRs {
        /// The step that failed.
        what: &'static str,
        /// mls-rs's error.
        detail: String,
    },
    /// The reference refused a derivation; its own text.
    #[error("reference: {0}")]
    Reference(String),
    /// The group's exporter output differs from the reference's: the two do not hold the
    /// same epoch secret, so their trees are not compared.
    #[error("exporter at epoch {epoch}: expected {expected} (reference), got {actual} (mls-rs)")]
    Exporter {
        /// The group's epoch.
        epoch: u64,
        /// The reference's output, hex.
        expected: String,
        /// mls-rs's output, hex.
        actual: String,
    },
    /// The key, nonce or generation of the leaf's application ratchet differ.
    #[error("{what} of leaf {leaf} at generation {generation}: expected {expected} (reference), got {actual} (mls-rs)")]
    Derivation {
        /// "key", "nonce" or "generation".
        what: &'static str,
        /// The leaf.
        leaf: u32,
        /// The generation.
        generation: u32,
        /// The reference's value, hex.
        expected: String,
        /// mls-rs's value, hex.
        actual: String,
    },
}

impl DiffError {
    /// The cause in a few words for a crash signature: `mls-rs-refused/<step>`,
    /// `reference-refused`, `exporter-differs` or `<what>-differs`.
    pub fn cause(&self) -> String {
        match self {
            DiffError::MlsRs { what, .. } => format!("mls-rs-refused/{}", what.replace(' ', "-")),
            DiffError::Reference(_) => "reference-refused".into(),
            DiffError::Exporter { .. } => "exporter-differs".into(),
            DiffError::Derivation { what, .. } => format!("{what}-differs"),
        }
    }
}

/// What a comparison found when nothing differed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The key and nonce agreed.
    Agreed,
    /// The suite is not one mls-rs's RustCrypto provider implements.
    Skipped(String),
}

fn mls_rs_error(what: &'static str, e: impl fmt::Debug) -> DiffError {
    DiffError::MlsRs {
        what,
        detail: format!("{e:?}"),
    }
}

fn reference_error(e: impl fmt::Display) -> DiffError {
    DiffError::Reference(e.to_string())
}

type Inner = <RustCryptoProvider as CryptoProvider>::CipherSuiteProvider;

/// mls-rs's RustCrypto provider with one change: every random draw of `KDF.Nh` bytes
/// returns the chosen epoch secret, so a group it creates starts from that secret. Other
/// draws (and the KEM's and signature's own randomness) stay the provider's.
#[derive(Clone)]
pub struct ChosenEpochSecret {
    inner: RustCryptoProvider,
    secret: Vec<u8>,
}

impl fmt::Debug for ChosenEpochSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChosenEpochSecret").finish_non_exhaustive()
    }
}

/// One suite of [`ChosenEpochSecret`].
#[derive(Clone)]
pub struct ChosenSuite {
    inner: Inner,
    secret: Vec<u8>,
}

impl fmt::Debug for ChosenSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChosenSuite").finish_non_exhaustive()
    }
}

impl CryptoProvider for ChosenEpochSecret {
    type CipherSuiteProvider = ChosenSuite;

    fn supported_cipher_suites(&self) -> Vec<mls_rs::CipherSuite> {
        self.inner.supported_cipher_suites()
    }

    fn cipher_suite_provider(&self, suite: mls_rs::CipherSuite) -> Option<ChosenSuite> {
        Some(ChosenSuite {
            inner: self.inner.cipher_suite_provider(suite)?,
            secret: self.secret.clone(),
        })
    }
}

type InnerError = <Inner as CipherSuiteProvider>::Error;

impl CipherSuiteProvider for ChosenSuite {
    type Error = InnerError;
    type HpkeContextS = <Inner as CipherSuiteProvider>::HpkeContextS;
    type HpkeContextR = <Inner as CipherSuiteProvider>::HpkeContextR;

    fn cipher_suite(&self) -> mls_rs::CipherSuite {
        self.inner.cipher_suite()
    }
    fn hash(&self, data: &[u8]) -> Result<Vec<u8>, InnerError> {
        self.inner.hash(data)
    }
    fn mac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, InnerError> {
        self.inner.mac(key, data)
    }
    fn aead_seal(
        &self,
        key: &[u8],
        data: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Vec<u8>, InnerError> {
        self.inner.aead_seal(key, data, aad, nonce)
    }
    fn aead_open(
        &self,
        key: &[u8],
        ciphertext: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, InnerError> {
        self.inner.aead_open(key, ciphertext, aad, nonce)
    }
    fn aead_key_size(&self) -> usize {
        self.inner.aead_key_size()
    }
    fn aead_nonce_size(&self) -> usize {
        self.inner.aead_nonce_size()
    }
    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Zeroizing<Vec<u8>>, InnerError> {
        self.inner.kdf_extract(salt, ikm)
    }
    fn kdf_expand(
        &self,
        prk: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, InnerError> {
        self.inner.kdf_expand(prk, info, len)
    }
    fn kdf_extract_size(&self) -> usize {
        self.inner.kdf_extract_size()
    }
    fn hpke_seal(
        &self,
        remote_key: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
    ) -> Result<mls_rs::crypto::HpkeCiphertext, InnerError> {
        self.inner.hpke_seal(remote_key, info, aad, pt)
    }
    fn hpke_seal_psk(
        &self,
        remote_key: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
        psk: mls_rs::crypto::HpkePsk<'_>,
    ) -> Result<mls_rs::crypto::HpkeCiphertext, InnerError> {
        self.inner.hpke_seal_psk(remote_key, info, aad, pt, psk)
    }
    fn hpke_open(
        &self,
        ciphertext: &mls_rs::crypto::HpkeCiphertext,
        local_secret: &mls_rs::crypto::HpkeSecretKey,
        local_public: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, InnerError> {
        self.inner
            .hpke_open(ciphertext, local_secret, local_public, info, aad)
    }
    fn hpke_open_psk(
        &self,
        ciphertext: &mls_rs::crypto::HpkeCiphertext,
        local_secret: &mls_rs::crypto::HpkeSecretKey,
        local_public: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        psk: mls_rs::crypto::HpkePsk<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, InnerError> {
        self.inner
            .hpke_open_psk(ciphertext, local_secret, local_public, info, aad, psk)
    }
    fn hpke_setup_s(
        &self,
        remote_key: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
    ) -> Result<(Vec<u8>, Self::HpkeContextS), InnerError> {
        self.inner.hpke_setup_s(remote_key, info)
    }
    fn hpke_setup_r(
        &self,
        kem_output: &[u8],
        local_secret: &mls_rs::crypto::HpkeSecretKey,
        local_public: &mls_rs::crypto::HpkePublicKey,
        info: &[u8],
    ) -> Result<Self::HpkeContextR, InnerError> {
        self.inner
            .hpke_setup_r(kem_output, local_secret, local_public, info)
    }
    fn kem_derive(
        &self,
        ikm: &[u8],
    ) -> Result<(mls_rs::crypto::HpkeSecretKey, mls_rs::crypto::HpkePublicKey), InnerError> {
        self.inner.kem_derive(ikm)
    }
    fn kem_generate(
        &self,
    ) -> Result<(mls_rs::crypto::HpkeSecretKey, mls_rs::crypto::HpkePublicKey), InnerError> {
        self.inner.kem_generate()
    }
    fn kem_public_key_validate(
        &self,
        key: &mls_rs::crypto::HpkePublicKey,
    ) -> Result<(), InnerError> {
        self.inner.kem_public_key_validate(key)
    }
    fn random_bytes(&self, out: &mut [u8]) -> Result<(), InnerError> {
        if out.len() == self.secret.len() {
            out.copy_from_slice(&self.secret);
            Ok(())
        } else {
            self.inner.random_bytes(out)
        }
    }
    fn signature_key_generate(
        &self,
    ) -> Result<
        (
            mls_rs::crypto::SignatureSecretKey,
            mls_rs::crypto::SignaturePublicKey,
        ),
        InnerError,
    > {
        self.inner.signature_key_generate()
    }
    fn signature_key_derive_public(
        &self,
        secret_key: &mls_rs::crypto::SignatureSecretKey,
    ) -> Result<mls_rs::crypto::SignaturePublicKey, InnerError> {
        self.inner.signature_key_derive_public(secret_key)
    }
    fn sign(
        &self,
        secret_key: &mls_rs::crypto::SignatureSecretKey,
        data: &[u8],
    ) -> Result<Vec<u8>, InnerError> {
        self.inner.sign(secret_key, data)
    }
    fn verify(
        &self,
        public_key: &mls_rs::crypto::SignaturePublicKey,
        signature: &[u8],
        data: &[u8],
    ) -> Result<(), InnerError> {
        self.inner.verify(public_key, signature, data)
    }
}

type Config<P> = WithIdentityProvider<BasicIdentityProvider, WithCryptoProvider<P, BaseConfig>>;

fn client<P: CryptoProvider + Clone>(
    provider: P,
    suite: mls_rs::CipherSuite,
    name: &[u8],
) -> Result<Client<Config<P>>, DiffError> {
    let cs = provider
        .cipher_suite_provider(suite)
        .ok_or_else(|| mls_rs_error("cipher suite", "not in the provider"))?;
    let (secret, public) = cs
        .signature_key_generate()
        .map_err(|e| mls_rs_error("signature key", e.into_any_error()))?;
    let identity = SigningIdentity::new(
        BasicCredential::new(name.to_vec()).into_credential(),
        public,
    );
    Ok(Client::builder()
        .identity_provider(BasicIdentityProvider)
        .crypto_provider(provider)
        .signing_identity(identity, secret, suite)
        .build())
}

/// Key packages of members to add, made once per suite and reused by every group: adding
/// needs only the package, not its owner.
fn key_packages(suite: u16, count: usize) -> Result<Vec<MlsMessage>, DiffError> {
    static POOL: OnceLock<Mutex<HashMap<u16, Vec<MlsMessage>>>> = OnceLock::new();
    let pool = POOL.get_or_init(Default::default);
    let mut pool = pool
        .lock()
        .map_err(|_| mls_rs_error("key package pool", "poisoned"))?;
    let packages = pool.entry(suite).or_default();
    while packages.len() < count {
        let name = format!("member {}", packages.len());
        let member = client(
            RustCryptoProvider::default(),
            mls_rs::CipherSuite::new(suite),
            name.as_bytes(),
        )?;
        let package = member
            .generate_key_package_message(Default::default(), Default::default(), None)
            .map_err(|e| mls_rs_error("key package", e))?;
        packages.push(package);
    }
    Ok(packages.iter().take(count).cloned().collect())
}

/// An mls-rs group whose secret tree has `n_leaves` leaves and whose encryption secret the
/// reference knows (checked through the exporter), for [`MlsRsTree::derive`].
pub struct MlsRsTree {
    suite: CipherSuite,
    n_leaves: u32,
    group: Group<Config<ChosenEpochSecret>>,
    encryption_secret: Vec<u8>,
}

impl fmt::Debug for MlsRsTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlsRsTree")
            .field("suite", &self.suite.id())
            .field("n_leaves", &self.n_leaves)
            .finish_non_exhaustive()
    }
}

impl MlsRsTree {
    /// A group in `suite` whose first epoch secret is `epoch_secret` (its first `KDF.Nh`
    /// bytes) and, for `n_leaves > 1`, `n_leaves / 2` added members; fails with
    /// [`DiffError::Exporter`] if mls-rs's exporter output shows another epoch secret.
    pub fn new(suite: u16, n_leaves: u32, epoch_secret: &[u8]) -> Result<MlsRsTree, DiffError> {
        let reference_suite = CipherSuite::new(suite).map_err(reference_error)?;
        if !n_leaves.is_power_of_two() || n_leaves > 1 << MAX_LOG_LEAVES {
            return Err(DiffError::Reference(format!(
                "expected a power of two up to {}, got {n_leaves} leaves",
                1u32 << MAX_LOG_LEAVES
            )));
        }
        let nh = reference_suite.hash_len();
        let secret = epoch_secret
            .get(..nh)
            .ok_or_else(|| {
                DiffError::Reference(format!(
                    "expected an epoch secret of at least {nh} bytes, got {}",
                    epoch_secret.len()
                ))
            })?
            .to_vec();
        let mls_suite = mls_rs::CipherSuite::new(suite);
        let provider = ChosenEpochSecret {
            inner: RustCryptoProvider::default(),
            secret: secret.clone(),
        };
        let creator = client(provider, mls_suite, b"creator")?;
        let mut group = creator
            .create_group_with_id(
                GROUP_ID.to_vec(),
                Default::default(),
                Default::default(),
                None,
            )
            .map_err(|e| mls_rs_error("creating the group", e))?;

        let d = |s: &[u8], label: &[u8]| derive_secret(reference_suite, s, label);
        let (exporter_secret, encryption_secret) = if n_leaves == 1 {
            (
                d(&secret, b"exporter").map_err(reference_error)?,
                d(&secret, b"encryption").map_err(reference_error)?,
            )
        } else {
            let added = (n_leaves / 2) as usize;
            let mut commit = group.commit_builder();
            for package in key_packages(suite, added)? {
                commit = commit
                    .add_member(package)
                    .map_err(|e| mls_rs_error("adding a member", e))?;
            }
            commit
                .build()
                .map_err(|e| mls_rs_error("committing the adds", e))?;
            group
                .apply_pending_commit()
                .map_err(|e| mls_rs_error("applying the commit", e))?;
            let context = group
                .context()
                .mls_encode_to_vec()
                .map_err(|e| mls_rs_error("encoding the GroupContext", e))?;
            let init_secret = d(&secret, b"init").map_err(reference_error)?;
            // An add-only commit has no UpdatePath and there are no PSKs: both all zero.
            let zero = vec![0u8; nh];
            let epoch = key_schedule(reference_suite, &init_secret, &zero, &zero, &context)
                .map_err(reference_error)?;
            (epoch.exporter_secret, epoch.encryption_secret)
        };

        let expected = mls_exporter(
            reference_suite,
            &exporter_secret,
            EXPORTER_LABEL,
            &[],
            EXPORTER_LEN,
        )
        .map_err(reference_error)?;
        let actual = group
            .export_secret(EXPORTER_LABEL, &[], EXPORTER_LEN)
            .map_err(|e| mls_rs_error("export_secret", e))?;
        if expected != actual.as_bytes() {
            return Err(DiffError::Exporter {
                epoch: group.current_epoch(),
                expected: hex::encode(expected),
                actual: hex::encode(actual.as_bytes()),
            });
        }
        Ok(MlsRsTree {
            suite: reference_suite,
            n_leaves,
            group,
            encryption_secret,
        })
    }

    /// The group's encryption secret, as the reference derived it.
    pub fn encryption_secret(&self) -> &[u8] {
        &self.encryption_secret
    }

    /// The number of leaves of the group's secret tree.
    pub fn n_leaves(&self) -> u32 {
        self.n_leaves
    }

    /// mls-rs's application key and nonce of `leaf` at `generation`; each leaf's ratchet
    /// only moves forward, as mls-rs deletes what it hands out.
    pub fn derive(&mut self, leaf: u32, generation: u32) -> Result<(Vec<u8>, Vec<u8>), DiffError> {
        let node = leaf
            .checked_mul(2)
            .ok_or_else(|| DiffError::Reference(format!("leaf {leaf} has no node index")))?;
        self.derive_sender(node, generation)
    }

    /// `derive_decryption_key(sender, generation)` as mls-rs takes it: `sender` is a node
    /// index (leaf `l` is node `2 l`).
    pub fn derive_sender(
        &mut self,
        sender: u32,
        generation: u32,
    ) -> Result<(Vec<u8>, Vec<u8>), DiffError> {
        let leaf = sender / 2;
        let key = self
            .group
            .derive_decryption_key(sender, generation)
            .map_err(|e| mls_rs_error("derive_decryption_key", e))?;
        if key.generation() != generation {
            return Err(DiffError::Derivation {
                what: "generation",
                leaf,
                generation,
                expected: generation.to_string(),
                actual: key.generation().to_string(),
            });
        }
        Ok((key.key().to_vec(), key.nonce().to_vec()))
    }
}

/// The reference's application key and nonce of `leaf` at `generation` in the tree over
/// `encryption_secret`.
pub fn reference_key_nonce(
    suite: u16,
    encryption_secret: &[u8],
    n_leaves: u32,
    leaf: u32,
    generation: u32,
) -> Result<(Vec<u8>, Vec<u8>), DiffError> {
    let suite = CipherSuite::new(suite).map_err(reference_error)?;
    let tree = SecretTree::new(suite, encryption_secret, n_leaves).map_err(reference_error)?;
    let mut ratchet = tree
        .ratchet(leaf, RatchetKind::Application)
        .map_err(reference_error)?;
    ratchet.advance_to(generation).map_err(reference_error)?;
    ratchet.key_nonce().map_err(reference_error)
}

/// Compares the reference with mls-rs on `case`: the same epoch secret (checked through
/// the exporter), then leaf `leaf`'s application key and nonce at `generation`.
pub fn compare(case: &SecretTreeCase) -> Result<Outcome, DiffError> {
    let n = case.normalized();
    if !MLS_RS_SUITES.contains(&n.suite) {
        return Ok(Outcome::Skipped(format!(
            "suite {}: mls-rs's RustCrypto provider implements suites 1, 2, 3 and 7 only",
            n.suite
        )));
    }
    let mut tree = MlsRsTree::new(n.suite, n.n_leaves, &case.epoch_secret)?;
    let (key, nonce) = tree.derive(n.leaf, n.generation)?;
    let (ref_key, ref_nonce) = reference_key_nonce(
        n.suite,
        tree.encryption_secret(),
        n.n_leaves,
        n.leaf,
        n.generation,
    )?;
    for (what, expected, actual) in [("key", &ref_key, &key), ("nonce", &ref_nonce, &nonce)] {
        if expected != actual {
            return Err(DiffError::Derivation {
                what,
                leaf: n.leaf,
                generation: n.generation,
                expected: hex::encode(expected),
                actual: hex::encode(actual),
            });
        }
    }
    Ok(Outcome::Agreed)
}

/// Target `mls_secret_tree`: crashes when the reference and mls-rs disagree on `case`, or
/// when either refuses it; the message starts with a stable signature.
#[allow(clippy::panic)]
pub fn fuzz(case: &SecretTreeCase) {
    if let Err(e) = compare(case) {
        let kind = match &e {
            DiffError::MlsRs { what, .. } => format!("mls-rs refused: {what}"),
            DiffError::Reference(_) => "reference refused".into(),
            DiffError::Exporter { .. } => "exporter differs".into(),
            DiffError::Derivation { what, .. } => format!("{what} differs"),
        };
        // The fuzzer's signal; the signature leads so crashes deduplicate.
        panic!("mls_secret_tree: {kind}: {e} | case: {case:?}");
    }
}
