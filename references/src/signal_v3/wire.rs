//! Where the regions of a wire message lie (type byte || serialised message), so that an
//! attack schedule can tamper with a named region: the header is everything before the
//! ciphertext's bytes (type byte, version byte, the fields up to the ciphertext's tag and
//! length; for a pre-key message also the outer fields before the inner message), the body
//! the ciphertext, the MAC the inner message's 8 bytes, the ratchet key the 33 bytes of the
//! ratchetKey field. A pre-key message's registrationId and signedPreKeyId come after the
//! inner message (field-number order) and lie in no region.

use super::party::{PRE_KEY_TYPE, WHISPER_TYPE};
use super::pre_key_signal_message::PreKeySignalMessage;
use super::signal_message::SignalMessage;
use std::ops::Range;

/// The regions of one wire message, as byte ranges of the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// From the type byte to the ciphertext.
    pub header: Range<usize>,
    /// The ciphertext.
    pub body: Range<usize>,
    /// The truncated MAC.
    pub mac: Range<usize>,
    /// The sender's serialised ratchet key.
    pub ratchet_key: Range<usize>,
}

/// The layout of `wire`, if it parses as a message of this family.
pub fn layout(wire: &[u8]) -> Option<Layout> {
    let (&type_byte, rest) = wire.split_first()?;
    let (inner, base) = match type_byte {
        WHISPER_TYPE => (SignalMessage::parse(rest).ok()?, 1),
        PRE_KEY_TYPE => {
            let m = PreKeySignalMessage::parse(rest).ok()?;
            let base = 1 + m.message_offset();
            (m.message().clone(), base)
        }
        _ => return None,
    };
    let field = |n: u32| inner.fields().iter().find(|f| f.number == n);
    let ciphertext = field(4)?.value.clone();
    let ratchet = field(1)?.value.clone();
    let mac = inner.mac_range();
    Some(Layout {
        header: 0..base + ciphertext.start,
        body: base + ciphertext.start..base + ciphertext.end,
        mac: base + mac.start..base + mac.end,
        ratchet_key: base + ratchet.start..base + ratchet.end,
    })
}
