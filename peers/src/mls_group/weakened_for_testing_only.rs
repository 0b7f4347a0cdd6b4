//! Deliberately weakened wrappers of a real group peer, each dropping one check an oracle
//! must catch. They exist for the tests only (never in `run`): each test runs a schedule on a
//! wrapper and shows the oracle names the flaw.
//!
//! - [`Flaw::KeepsRemovedKeys`]: a member that has taken its own removal goes on decrypting
//!   the group's messages (with a copy of another member's state), as an implementation that
//!   kept the group's keys would;
//! - [`Flaw::IgnoresMembershipTag`]: a `PublicMessage` whose membership tag does not verify
//!   is taken as the genuine message it copies (an implementation that skips the tag);
//! - [`Flaw::KeepsUsedKeys`]: the state an attacker copies is the one from before the last
//!   message the member decrypted, whose key is therefore still in it;
//! - [`Flaw::ClaimsNoPastEpochs`]: declares that it keeps no past epoch while the real peer
//!   keeps its own number;
//! - [`Flaw::NamesSenderByLeaf`]: names a message's sender `M<leaf>`, as if leaves were never
//!   reused;
//! - [`Flaw::DropsLateMessages`]: refuses every message of an epoch before its current one,
//!   while declaring the real peer's retention;
//! - [`Flaw::ClaimsShortForwardLimit`]: declares a forward limit of
//!   [`SHORT_FORWARD_LIMIT`] generations while the real peer takes messages much further
//!   ahead (as an implementation that does not enforce its own limit would).

use ratchet_bench_core::group::tag;
use ratchet_bench_core::group::{
    Commit, GroupMember, GroupPeer, GroupPeerInfo, Proposal, Received, Sender, WireFormat,
};
use ratchet_bench_core::peer::{Reject, RejectClass};
use std::sync::{Arc, Mutex};

/// One deliberate flaw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// A removed member keeps decrypting.
    KeepsRemovedKeys,
    /// Membership tags are not checked.
    IgnoresMembershipTag,
    /// A copied state still holds the last used key.
    KeepsUsedKeys,
    /// Declares a past-epoch retention of 0 over a peer that keeps more.
    ClaimsNoPastEpochs,
    /// Names senders by leaf index.
    NamesSenderByLeaf,
    /// Refuses late messages within the declared retention.
    DropsLateMessages,
    /// Declares a forward limit of [`SHORT_FORWARD_LIMIT`] over a peer that takes more.
    ClaimsShortForwardLimit,
}

/// The forward limit [`Flaw::ClaimsShortForwardLimit`] declares.
pub const SHORT_FORWARD_LIMIT: u32 = 10;

impl Flaw {
    /// The flaw's name, appended to the peer's.
    pub fn name(self) -> &'static str {
        match self {
            Flaw::KeepsRemovedKeys => "keeps-removed-keys",
            Flaw::IgnoresMembershipTag => "ignores-membership-tag",
            Flaw::KeepsUsedKeys => "keeps-used-keys",
            Flaw::ClaimsNoPastEpochs => "claims-no-past-epochs",
            Flaw::NamesSenderByLeaf => "names-sender-by-leaf",
            Flaw::DropsLateMessages => "drops-late-messages",
            Flaw::ClaimsShortForwardLimit => "claims-short-forward-limit",
        }
    }
}

type Shared = Arc<Mutex<Box<dyn GroupMember>>>;

/// A real peer with one flaw.
pub struct Weakened {
    inner: Arc<dyn GroupPeer>,
    flaw: Flaw,
    /// Every member this wrapper made (for [`Flaw::KeepsRemovedKeys`]).
    members: Arc<Mutex<Vec<Shared>>>,
    /// Every handshake message its members sent (for [`Flaw::IgnoresMembershipTag`]).
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Weakened {
    /// `inner` with `flaw`.
    pub fn new(inner: Box<dyn GroupPeer>, flaw: Flaw) -> Self {
        Weakened {
            inner: Arc::from(inner),
            flaw,
            members: Arc::default(),
            sent: Arc::default(),
        }
    }
}

struct Member {
    inner: Shared,
    peer: Arc<dyn GroupPeer>,
    flaw: Flaw,
    members: Arc<Mutex<Vec<Shared>>>,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
    removed: bool,
    before_last: Option<Vec<u8>>,
}

fn poisoned() -> Reject {
    Reject::new(RejectClass::Other, "a member's lock is poisoned")
}

impl Member {
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Box<dyn GroupMember>) -> Result<T, Reject>,
    ) -> Result<T, Reject> {
        let mut m = self.inner.lock().map_err(|_| poisoned())?;
        f(&mut m)
    }

    /// Tries `wire` on a copy of every other member of this wrapper.
    fn borrowed_keys(&self, wire: &[u8]) -> Option<Received> {
        let members = self.members.lock().ok()?.clone();
        members
            .iter()
            .filter(|m| !Arc::ptr_eq(m, &self.inner))
            .find_map(|m| {
                let state = m.lock().ok()?.export_state().ok()?;
                self.peer.restore(&state).ok()?.receive(wire).ok()
            })
    }

    /// The genuine message `wire` copies with another membership tag, if one was sent.
    fn untampered(&self, wire: &[u8]) -> Option<Vec<u8>> {
        let range = tag::membership_tag(wire)?;
        let sent = self.sent.lock().ok()?;
        sent.iter()
            .find(|s| {
                s.len() == wire.len()
                    && s[..range.start] == wire[..range.start]
                    && s[range.clone()] != wire[range.clone()]
            })
            .cloned()
    }
}

