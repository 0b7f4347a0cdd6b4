//! How a party turns the bytes it draws into ids (the bench's `signal-v3` convention,
//! harness/shims/PROTOCOL.md): ranges chosen so that every varint of a message has one
//! width whatever the draw (a registration id always takes 2 varint bytes, a pre-key id 4),
//! so that a message's layout does not depend on the seed.
//!
//! - registration id: 2 bytes, big-endian v; id = 128 + v mod 16253 (128..=16380, the
//!   14-bit range libsignal's clients use, from 128 up);
//! - pre-key id (signed or one-time): 3 bytes, big-endian v; id = 2^21 + v mod (2^24 - 2^21)
//!   (2^21..=2^24 - 1).

use rand_core::RngCore;

/// The lowest registration id.
pub const REGISTRATION_ID_MIN: u32 = 128;
/// The highest registration id.
pub const REGISTRATION_ID_MAX: u32 = 16380;
/// The lowest pre-key id.
pub const PRE_KEY_ID_MIN: u32 = 1 << 21;
/// The highest pre-key id.
pub const PRE_KEY_ID_MAX: u32 = (1 << 24) - 1;

/// A registration id from 2 drawn bytes.
pub fn registration_id<R: RngCore + ?Sized>(rng: &mut R) -> u32 {
    let mut b = [0u8; 2];
    rng.fill_bytes(&mut b);
    REGISTRATION_ID_MIN
        + u32::from(u16::from_be_bytes(b)) % (REGISTRATION_ID_MAX - REGISTRATION_ID_MIN + 1)
}

/// A pre-key id from 3 drawn bytes.
pub fn pre_key_id<R: RngCore + ?Sized>(rng: &mut R) -> u32 {
    let mut b = [0u8; 3];
    rng.fill_bytes(&mut b);
    let v = u32::from_be_bytes([0, b[0], b[1], b[2]]);
    PRE_KEY_ID_MIN + v % (PRE_KEY_ID_MAX - PRE_KEY_ID_MIN + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal_v3::protobuf::put_varint;

    struct Fixed(Vec<u8>);
    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            unimplemented!()
        }
        fn next_u64(&mut self) -> u64 {
            unimplemented!()
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            let n = dest.len();
            dest.copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    #[test]
    fn ids_cover_their_ranges_at_the_edges() {
        let reg = |b: [u8; 2]| registration_id(&mut Fixed(b.to_vec()));
        assert_eq!(reg([0, 0]), 128);
        assert_eq!(reg([0x3f, 0x7c]), 16380); // v = 16252
        assert_eq!(reg([0x3f, 0x7d]), 128); // v = 16253 wraps
        assert_eq!(reg([0xff, 0xff]), 128 + 65535 % 16253);
        let pk = |b: [u8; 3]| pre_key_id(&mut Fixed(b.to_vec()));
        assert_eq!(pk([0, 0, 0]), 1 << 21);
        assert_eq!(pk([0xdf, 0xff, 0xff]), (1 << 24) - 1);
        assert_eq!(pk([0xe0, 0, 0]), 1 << 21);
    }

    #[test]
    fn every_id_has_one_varint_width() {
        let width = |v: u32| {
            let mut out = Vec::new();
            put_varint(&mut out, u64::from(v));
            out.len()
        };
        assert_eq!(width(REGISTRATION_ID_MIN), 2);
        assert_eq!(width(REGISTRATION_ID_MAX), 2);
        assert_eq!(width(PRE_KEY_ID_MIN), 4);
        assert_eq!(width(PRE_KEY_ID_MAX), 4);
    }
}
