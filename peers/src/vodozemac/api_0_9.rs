//! The calls whose signatures differ between vodozemac's release lines, as line 0.9 has them,
//! and the classes of its Olm errors.
//!
//! Before 0.10, vodozemac's Diffie-Hellman steps took any public key, low-order ones included
//! (whose shared secret is all zeros): session creation and encryption cannot fail, and the
//! error enums have no `NonContributoryKey`. `create_inbound_session` takes no
//! `SessionConfig`: it reads the config from the pre-key message (a version 4 message makes a
//! version 2 session). vodozemac's CHANGELOG, 0.10.0, pull requests 298 and 300.

use super::vz::olm::{
    Account, DecryptionError, InboundCreationResult, OlmMessage, PreKeyMessage, Session,
    SessionConfig, SessionCreationError,
};
use super::vz::Curve25519PublicKey;
use ratchet_bench_core::peer::RejectClass;

/// `Account::create_outbound_session`, infallible in 0.9.
pub(super) fn create_outbound_session(
    account: &Account,
    config: SessionConfig,
    identity_key: Curve25519PublicKey,
    one_time_key: Curve25519PublicKey,
) -> Result<Session, SessionCreationError> {
    Ok(account.create_outbound_session(config, identity_key, one_time_key))
}

/// `Account::create_inbound_session`. 0.9 takes the config the message says, so the expected
/// one is not passed: a message of another config is 0.9's behaviour to observe, not the
/// adapter's to refuse.
pub(super) fn create_inbound_session(
    account: &mut Account,
    _config: SessionConfig,
    identity_key: Curve25519PublicKey,
    message: &PreKeyMessage,
) -> Result<InboundCreationResult, SessionCreationError> {
    account.create_inbound_session(identity_key, message)
}

/// `Session::encrypt`, infallible in 0.9.
pub(super) fn encrypt(session: &mut Session, payload: Vec<u8>) -> Result<OlmMessage, String> {
    Ok(session.encrypt(payload))
}

/// The class of an Olm decryption error (the same classes as later lines, which add one).
pub(super) fn olm_class(e: &DecryptionError) -> RejectClass {
    match e {
        // Also what a low-order ratchet key gets here: the chain it derives does not match
        // the sender's, so the MAC fails.
        DecryptionError::InvalidMAC(_) => RejectClass::Auth,
        // Reached only past the MAC check (see the later lines' module).
        DecryptionError::InvalidPadding(_) => RejectClass::Auth,
        DecryptionError::InvalidMACLength(..) => RejectClass::Malformed,
        DecryptionError::MissingMessageKey(_) => RejectClass::Replay,
        DecryptionError::TooBigMessageGap(..) => RejectClass::TooFarAhead,
    }
}

/// The class of an error creating an Olm session.
pub(super) fn creation_class(e: &SessionCreationError) -> RejectClass {
    match e {
        SessionCreationError::MissingOneTimeKey(_) => RejectClass::UnknownSession,
        SessionCreationError::MismatchedIdentityKey(..) => RejectClass::Auth,
        SessionCreationError::Decryption(inner) => olm_class(inner),
    }
}
