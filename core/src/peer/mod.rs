//! The abstraction of an implementation under test.
//!
//! A [`Peer`] is one implementation (the bundled reference, a crate, later a process speaking
//! the shim protocol). It builds [`Party`] values: one side of a session each. Everything that
//! crosses this boundary is owned bytes or plain serialisable data, so that a peer living in
//! another process fits behind the same traits without changing them.

mod family;
mod reject;

pub use family::{Benign, DeclarationError, Family, FamilySpec, Properties};
pub use reject::{Reject, RejectClass, FAILED_PREFIX};

use serde::{Deserialize, Serialize};
use std::fmt;

/// How far a peer says it goes for out-of-order delivery. The oracle takes these as the
/// contract: within them a genuine message must decrypt, beyond `max_skip` it must be
/// refused, and where a store could be full or could have evicted, either outcome is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The most message keys one message may make a receiver derive and store in one chain
    /// (the spec's MAX_SKIP): with `n - nr` above this, the message is refused.
    pub max_skip: u32,
    /// The most skipped message keys kept in all, if bounded.
    pub max_stored: Option<u32>,
    /// The most skipped message keys kept per receiving chain, if bounded.
    pub max_stored_per_chain: Option<u32>,
    /// What the peer does when its store is full.
    pub when_full: WhenFull,
    /// If set, the receiver drops the keys of a chain's messages more than this many
    /// positions behind the newest it accepted in that chain, stored or not (openmls's
    /// out-of-order tolerance is such a window).
    #[serde(default)]
    pub window: Option<u32>,
    /// If set, the receiver keeps only this many receiving chains (the newest); a message of
    /// an older chain cannot be decrypted (Olm keeps 5).
    #[serde(default)]
    pub max_chains: Option<u32>,
}

/// What a peer does with a new skipped key when its store is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFull {
    /// Refuse the message that would overflow the store.
    Refuse,
    /// Drop the oldest stored keys to make room.
    EvictOldest,
    /// The store is unbounded.
    Unbounded,
}

/// What a peer lets the bench control or observe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The peer draws all its randomness from the RNG the bench injects, so one seed gives
    /// the same wire bytes every time.
    pub injectable_rng: bool,
    /// The peer can export a party's state and restore it later.
    pub export_state: bool,
}

/// What a peer says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Short stable name, used on the command line and in finding signatures.
    pub name: String,
    /// The implementation and version under test.
    pub version: String,
    /// The wire format it speaks.
    pub family: Family,
    /// Its declared out-of-order limits.
    pub limits: Limits,
    /// What it lets the bench control.
    pub capabilities: Capabilities,
    /// Checks the peer is known to run without (for instance MAC checks switched off under
    /// `cfg(fuzzing)`), shown in every report header.
    pub weakened: Vec<String>,
}

/// The shared inputs of one session, as a key agreement would have left them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInit {
    /// The secret both parties start from (the Double Ratchet's SK).
    pub shared_secret: [u8; 32],
}

impl fmt::Debug for SessionInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionInit").finish_non_exhaustive()
    }
}

/// Where the regions of a wire message lie, so that an attacker schedule can tamper with a
/// named region on any peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLayout {
    /// The cleartext header (ratchet key, counters).
    pub header: std::ops::Range<usize>,
    /// The ciphertext body.
    pub body: std::ops::Range<usize>,
    /// The authentication tag (for an AEAD with the tag inside the body, the tag's bytes).
    pub mac: std::ops::Range<usize>,
    /// Where the sender's ratchet public key sits in the header, if the format has one at a
    /// fixed place, so that a `rekey` step can put another key there.
    #[serde(default)]
    pub ratchet_key: Option<std::ops::Range<usize>>,
}

/// A source of randomness handed to a peer that can take one.
pub trait PeerRng: rand_core::RngCore + rand_core::CryptoRng + Send {}

impl<T: rand_core::RngCore + rand_core::CryptoRng + Send> PeerRng for T {}

/// Randomness for one party, injected by the bench.
pub type BoxRng = Box<dyn PeerRng>;

/// One implementation under test.
pub trait Peer: Send + Sync {
    /// The peer's name, version, family, limits and capabilities.
    fn info(&self) -> PeerInfo;

    /// Builds the responding party (the Double Ratchet's Bob) and the bundle an initiator
    /// needs (for signal-dr, Bob's ratchet public key).
    fn respond(&self, init: &SessionInit, rng: BoxRng)
        -> Result<(Box<dyn Party>, Vec<u8>), Reject>;

    /// Builds the initiating party (Alice) from the responder's bundle.
    fn initiate(
        &self,
        init: &SessionInit,
        bundle: &[u8],
        rng: BoxRng,
    ) -> Result<Box<dyn Party>, Reject>;

    /// Where the header, body and MAC of a wire message lie.
    fn layout(&self, wire: &[u8]) -> WireLayout;

