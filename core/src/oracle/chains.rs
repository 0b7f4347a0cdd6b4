//! The Double Ratchet's chain structure, as the oracle tracks it.
//!
//! Both `signal-dr` and `dr2` (and Olm) number messages within sending chains: a side
//! starts a new chain at its first send after it accepted a message from a newer chain of
//! the other side (the DH ratchet), and each header carries the chain's message number N
//! and the previous chain's length PN. A receiver must derive and keep the keys of the
//! messages it skips: `PN - Nr` left in its current chain and `N` in a new one, or `N - Nr`
//! within its current chain. With either above MAX_SKIP the message must be refused; within
//! it, the message must decrypt unless the keys it needs would overflow the declared store.
//!
//! MLS fits the same model with one chain per side that never changes within an epoch (its
//! application ratchet in the secret tree, generation = N), both sides holding it from the
//! start: [`Family::ratchets_per_turn`] is false for it.
//!
//! A declared [`Limits::window`] drops the keys of messages more than `window` positions
//! behind the newest accepted in the current chain; such a message is a `May`: an ideal
//! channel would still take it, the peer declares that it will not.
//!
//! A declared [`Limits::max_chains`] bounds the receiving chains a receiver keeps: a message
//! of a chain with `max_chains` or more newer chains of its sender after it may have lost its
//! keys with its chain, a `May`. (At most `current - chain` newer chains can have been
//! created on the receiver since, so below that the chain is certainly kept.)
//!
//! Olm's headers carry no PN ([`Family::uses_previous_length`]): on a new chain
//! the receiver stores no keys of the previous one, but keeps that chain, and a later message
//! of it is derived from where the chain stopped, within the same forward limit. The model
//! then keeps the next expected N of every older chain.
//!
//! Megolm differs in what a receiver keeps, and [`Family::deletes_used_keys`] says so: an
//! inbound session keeps the ratchet at the first index it knows and can derive the key of
//! any later index, as often as asked. There is no per-message deletion and so no replay
//! refusal in the protocol (megolm.md leaves replay detection to the application, which
//! remembers the indices it has seen), and no store of skipped keys to fill. Every genuine
//! message at or after the first known index must decrypt, in any order, any number of
//! times; forgeries must still be refused. Reporting a decrypted replay as a bug would
//! report the protocol itself.
//!
//! The model advances on what the peer actually accepted, so that one wrong answer is
//! reported once rather than shifting every later ruling.

use super::{Verdict, Why};
use crate::peer::{Family, Limits, WhenFull};
use crate::scenario::Side;
use std::collections::BTreeSet;

/// Where a genuine message sits in its sender's chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The sender.
    pub from: Side,
    /// The sender's chain, counted from 0.
    pub chain: u32,
    /// N: the message's number in the chain.
    pub n: u32,
    /// PN: the length of the sender's previous chain.
    pub pn: u32,
}

#[derive(Clone, Debug, Default)]
struct SideState {
    // As a sender.
    has_chain: bool,
    chain: u32,
    sent_in_chain: u32,
    pn: u32,
    new_chain_due: bool,
    // As a receiver of the other side.
    current: Option<u32>,
    nr: u32,
    /// Without PN (Olm): the next expected N of each older chain the receiver has.
    older: std::collections::BTreeMap<u32, u32>,
    stored: BTreeSet<(u32, u32)>,
    accepted: BTreeSet<(u32, u32)>,
    uncertain: bool,
}

/// The oracle's model of one Double Ratchet session.
#[derive(Clone, Debug)]
pub struct ChainModel {
    limits: Limits,
    per_turn: bool,
    deletes: bool,
    with_pn: bool,
    sides: [SideState; 2],
}

/// The keys a delivery makes the receiver store, and whether it is within MAX_SKIP.
struct Need {
    too_far: bool,
    new_keys: u64,
}

impl ChainModel {
    /// A fresh session of `family`: A holds its first sending chain; B none until it hears
    /// from A where the family ratchets per turn, else its one chain too.
    pub fn new(limits: Limits, family: Family) -> Self {
        Self::initiated_by(Side::A, limits, family)
    }

    /// A fresh session that `initiator` started (a session set up again, by either side):
    /// the initiator holds its first sending chain, the other side none until it hears from
    /// it where the family ratchets per turn.
    pub fn initiated_by(initiator: Side, limits: Limits, family: Family) -> Self {
        let per_turn = family.ratchets_per_turn();
        let mut sides: [SideState; 2] = Default::default();
        sides[initiator.index()].has_chain = true;
        sides[initiator.other().index()].has_chain = !per_turn;
        ChainModel {
            limits,
            per_turn,
            deletes: family.deletes_used_keys(),
            with_pn: family.uses_previous_length(),
            sides,
        }
    }

    /// The ruling on a send by `from`, and the position the message takes if it is sent.
    pub fn send(&mut self, from: Side) -> (Verdict, Option<Position>) {
        let s = &mut self.sides[from.index()];
        if s.new_chain_due {
            s.pn = s.sent_in_chain;
            s.chain = if s.has_chain { s.chain + 1 } else { 0 };
            s.has_chain = true;
            s.new_chain_due = false;
            s.sent_in_chain = 0;
        }
        if !s.has_chain {
            return (Verdict::May(Why::NoSendingChain), None);
        }
        let p = Position {
            from,
            chain: s.chain,
            n: s.sent_in_chain,
            pn: s.pn,
        };
        s.sent_in_chain += 1;
        (Verdict::MustAccept, Some(p))
    }

