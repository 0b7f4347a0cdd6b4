//! A Megolm party's whole state as bytes and back: its own outbound session, the other
//! side's inbound session once imported, and a session key not yet handed over. What an
//! attacker who copied the device holds, for the security oracles (which, for Megolm, state
//! why forward secrecy and healing do not apply; see [`ratchet_bench_core::oracle::security`]).
//!
//! The encoding (version 1), integers big-endian:
//!
//! ```text
//! version (1 byte, 1)
//! own:       R_i (128) || i (4) || Ed25519 seed (32)
//! theirs:    flag (1) [|| initial R (128) || its index (4) || latest R (128) || its index (4)
//!                      || the sender's Ed25519 public key (32)]
//! handshake: flag (1) [|| session key (229, the shared signed format)]
//! ```
//!
//! The latest ratchet of an inbound session is never before its initial one (it is reached
//! from it), and the public key must be a valid Ed25519 point: a state breaking either is
//! refused. The decoder never panics; a refusal names the field that is wrong. The bytes
//! are secrets: nothing here prints them.

use super::error::MegolmError;
use super::ratchet::{MegolmRatchet, RATCHET_LEN};
use super::session::{InboundSession, OutboundSession, SESSION_KEY_LEN};
use crate::olm::state::StateReader;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// The encoding's version byte.
pub const STATE_VERSION: u8 = 1;

/// One Megolm party's state.
pub struct MegolmPartyState {
    /// This side's own session.
    pub own: OutboundSession,
    /// The other side's session, once its key arrived.
    pub theirs: Option<InboundSession>,
    /// The session key the initiator has not handed over yet.
    pub handshake: Option<Vec<u8>>,
}

impl std::fmt::Debug for MegolmPartyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MegolmPartyState")
            .field("own", &self.own)
            .field("theirs", &self.theirs)
            .finish_non_exhaustive()
    }
}

fn put_ratchet(out: &mut Vec<u8>, ratchet: &MegolmRatchet) {
    out.extend_from_slice(&ratchet.to_bytes());
    out.extend_from_slice(&ratchet.index().to_be_bytes());
}

/// The party's state in the encoding of this module.
pub fn export_state(
    own: &OutboundSession,
    theirs: Option<&InboundSession>,
    handshake: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 164 + 1 + 292 + 1 + SESSION_KEY_LEN);
    out.push(STATE_VERSION);
    put_ratchet(&mut out, &own.ratchet);
    out.extend_from_slice(own.signing_key.as_bytes());
    match theirs {
        Some(theirs) => {
            out.push(1);
            put_ratchet(&mut out, &theirs.initial);
            put_ratchet(&mut out, &theirs.latest);
            out.extend_from_slice(theirs.signing_key.as_bytes());
        }
        None => out.push(0),
    }
    match handshake {
        Some(key) => {
            out.push(1);
            out.extend_from_slice(key);
        }
        None => out.push(0),
    }
    out
}

/// The state [`export_state`] encoded, or a refusal (malformed) naming the field that is
/// wrong.
pub fn restore_state(bytes: &[u8]) -> Result<MegolmPartyState, MegolmError> {
    read(bytes).map_err(MegolmError::Malformed)
}

fn ratchet(r: &mut StateReader<'_>, field: &str) -> Result<MegolmRatchet, String> {
    let value = r.array::<RATCHET_LEN>(field)?;
    let index = r.u32(&format!("{field} index"))?;
    Ok(MegolmRatchet::from_bytes(&value, index))
}

