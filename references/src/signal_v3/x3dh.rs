//! X3DH as libsignal runs it for a version-3 session (rust/protocol/src/ratchet.rs,
//! `initialize_alice_session` and `initialize_bob_session`, without a Kyber pre-key).
//!
//! The master secret, on Alice's side (Bob computes the same with the roles of the keys
//! swapped):
//!
//! ```text
//! 32 × ff || DH(IK_A, SPK_B) || DH(EK_A, IK_B) || DH(EK_A, SPK_B) [|| DH(EK_A, OPK_B)]
//! ```
//!
//! (the 0xff bytes are libsignal's "discontinuity bytes"; the last term only when Alice used
//! a one-time pre-key). HKDF-SHA-256 with the default (zero) salt and info [`X3DH_INFO`]
//! gives 64 bytes: a root key and a chain key.
//!
//! - **Bob** (from the first pre-key message he accepts): root key as derived, no receiving
//!   chain, a sending chain with his signed pre-key as its ratchet key and the derived chain
//!   key. He sends nothing from it before he has received: his first decryption starts a
//!   receiving chain and, with it, a new sending chain.
//! - **Alice** (from the bundle): the derived chain key becomes a receiving chain for Bob's
//!   signed pre-key (his first "ratchet key"), and she takes one DH ratchet step at once with
//!   a fresh sending ratchet key: `(root, sending chain) = KDF_RK(root, DH(sending ratchet,
//!   SPK_B))`. So her first message already comes from a ratcheted chain.
//!
//! Both record Alice's base key, by which a responder recognises later pre-key messages of
//! the same session.

use super::chain_key::ChainKey;
use super::error::SignalV3Error;
use super::keys::{KeyPair, PublicKey};
use super::primitives::hkdf_sha256;
use super::receiver_chain::ReceiverChain;
use super::root_key::RootKey;
use super::session_state::{SenderChain, SessionState};

/// HKDF info of the X3DH master secret, version 3 (libsignal's label without Kyber).
pub const X3DH_INFO: &[u8] = b"WhisperText";

/// libsignal's "discontinuity bytes" that open the master secret.
const DISCONTINUITY: [u8; 32] = [0xff; 32];

/// Root key and chain key from the master secret.
fn derive_keys(secret: &[u8]) -> Result<(RootKey, ChainKey), SignalV3Error> {
    let okm = hkdf_sha256::<64>(None, secret, X3DH_INFO)?;
    let mut root = [0u8; 32];
    let mut chain = [0u8; 32];
    root.copy_from_slice(&okm[..32]);
    chain.copy_from_slice(&okm[32..]);
    Ok((RootKey::new(root), ChainKey::new(chain, 0)))
}

/// What Alice knows when she starts a session from Bob's bundle.
pub struct AliceParameters<'a> {
    /// IK_A.
    pub our_identity: &'a KeyPair,
    /// EK_A, the base key.
    pub our_base_key: &'a KeyPair,
    /// IK_B.
    pub their_identity: &'a PublicKey,
    /// SPK_B, also Bob's first ratchet key.
    pub their_signed_pre_key: &'a PublicKey,
    /// OPK_B, if the bundle had one.
    pub their_one_time_pre_key: Option<&'a PublicKey>,
}

/// Alice's session state, with `sending_ratchet` as her first sending ratchet key.
pub fn initialize_alice(
    p: &AliceParameters<'_>,
    sending_ratchet: KeyPair,
) -> Result<SessionState, SignalV3Error> {
    let mut secret = Vec::with_capacity(32 * 5);
    secret.extend_from_slice(&DISCONTINUITY);
    secret.extend_from_slice(&p.our_identity.private.agree(p.their_signed_pre_key));
    secret.extend_from_slice(&p.our_base_key.private.agree(p.their_identity));
    secret.extend_from_slice(&p.our_base_key.private.agree(p.their_signed_pre_key));
    if let Some(one_time) = p.their_one_time_pre_key {
        secret.extend_from_slice(&p.our_base_key.private.agree(one_time));
    }
    let (root, chain) = derive_keys(&secret)?;
    let (root, sending_chain) =
        root.create_chain(p.their_signed_pre_key, &sending_ratchet.private)?;
    Ok(SessionState::new(
        p.our_identity.public,
        *p.their_identity,
        root,
        SenderChain::new(sending_ratchet, sending_chain),
        vec![ReceiverChain::new(*p.their_signed_pre_key, chain)],
        p.our_base_key.public,
    ))
}

/// What Bob knows when a pre-key message starts a session.
pub struct BobParameters<'a> {
    /// IK_B.
    pub our_identity: &'a KeyPair,
    /// SPK_B, also his first ratchet key.
    pub our_signed_pre_key: &'a KeyPair,
    /// OPK_B, if the message names one.
    pub our_one_time_pre_key: Option<&'a KeyPair>,
    /// IK_A.
    pub their_identity: &'a PublicKey,
    /// EK_A.
    pub their_base_key: &'a PublicKey,
}

/// Bob's session state.
pub fn initialize_bob(p: &BobParameters<'_>) -> Result<SessionState, SignalV3Error> {
    let mut secret = Vec::with_capacity(32 * 5);
    secret.extend_from_slice(&DISCONTINUITY);
    secret.extend_from_slice(&p.our_signed_pre_key.private.agree(p.their_identity));
    secret.extend_from_slice(&p.our_identity.private.agree(p.their_base_key));
    secret.extend_from_slice(&p.our_signed_pre_key.private.agree(p.their_base_key));
    if let Some(one_time) = p.our_one_time_pre_key {
        secret.extend_from_slice(&one_time.private.agree(p.their_base_key));
    }
    let (root, chain) = derive_keys(&secret)?;
    Ok(SessionState::new(
        p.our_identity.public,
        *p.their_identity,
        root,
        SenderChain::new(p.our_signed_pre_key.clone(), chain),
        Vec::new(),
        *p.their_base_key,
    ))
}
