//! Message framing and protection (RFC 9420 §6): reading MLSMessage, unprotecting a
//! PrivateMessage, and the structures signatures and membership tags cover.
//!
//! ```text
//! struct { uint16 version = mls10; uint16 wire_format;        // 1 public, 2 private
//!          PublicMessage | PrivateMessage ...; } MLSMessage;
//! struct { opaque group_id<V>; uint64 epoch; ContentType content_type;
//!          opaque authenticated_data<V>; opaque encrypted_sender_data<V>;
//!          opaque ciphertext<V>; } PrivateMessage;
//! struct { uint32 leaf_index; uint32 generation; opaque reuse_guard[4]; } SenderData;
//! SenderDataAAD     = group_id<V> || uint64 epoch || content_type
//! PrivateContentAAD = group_id<V> || uint64 epoch || content_type || authenticated_data<V>
//! struct { <content>; FramedContentAuthData auth; opaque padding[...] = zeros; }
//!     PrivateMessageContent;
//! struct { opaque signature<V>; MAC confirmation_tag<V> /* commit only */; }
//!     FramedContentAuthData;
//! struct { FramedContent content; FramedContentAuthData auth; MAC membership_tag<V>; }
//!     PublicMessage;                                           // member senders
//! FramedContent   = group_id<V> || uint64 epoch || Sender || authenticated_data<V>
//!                   || content_type || <content>
//! FramedContentTBS = uint16 version || uint16 wire_format || FramedContent || GroupContext
//! membership_tag  = MAC(membership_key, FramedContentTBS || FramedContentAuthData)
//! ```
//!
//! `<content>` is `application_data<V>`, a Proposal or a Commit. The reference does not
//! decode Proposal and Commit bodies: callers give the body's length (from the bytes the
//! body must be), the reader takes that many bytes, and the caller compares them.
//!
//! To unprotect (§6.3): the sender-data key and nonce come from `sender_data_secret` and
//! the ciphertext's sample (§6.3.2); the sender data gives leaf, generation and reuse
//! guard; the key and nonce of that leaf's handshake (proposal, commit) or application
//! ratchet at that generation open the content, after the reuse guard is XORed into the
//! nonce's first 4 bytes.

use super::crypto::{aead_open, mac, CryptoError};
use super::framing::{FramingError, Reader};
use super::labels::{encode_opaque, LabelError};
use super::secret_tree::{RatchetKind, SecretTree, SecretTreeError};
use super::sender_data::sender_data_key_nonce;
use super::CipherSuite;

/// `wire_format` of a PublicMessage.
pub const WIRE_FORMAT_PUBLIC: u16 = 1;
/// `wire_format` of a PrivateMessage.
pub const WIRE_FORMAT_PRIVATE: u16 = 2;

/// Why a message cannot be read or unprotected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// The bytes do not decode.
    #[error(transparent)]
    Framing(#[from] FramingError),
    /// An AEAD refused a field.
    #[error("field {field}: {source}")]
    Open {
        /// The encrypted field.
        field: &'static str,
        /// What the AEAD said.
        source: CryptoError,
    },
    /// The secret tree has no key for the sender data's leaf or generation.
    #[error("sender data: {0}")]
    SecretTree(#[from] SecretTreeError),
    /// A derivation failed.
    #[error(transparent)]
    Label(#[from] LabelError),
}

/// The content types (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentType {
    /// Application data (1).
    Application,
    /// A proposal (2).
    Proposal,
    /// A commit (3).
    Commit,
}

impl ContentType {
    fn read(r: &mut Reader<'_>) -> Result<ContentType, FramingError> {
        match r.u8("content_type")? {
            1 => Ok(ContentType::Application),
            2 => Ok(ContentType::Proposal),
            3 => Ok(ContentType::Commit),
            other => Err(FramingError::Unexpected {
                field: "content_type",
                expected: "1 (application), 2 (proposal) or 3 (commit)".into(),
                got: other.to_string(),
            }),
        }
    }

    /// Its wire value.
    pub fn value(self) -> u8 {
        match self {
            ContentType::Application => 1,
            ContentType::Proposal => 2,
            ContentType::Commit => 3,
        }
    }

    /// The ratchet whose keys protect it (§6.3.1).
    pub fn ratchet(self) -> RatchetKind {
        match self {
            ContentType::Application => RatchetKind::Application,
            _ => RatchetKind::Handshake,
        }
    }
}

fn header(r: &mut Reader<'_>, wire_format: u16) -> Result<(), FramingError> {
    let version = r.u16("version")?;
    if version != 1 {
        return Err(FramingError::Unexpected {
            field: "version",
            expected: "1 (mls10)".into(),
            got: version.to_string(),
        });
    }
    let got = r.u16("wire_format")?;
    if got != wire_format {
        return Err(FramingError::Unexpected {
            field: "wire_format",
            expected: wire_format.to_string(),
            got: got.to_string(),
        });
    }
    Ok(())
}

/// A PrivateMessage, read from an MLSMessage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateMessage<'a> {
    /// `group_id`.
    pub group_id: &'a [u8],
    /// `epoch`.
    pub epoch: u64,
    /// `content_type`.
    pub content_type: ContentType,
    /// `authenticated_data`.
    pub authenticated_data: &'a [u8],
    /// `encrypted_sender_data`.
    pub encrypted_sender_data: &'a [u8],
    /// `ciphertext`.
    pub ciphertext: &'a [u8],
}

