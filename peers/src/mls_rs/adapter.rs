//! mls-rs, as an MLS peer (family `mls`): one body, compiled once per release line against
//! that line's crates (`super::mr` and its RustCrypto provider `super::mr_crypto`; see the
//! parent module).
//!
//! The session is the one [`crate::OpenMls`] builds (a two-member group in cipher suite 1,
//! the responder's key package as its bundle, the Welcome as the initiator's handshake), so
//! that an openmls member and an mls-rs member can share a group.
//!
//! Declared limits, from mls-rs's secret tree (`group/secret_tree.rs`): a message at most
//! `MAX_RATCHET_BACK_HISTORY` = 1024 generations ahead of the next expected one; with the
//! `out_of_order` feature (part of `rfc_compliant`) it keeps the key of every generation it
//! skipped, with no bound on how many.
//!
//! The working group's vectors: mls-rs has no public entry that takes a vector's secrets
//! (an encryption secret, a key schedule's inputs, a PrivateMessage's keys), so the
//! secret-tree and message-protection files cannot be fed to it. Its secret tree is compared
//! with the reference's instead over a group whose epoch secret the bench chooses, confirmed
//! through its exporter ([`crate::mls_secret_tree`]); message protection is checked by
//! exchanging real messages with openmls (the interop matrix).
//!
//! mls-rs draws its randomness from the OS through its crypto provider, so it is compared
//! on outcomes only. Errors map onto the canonical classes by `MlsError`'s variant names;
//! the detail keeps mls-rs's own text.

use super::mr::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider};
use super::mr::group::ReceivedMessage;
use super::mr::identity::basic::{BasicCredential, BasicIdentityProvider};
use super::mr::identity::SigningIdentity;
use super::mr::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider, Group, MlsMessage};
use super::mr_crypto::RustCryptoProvider;
use super::{RELEASE, VERSION};
use crate::mls_wire::{self, classified, joined, reject};
use crate::release_name;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};

const CIPHERSUITE: CipherSuite = CipherSuite::CURVE25519_AES128;
/// mls-rs's `MAX_RATCHET_BACK_HISTORY`: how far ahead a generation may be.
const MAX_FORWARD: u32 = 1024;

type Config =
    WithIdentityProvider<BasicIdentityProvider, WithCryptoProvider<RustCryptoProvider, BaseConfig>>;

/// mls-rs with its RustCrypto provider, at this release line.
pub struct MlsRs;

/// One member: its client (key store included) and, once joined or created, its group.
struct Member {
    client: Client<Config>,
    group: Option<Group<Config>>,
    welcome: Option<Vec<u8>>,
}

/// The canonical class of an mls-rs error, from its variant names (the group adapter's too).
pub fn class_of(debug: &str) -> RejectClass {
    if debug.contains("InvalidFutureGeneration") {
        RejectClass::TooFarAhead
    } else if debug.contains("KeyMissing") {
        RejectClass::Replay
    } else if debug.contains("GroupIdMismatch") || debug.contains("Epoch") {
        RejectClass::UnknownSession
    } else if debug.contains("CryptoProvider")
        || debug.contains("Signature")
        || debug.contains("Aead")
        || debug.contains("MembershipTag")
    {
        RejectClass::Auth
    } else if debug.contains("Codec") || debug.contains("Decod") || debug.contains("Invalid") {
        RejectClass::Malformed
    } else {
        RejectClass::Other
    }
}

fn client(name: &str) -> Result<Client<Config>, Reject> {
    let crypto = RustCryptoProvider::default();
    let suite = crypto.cipher_suite_provider(CIPHERSUITE).ok_or_else(|| {
        Reject::new(
            RejectClass::Other,
            "the RustCrypto provider lacks cipher suite 1",
        )
    })?;
    let (secret, public) = suite
        .signature_key_generate()
        .map_err(|e| reject(RejectClass::Other, "signature key", e))?;
    let identity = SigningIdentity::new(
        BasicCredential::new(name.as_bytes().to_vec()).into_credential(),
        public,
    );
    Ok(Client::builder()
        .identity_provider(BasicIdentityProvider)
        .crypto_provider(crypto)
        .signing_identity(identity, secret, CIPHERSUITE)
        .build())
}

