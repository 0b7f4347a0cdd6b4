//! message-protection.json (RFC 9420 §6): the schema and checks are in [`super::mls`]'s
//! module documentation.

use super::mls::{same, Parts};
use super::HexBytes;
use ratchet_bench_references::mls::key_schedule::GroupContext;
use ratchet_bench_references::mls::message_protection::{
    application_data, framed_content_tbs, membership_tag, read_private_content, unprotect_private,
    AuthenticatedContent, ContentType, Framed, PrivateMessage, PublicMessage, WIRE_FORMAT_PRIVATE,
    WIRE_FORMAT_PUBLIC,
};
use ratchet_bench_references::mls::signature::{verify_with_label, SignatureError};
use ratchet_bench_references::mls::{CipherSuite, SignatureScheme};
use serde::Deserialize;

/// One case of message-protection.json: one cipher suite, a 2-member group.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageProtectionCase {
    /// The cipher suite's number.
    pub cipher_suite: u16,
    /// The GroupContext's group_id.
    pub group_id: HexBytes,
    /// The GroupContext's epoch.
    pub epoch: u64,
    /// The GroupContext's tree_hash.
    pub tree_hash: HexBytes,
    /// The GroupContext's confirmed_transcript_hash.
    pub confirmed_transcript_hash: HexBytes,
    /// The sender's signature key.
    pub signature_priv: HexBytes,
    /// The sender's verification key.
    pub signature_pub: HexBytes,
    /// The epoch's encryption_secret.
    pub encryption_secret: HexBytes,
    /// The epoch's sender_data_secret.
    pub sender_data_secret: HexBytes,
    /// The epoch's membership_key.
    pub membership_key: HexBytes,
    /// A Proposal.
    pub proposal: HexBytes,
    /// It, as an MLSMessage carrying a PrivateMessage.
    pub proposal_priv: HexBytes,
    /// It, as an MLSMessage carrying a PublicMessage.
    pub proposal_pub: HexBytes,
    /// A Commit.
    pub commit: HexBytes,
    /// It, as an MLSMessage carrying a PrivateMessage.
    pub commit_priv: HexBytes,
    /// It, as an MLSMessage carrying a PublicMessage.
    pub commit_pub: HexBytes,
    /// Application data.
    pub application: HexBytes,
    /// It, as an MLSMessage carrying a PrivateMessage.
    pub application_priv: HexBytes,
}

