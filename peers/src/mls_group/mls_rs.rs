//! mls-rs as a group peer: every member is a client with its own key package store and its
//! own group state storage (mls-rs's `InMemoryGroupStateStorage`), signature key and basic
//! credential carrying the member's name.
//!
//! Configuration (the limits it declares follow from it):
//! - past epochs: mls-rs keeps a prior epoch's secrets (`PriorEpoch`, with its `prior_epoch`
//!   feature, part of `rfc_compliant`) in its group state storage, trimmed to the storage's
//!   `max_epoch_retention` when the group is written (`write_to_storage`); until then prior
//!   epochs pile up in memory without bound. The adapter keeps the storage's default, 3
//!   (`DEFAULT_EPOCH_RETENTION_LIMIT`), and writes the group after every change of epoch,
//!   as an application that persists its state does, so that 3 past epochs are kept;
//! - generations: `MAX_RATCHET_BACK_HISTORY` = 1024 ahead of the next expected; with the
//!   `out_of_order` feature every skipped key is kept (no window);
//! - wire format: the adapter's MLS rules say for each proposal or commit whether to
//!   encrypt it (`EncryptionOptions::encrypt_control_messages`), as the schedule says.
//!
//! mls-rs refuses to send an application message once it has seen a proposal of the epoch
//! (`CommitRequired`, RFC 9420 §12.4); the oracle allows that.
//!
//! The sender of an application message: mls-rs gives only its leaf index
//! (`ApplicationMessageDescription::sender_index`), in the message's own epoch; the adapter
//! names it as an application would, by `Group::member_at_index` on the group as it is now
//! (an empty identity when that leaf is blank). mls-rs keeps no credentials of past epochs,
//! so it refuses a late message whose sender's leaf now holds another signature key (the
//! sender was removed, or its leaf reused) rather than name a wrong sender
//! (`validate_sender_signature_key_from_prior_epoch`): it declares that limit.
//!
//! A member's copy: its signing identity and secret key, the group id, and what its group
//! state storage holds (the group's state and every prior epoch it keeps), written first;
//! restoring builds a client on a storage holding the same and loads the group.

use super::state::{count_field, Reader, Writer};
use crate::mls_rs::v0_57::class_of;
use crate::mls_wire::{classified, reject};
use mls_rs::client_builder::{
    BaseConfig, WithCryptoProvider, WithGroupStateStorage, WithIdentityProvider, WithMlsRules,
};
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode};
use mls_rs::mls_rules::{
    CommitDirection, CommitOptions, CommitSource, DefaultMlsRules, EncryptionOptions,
    ProposalBundle,
};
use mls_rs::storage_provider::in_memory::InMemoryGroupStateStorage;
use mls_rs::{
    CipherSuite, CipherSuiteProvider, Client, CryptoProvider, Group, GroupStateStorage, MlsMessage,
    MlsRules,
};
use mls_rs_core::group::{EpochRecord, GroupState};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use ratchet_bench_core::group::{
    Commit, GroupLimits, GroupMember, GroupPeer, GroupPeerInfo, Proposal, Received, Sender,
    WireFormat,
};
use ratchet_bench_core::peer::{Reject, RejectClass};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const CIPHERSUITE: CipherSuite = CipherSuite::CURVE25519_AES128;
/// Past epochs kept: `InMemoryGroupStateStorage`'s `DEFAULT_EPOCH_RETENTION_LIMIT`.
pub const PAST_EPOCHS: u32 = 3;
/// mls-rs's `MAX_RATCHET_BACK_HISTORY`: how far ahead a generation may be.
const MAX_FORWARD: u32 = 1024;
/// The format tag of a copied member.
const STATE_FORMAT: &str = "ratchet-bench mls-rs member v1";

/// The MLS rules of a member: mls-rs's defaults, but handshake messages encrypted or not
/// as the member's switch says.
#[derive(Clone, Debug, Default)]
struct Rules {
    public: Arc<AtomicBool>,
}

impl MlsRules for Rules {
    type Error = std::convert::Infallible;

    fn filter_proposals(
        &self,
        direction: CommitDirection,
        source: CommitSource,
        current_roster: &mls_rs::group::Roster,
        context: &mls_rs::group::GroupContext,
        proposals: ProposalBundle,
    ) -> Result<ProposalBundle, Self::Error> {
        DefaultMlsRules::new().filter_proposals(
            direction,
            source,
            current_roster,
            context,
            proposals,
        )
    }

