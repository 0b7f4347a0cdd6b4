//! The calls whose signatures differ between vodozemac's release lines, as lines 0.10 and
//! later have them (0.10.0 and 0.11.1 agree on every call the adapter makes), and the
//! classes of their Olm errors, whose enums gained variants in 0.10.
//!
//! 0.10 made the Diffie-Hellman steps refuse non-contributory (low-order) public keys: session
//! creation and encryption became fallible, and both error enums have `NonContributoryKey`
//! (vodozemac's CHANGELOG, 0.10.0, pull request 298). `create_inbound_session` takes the
//! expected `SessionConfig` and refuses a pre-key message of another (pull request 300).

use super::vz::olm::{
    Account, DecryptionError, InboundCreationResult, OlmMessage, PreKeyMessage, Session,
    SessionConfig, SessionCreationError,
};
use super::vz::Curve25519PublicKey;
use ratchet_bench_core::peer::RejectClass;

/// `Account::create_outbound_session`.
pub(super) fn create_outbound_session(
    account: &Account,
    config: SessionConfig,
    identity_key: Curve25519PublicKey,
    one_time_key: Curve25519PublicKey,
) -> Result<Session, SessionCreationError> {
    account.create_outbound_session(config, identity_key, one_time_key)
}

/// `Account::create_inbound_session`, which refuses a pre-key message of another config.
pub(super) fn create_inbound_session(
    account: &mut Account,
    config: SessionConfig,
    identity_key: Curve25519PublicKey,
    message: &PreKeyMessage,
) -> Result<InboundCreationResult, SessionCreationError> {
    account.create_inbound_session(config, identity_key, message)
}

/// `Session::encrypt`, the error as text.
pub(super) fn encrypt(session: &mut Session, payload: Vec<u8>) -> Result<OlmMessage, String> {
    session.encrypt(payload).map_err(|e| e.to_string())
}

/// The class of an Olm decryption error.
pub(super) fn olm_class(e: &DecryptionError) -> RejectClass {
    match e {
        DecryptionError::InvalidMAC(_) => RejectClass::Auth,
        // Padding is checked only after the MAC verified, so a bad one means the MAC check
        // passed on bytes the sender did not pad: only a fuzzing build (MACs off) gets here
        // with a forged message. It is an integrity failure either way.
        DecryptionError::InvalidPadding(_) => RejectClass::Auth,
        // A version byte (3 or 4) whose MAC length differs from the session's config.
        DecryptionError::InvalidMACLength(..) => RejectClass::Malformed,
        // A ratchet key of small order: not a usable public key.
        DecryptionError::NonContributoryKey => RejectClass::Malformed,
        // Index below the chain's next one and not among its kept skipped keys: used,
        // evicted, or never derived (skipped by more than 40).
        DecryptionError::MissingMessageKey(_) => RejectClass::Replay,
        DecryptionError::TooBigMessageGap(..) => RejectClass::TooFarAhead,
    }
}

/// The class of an error creating an Olm session.
pub(super) fn creation_class(e: &SessionCreationError) -> RejectClass {
    match e {
        // The one-time key is not ours or already used: no session can be made for it.
        SessionCreationError::MissingOneTimeKey(_) => RejectClass::UnknownSession,
        // The adapter passes the message's own identity key, so this cannot arise; if it
        // did, the message would not be from whom it claims.
        SessionCreationError::MismatchedIdentityKey(..) => RejectClass::Auth,
        SessionCreationError::MismatchedSessionConfig { .. } => RejectClass::Malformed,
        SessionCreationError::Decryption(inner) => olm_class(inner),
        SessionCreationError::NonContributoryKey => RejectClass::Malformed,
    }
}