impl<'a> PrivateMessage<'a> {
    /// Reads an MLSMessage that must carry a PrivateMessage and nothing after it.
    pub fn read(bytes: &'a [u8]) -> Result<Self, FramingError> {
        let mut r = Reader::new(bytes);
        header(&mut r, WIRE_FORMAT_PRIVATE)?;
        let msg = PrivateMessage {
            group_id: r.opaque("group_id")?,
            epoch: r.u64("epoch")?,
            content_type: ContentType::read(&mut r)?,
            authenticated_data: r.opaque("authenticated_data")?,
            encrypted_sender_data: r.opaque("encrypted_sender_data")?,
            ciphertext: r.opaque("ciphertext")?,
        };
        r.end("ciphertext")?;
        Ok(msg)
    }

    fn aad_prefix(&self) -> Result<Vec<u8>, LabelError> {
        let mut aad = Vec::new();
        encode_opaque(self.group_id, &mut aad)?;
        aad.extend_from_slice(&self.epoch.to_be_bytes());
        aad.push(self.content_type.value());
        Ok(aad)
    }
}

/// The decrypted SenderData.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderData {
    /// The sender's leaf.
    pub leaf_index: u32,
    /// The generation of its ratchet.
    pub generation: u32,
    /// XORed into the nonce.
    pub reuse_guard: [u8; 4],
}

/// An unprotected PrivateMessage: its sender data and its PrivateMessageContent bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unprotected {
    /// The sender data.
    pub sender: SenderData,
    /// The plaintext PrivateMessageContent (content, auth, padding).
    pub content: Vec<u8>,
}

/// Opens `msg` with the epoch's `sender_data_secret` and a secret tree over `n_leaves`
/// leaves rooted at `encryption_secret`.
pub fn unprotect_private(
    suite: CipherSuite,
    msg: &PrivateMessage<'_>,
    sender_data_secret: &[u8],
    encryption_secret: &[u8],
    n_leaves: u32,
) -> Result<Unprotected, ProtectionError> {
    let sd = sender_data_key_nonce(suite, sender_data_secret, msg.ciphertext)?;
    let sender_aad = msg.aad_prefix()?;
    let plain = aead_open(
        suite.aead(),
        &sd.key,
        &sd.nonce,
        &sender_aad,
        msg.encrypted_sender_data,
    )
    .map_err(|source| ProtectionError::Open {
        field: "encrypted_sender_data",
        source,
    })?;
    let mut r = Reader::new(&plain);
    let sender = SenderData {
        leaf_index: r.u32("sender_data.leaf_index")?,
        generation: r.u32("sender_data.generation")?,
        reuse_guard: {
            let mut g = [0u8; 4];
            g.copy_from_slice(r.take(4, "sender_data.reuse_guard")?);
            g
        },
    };
    r.end("sender_data")?;
    let tree = SecretTree::new(suite, encryption_secret, n_leaves)?;
    let mut ratchet = tree.ratchet(sender.leaf_index, msg.content_type.ratchet())?;
    ratchet.advance_to(sender.generation)?;
    let (key, mut nonce) = ratchet.key_nonce()?;
    for (n, g) in nonce.iter_mut().zip(sender.reuse_guard) {
        *n ^= g;
    }
    let mut aad = sender_aad;
    encode_opaque(msg.authenticated_data, &mut aad)?;
    let content =
        aead_open(suite.aead(), &key, &nonce, &aad, msg.ciphertext).map_err(|source| {
            ProtectionError::Open {
                field: "ciphertext",
                source,
            }
        })?;
    Ok(Unprotected { sender, content })
}

/// A content and its FramedContentAuthData.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedContent<'a> {
    /// The content as FramedContent encodes it (`application_data<V>` with its length).
    pub content: &'a [u8],
    /// `auth.signature`.
    pub signature: &'a [u8],
    /// `auth.confirmation_tag`, for a commit.
    pub confirmation_tag: Option<&'a [u8]>,
}

impl AuthenticatedContent<'_> {
    /// FramedContentAuthData's encoding.
    pub fn auth_data(&self) -> Result<Vec<u8>, LabelError> {
        let mut out = Vec::new();
        encode_opaque(self.signature, &mut out)?;
        if let Some(tag) = self.confirmation_tag {
            encode_opaque(tag, &mut out)?;
        }
        Ok(out)
    }
}

