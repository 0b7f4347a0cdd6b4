//! The adapter body of every openmls release line, compiled once per line against that
//! line's crates (`super::om`, its RustCrypto provider `super::om_crypto`, its credential
//! and traits crates `super::om_credential` and `super::om_traits`; see the module
//! `openmls`).
//!
//! A session is a two-member group in cipher suite 1
//! (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519): the responder publishes a key package
//! (its bundle, an `MLSMessage`), the initiator creates a group, commits an Add of that key
//! package and hands the responder the Welcome ([`Party::handshake`]); both then exchange
//! application messages (`PrivateMessage`s) in that one epoch. The session's shared secret
//! is not used: MLS builds its own from the members' HPKE keys.
//!
//! Receiving ratchets keep openmls's defaults, which are its declared limits: a message at
//! most 1000 generations ahead of the next expected one, and the keys of the 5 generations
//! below the newest received (its out-of-order tolerance, a window: [`Limits::window`]).
//!
//! The working group's vectors: openmls keeps its secret tree, key schedule and message
//! protection `pub(crate)` (also under its `test-utils` feature), so neither the secret-tree
//! nor the message-protection files can be fed to it through its API; it is checked against
//! them only indirectly, by exchanging real messages with mls-rs (whose secret tree is
//! compared with the reference's, [`crate::mls_secret_tree`]) in the interop matrix.
//!
//! openmls draws its randomness from its provider, seeded by the OS, so it is compared on
//! outcomes, never on bytes. Errors map onto the canonical classes by openmls's variant
//! names; the detail keeps openmls's own text.

use super::om::prelude::tls_codec::{Deserialize as _, Serialize as _};
use super::om::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage, MlsGroup, MlsGroupJoinConfig,
    MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, ProcessedMessageContent, ProtocolVersion,
    SenderRatchetConfiguration, StagedWelcome,
};
use super::om_credential::SignatureKeyPair;
use super::om_crypto::OpenMlsRustCrypto;
use super::om_traits::OpenMlsProvider;
use super::{RELEASE, VERSION};
use crate::mls_wire::{self, classified, joined, reject};
use crate::release_name;
use ratchet_bench_core::codec::Codec;
use ratchet_bench_core::peer::{
    BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass, SessionInit,
    WhenFull, WireLayout,
};

const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
/// openmls's default out-of-order tolerance (`SenderRatchetConfiguration::default`).
const OUT_OF_ORDER_TOLERANCE: u32 = 5;
/// openmls's default maximum forward distance.
const MAXIMUM_FORWARD_DISTANCE: u32 = 1000;

/// openmls with its RustCrypto provider, at this release line.
pub struct OpenMls;

/// One member: its own provider (and so its own key store), signature key and group.
struct Member {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
    welcome: Option<Vec<u8>>,
}

/// The canonical class of an openmls error, from its variant names.
fn class_of(debug: &str) -> RejectClass {
    if debug.contains("TooDistantInTheFuture") {
        RejectClass::TooFarAhead
    } else if debug.contains("SecretReuseError") || debug.contains("TooDistantInThePast") {
        RejectClass::Replay
    } else if debug.contains("WrongGroupId") || debug.contains("WrongEpoch") {
        RejectClass::UnknownSession
    } else if debug.contains("Aead") || debug.contains("Decrypt") || debug.contains("Signature") {
        RejectClass::Auth
    } else if debug.contains("Malformed") || debug.contains("Codec") || debug.contains("Decod") {
        RejectClass::Malformed
    } else {
        RejectClass::Other
    }
}

fn ratchets() -> SenderRatchetConfiguration {
    SenderRatchetConfiguration::new(OUT_OF_ORDER_TOLERANCE, MAXIMUM_FORWARD_DISTANCE)
}

impl Member {
    fn new(name: &str) -> Result<Self, Reject> {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm())
            .map_err(|e| reject(RejectClass::Other, "signature key", e))?;
        signer
            .store(provider.storage())
            .map_err(|e| reject(RejectClass::Other, "storing the signature key", e))?;
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        Ok(Member {
            provider,
            signer,
            credential,
            group: None,
            welcome: None,
        })
    }
}