    /// The family's codec: its wire messages and bundles as typed fields, which the mutation
    /// steps change one field at a time and which name the field in findings. Peers of one
    /// family give the same codec. `None` (the default) leaves the peer with
    /// [`Peer::layout`]'s byte ranges only.
    fn codec(&self) -> Option<&'static dyn crate::codec::Codec> {
        None
    }

    /// Whether every call crosses a process boundary (a shim). Campaigns may give such peers
    /// a sample of the drawn scenarios (`RunOptions::shim_scenarios`; by default all).
    fn out_of_process(&self) -> bool {
        false
    }

    /// Rebuilds a party from bytes one of this peer's parties exported with
    /// [`Party::export_state`], drawing any later randomness from `rng`. The security oracles
    /// use it to play an attacker holding a copy of a party's state. Peers without the
    /// `export_state` capability keep this default, which says so.
    fn restore(&self, state: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
        let _ = rng;
        Err(Reject::new(
            RejectClass::Other,
            format!(
                "{} cannot restore a party's state ({} bytes given)",
                self.info().name,
                state.len()
            ),
        ))
    }
}

/// Why a party without [`Party::publish`] and [`Party::renew`] cannot set a session up
/// again: the `renew` step's skip reason.
pub const NO_SESSION_RECORD: &str = "the party is one session, with no record of several \
    (libsignal's session record): a second session with the same correspondent, and which \
    one to send on, is its application's to keep";

/// What a party has spent, counted by the peer itself: the bounded-work oracle checks that
/// one message never costs more key derivations or stored keys than the declared limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Chain-key derivations (KDF_CK steps) since the party was built, refused inputs
    /// included.
    pub derivations: u64,
    /// Skipped message keys held now.
    pub stored_keys: u64,
}

/// One side of a session. Bytes in, bytes out; nothing borrowed across calls.
pub trait Party: Send {
    /// Encrypts `plaintext` with associated data `ad` and returns the wire bytes.
    fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject>;

    /// Decrypts wire bytes with associated data `ad`.
    fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject>;

    /// Encrypts `plaintext` `count` times in a row (a jump's lost messages), stopping at the
    /// first refusal: the wire bytes made, and the refusal if there was one. One call instead
    /// of `count`, so that a wrapper running calls on another thread (the per-call budget of
    /// [`crate::guard::watch`]) hands over once; peers keep this default.
    fn encrypt_many(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        count: u32,
    ) -> (Vec<Vec<u8>>, Option<Reject>) {
        let mut wires = Vec::new();
        for _ in 0..count {
            match self.encrypt(ad, plaintext) {
                Ok(wire) => wires.push(wire),
                Err(refused) => return (wires, Some(refused)),
            }
        }
        (wires, None)
    }

    /// Called once on the initiator right after [`Peer::initiate`]: the bytes the responder
    /// must take before any message (an MLS Welcome), or `None` where the first message
    /// carries everything (the Double Ratchet, Olm's pre-key message).
    fn handshake(&mut self) -> Result<Option<Vec<u8>>, Reject> {
        Ok(None)
    }

    /// The party's whole state as bytes [`Peer::restore`] takes back: what an attacker who
    /// compromised the device would hold. Parties of peers without the `export_state`
    /// capability keep this default, which says so.
    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        Err(Reject::new(
            RejectClass::Other,
            "this party cannot export its state",
        ))
    }

    /// What the party has spent so far, where the peer counts it (the bounded-work oracle
    /// compares the cost of each call with the declared limits). Counted, never timed;
    /// parties that do not count keep this default.
    fn work(&self) -> Option<Work> {
        None
    }

    /// Whether the party bounds each of its calls itself (a shim's party: the host stops a
    /// request past the shim's budget and reports the shim as failed), so that
    /// [`crate::guard::watch`] leaves it as it is: a second budget would cut a slow shim
    /// short of its own, and cost two thread hand-overs per call. Other parties keep this
    /// default.
    fn own_budget(&self) -> bool {
        false
    }

    /// A new bundle of this side's device, from which the other side starts a new session
    /// to it ([`Party::renew`]): for the Signal Protocol, its identity key, its signed
    /// pre-key (made now if it has none: an initiator's device) and a new one-time pre-key.
    /// A party that holds one session and no record of several with its correspondent keeps
    /// this default, which says so: the `renew` step is then skipped with that reason.
    fn publish(&mut self) -> Result<Vec<u8>, Reject> {
        Err(Reject::new(RejectClass::Other, NO_SESSION_RECORD))
    }

    /// Starts a new session to the other side from a bundle it published
    /// ([`Party::publish`]), as a device does that processes a new bundle of a correspondent
    /// it already has a session with: the new session becomes the one it sends on, the
    /// earlier ones are kept to decrypt with (libsignal's session record).
    fn renew(&mut self, bundle: &[u8]) -> Result<(), Reject> {
        let _ = bundle;
        Err(Reject::new(RejectClass::Other, NO_SESSION_RECORD))
    }

    /// Takes the initiator's [`Party::handshake`] bytes on the responder.
    fn join(&mut self, handshake: &[u8]) -> Result<(), Reject> {
        Err(Reject::new(
            RejectClass::Malformed,
            format!(
                "this party expects no handshake, got {} bytes",
                handshake.len()
            ),
        ))
    }
}
