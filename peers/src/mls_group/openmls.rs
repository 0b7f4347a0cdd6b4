//! openmls as a group peer: every member is a client with its own provider (and so its own
//! storage), signature key and basic credential carrying the member's name.
//!
//! Configuration (the limits it declares follow from it):
//! - `max_past_epochs` 2: openmls keeps the message secrets (and the leaves, for the
//!   senders' credentials) of the 2 epochs before the current one. openmls's default is 0
//!   (`MlsGroupJoinConfig`), which refuses every late message; 2 lets the schedules test both
//!   sides of the retention;
//! - the sender ratchets keep openmls's defaults (`SenderRatchetConfiguration::default`):
//!   out-of-order tolerance 5 (keys of the 5 generations below the newest received are
//!   kept), maximum forward distance 1000;
//! - wire format: incoming handshake messages of either format are taken; each outgoing
//!   proposal or commit is made under the policy that sends it as the schedule says
//!   (`MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY` or `MIXED_PLAINTEXT_WIRE_FORMAT_POLICY`, set just
//!   before it with `set_configuration`). Application messages are always encrypted.
//!
//! openmls refuses to send an application message while its proposal store holds proposals
//! (`MlsGroupStateError::PendingProposal`); the oracle allows that.
//!
//! A member's copy is its provider's whole storage (openmls writes every change there:
//! group state, message secrets of the current and past epochs, its signature key), the
//! group id and the signature public key; restoring loads the group from a fresh provider
//! holding that storage.

use super::state::{count_field, Reader, Writer};
use crate::mls_wire::{classified, reject};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, GroupId, KeyPackage, LeafNodeIndex,
    LeafNodeParameters, MlsGroup, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn,
    MlsMessageOut, ProcessedMessageContent, ProtocolVersion, SenderRatchetConfiguration,
    StagedWelcome, WireFormatPolicy, MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY,
    MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider;
use ratchet_bench_core::group::{
    Commit, GroupLimits, GroupMember, GroupPeer, GroupPeerInfo, Proposal, Received, Sender,
    WireFormat,
};
use ratchet_bench_core::peer::{Reject, RejectClass};

const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;
/// Past epochs kept (configured: openmls's default is 0).
pub const PAST_EPOCHS: u32 = 2;
/// openmls's default out-of-order tolerance (`SenderRatchetConfiguration::default`).
const OUT_OF_ORDER_TOLERANCE: u32 = 5;
/// openmls's default maximum forward distance.
const MAXIMUM_FORWARD_DISTANCE: u32 = 1000;
/// The format tag of a copied member.
const STATE_FORMAT: &str = "ratchet-bench openmls member v1";

/// openmls 0.9.2 with its RustCrypto provider, as a group peer.
pub struct OpenMlsGroup;

/// The canonical class of an openmls error, from its variant names.
fn class_of(debug: &str) -> RejectClass {
    if debug.contains("TooDistantInTheFuture") {
        RejectClass::TooFarAhead
    } else if debug.contains("SecretReuseError") || debug.contains("TooDistantInThePast") {
        RejectClass::Replay
    } else if debug.contains("WrongGroupId")
        || debug.contains("WrongEpoch")
        || debug.contains("UseAfterEviction")
        || debug.contains("NoPastEpochData")
    {
        RejectClass::UnknownSession
    } else if debug.contains("Aead")
        || debug.contains("Decrypt")
        || debug.contains("Signature")
        || debug.contains("MembershipTag")
    {
        RejectClass::Auth
    } else if debug.contains("Malformed") || debug.contains("Codec") || debug.contains("Decod") {
        RejectClass::Malformed
    } else {
        RejectClass::Other
    }
}

fn config(wire: WireFormat) -> MlsGroupJoinConfig {
    let policy: WireFormatPolicy = match wire {
        WireFormat::Private => MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY,
        WireFormat::Public => MIXED_PLAINTEXT_WIRE_FORMAT_POLICY,
    };
    MlsGroupJoinConfig::builder()
        .wire_format_policy(policy)
        .max_past_epochs(PAST_EPOCHS as usize)
        .use_ratchet_tree_extension(true)
        .sender_ratchet_configuration(SenderRatchetConfiguration::new(
            OUT_OF_ORDER_TOLERANCE,
            MAXIMUM_FORWARD_DISTANCE,
        ))
        .build()
}