    fn commit_options(
        &self,
        new_roster: &mls_rs::group::Roster,
        new_context: &mls_rs::group::GroupContext,
        proposals: &ProposalBundle,
    ) -> Result<CommitOptions, Self::Error> {
        DefaultMlsRules::new().commit_options(new_roster, new_context, proposals)
    }

    fn encryption_options(
        &self,
        _current_roster: &mls_rs::group::Roster,
        _current_context: &mls_rs::group::GroupContext,
    ) -> Result<EncryptionOptions, Self::Error> {
        let mut options = EncryptionOptions::default();
        options.encrypt_control_messages = !self.public.load(Ordering::Relaxed);
        Ok(options)
    }
}

type Config = WithMlsRules<
    Rules,
    WithGroupStateStorage<
        InMemoryGroupStateStorage,
        WithIdentityProvider<
            BasicIdentityProvider,
            WithCryptoProvider<RustCryptoProvider, BaseConfig>,
        >,
    >,
>;

/// mls-rs 0.57.0 with its RustCrypto provider, as a group peer.
pub struct MlsRsGroup;

fn storage() -> Result<InMemoryGroupStateStorage, Reject> {
    InMemoryGroupStateStorage::new()
        .with_max_epoch_retention(PAST_EPOCHS as usize)
        .map_err(|e| reject(RejectClass::Other, "group state storage", e))
}

fn client(
    identity: SigningIdentity,
    secret: mls_rs::crypto::SignatureSecretKey,
    storage: InMemoryGroupStateStorage,
    public: Arc<AtomicBool>,
) -> Client<Config> {
    Client::builder()
        .crypto_provider(RustCryptoProvider::default())
        .identity_provider(BasicIdentityProvider)
        .group_state_storage(storage)
        .mls_rules(Rules { public })
        .signing_identity(identity, secret, CIPHERSUITE)
        .build()
}

fn to_bytes(message: &MlsMessage, what: &str) -> Result<Vec<u8>, Reject> {
    message
        .to_bytes()
        .map_err(|e| reject(RejectClass::Other, what, e))
}

fn parse(bytes: &[u8], what: &str) -> Result<MlsMessage, Reject> {
    MlsMessage::from_bytes(bytes).map_err(|e| reject(RejectClass::Malformed, what, e))
}

/// One client and, once in one, its group.
struct Member {
    client: Client<Config>,
    identity: SigningIdentity,
    secret: mls_rs::crypto::SignatureSecretKey,
    storage: InMemoryGroupStateStorage,
    public: Arc<AtomicBool>,
    group: Option<Group<Config>>,
}

impl Member {
    fn group(&mut self) -> Result<&mut Group<Config>, Reject> {
        self.group
            .as_mut()
            .ok_or_else(|| Reject::new(RejectClass::UnknownSession, "not in a group yet"))
    }

    /// Writes the group to its storage, which trims the prior epochs to the retention.
    fn persist(&mut self) -> Result<(), Reject> {
        self.group()?
            .write_to_storage()
            .map_err(|e| reject(RejectClass::Other, "write_to_storage", e))
    }

    fn sender(&self, index: u32) -> Sender {
        let identity = self
            .group
            .as_ref()
            .and_then(|g| g.member_at_index(index))
            .and_then(|m| {
                m.signing_identity
                    .credential
                    .as_basic()
                    .map(|b| String::from_utf8_lossy(b.identifier()).into_owned())
            })
            .unwrap_or_default();
        Sender {
            leaf: index,
            identity,
        }
    }
}

impl GroupPeer for MlsRsGroup {
    fn info(&self) -> GroupPeerInfo {
        GroupPeerInfo {
            name: "mls-rs".into(),
            version: "mls-rs 0.57.0, suite 1".into(),
            limits: GroupLimits {
                past_epochs: PAST_EPOCHS,
                window: None,
                max_forward: MAX_FORWARD,
                drops_departed_senders: true,
                source: "3 past epochs: InMemoryGroupStateStorage's \
                         DEFAULT_EPOCH_RETENTION_LIMIT, applied as the adapter writes the \
                         group after every new epoch; MAX_RATCHET_BACK_HISTORY 1024 ahead; \
                         every skipped key kept (out_of_order); a late message \
                         is refused once its sender's leaf holds another signature key \
                         (validate_sender_signature_key_from_prior_epoch)"
                    .into(),
            },
            export_state: true,
            weakened: Vec::new(),
        }
    }