/// A signature to check once every message is read.
struct Signed {
    field: &'static str,
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

fn check_content(
    field: &'static str,
    content_type: ContentType,
    expected: &[u8],
    auth: &AuthenticatedContent<'_>,
) -> Result<(), String> {
    let got = match content_type {
        ContentType::Application => {
            application_data(auth.content).map_err(|e| format!("{field}: {e}"))?
        }
        _ => auth.content,
    };
    same(format!("{field} content"), expected, got)
}

fn check_frame(
    field: &'static str,
    case: &MessageProtectionCase,
    group_id: &[u8],
    epoch: u64,
    content_type: ContentType,
    expected_type: ContentType,
) -> Result<(), String> {
    same(format!("{field} group_id"), &case.group_id, group_id)?;
    if epoch != case.epoch {
        return Err(format!(
            "{field} epoch: expected {}, got {epoch}",
            case.epoch
        ));
    }
    if content_type != expected_type {
        return Err(format!(
            "{field} content_type: expected {expected_type:?}, got {content_type:?}"
        ));
    }
    Ok(())
}

/// Checks one message-protection case: every PrivateMessage unprotected and its content
/// compared, every PublicMessage's membership tag and content, and every signature where
/// the reference has the suite's scheme; the error is the first difference.
pub fn check_message_protection(
    suite: CipherSuite,
    case: &MessageProtectionCase,
) -> Result<Parts, String> {
    let group_context = GroupContext {
        suite,
        group_id: case.group_id.0.clone(),
        epoch: case.epoch,
        tree_hash: case.tree_hash.0.clone(),
        confirmed_transcript_hash: case.confirmed_transcript_hash.0.clone(),
        extensions: Vec::new(),
    }
    .serialize()
    .map_err(|e| format!("group context: {e}"))?;
    let mut parts = Parts::new(format!("suite {}, 2 leaves", suite.id()));
    let mut signed = Vec::new();
    let private = [
        (
            "application_priv",
            ContentType::Application,
            &case.application_priv,
            &case.application,
        ),
        (
            "proposal_priv",
            ContentType::Proposal,
            &case.proposal_priv,
            &case.proposal,
        ),
        (
            "commit_priv",
            ContentType::Commit,
            &case.commit_priv,
            &case.commit,
        ),
    ];
    let mut senders = Vec::new();
    for (field, expected_type, bytes, expected) in private {
        let fail = |e: &dyn std::fmt::Display| format!("{field}: {e}");
        let msg = PrivateMessage::read(bytes).map_err(|e| fail(&e))?;
        check_frame(
            field,
            case,
            msg.group_id,
            msg.epoch,
            msg.content_type,
            expected_type,
        )?;
        let open = unprotect_private(
            suite,
            &msg,
            &case.sender_data_secret,
            &case.encryption_secret,
            2,
        )
        .map_err(|e| fail(&e))?;
        let auth = read_private_content(&open.content, msg.content_type, expected.len())
            .map_err(|e| fail(&e))?;
        check_content(field, msg.content_type, expected, &auth)?;
        let framed = Framed {
            group_id: msg.group_id,
            epoch: msg.epoch,
            leaf_index: open.sender.leaf_index,
            authenticated_data: msg.authenticated_data,
            content_type: msg.content_type,
            content: auth.content,
        };
        signed.push(Signed {
            field,
            tbs: framed_content_tbs(WIRE_FORMAT_PRIVATE, &framed, &group_context)
                .map_err(|e| fail(&e))?,
            signature: auth.signature.to_vec(),
        });
        senders.push(format!(
            "{field} leaf {} generation {}",
            open.sender.leaf_index, open.sender.generation
        ));
        parts.checked(field);
    }
    let public = [
        (
            "proposal_pub",
            ContentType::Proposal,
            &case.proposal_pub,
            &case.proposal,
        ),
        (
            "commit_pub",
            ContentType::Commit,
            &case.commit_pub,
            &case.commit,
        ),
    ];
    for (field, expected_type, bytes, expected) in public {
        let fail = |e: &dyn std::fmt::Display| format!("{field}: {e}");
        let msg = PublicMessage::read(bytes, expected.len()).map_err(|e| fail(&e))?;
        check_frame(
            field,
            case,
            msg.group_id,
            msg.epoch,
            msg.content_type,
            expected_type,
        )?;
        check_content(field, msg.content_type, expected, &msg.auth)?;
        let framed = Framed {
            group_id: msg.group_id,
            epoch: msg.epoch,
            leaf_index: msg.leaf_index,
            authenticated_data: msg.authenticated_data,
            content_type: msg.content_type,
            content: msg.auth.content,
        };
        let tbs = framed_content_tbs(WIRE_FORMAT_PUBLIC, &framed, &group_context)
            .map_err(|e| fail(&e))?;
        let tag =
            membership_tag(suite, &case.membership_key, &tbs, &msg.auth).map_err(|e| fail(&e))?;
        same(format!("{field} membership_tag"), msg.membership_tag, &tag)?;
        signed.push(Signed {
            field,
            tbs,
            signature: msg.auth.signature.to_vec(),
        });
        senders.push(format!("{field} leaf {}", msg.leaf_index));
        parts.checked(format!("{field}(membership_tag)"));
    }
    match suite.signature() {
        SignatureScheme::Ed25519 => {
            for s in &signed {
                verify_with_label(
                    suite,
                    &case.signature_pub,
                    b"FramedContentTBS",
                    &s.tbs,
                    &s.signature,
                )
                .map_err(|e| format!("{} auth.signature: {e}", s.field))?;
            }
            parts.checked("signatures");
        }
        other => parts.skipped("signatures", SignatureError::Unsupported(other)),
    }
    parts.summary_detail(&senders.join(", "));
    Ok(parts)
}
