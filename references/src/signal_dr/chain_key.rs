//! KDF_CK: the symmetric-key ratchet of a sending or receiving chain.

use super::keys::{ChainKey, MessageKey};
use super::primitives::hmac_sha256;
use std::cell::Cell;

thread_local! {
    /// KDF_CK calls made on this thread, for the bounded-work oracle: a header claiming a
    /// huge counter must cost at most the declared number of derivations, counted, not timed.
    static DERIVATIONS: Cell<u64> = const { Cell::new(0) };
}

/// How many times [`kdf_ck`] ran on this thread. A party reads it before and after a call
/// (the call runs on one thread) to learn how many chain steps that call derived.
pub fn kdf_ck_calls_on_this_thread() -> u64 {
    DERIVATIONS.with(Cell::get)
}

/// KDF_CK(ck): the message key is HMAC-SHA-256(ck, 0x01) and the next chain key
/// HMAC-SHA-256(ck, 0x02), as the spec recommends. Returns (next chain key, message key).
pub fn kdf_ck(ck: &ChainKey) -> (ChainKey, MessageKey) {
    DERIVATIONS.with(|d| d.set(d.get().wrapping_add(1)));
    let mk = hmac_sha256(&ck.0, &[&[0x01]]);
    let next = hmac_sha256(&ck.0, &[&[0x02]]);
    (ChainKey(next), MessageKey(mk))
}