fn to_bytes(message: &MlsMessageOut, what: &str) -> Result<Vec<u8>, Reject> {
    message
        .tls_serialize_detached()
        .map_err(|e| reject(RejectClass::Other, what, e))
}

/// One client: its own provider (storage), signature key and, once in one, its group.
struct Member {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    identity: String,
    group: Option<MlsGroup>,
}

fn credential(identity: &str, signer: &SignatureKeyPair) -> CredentialWithKey {
    CredentialWithKey {
        credential: BasicCredential::new(identity.as_bytes().to_vec()).into(),
        signature_key: signer.public().into(),
    }
}

impl Member {
    fn key_package(&self, bytes: &[u8]) -> Result<KeyPackage, Reject> {
        let MlsMessageBodyIn::KeyPackage(kp) = MlsMessageIn::tls_deserialize_exact(bytes)
            .map_err(|e| reject(RejectClass::Malformed, "key package", e))?
            .extract()
        else {
            return Err(Reject::new(
                RejectClass::Malformed,
                "the key package is an MLSMessage of another kind",
            ));
        };
        kp.validate(self.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|e| reject(RejectClass::Auth, "key package", e))
    }

    fn set_wire(&mut self, wire: WireFormat) -> Result<(), Reject> {
        let Member {
            provider, group, ..
        } = self;
        let group = group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))?;
        group
            .set_configuration(provider.storage(), &config(wire))
            .map_err(|e| reject(RejectClass::Other, "set_configuration", e))
    }

    fn sender(
        processed_sender: &openmls::prelude::Sender,
        cred: &openmls::prelude::Credential,
    ) -> Result<Sender, Reject> {
        let openmls::prelude::Sender::Member(leaf) = processed_sender else {
            return Err(Reject::new(
                RejectClass::Other,
                format!("a message from a non-member sender: {processed_sender:?}"),
            ));
        };
        let identity = BasicCredential::try_from(cred.clone())
            .map(|b| String::from_utf8_lossy(b.identity()).into_owned())
            .map_err(|e| reject(RejectClass::Other, "the sender's credential", e))?;
        Ok(Sender {
            leaf: leaf.u32(),
            identity,
        })
    }
}

impl GroupPeer for OpenMlsGroup {
    fn info(&self) -> GroupPeerInfo {
        GroupPeerInfo {
            name: "openmls".into(),
            version: "openmls 0.9.2, suite 1".into(),
            limits: GroupLimits {
                past_epochs: PAST_EPOCHS,
                window: Some(OUT_OF_ORDER_TOLERANCE),
                max_forward: MAXIMUM_FORWARD_DISTANCE,
                drops_departed_senders: false,
                source: "max_past_epochs 2 set by the adapter (openmls's default is 0); \
                         out-of-order tolerance 5 and maximum forward distance 1000 from \
                         SenderRatchetConfiguration::default"
                    .into(),
            },
            export_state: true,
            weakened: Vec::new(),
        }
    }