fn read(bytes: &[u8]) -> Result<MegolmPartyState, String> {
    let mut r = StateReader::new(bytes, "Megolm state");
    r.version(STATE_VERSION)?;
    let own = OutboundSession {
        ratchet: ratchet(&mut r, "own ratchet")?,
        signing_key: SigningKey::from_bytes(&r.key("own Ed25519 seed")?),
    };
    let theirs = if r.flag("inbound session flag")? {
        let initial = ratchet(&mut r, "inbound initial ratchet")?;
        let latest = ratchet(&mut r, "inbound latest ratchet")?;
        if latest.index() < initial.index() {
            return Err(format!(
                "Megolm state: inbound latest ratchet index: expected at least the initial \
                 index {}, got {}",
                initial.index(),
                latest.index()
            ));
        }
        let public = r.key("inbound Ed25519 public key")?;
        let signing_key = VerifyingKey::from_bytes(&public).map_err(|e| {
            format!("Megolm state: inbound Ed25519 public key: expected a valid point: {e}")
        })?;
        Some(InboundSession {
            initial,
            latest,
            signing_key,
        })
    } else {
        None
    };
    let handshake = if r.flag("handshake flag")? {
        Some(r.take(SESSION_KEY_LEN, "handshake session key")?.to_vec())
    } else {
        None
    };
    r.finish()?;
    Ok(MegolmPartyState {
        own,
        theirs,
        handshake,
    })
}

#[cfg(test)]
mod tests {
    use super::super::session::OUTBOUND_RANDOM_LEN;
    use super::*;

    #[test]
    fn a_state_reads_back_and_goes_on_as_the_original() {
        let mut a = OutboundSession::from_random(&[3; OUTBOUND_RANDOM_LEN]);
        let b = OutboundSession::from_random(&[4; OUTBOUND_RANDOM_LEN]);
        let mut theirs = InboundSession::import(&a.session_key().0).unwrap();
        let m0 = a.encrypt(b"zero");
        let m1 = a.encrypt(b"one");
        theirs.decrypt(&m1).unwrap();
        let key = b.session_key().0;
        let bytes = export_state(&b, Some(&theirs), Some(&key));
        let back = restore_state(&bytes).unwrap();
        assert_eq!(
            export_state(&back.own, back.theirs.as_ref(), back.handshake.as_deref()),
            bytes
        );
        let mut copy = back.theirs.unwrap();
        assert_eq!(copy.decrypt(&m0).unwrap(), (b"zero".to_vec(), 0));
        let m2 = a.encrypt(b"two");
        assert_eq!(copy.decrypt(&m2).unwrap(), (b"two".to_vec(), 2));
        let mut own = back.own;
        assert_eq!(own.session_key(), b.session_key());
        let sent = own.encrypt(b"x");
        assert_eq!(
            sent,
            OutboundSession::from_random(&[4; OUTBOUND_RANDOM_LEN]).encrypt(b"x")
        );
    }

    #[test]
    fn every_truncation_and_a_bad_field_is_refused_naming_it() {
        let a = OutboundSession::from_random(&[5; OUTBOUND_RANDOM_LEN]);
        let theirs = InboundSession::import(&a.session_key().0).unwrap();
        let bytes = export_state(&a, Some(&theirs), None);
        for cut in 0..bytes.len() {
            match restore_state(&bytes[..cut]) {
                Err(MegolmError::Malformed(m)) => {
                    assert!(m.starts_with("Megolm state: "), "{m}");
                    assert!(m.contains("expected"), "{m}");
                }
                Err(e) => panic!("cut at {cut}: expected malformed, got {e}"),
                Ok(_) => panic!("cut at {cut}: a truncated state was taken"),
            }
        }
        // The latest index (after the flag, the initial ratchet and its index) set below
        // the initial one.
        let mut behind = bytes.clone();
        let initial_index = 1 + 164 + 1 + RATCHET_LEN;
        behind[initial_index..initial_index + 4].copy_from_slice(&9u32.to_be_bytes());
        assert_eq!(
            restore_state(&behind).unwrap_err(),
            MegolmError::Malformed(
                "Megolm state: inbound latest ratchet index: expected at least the initial \
                 index 9, got 0"
                    .into()
            )
        );
        let mut flag = bytes;
        flag[165] = 2;
        assert_eq!(
            restore_state(&flag).unwrap_err(),
            MegolmError::Malformed(
                "Megolm state: inbound session flag: expected 0 or 1, got 2".into()
            )
        );
    }
}