/// The epoch field of an `MLSMessage` carrying a PublicMessage or PrivateMessage.
fn epoch_of(wire: &[u8]) -> Option<u64> {
    let len = usize::from(*wire.get(4)?);
    if len >= 64 {
        return None;
    }
    let raw = wire.get(5 + len..13 + len)?;
    Some(u64::from_be_bytes(raw.try_into().ok()?))
}

impl GroupPeer for Weakened {
    fn info(&self) -> GroupPeerInfo {
        let mut info = self.inner.info();
        info.name = format!("{}~{}", info.name, self.flaw.name());
        info.weakened.push(self.flaw.name().into());
        if self.flaw == Flaw::ClaimsNoPastEpochs {
            info.limits.past_epochs = 0;
        }
        if self.flaw == Flaw::ClaimsShortForwardLimit {
            info.limits.max_forward = SHORT_FORWARD_LIMIT;
        }
        info
    }

    fn client(&self, identity: &str) -> Result<(Box<dyn GroupMember>, Vec<u8>), Reject> {
        let (inner, key_package) = self.inner.client(identity)?;
        let inner: Shared = Arc::new(Mutex::new(inner));
        if let Ok(mut all) = self.members.lock() {
            all.push(Arc::clone(&inner));
        }
        Ok((
            Box::new(Member {
                inner,
                peer: Arc::clone(&self.inner),
                flaw: self.flaw,
                members: Arc::clone(&self.members),
                sent: Arc::clone(&self.sent),
                removed: false,
                before_last: None,
            }),
            key_package,
        ))
    }

    fn restore(&self, state: &[u8]) -> Result<Box<dyn GroupMember>, Reject> {
        let inner: Shared = Arc::new(Mutex::new(self.inner.restore(state)?));
        Ok(Box::new(Member {
            inner,
            peer: Arc::clone(&self.inner),
            flaw: self.flaw,
            members: Arc::default(),
            sent: Arc::clone(&self.sent),
            removed: false,
            before_last: None,
        }))
    }
}

impl GroupMember for Member {
    fn create(&mut self) -> Result<(), Reject> {
        self.with(|m| m.create())
    }

    fn join(&mut self, welcome: &[u8]) -> Result<(), Reject> {
        self.with(|m| m.join(welcome))
    }

    fn send(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
        self.with(|m| m.send(plaintext))
    }

    fn propose(&mut self, proposal: &Proposal, wire: WireFormat) -> Result<Vec<u8>, Reject> {
        let bytes = self.with(|m| m.propose(proposal, wire))?;
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(bytes.clone());
        }
        Ok(bytes)
    }

    fn commit(&mut self, proposals: &[Proposal], wire: WireFormat) -> Result<Commit, Reject> {
        let commit = self.with(|m| m.commit(proposals, wire))?;
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(commit.message.clone());
        }
        Ok(commit)
    }

    fn receive(&mut self, wire: &[u8]) -> Result<Received, Reject> {
        if self.flaw == Flaw::KeepsUsedKeys {
            self.before_last = self.with(|m| m.export_state()).ok();
        }
        if self.flaw == Flaw::DropsLateMessages {
            let current = self.with(|m| Ok(m.epoch()))?;
            if let (Some(e), Some(c)) = (epoch_of(wire), current) {
                if e < c {
                    return Err(Reject::new(
                        RejectClass::Other,
                        format!("weakened: refuses a message of epoch {e} in epoch {c}"),
                    ));
                }
            }
        }
        let result = self.with(|m| m.receive(wire));
        let result = match (result, self.flaw) {
            (Err(e), Flaw::KeepsRemovedKeys) if self.removed => self.borrowed_keys(wire).ok_or(e),
            (Err(e), Flaw::IgnoresMembershipTag) => match self.untampered(wire) {
                Some(genuine) => self.with(|m| m.receive(&genuine)),
                None => Err(e),
            },
            (other, _) => other,
        };
        if let Ok(Received::Commit { removed: true, .. }) = &result {
            self.removed = true;
        }
        match (result, self.flaw) {
            (Ok(Received::Application { plaintext, sender }), Flaw::NamesSenderByLeaf) => {
                Ok(Received::Application {
                    plaintext,
                    sender: Sender {
                        identity: format!("M{}", sender.leaf),
                        leaf: sender.leaf,
                    },
                })
            }
            (other, _) => other,
        }
    }

    fn leaf(&self) -> Option<u32> {
        self.inner.lock().ok().and_then(|m| m.leaf())
    }

    fn epoch(&self) -> Option<u64> {
        self.inner.lock().ok().and_then(|m| m.epoch())
    }

    fn export_state(&self) -> Result<Vec<u8>, Reject> {
        match (&self.before_last, self.flaw) {
            (Some(state), Flaw::KeepsUsedKeys) => Ok(state.clone()),
            _ => self.with(|m| m.export_state()),
        }
    }
}