    fn need(&self, p: &Position) -> Need {
        let r = &self.sides[p.from.other().index()];
        let max = u64::from(self.limits.max_skip);
        let (skips, new_keys) = match r.current {
            Some(cur) if p.chain == cur => {
                let skip = u64::from(p.n).saturating_sub(u64::from(r.nr));
                (vec![skip], skip)
            }
            Some(_) if !self.with_pn && r.older.contains_key(&p.chain) => {
                let next = r.older.get(&p.chain).copied().unwrap_or(0);
                let skip = u64::from(p.n).saturating_sub(u64::from(next));
                (vec![skip], skip)
            }
            _ if !self.with_pn => (vec![u64::from(p.n)], u64::from(p.n)),
            _ => {
                // A new chain: the rest of the current one up to PN, then N in the new one.
                let rest = u64::from(p.pn).saturating_sub(u64::from(r.nr));
                let stored_rest = if r.current.is_some() { rest } else { 0 };
                (vec![rest, u64::from(p.n)], stored_rest + u64::from(p.n))
            }
        };
        Need {
            too_far: skips.iter().any(|&s| s > max),
            new_keys,
        }
    }

    fn store_would_overflow(&self, receiver: &SideState, p: &Position, new_keys: u64) -> bool {
        if new_keys == 0 {
            return false;
        }
        let total = receiver.stored.len() as u64 + new_keys;
        let over_total = self.limits.max_stored.is_some_and(|m| total > u64::from(m));
        let over_chain = self.limits.max_stored_per_chain.is_some_and(|m| {
            let in_chain = receiver
                .stored
                .iter()
                .filter(|(c, _)| *c == p.chain)
                .count() as u64;
            in_chain + new_keys > u64::from(m)
        });
        (over_total || over_chain) && self.limits.when_full != WhenFull::Unbounded
    }

    /// The ruling on delivering the genuine message at `p`, untampered.
    pub fn judge(&self, p: &Position) -> Verdict {
        let r = &self.sides[p.from.other().index()];
        if !self.deletes {
            return if u64::from(p.n) > u64::from(r.nr) + u64::from(self.limits.max_skip) {
                Verdict::MustReject(Why::TooFarAhead)
            } else {
                Verdict::MustAccept
            };
        }
        if r.accepted.contains(&(p.chain, p.n)) {
            return Verdict::MustReject(Why::Replay);
        }
        let ahead = match r.current {
            None => true,
            Some(cur) => {
                p.chain > cur
                    || (p.chain == cur && p.n >= r.nr)
                    || r.older.get(&p.chain).is_some_and(|&next| p.n >= next)
            }
        };
        let chain_dropped = self.limits.max_chains.is_some_and(|m| {
            r.current
                .is_some_and(|cur| u64::from(cur - p.chain.min(cur)) >= u64::from(m))
        });
        if ahead && chain_dropped && r.current.is_some_and(|cur| p.chain < cur) {
            return Verdict::May(Why::ChainDropped);
        }
        if !ahead {
            // An earlier message: its key must be in the store.
            let outside_window = self.limits.window.is_some_and(|w| {
                r.current == Some(p.chain) && u64::from(r.nr) - u64::from(p.n) > u64::from(w)
            });
            return if outside_window {
                Verdict::May(Why::OutsideWindow)
            } else if chain_dropped {
                Verdict::May(Why::ChainDropped)
            } else if r.uncertain {
                Verdict::May(Why::StoreUncertain)
            } else if r.stored.contains(&(p.chain, p.n)) {
                Verdict::MustAccept
            } else {
                // Not accepted and not stored can only follow an overflow, which sets
                // `uncertain`; kept as a May so that the model never rules on a case it
                // cannot reach.
                Verdict::May(Why::StoreUncertain)
            };
        }
        let need = self.need(p);
        if need.too_far {
            return Verdict::MustReject(Why::TooFarAhead);
        }
        if self.store_would_overflow(r, p, need.new_keys) {
            return Verdict::May(Why::StoreFull);
        }
        Verdict::MustAccept
    }

    /// Advances the model after the receiver accepted the genuine message at `p`.
    pub fn accepted(&mut self, p: &Position) {
        let overflow = {
            let r = &self.sides[p.from.other().index()];
            let need = self.need(p);
            self.store_would_overflow(r, p, need.new_keys)
        };
        let deletes = self.deletes;
        let r = &mut self.sides[p.from.other().index()];
        if !deletes {
            // Nothing is stored or deleted: only the newest index matters, for the forward
            // limit.
            r.nr = r.nr.max(p.n.saturating_add(1));
            r.current = Some(p.chain);
            return;
        }
        if !r.accepted.insert((p.chain, p.n)) {
            return;
        }
        if overflow {
            r.uncertain = true;
        }
        match r.current {
            Some(cur) if p.chain == cur => {
                if p.n >= r.nr {
                    r.stored.extend((r.nr..p.n).map(|n| (cur, n)));
                    r.nr = p.n + 1;
                } else {
                    r.stored.remove(&(cur, p.n));
                }
            }
            Some(cur) if p.chain < cur => match r.older.get(&p.chain).copied() {
                Some(next) if p.n >= next => {
                    r.stored.extend((next..p.n).map(|n| (p.chain, n)));
                    r.older.insert(p.chain, p.n + 1);
                }
                _ => {
                    r.stored.remove(&(p.chain, p.n));
                }
            },
            current => {
                if let Some(cur) = current {
                    if self.with_pn {
                        r.stored.extend((r.nr..p.pn).map(|n| (cur, n)));
                    } else {
                        r.older.insert(cur, r.nr);
                    }
                }
                r.current = Some(p.chain);
                r.stored.extend((0..p.n).map(|n| (p.chain, n)));
                r.nr = p.n + 1;
                r.new_chain_due = self.per_turn;
            }
        }
    }
}