    fn client(&self, identity: &str) -> Result<(Box<dyn GroupMember>, Vec<u8>), Reject> {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm())
            .map_err(|e| reject(RejectClass::Other, "signature key", e))?;
        signer
            .store(provider.storage())
            .map_err(|e| reject(RejectClass::Other, "storing the signature key", e))?;
        let credential = credential(identity, &signer);
        let bundle = KeyPackage::builder()
            .build(CIPHERSUITE, &provider, &signer, credential.clone())
            .map_err(|e| reject(RejectClass::Other, "key package", e))?;
        let key_package = to_bytes(&MlsMessageOut::from(bundle), "key package")?;
        Ok((
            Box::new(Member {
                provider,
                signer,
                credential,
                identity: identity.into(),
                group: None,
            }),
            key_package,
        ))
    }

    fn restore(&self, state: &[u8]) -> Result<Box<dyn GroupMember>, Reject> {
        let mut r = Reader::new(state, STATE_FORMAT)?;
        let identity = String::from_utf8_lossy(r.field("identity")?).into_owned();
        let public = r.field("signature public key")?.to_vec();
        let group_id = r.field("group id")?.to_vec();
        let entries = r.count("storage entries")?;
        let provider = OpenMlsRustCrypto::default();
        {
            let mut values = provider
                .storage()
                .values
                .write()
                .map_err(|_| Reject::new(RejectClass::Other, "the storage lock is poisoned"))?;
            for _ in 0..entries {
                let k = r.field("storage key")?.to_vec();
                let v = r.field("storage value")?.to_vec();
                values.insert(k, v);
            }
        }
        r.end()?;
        let signer = SignatureKeyPair::read(
            provider.storage(),
            &public,
            CIPHERSUITE.signature_algorithm(),
        )
        .ok_or_else(|| {
            Reject::new(
                RejectClass::Malformed,
                "member state: the storage holds no signature key for the public key",
            )
        })?;
        let group = if group_id.is_empty() {
            None
        } else {
            MlsGroup::load(provider.storage(), &GroupId::from_slice(&group_id))
                .map_err(|e| reject(RejectClass::Malformed, "member state: loading the group", e))?
        };
        let credential = credential(&identity, &signer);
        Ok(Box::new(Member {
            provider,
            signer,
            credential,
            identity,
            group,
        }))
    }
}

impl GroupMember for Member {
    fn create(&mut self) -> Result<(), Reject> {
        let group = MlsGroup::builder()
            .ciphersuite(CIPHERSUITE)
            .use_ratchet_tree_extension(true)
            .with_wire_format_policy(MIXED_CIPHERTEXT_WIRE_FORMAT_POLICY)
            .max_past_epochs(PAST_EPOCHS as usize)
            .sender_ratchet_configuration(SenderRatchetConfiguration::new(
                OUT_OF_ORDER_TOLERANCE,
                MAXIMUM_FORWARD_DISTANCE,
            ))
            .build(&self.provider, &self.signer, self.credential.clone())
            .map_err(|e| reject(RejectClass::Other, "creating the group", e))?;
        self.group = Some(group);
        Ok(())
    }

    fn join(&mut self, welcome: &[u8]) -> Result<(), Reject> {
        let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(welcome)
            .map_err(|e| reject(RejectClass::Malformed, "welcome", e))?
            .extract()
        else {
            return Err(Reject::new(
                RejectClass::Malformed,
                "the Welcome is an MLSMessage of another kind",
            ));
        };
        let group = StagedWelcome::new_from_welcome(
            &self.provider,
            &config(WireFormat::Private),
            welcome,
            None,
        )
        .map_err(|e| classified(class_of, "welcome", e))?
        .into_group(&self.provider)
        .map_err(|e| classified(class_of, "joining", e))?;
        self.group = Some(group);
        Ok(())
    }

    fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let Member {
            provider,
            signer,
            group,
            ..
        } = self;
        let group = group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))?;
        let message = group
            .create_message(provider, signer, plaintext)
            .map_err(|e| classified(class_of, "create_message", e))?;
        to_bytes(&message, "application message")
    }

    fn propose(&mut self, proposal: &Proposal, wire: WireFormat) -> Result<Vec<u8>, Reject> {
        self.set_wire(wire)?;
        let key_package = match proposal {
            Proposal::Add { key_package } => Some(self.key_package(key_package)?),
            _ => None,
        };
        let Member {
            provider,
            signer,
            group,
            ..
        } = self;
        let group = group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))?;
        let message = match (proposal, key_package) {
            (Proposal::Add { .. }, Some(kp)) => {
                group
                    .propose_add_member(provider, signer, &kp)
                    .map_err(|e| classified(class_of, "propose_add_member", e))?
                    .0
            }
            (Proposal::Remove { leaf }, _) => {
                group
                    .propose_remove_member(provider, signer, LeafNodeIndex::new(*leaf))
                    .map_err(|e| classified(class_of, "propose_remove_member", e))?
                    .0
            }
            _ => {
                group
                    .propose_self_update(provider, signer, LeafNodeParameters::default())
                    .map_err(|e| classified(class_of, "propose_self_update", e))?
                    .0
            }
        };
        to_bytes(&message, "proposal")
    }

    fn commit(&mut self, proposals: &[Proposal], wire: WireFormat) -> Result<Commit, Reject> {
        self.set_wire(wire)?;
        let adds = proposals
            .iter()
            .filter_map(|p| match p {
                Proposal::Add { key_package } => Some(self.key_package(key_package)),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()?;
        let Member {
            provider,
            signer,
            group,
            ..
        } = self;
        let group = group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))?;
        let (commit, welcome) = match proposals {
            [] => {
                let (c, w, _) = group
                    .commit_to_pending_proposals(provider, signer)
                    .map_err(|e| classified(class_of, "commit_to_pending_proposals", e))?;
                (c, w)
            }
            [Proposal::Remove { leaf }] => {
                let (c, w, _) = group
                    .remove_members(provider, signer, &[LeafNodeIndex::new(*leaf)])
                    .map_err(|e| classified(class_of, "remove_members", e))?;
                (c, w)
            }
            [Proposal::Update] => {
                let bundle = group
                    .self_update(provider, signer, LeafNodeParameters::default())
                    .map_err(|e| classified(class_of, "self_update", e))?;
                (bundle.commit().clone(), bundle.to_welcome_msg())
            }
            _ if adds.len() == proposals.len() => {
                let (c, w, _) = group
                    .add_members(provider, signer, &adds)
                    .map_err(|e| classified(class_of, "add_members", e))?;
                (c, Some(w))
            }
            _ => {
                return Err(Reject::new(
                    RejectClass::Other,
                    "the adapter commits no proposals, one Remove, one Update or Adds",
                ))
            }
        };
        group
            .merge_pending_commit(provider)
            .map_err(|e| classified(class_of, "merge_pending_commit", e))?;
        Ok(Commit {
            message: to_bytes(&commit, "commit")?,
            welcome: welcome.map(|w| to_bytes(&w, "welcome")).transpose()?,
        })
    }

    fn receive(&mut self, wire: &[u8]) -> Result<Received, Reject> {
        let message = MlsMessageIn::tls_deserialize_exact(wire)
            .map_err(|e| reject(RejectClass::Malformed, "message", e))?
            .try_into_protocol_message()
            .map_err(|e| reject(RejectClass::Malformed, "message", e))?;
        let Member {
            provider, group, ..
        } = self;
        let group = group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))?;
        let processed = group
            .process_message(provider, message)
            .map_err(|e| classified(class_of, "process_message", e))?;
        let sender = Member::sender(processed.sender(), processed.credential())?;
        match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => Ok(Received::Application {
                plaintext: m.into_bytes(),
                sender,
            }),
            ProcessedMessageContent::ProposalMessage(p) => {
                group
                    .store_pending_proposal(provider.storage(), *p)
                    .map_err(|e| reject(RejectClass::Other, "store_pending_proposal", e))?;
                Ok(Received::Proposal { sender })
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let removed = staged.self_removed();
                group
                    .merge_staged_commit(provider, *staged)
                    .map_err(|e| classified(class_of, "merge_staged_commit", e))?;
                Ok(Received::Commit {
                    sender,
                    epoch: group.epoch().as_u64(),
                    removed,
                })
            }
            other => Err(Reject::new(
                RejectClass::Other,
                format!("a message of another kind: {other:?}"),
            )),
        }
    }

    fn leaf(&self) -> Option<u32> {
        self.group.as_ref().map(|g| g.own_leaf_index().u32())
    }

    fn epoch(&self) -> Option<u64> {
        self.group.as_ref().map(|g| g.epoch().as_u64())
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let mut w = Writer::new(STATE_FORMAT);
        w.field(self.identity.as_bytes());
        w.field(self.signer.public());
        w.field(
            self.group
                .as_ref()
                .map_or(&[][..], |g| g.group_id().as_slice()),
        );
        let values = self
            .provider
            .storage()
            .values
            .read()
            .map_err(|_| Reject::new(RejectClass::Other, "the storage lock is poisoned"))?;
        let mut entries: Vec<(&Vec<u8>, &Vec<u8>)> = values.iter().collect();
        entries.sort();
        w.field(&count_field(entries.len()));
        for (k, v) in entries {
            w.field(k);
            w.field(v);
        }
        Ok(w.finish())
    }
}
