//! The planted-bug catalogue: deliberate, named flaws the reference can be built with, one
//! at a time, so that `ratchet-bench selftest` can show that the campaign catches each.
//!
//! Each flaw is the faithful version of a bug class seen in real ratchet implementations,
//! planted where that bug lives in the spec's own functions. The real reference carries no
//! flaw (`None`): every hook is one comparison of an `Option<Flaw>`, so its speed and its
//! wire bytes do not change. A flawed state is only built through the
//! `..._for_testing_only` constructors of [`super::DoubleRatchet`], used by the mutant peer
//! (`peers::mutant`) and the tests.

use serde::Serialize;
use std::fmt;

/// One planted flaw. The doc of each variant says which real bug it models and what an
/// attacker gains from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum Flaw {
    /// The message key is consumed before the MAC is checked: a stored skipped key is
    /// deleted, or the receiving chain is advanced past the message (its skipped keys
    /// stored), and only then is the MAC verified; a failure does not put them back. Models
    /// mls-rs taking a generation's key out of its secret tree before the AEAD check. The
    /// attacker, with one forged copy of a message it saw on the wire, makes the genuine
    /// message undecryptable (a targeted, silent message deletion).
    MacAfterAdvance,
    /// A message whose key is in the store of skipped keys is decrypted without checking its
    /// MAC (the fast path for late messages forgot the check the main path has). The
    /// attacker modifies any message that arrives out of order: a flipped body bit changes
    /// the plaintext the receiver accepts.
    SkippedKeyUnchecked,
    /// Message keys are kept after use, in the store of skipped keys, both the stored keys
    /// used by late messages and the key of every in-order message (a cache kept "for
    /// retransmissions"). The attacker replays any message and it is accepted again; a later
    /// compromise of the state also reveals every key kept (no forward secrecy).
    UsedKeysKept,
    /// The caller's associated data is left out of the MAC on both sides (the AEAD is given
    /// only the header), so the bytes on the wire are the same whatever the associated data.
    /// The attacker moves a message into another context (another conversation or sender
    /// identity bound by the application's associated data) and it is accepted there.
    AdNotBound,
    /// The header is left out of the MAC on both sides (the AEAD's associated data is only
    /// the caller's). The attacker rewrites the header's PN (and thereby how many keys the
    /// receiver derives and stores for the previous chain) without the receiver noticing.
    HeaderNotBound,
    /// MAX_SKIP is not checked: only the capacity of the store of skipped keys bounds how
    /// many keys one header makes the receiver derive (as in implementations that only
    /// bound the store). The attacker makes one message cost the receiver the whole store's
    /// worth of key derivations and memory, and pushes a chain far past the declared limit.
    MaxSkipIgnored,
    /// The store of skipped keys has no bound (MAX_SKIP is still checked per message), so a
    /// sender who skips a little with every message makes the receiver hold keys without
    /// end. The attacker grows the receiver's memory without limit, and a later compromise
    /// reveals every key kept.
    StoreUnbounded,
    /// The sender does not keep the stepped sending chain key (the state is saved from a
    /// copy made before KDF_CK, or the step is applied to a temporary), so every message of
    /// a sending chain is encrypted under the same message key: the same AES key and IV and
    /// the same HMAC key. The attacker sees which messages share leading plaintext blocks
    /// (CBC under a repeated key and IV); a peer that derives keys correctly cannot read
    /// any message after the first of a chain.
    KeyAndIvReused,
    /// After a DH ratchet step the old receiving chain is kept whole instead of storing the
    /// keys of its late messages up to the header's PN, and it is never dropped: a late
    /// message of any old chain is derived from it on demand. The header's PN is ignored, so
    /// the previous chain is never checked against MAX_SKIP or the store's bound, memory
    /// grows with every turn, and a compromise of the state reveals every future key of
    /// every old chain.
    OldChainKept,
    /// The root key is never updated: KDF_RK's new root key is dropped at
    /// RatchetInitAlice and at both halves of each DH ratchet step, so every chain is
    /// derived from SK and one DH output (both sides make the same mistake, so the mutant
    /// talks to itself). The attacker who learns SK and any one later ratchet private key
    /// reads that chain: the root chain no longer accumulates the earlier DH outputs, and
    /// the session does not interoperate with a correct peer after its first reply.
    RootKeyFrozen,
    /// A MAC shorter than 32 bytes is accepted: the body is taken as whole AES blocks and the
    /// rest (17 to 32 bytes) as the tag, compared with as many leading bytes of the HMAC as
    /// it has (a comparison over the received length, as with HMAC's `verify_truncated_left`
    /// or a `memcmp` over the received tag). The attacker cuts up to 15 bytes from a message
    /// and it is still accepted (copies the application cannot tell from the original,
    /// replay caches keyed on the bytes bypassed), and each byte cut divides the work of a
    /// forgery by 256.
    TruncatedMacAccepted,
    /// The spec's in-place order (SkipMessageKeys, DHRatchet, then DECRYPT) without restoring
    /// the state when decryption fails: a forged message with a new ratchet key in its
    /// header performs a whole DH ratchet step. Models double-ratchet-2. The attacker, with
    /// one forged message, desynchronises the session: every later genuine message fails.
    NoRollback,
    /// The initiator takes a responder's ratchet key of low order (it skips the check for the
    /// all-zero X25519 output RFC 7748 §6.1 asks for), so its first sending chain owes
    /// nothing to a key exchange. An attacker who controls the bundle (a malicious or
    /// compromised key server) puts one of the well-known low-order points there; a bit flip
    /// of a genuine key never lands on one.
    LowOrderKeyAccepted,
}

