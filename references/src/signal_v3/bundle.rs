//! The responder's pre-key bundle in the bench's fixed `signal-v3` layout (integers
//! big-endian, keys serialised as [`super::keys`] says):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | registration id |
//! | 4 | 4 | device id (always 1) |
//! | 8 | 33 | identity key |
//! | 41 | 4 | signed pre-key id |
//! | 45 | 33 | signed pre-key |
//! | 78 | 64 | signed pre-key signature (XEdDSA by the identity key over the serialised signed pre-key) |
//! | 142 | 1 | `01` if a one-time pre-key follows, `00` if not |
//! | 143 | 4 | one-time pre-key id (only with `01`) |
//! | 147 | 33 | one-time pre-key (only with `01`) |
//!
//! A bundle is 143 or 180 bytes, its flag agreeing with its length; anything else is
//! malformed, as is a device id other than 1 or a key that does not parse. The signature is
//! checked by [`PreKeyBundle::verify_signature`] (an initiator refuses a bundle whose
//! signature does not verify, as libsignal's `process_prekey_bundle` does). The registration
//! id is taken as it is: no signature covers it (as in libsignal's bundle).

use super::error::{malformed, SignalV3Error};
use super::keys::{PublicKey, PUBLIC_KEY_LEN};
use super::xeddsa::{self, SIGNATURE_LEN};

/// Bytes of a bundle without a one-time pre-key.
pub const BUNDLE_LEN_WITHOUT_ONE_TIME: usize = 143;
/// Bytes of a bundle with one.
pub const BUNDLE_LEN_WITH_ONE_TIME: usize = 180;
/// The device id every party of the bench has.
pub const DEVICE_ID: u32 = 1;

/// A responder's pre-key bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreKeyBundle {
    /// The responder's registration id.
    pub registration_id: u32,
    /// Its identity key.
    pub identity_key: PublicKey,
    /// Its signed pre-key's id.
    pub signed_pre_key_id: u32,
    /// Its signed pre-key.
    pub signed_pre_key: PublicKey,
    /// The identity key's XEdDSA signature of the serialised signed pre-key.
    pub signed_pre_key_signature: [u8; SIGNATURE_LEN],
    /// A one-time pre-key and its id, if the bundle has one.
    pub one_time_pre_key: Option<(u32, PublicKey)>,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl PreKeyBundle {
    /// The bundle in the fixed layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BUNDLE_LEN_WITH_ONE_TIME);
        out.extend_from_slice(&self.registration_id.to_be_bytes());
        out.extend_from_slice(&DEVICE_ID.to_be_bytes());
        out.extend_from_slice(&self.identity_key.serialize());
        out.extend_from_slice(&self.signed_pre_key_id.to_be_bytes());
        out.extend_from_slice(&self.signed_pre_key.serialize());
        out.extend_from_slice(&self.signed_pre_key_signature);
        match &self.one_time_pre_key {
            Some((id, key)) => {
                out.push(1);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&key.serialize());
            }
            None => out.push(0),
        }
        out
    }

    /// Parses a bundle; a refusal names the field and its bytes. The signature is not
    /// checked here.
    pub fn parse(bytes: &[u8]) -> Result<Self, SignalV3Error> {
        let with_one_time = match bytes.len() {
            BUNDLE_LEN_WITHOUT_ONE_TIME => false,
            BUNDLE_LEN_WITH_ONE_TIME => true,
            n => {
                return Err(malformed(format!(
                    "bundle: expected {BUNDLE_LEN_WITHOUT_ONE_TIME} or {BUNDLE_LEN_WITH_ONE_TIME} bytes, got {n}"
                )))
            }
        };
        let flag = bytes[142];
        if flag != u8::from(with_one_time) {
            return Err(malformed(format!(
                "bundle one-time pre-key flag (byte 142): expected 0x{:02x} in a {}-byte bundle, got 0x{flag:02x}",
                u8::from(with_one_time),
                bytes.len()
            )));
        }
        let device_id = u32_at(bytes, 4);
        if device_id != DEVICE_ID {
            return Err(malformed(format!(
                "bundle device id (bytes 4..8): expected {DEVICE_ID}, got {device_id}"
            )));
        }
        let key = |field: &str, at: usize| {
            PublicKey::deserialize(
                &format!("bundle {field} (bytes {at}..{})", at + PUBLIC_KEY_LEN),
                &bytes[at..at + PUBLIC_KEY_LEN],
            )
        };
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(&bytes[78..142]);
        let one_time_pre_key = if with_one_time {
            Some((u32_at(bytes, 143), key("one-time pre-key", 147)?))
        } else {
            None
        };
        Ok(PreKeyBundle {
            registration_id: u32_at(bytes, 0),
            identity_key: key("identity key", 8)?,
            signed_pre_key_id: u32_at(bytes, 41),
            signed_pre_key: key("signed pre-key", 45)?,
            signed_pre_key_signature: signature,
            one_time_pre_key,
        })
    }

    /// Whether the signed pre-key's signature verifies under the identity key.
    pub fn verify_signature(&self) -> Result<(), SignalV3Error> {
        if xeddsa::verify(
            &self.identity_key,
            &self.signed_pre_key.serialize(),
            &self.signed_pre_key_signature,
        ) {
            Ok(())
        } else {
            Err(SignalV3Error::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal_v3::keys::PrivateKey;

    fn bundle(one_time: bool) -> PreKeyBundle {
        let identity = PrivateKey::from_bytes([1; 32]);
        let spk = PrivateKey::from_bytes([2; 32]).public_key();
        PreKeyBundle {
            registration_id: 4321,
            identity_key: identity.public_key(),
            signed_pre_key_id: 2_097_152,
            signed_pre_key: spk,
            signed_pre_key_signature: xeddsa::sign(&identity, &spk.serialize(), &[3; 64]),
            one_time_pre_key: one_time
                .then(|| (16_777_215, PrivateKey::from_bytes([4; 32]).public_key())),
        }
    }

    #[test]
    fn round_trips_in_the_fixed_layout() {
        for one_time in [true, false] {
            let b = bundle(one_time);
            let bytes = b.to_bytes();
            assert_eq!(bytes.len(), if one_time { 180 } else { 143 });
            assert_eq!(&bytes[4..8], [0, 0, 0, 1]);
            assert_eq!(bytes[8], 0x05);
            assert_eq!(PreKeyBundle::parse(&bytes).unwrap(), b);
            b.verify_signature().unwrap();
        }
    }

    #[test]
    fn refuses_other_lengths_flags_device_ids_keys_and_signatures() {
        let bytes = bundle(true).to_bytes();
        let err = |b: &[u8]| PreKeyBundle::parse(b).unwrap_err().to_string();
        assert!(err(&bytes[..179]).contains("expected 143 or 180 bytes, got 179"));
        let mut flag = bytes.clone();
        flag[142] = 0;
        assert!(
            err(&flag).contains("flag (byte 142): expected 0x01 in a 180-byte bundle, got 0x00")
        );
        let mut device = bytes.clone();
        device[7] = 2;
        assert!(err(&device).contains("device id (bytes 4..8): expected 1, got 2"));
        let mut key_type = bytes.clone();
        key_type[147] = 0x06;
        assert!(err(&key_type).contains("one-time pre-key (bytes 147..180): expected key type"));
        let mut signature = bytes.clone();
        signature[100] ^= 1;
        assert_eq!(
            PreKeyBundle::parse(&signature).unwrap().verify_signature(),
            Err(SignalV3Error::BadSignature)
        );
    }
}