    fn client(&self, identity: &str) -> Result<(Box<dyn GroupMember>, Vec<u8>), Reject> {
        let crypto = RustCryptoProvider::default();
        let suite = crypto.cipher_suite_provider(CIPHERSUITE).ok_or_else(|| {
            Reject::new(
                RejectClass::Other,
                "the RustCrypto provider lacks cipher suite 1",
            )
        })?;
        let (secret, public_key) = suite
            .signature_key_generate()
            .map_err(|e| reject(RejectClass::Other, "signature key", e))?;
        let signing = SigningIdentity::new(
            BasicCredential::new(identity.as_bytes().to_vec()).into_credential(),
            public_key,
        );
        let storage = storage()?;
        let public = Arc::new(AtomicBool::new(false));
        let client = client(
            signing.clone(),
            secret.clone(),
            storage.clone(),
            public.clone(),
        );
        let key_package = client
            .generate_key_package_message(Default::default(), Default::default(), None)
            .map_err(|e| reject(RejectClass::Other, "key package", e))?;
        let key_package = to_bytes(&key_package, "key package")?;
        Ok((
            Box::new(Member {
                client,
                identity: signing,
                secret,
                storage,
                public,
                group: None,
            }),
            key_package,
        ))
    }

    fn restore(&self, state: &[u8]) -> Result<Box<dyn GroupMember>, Reject> {
        let mut r = Reader::new(state, STATE_FORMAT)?;
        let identity = SigningIdentity::mls_decode(&mut r.field("signing identity")?)
            .map_err(|e| reject(RejectClass::Malformed, "member state: signing identity", e))?;
        let secret = mls_rs::crypto::SignatureSecretKey::new(r.field("secret key")?.to_vec());
        let group_id = r.field("group id")?.to_vec();
        let data = r.field("group state")?.to_vec();
        let epochs = r.count("prior epochs")?;
        let mut inserts = Vec::with_capacity(epochs);
        for _ in 0..epochs {
            let id = r.count("prior epoch id")?;
            let bytes = r.field("prior epoch")?.to_vec();
            inserts.push(EpochRecord::new(id as u64, bytes.into()));
        }
        r.end()?;
        let mut storage = storage()?;
        let public = Arc::new(AtomicBool::new(false));
        let group = if group_id.is_empty() {
            None
        } else {
            storage
                .write(
                    GroupState {
                        id: group_id.clone(),
                        data: data.into(),
                    },
                    inserts,
                    Vec::new(),
                )
                .map_err(|e| reject(RejectClass::Other, "member state: storage", e))?;
            Some(group_id)
        };
        let client = client(
            identity.clone(),
            secret.clone(),
            storage.clone(),
            public.clone(),
        );
        let group = match group {
            Some(id) => Some(client.load_group(&id).map_err(|e| {
                reject(RejectClass::Malformed, "member state: loading the group", e)
            })?),
            None => None,
        };
        Ok(Box::new(Member {
            client,
            identity,
            secret,
            storage,
            public,
            group,
        }))
    }
}

impl GroupMember for Member {
    fn create(&mut self) -> Result<(), Reject> {
        let group = self
            .client
            .create_group(Default::default(), Default::default(), None)
            .map_err(|e| reject(RejectClass::Other, "creating the group", e))?;
        self.group = Some(group);
        self.persist()
    }

    fn join(&mut self, welcome: &[u8]) -> Result<(), Reject> {
        let welcome = parse(welcome, "welcome")?;
        let (group, _info) = self
            .client
            .join_group(None, &welcome, None)
            .map_err(|e| classified(class_of, "joining", e))?;
        self.group = Some(group);
        self.persist()
    }

    fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        let message = self
            .group()?
            .encrypt_application_message(plaintext, Vec::new())
            .map_err(|e| classified(class_of, "encrypt_application_message", e))?;
        to_bytes(&message, "application message")
    }

    fn propose(&mut self, proposal: &Proposal, wire: WireFormat) -> Result<Vec<u8>, Reject> {
        self.public
            .store(wire == WireFormat::Public, Ordering::Relaxed);
        let group = self.group()?;
        let message = match proposal {
            Proposal::Add { key_package } => group
                .propose_add(parse(key_package, "key package")?, Vec::new())
                .map_err(|e| classified(class_of, "propose_add", e))?,
            Proposal::Remove { leaf } => group
                .propose_remove(*leaf, Vec::new())
                .map_err(|e| classified(class_of, "propose_remove", e))?,
            Proposal::Update => group
                .propose_update(Vec::new())
                .map_err(|e| classified(class_of, "propose_update", e))?,
        };
        to_bytes(&message, "proposal")
    }

    fn commit(&mut self, proposals: &[Proposal], wire: WireFormat) -> Result<Commit, Reject> {
        self.public
            .store(wire == WireFormat::Public, Ordering::Relaxed);
        let group = self.group()?;
        let mut builder = group.commit_builder();
        for p in proposals {
            builder = match p {
                Proposal::Add { key_package } => builder
                    .add_member(parse(key_package, "key package")?)
                    .map_err(|e| classified(class_of, "add_member", e))?,
                Proposal::Remove { leaf } => builder
                    .remove_member(*leaf)
                    .map_err(|e| classified(class_of, "remove_member", e))?,
                // An empty commit carries an update path of the committer's leaf.
                Proposal::Update => builder,
            };
        }
        let output = builder
            .build()
            .map_err(|e| classified(class_of, "commit", e))?;
        group
            .apply_pending_commit()
            .map_err(|e| classified(class_of, "apply_pending_commit", e))?;
        let message = to_bytes(&output.commit_message, "commit")?;
        let welcome = output
            .welcome_messages
            .first()
            .map(|w| to_bytes(w, "welcome"))
            .transpose()?;
        self.persist()?;
        Ok(Commit { message, welcome })
    }

    fn receive(&mut self, wire: &[u8]) -> Result<Received, Reject> {
        let message = parse(wire, "message")?;
        let received = self
            .group()?
            .process_incoming_message(message)
            .map_err(|e| classified(class_of, "process_incoming_message", e))?;
        match received {
            ReceivedMessage::ApplicationMessage(m) => Ok(Received::Application {
                plaintext: m.data().to_vec(),
                sender: self.sender(m.sender_index),
            }),
            ReceivedMessage::Proposal(p) => {
                let index = match p.sender {
                    mls_rs::group::ProposalSender::Member(i) => i,
                    other => {
                        return Err(Reject::new(
                            RejectClass::Other,
                            format!("a proposal from a non-member: {other:?}"),
                        ))
                    }
                };
                Ok(Received::Proposal {
                    sender: self.sender(index),
                })
            }
            ReceivedMessage::Commit(c) => {
                let removed = matches!(c.effect, CommitEffect::Removed { .. });
                let sender = self.sender(c.committer);
                if !removed {
                    self.persist()?;
                }
                Ok(Received::Commit {
                    sender,
                    epoch: self.group.as_ref().map_or(0, |g| g.current_epoch()),
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
        self.group.as_ref().map(|g| g.current_member_index())
    }

    fn epoch(&self) -> Option<u64> {
        self.group.as_ref().map(|g| g.current_epoch())
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        let mut w = Writer::new(STATE_FORMAT);
        w.field(
            &self
                .identity
                .mls_encode_to_vec()
                .map_err(|e| reject(RejectClass::Other, "signing identity", e))?,
        );
        w.field(self.secret.as_bytes());
        let Some(group) = &self.group else {
            w.field(&[]);
            w.field(&[]);
            w.field(&count_field(0));
            return Ok(w.finish());
        };
        // What the device holds: the group as written now, and the prior epochs stored.
        let mut group = group.clone();
        group
            .write_to_storage()
            .map_err(|e| reject(RejectClass::Other, "write_to_storage", e))?;
        let id = group.group_id().to_vec();
        let state = self
            .storage
            .state(&id)
            .map_err(|e| reject(RejectClass::Other, "storage", e))?
            .ok_or_else(|| Reject::new(RejectClass::Other, "the storage holds no group state"))?;
        let mut epochs = Vec::new();
        if let Some(max) = self
            .storage
            .max_epoch_id(&id)
            .map_err(|e| reject(RejectClass::Other, "storage", e))?
        {
            let mut e = max;
            while let Some(bytes) = self
                .storage
                .epoch(&id, e)
                .map_err(|e| reject(RejectClass::Other, "storage", e))?
            {
                epochs.push((e, bytes.to_vec()));
                match e.checked_sub(1) {
                    Some(prev) => e = prev,
                    None => break,
                }
            }
        }
        epochs.reverse();
        w.field(&id);
        w.field(&state);
        w.field(&count_field(epochs.len()));
        for (e, bytes) in epochs {
            w.field(&count_field(e as usize));
            w.field(&bytes);
        }
        Ok(w.finish())
    }
}