fn to_bytes(message: &MlsMessageOut, what: &str) -> Result<Vec<u8>, Reject> {
    message
        .tls_serialize_detached()
        .map_err(|e| reject(RejectClass::Other, what, e))
}

fn parse(bytes: &[u8], what: &str) -> Result<MlsMessageBodyIn, Reject> {
    MlsMessageIn::tls_deserialize_exact(bytes)
        .map(MlsMessageIn::extract)
        .map_err(|e| reject(RejectClass::Malformed, what, e))
}

impl Peer for OpenMls {
    fn info(&self) -> PeerInfo {
        PeerInfo {
            name: release_name("openmls", RELEASE),
            version: VERSION.into(),
            family: Family::MLS,
            limits: Limits {
                max_skip: MAXIMUM_FORWARD_DISTANCE,
                max_stored: None,
                max_stored_per_chain: None,
                when_full: WhenFull::EvictOldest,
                window: Some(OUT_OF_ORDER_TOLERANCE),
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
        let member = Member::new("responder")?;
        let bundle = KeyPackage::builder()
            .build(
                CIPHERSUITE,
                &member.provider,
                &member.signer,
                member.credential.clone(),
            )
            .map_err(|e| reject(RejectClass::Other, "key package", e))?;
        let bytes = to_bytes(&MlsMessageOut::from(bundle), "key package")?;
        Ok((Box::new(member), bytes))
    }

    fn initiate(
        &self,
        _init: &SessionInit,
        bundle: &[u8],
        _rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject> {
        let mut member = Member::new("initiator")?;
        let MlsMessageBodyIn::KeyPackage(key_package) = parse(bundle, "bundle")? else {
            return Err(Reject::new(
                RejectClass::Malformed,
                "the bundle is an MLSMessage but not a key package",
            ));
        };
        let key_package = key_package
            .validate(member.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|e| reject(RejectClass::Auth, "key package", e))?;
        let mut group = MlsGroup::builder()
            .ciphersuite(CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .sender_ratchet_configuration(ratchets())
            .build(&member.provider, &member.signer, member.credential.clone())
            .map_err(|e| reject(RejectClass::Other, "creating the group", e))?;
        let (_commit, welcome, _group_info) = group
            .add_members(&member.provider, &member.signer, &[key_package])
            .map_err(|e| reject(RejectClass::Other, "adding the responder", e))?;
        group
            .merge_pending_commit(&member.provider)
            .map_err(|e| reject(RejectClass::Other, "merging the commit", e))?;
        member.welcome = Some(to_bytes(&welcome, "welcome")?);
        member.group = Some(group);
        Ok(Box::new(member))
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
        let Member {
            provider,
            signer,
            group,
            ..
        } = self;
        let group = joined(group)?;
        group.set_aad(ad.to_vec());
        let message = group
            .create_message(provider, signer, plaintext)
            .map_err(|e| classified(class_of, "create_message", e))?;
        to_bytes(&message, "application message")
    }

    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
        mls_wire::check_ad(ad, wire)?;
        let message = MlsMessageIn::tls_deserialize_exact(wire)
            .map_err(|e| reject(RejectClass::Malformed, "message", e))?
            .try_into_protocol_message()
            .map_err(|e| reject(RejectClass::Malformed, "message", e))?;
        let Member {
            provider, group, ..
        } = self;
        let group = joined(group)?;
        let processed = group
            .process_message(provider, message)
            .map_err(|e| classified(class_of, "process_message", e))?;
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => Ok(m.into_bytes()),
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
        let MlsMessageBodyIn::Welcome(welcome) = parse(handshake, "handshake")? else {
            return Err(Reject::new(
                RejectClass::Malformed,
                "the handshake is an MLSMessage but not a Welcome",
            ));
        };
        let config = MlsGroupJoinConfig::builder()
            .use_ratchet_tree_extension(true)
            .sender_ratchet_configuration(ratchets())
            .build();
        let group = StagedWelcome::new_from_welcome(&self.provider, &config, welcome, None)
            .map_err(|e| classified(class_of, "welcome", e))?
            .into_group(&self.provider)
            .map_err(|e| classified(class_of, "joining", e))?;
        self.group = Some(group);
        Ok(())
    }
}