fn to_bytes(message: &MlsMessage, what: &str) -> Result<Vec<u8>, Reject> {
    message
        .to_bytes()
        .map_err(|e| reject(RejectClass::Other, what, e))
}

fn parse(bytes: &[u8], what: &str) -> Result<MlsMessage, Reject> {
    MlsMessage::from_bytes(bytes).map_err(|e| reject(RejectClass::Malformed, what, e))
}

impl Peer for MlsRs {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: release_name("mls-rs", RELEASE),
            version: VERSION.into(),
            family: Family::MLS,
            limits: Limits {
                max_skip: MAX_FORWARD,
                max_stored: None,
                max_stored_per_chain: None,
                when_full: WhenFull::Unbounded,
                window: None,
                max_chains: None,
            },
            capabilities: Capabilities {
                injectable_rng: false,
                export_state: false,
            },
            weakened: Vec::new(),
        }
    }

    fn respond(
        &self,
        _init: &SessionInit,
        _rng: BoxRng,
    ) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
        let client = client("responder")?;
        let key_package = client
            .generate_key_package_message(Default::default(), Default::default(), None)
            .map_err(|e| reject(RejectClass::Other, "key package", e))?;
        let bytes = to_bytes(&key_package, "key package")?;
        Ok((
            Box::new(Member {
                client,
                group: None,
                welcome: None,
            }),
            bytes,
        ))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        _rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let client = client("initiator")?;
        let key_package = parse(bundle, "bundle")?;
        let mut group = client
            .create_group(Default::default(), Default::default(), None)
            .map_err(|e| reject(RejectClass::Other, "creating the group", e))?;
        let commit = group
            .commit_builder()
            .add_member(key_package)
            .map_err(|e| classified(class_of, "adding the responder", e))?
            .build()
            .map_err(|e| reject(RejectClass::Other, "committing", e))?;
        group
            .apply_pending_commit()
            .map_err(|e| reject(RejectClass::Other, "applying the commit", e))?;
        let welcome = commit
            .welcome_messages
            .first()
            .ok_or_else(|| Reject::new(RejectClass::Other, "the commit produced no Welcome"))?;
        let welcome = to_bytes(welcome, "welcome")?;
        Ok(Box::new(Member {
            client,
            group: Some(group),
            welcome: Some(welcome),
        }))
    }

    fn layout(&self, wire: &[u8]) -> WireLayout {
        mls_wire::layout(wire)
    }

    fn codec(&self) -> Option<&'static dyn Codec> {
        Some(&ratchet_bench_references::codec::MlsCodec)
    }
}

impl Party for Member {
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let message = joined(&mut self.group)?
            .encrypt_application_message(plaintext, ad.to_vec())
            .map_err(|e| classified(class_of, "encrypt_application_message", e))?;
        to_bytes(&message, "application message")
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        mls_wire::check_ad(ad, wire)?;
        let message = parse(wire, "message")?;
        let received = joined(&mut self.group)?
            .process_incoming_message(message)
            .map_err(|e| classified(class_of, "process_incoming_message", e))?;
        match received {
            ReceivedMessage::ApplicationMessage(m) => Ok(m.data().to_vec()),
            other => Err(Reject::new(
                RejectClass::Other,
                format!("not an application message: {other:?}"),
            )),
        }
    }

    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        Ok(self.welcome.take())
    }

    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        let welcome = parse(handshake, "handshake")?;
        let (group, _info) = self
            .client
            .join_group(None, &welcome, None)
            .map_err(|e| classified(class_of, "joining", e))?;
        self.group = Some(group);
        Ok(())
    }
}