/// Reads `<content>` and FramedContentAuthData; a Proposal or Commit body is the next
/// `body_len` bytes.
fn read_content_auth<'a>(
    r: &mut Reader<'a>,
    content_type: ContentType,
    body_len: usize,
) -> Result<AuthenticatedContent<'a>, FramingError> {
    let content = match content_type {
        ContentType::Application => {
            let before = r.rest();
            let data = r.opaque("application_data")?;
            let prefix = before.len() - r.rest().len() - data.len();
            &before[..prefix + data.len()]
        }
        ContentType::Proposal => r.take(body_len, "proposal")?,
        ContentType::Commit => r.take(body_len, "commit")?,
    };
    let signature = r.opaque("auth.signature")?;
    let confirmation_tag = match content_type {
        ContentType::Commit => Some(r.opaque("auth.confirmation_tag")?),
        _ => None,
    };
    Ok(AuthenticatedContent {
        content,
        signature,
        confirmation_tag,
    })
}

/// Splits a PrivateMessageContent: content, auth, then padding that must be all zeros.
pub fn read_private_content(
    plaintext: &[u8],
    content_type: ContentType,
    body_len: usize,
) -> Result<AuthenticatedContent<'_>, FramingError> {
    let mut r = Reader::new(plaintext);
    let auth = read_content_auth(&mut r, content_type, body_len)?;
    if let Some(i) = r.rest().iter().position(|&b| b != 0) {
        return Err(FramingError::Unexpected {
            field: "padding",
            expected: "zeros".into(),
            got: format!("{:02x} at padding byte {i}", r.rest()[i]),
        });
    }
    Ok(auth)
}

/// The `application_data` inside a FramedContent-encoded application content.
pub fn application_data(content: &[u8]) -> Result<&[u8], FramingError> {
    let mut r = Reader::new(content);
    let data = r.opaque("application_data")?;
    r.end("application_data")?;
    Ok(data)
}

/// A PublicMessage from a member, read from an MLSMessage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicMessage<'a> {
    /// `content.group_id`.
    pub group_id: &'a [u8],
    /// `content.epoch`.
    pub epoch: u64,
    /// `content.sender.leaf_index`.
    pub leaf_index: u32,
    /// `content.authenticated_data`.
    pub authenticated_data: &'a [u8],
    /// `content.content_type`.
    pub content_type: ContentType,
    /// The content and its auth data.
    pub auth: AuthenticatedContent<'a>,
    /// `membership_tag`.
    pub membership_tag: &'a [u8],
}

impl<'a> PublicMessage<'a> {
    /// Reads an MLSMessage that must carry a member's PublicMessage; a Proposal or Commit
    /// body is the next `body_len` bytes.
    pub fn read(bytes: &'a [u8], body_len: usize) -> Result<Self, FramingError> {
        let mut r = Reader::new(bytes);
        header(&mut r, WIRE_FORMAT_PUBLIC)?;
        let group_id = r.opaque("group_id")?;
        let epoch = r.u64("epoch")?;
        let sender_type = r.u8("sender.sender_type")?;
        if sender_type != 1 {
            return Err(FramingError::Unexpected {
                field: "sender.sender_type",
                expected: "1 (member; the reference reads no other)".into(),
                got: sender_type.to_string(),
            });
        }
        let leaf_index = r.u32("sender.leaf_index")?;
        let authenticated_data = r.opaque("authenticated_data")?;
        let content_type = ContentType::read(&mut r)?;
        let auth = read_content_auth(&mut r, content_type, body_len)?;
        let membership_tag = r.opaque("membership_tag")?;
        r.end("membership_tag")?;
        Ok(PublicMessage {
            group_id,
            epoch,
            leaf_index,
            authenticated_data,
            content_type,
            auth,
            membership_tag,
        })
    }
}

/// The fields of a FramedContent from a member.
#[derive(Clone, Copy, Debug)]
pub struct Framed<'a> {
    /// `group_id`.
    pub group_id: &'a [u8],
    /// `epoch`.
    pub epoch: u64,
    /// The sender's leaf.
    pub leaf_index: u32,
    /// `authenticated_data`.
    pub authenticated_data: &'a [u8],
    /// `content_type`.
    pub content_type: ContentType,
    /// The content as FramedContent encodes it.
    pub content: &'a [u8],
}

/// FramedContentTBS for a member sender: what SignWithLabel(., "FramedContentTBS", .)
/// signs.
pub fn framed_content_tbs(
    wire_format: u16,
    framed: &Framed<'_>,
    group_context: &[u8],
) -> Result<Vec<u8>, LabelError> {
    let mut out = Vec::new();
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&wire_format.to_be_bytes());
    encode_opaque(framed.group_id, &mut out)?;
    out.extend_from_slice(&framed.epoch.to_be_bytes());
    out.push(1);
    out.extend_from_slice(&framed.leaf_index.to_be_bytes());
    encode_opaque(framed.authenticated_data, &mut out)?;
    out.push(framed.content_type.value());
    out.extend_from_slice(framed.content);
    out.extend_from_slice(group_context);
    Ok(out)
}

/// The membership tag: MAC(membership_key, AuthenticatedContentTBM).
pub fn membership_tag(
    suite: CipherSuite,
    membership_key: &[u8],
    tbs: &[u8],
    auth: &AuthenticatedContent<'_>,
) -> Result<Vec<u8>, LabelError> {
    let tbm = [tbs, &auth.auth_data()?].concat();
    Ok(mac(suite, membership_key, &tbm))
}
