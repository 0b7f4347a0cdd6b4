//! vodozemac as a backend of libolm's known values (`crate::libolm_known`): its Megolm
//! ratchet through exported session keys, Megolm decryption and Ed25519 through its public
//! API. Compiled once per release line, as the adapter is.

use crate::libolm_known::{
    exported_key, read_exported, target, Got, KnownBackend, Step, RATCHET_LEN,
};

/// This release line of vodozemac through its public API.
pub struct Known;

impl KnownBackend for Known {
    fn ratchet(
        &self,
        start: u32,
        ratchet: &[u8; RATCHET_LEN],
        signing_key: &[u8; 32],
        path: &[Step],
    ) -> Got<(u32, [u8; RATCHET_LEN])> {
        use super::vz::megolm::{ExportedSessionKey, InboundGroupSession, SessionConfig};
        let key = match ExportedSessionKey::from_bytes(&exported_key(start, ratchet, signing_key)) {
            Ok(k) => k,
            Err(e) => return Got::Refused(format!("ExportedSessionKey::from_bytes: {e}")),
        };
        let mut session = InboundGroupSession::import(&key, SessionConfig::version_1());
        let mut at = (start, *ratchet);
        for step in path {
            let to = target(at.0, *step);
            if to < start {
                return Got::Cannot(format!(
                    "vodozemac orders Megolm indices as plain u32 (export_at gives nothing below the first known index), so from its first known index {start} it cannot reach {to}, which lies past 2^32 - 1"
                ));
            }
            let Some(exported) = session.export_at(to) else {
                return Got::Refused(format!("export_at({to}) gave nothing"));
            };
            match read_exported(&exported.to_bytes()) {
                Some(v) => at = v,
                None => return Got::Refused("export_at gave a short exported key".into()),
            }
        }
        Got::Value(at)
    }

    fn group_decrypt(&self, session_key: &[u8], message: &[u8]) -> Got<(Vec<u8>, u32)> {
        use super::vz::megolm::{InboundGroupSession, MegolmMessage, SessionConfig, SessionKey};
        let key = match SessionKey::from_bytes(session_key) {
            Ok(k) => k,
            Err(e) => return Got::Refused(format!("SessionKey::from_bytes: {e}")),
        };
        let mut session = InboundGroupSession::new(&key, SessionConfig::version_1());
        let message = match MegolmMessage::from_bytes(message) {
            Ok(m) => m,
            Err(e) => return Got::Refused(format!("MegolmMessage::from_bytes: {e}")),
        };
        match session.decrypt(&message) {
            Ok(d) => Got::Value((d.plaintext, d.message_index)),
            Err(e) => Got::Refused(format!("decrypt: {e}")),
        }
    }

    fn ed25519_sign_verify(&self, seed: &[u8; 32], msg: &[u8], verify: &[u8]) -> Got<bool> {
        let key = super::vz::Ed25519SecretKey::from_slice(seed);
        let sig = key.sign(msg);
        Got::Value(key.public_key().verify(verify, &sig).is_ok())
    }

    fn no_primitive(&self, what: &str) -> String {
        format!("vodozemac's public API has no {what} call (it uses it only inside its ratchets)")
    }
}