impl Flaw {
    /// Every flaw, in catalogue order.
    pub const ALL: [Flaw; 13] = [
        Flaw::MacAfterAdvance,
        Flaw::SkippedKeyUnchecked,
        Flaw::UsedKeysKept,
        Flaw::AdNotBound,
        Flaw::HeaderNotBound,
        Flaw::MaxSkipIgnored,
        Flaw::StoreUnbounded,
        Flaw::KeyAndIvReused,
        Flaw::OldChainKept,
        Flaw::RootKeyFrozen,
        Flaw::TruncatedMacAccepted,
        Flaw::NoRollback,
        Flaw::LowOrderKeyAccepted,
    ];

    /// The flaw's name in peer names (`reference+<name>`) and reports.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::MacAfterAdvance => "mac-after-advance",
            Flaw::SkippedKeyUnchecked => "skipped-key-unchecked",
            Flaw::UsedKeysKept => "used-keys-kept",
            Flaw::AdNotBound => "ad-not-bound",
            Flaw::HeaderNotBound => "header-not-bound",
            Flaw::MaxSkipIgnored => "max-skip-ignored",
            Flaw::StoreUnbounded => "store-unbounded",
            Flaw::KeyAndIvReused => "key-and-iv-reused",
            Flaw::OldChainKept => "old-chain-kept",
            Flaw::RootKeyFrozen => "root-key-frozen",
            Flaw::TruncatedMacAccepted => "truncated-mac-accepted",
            Flaw::NoRollback => "no-rollback",
            Flaw::LowOrderKeyAccepted => "low-order-key-accepted",
        }
    }

    /// The flaw named `name`, if any.
    pub fn from_name(name: &str) -> Option<Flaw> {
        Flaw::ALL.into_iter().find(|f| f.name() == name)
    }

    /// One line on what the flaw is, for reports.
    pub fn summary(self) -> &'static str {
        match self {
            Flaw::MacAfterAdvance => "MAC checked after the state advanced",
            Flaw::SkippedKeyUnchecked => "MAC not checked on skipped-key messages",
            Flaw::UsedKeysKept => "used message keys kept (replay)",
            Flaw::AdNotBound => "associated data not bound",
            Flaw::HeaderNotBound => "header not bound",
            Flaw::MaxSkipIgnored => "MAX_SKIP not enforced",
            Flaw::StoreUnbounded => "skipped-key store unbounded",
            Flaw::KeyAndIvReused => "key and IV reused",
            Flaw::OldChainKept => "old receiving chain never dropped",
            Flaw::RootKeyFrozen => "root key not updated on the DH ratchet",
            Flaw::TruncatedMacAccepted => "a truncated MAC accepted",
            Flaw::NoRollback => "state not restored after a failed decrypt",
            Flaw::LowOrderKeyAccepted => "a low-order ratchet key accepted in the bundle",
        }
    }
}

impl From<Flaw> for &'static str {
    fn from(f: Flaw) -> Self {
        f.name()
    }
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
