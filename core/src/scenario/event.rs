//! Events drawn by `arbitrary`, and their normalisation into [`Step`]s.
//!
//! An event names messages by position in a list (pending, delivered or sent) modulo the
//! list's length, so every byte string is a valid schedule. Normalising resolves the
//! positions into message names once, the same for every peer.

use super::{MsgId, Region, Scenario, Side, Step};
use crate::codec::ops::{FieldSel, Op};
use arbitrary::{Arbitrary, Unstructured};

/// The longest scenario drawn from bytes.
pub const MAX_EVENTS: usize = 64;
/// The most bytes an extend or inject event carries.
pub const MAX_BYTES: usize = 96;

/// How far past the receiver's limit a jump goes: -2 to +2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Past(pub i8);

impl<'a> Arbitrary<'a> for Past {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Past(u.int_in_range(-2..=2)?))
    }
}

/// One event as drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Event {
    Send { from: Side, len: u8 },
    Deliver { pick: u8 },
    Drop { pick: u8 },
    DeliverAll,
    Replay { pick: u8 },
    Tamper { pick: u8, region: Region, bit: u16 },
    Rekey { pick: u8 },
    Truncate { pick: u8, keep: u16 },
    Extend { pick: u8, bytes: Vec<u8> },
    Inject { to: Side, bytes: Vec<u8> },
    Foreign { to: Side, index: u8 },
    Jump { from: Side, past: Past },
    Compromise { side: Side },
    Mutate { pick: u8, field: FieldSel, op: Op },
    Bundle { field: FieldSel, op: Op },
    Second,
    Fresh { pick: u8 },
    Renew { side: Side },
}

fn bytes(u: &mut Unstructured<'_>, min: usize) -> arbitrary::Result<Vec<u8>> {
    let len = u.int_in_range(min..=MAX_BYTES)?;
    Ok(u.bytes(len.min(u.len()))?.to_vec())
}

impl<'a> Arbitrary<'a> for Event {
    /// Weighted so that sends and deliveries dominate, as in a real conversation, and the
    /// costly jumps are rare; a compromise comes about once per scenario, a typed mutation
    /// about every fifth event, a changed bundle, a second initiator and a delivery to a
    /// fresh responder each in about one scenario of four.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=99)? {
            0..=26 | 78..=79 => Event::Send {
                from: Side::arbitrary(u)?,
                len: u.arbitrary()?,
            },
            27..=47 => Event::Deliver {
                pick: u.arbitrary()?,
            },
            // About one per scenario: a state copy is cheap, and the probes it starts run
            // only on peers that can export their state.
            48..=49 => Event::Compromise {
                side: Side::arbitrary(u)?,
            },
            50..=52 => Event::Drop {
                pick: u.arbitrary()?,
            },
            53..=56 => Event::DeliverAll,
            57..=59 => Event::Replay {
                pick: u.arbitrary()?,
            },
            60 => Event::Fresh {
                pick: u.arbitrary()?,
            },
            61..=66 => Event::Tamper {
                pick: u.arbitrary()?,
                region: Region::arbitrary(u)?,
                bit: u.arbitrary()?,
            },
            67 => Event::Rekey {
                pick: u.arbitrary()?,
            },
            68..=69 => Event::Truncate {
                pick: u.arbitrary()?,
                keep: u.arbitrary()?,
            },
            70..=71 => Event::Extend {
                pick: u.arbitrary()?,
                bytes: bytes(u, 1)?,
            },
            72 => Event::Inject {
                to: Side::arbitrary(u)?,
                bytes: bytes(u, 0)?,
            },
            73 => Event::Second,
            74..=76 => Event::Foreign {
                to: Side::arbitrary(u)?,
                index: u.int_in_range(0..=3)?,
            },
            // One event in a hundred: a jump is `max_skip` encryptions (1000 to 2000) on
            // every peer, most of a scenario's cost whenever it comes.
            77 => Event::Jump {
                from: Side::arbitrary(u)?,
                past: Past::arbitrary(u)?,
            },

            // One event in a hundred: a session set up again (and, when both sides draw it
            // before either hears the other, both initiating at once).
            81 => Event::Renew {
                side: Side::arbitrary(u)?,
            },
            80 => {
                let op = *u.choose(&BUNDLE_OPS)?;
                Event::Bundle {
                    field: field_for(u, op)?,
                    op: op.with_arg(u.int_in_range(0..=7)?),
                }
            }
            _ => {
                let pick = u.arbitrary()?;
                let op = Op::arbitrary(u)?;
                Event::Mutate {
                    pick,
                    field: field_for(u, op)?,
                    op,
                }
            }
        })
    }
}

/// The operators a bundle is changed with: its keys and its signature.
const BUNDLE_OPS: [Op; 8] = [
    Op::LowOrder(0),
    Op::NonCanonical,
    Op::SPlusL,
    Op::SZero,
    Op::SmallOrderR(0),
    Op::ZeroSignature,
    Op::MaxValue,
    Op::Trailing(0),
];

/// A field for `op`: one of the kinds it is drawn for, most often the first of its kind.
fn field_for(u: &mut Unstructured<'_>, op: Op) -> arbitrary::Result<FieldSel> {
    let kind = *u.choose(op.kinds())?;
    let nth = match u.int_in_range(0u8..=7)? {
        0..=3 => 0,
        4..=5 => 1,
        6 => 2,
        _ => 3,
    };
    Ok(FieldSel { kind, nth })
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut events = Vec::new();
        while events.len() < MAX_EVENTS && !u.is_empty() {
            events.push(Event::arbitrary(u)?);
        }
        Ok(Scenario::from_events(&events))
    }
}

/// The scenario-level view of the network while normalising.
#[derive(Default)]
struct Network {
    /// Sender of each message.
    senders: Vec<Side>,
    pending: Vec<MsgId>,
    delivered: Vec<MsgId>,
    /// Whether a message from A has been delivered to B (until then B cannot send).
    b_heard: bool,
}

impl Network {
    fn create(&mut self, from: Side) -> MsgId {
        let id = MsgId(self.senders.len() as u32);
        self.senders.push(from);
        id
    }

    fn deliver(&mut self, id: MsgId) {
        if self.senders[id.0 as usize] == Side::A {
            self.b_heard = true;
        }
        self.delivered.push(id);
    }
}

impl Scenario {
    /// Resolves drawn events into steps. Events that name a message when there is none
    /// are left out, and a send by B before B has heard from A becomes a send by A, since
    /// no ratchet lets a responder speak first.
    pub fn from_events(events: &[Event]) -> Scenario {
        let mut net = Network::default();
        let mut steps = Vec::with_capacity(events.len());
        for event in events {
            let sent = net.senders.len();
            let pick = |p: u8, len: usize| (len > 0).then(|| p as usize % len);
            let step = match event {
                Event::Send { from, len } => {
                    let from = if *from == Side::B && !net.b_heard {
                        Side::A
                    } else {
                        *from
                    };
                    let id = net.create(from);
                    net.pending.push(id);
                    Some(Step::Send {
                        from,
                        len: u16::from(*len),
                    })
                }
                Event::Deliver { pick: p } => pick(*p, net.pending.len()).map(|i| {
                    let msg = net.pending.remove(i);
                    net.deliver(msg);
                    Step::Deliver { msg }
                }),
                Event::Drop { pick: p } => pick(*p, net.pending.len()).map(|i| Step::Drop {
                    msg: net.pending.remove(i),
                }),
                Event::DeliverAll => {
                    for msg in std::mem::take(&mut net.pending) {
                        net.deliver(msg);
                    }
                    Some(Step::DeliverAll)
                }
                Event::Replay { pick: p } => pick(*p, net.delivered.len()).map(|i| Step::Replay {
                    msg: net.delivered[i],
                }),
                Event::Tamper {
                    pick: p,
                    region,
                    bit,
                } => pick(*p, sent).map(|i| Step::Tamper {
                    msg: MsgId(i as u32),
                    region: *region,
                    bit: u32::from(*bit),
                }),
                Event::Rekey { pick: p } => pick(*p, sent).map(|i| Step::Rekey {
                    msg: MsgId(i as u32),
                }),
                Event::Truncate { pick: p, keep } => pick(*p, sent).map(|i| Step::Truncate {
                    msg: MsgId(i as u32),
                    keep: u32::from(*keep),
                }),
                Event::Extend { pick: p, bytes } => pick(*p, sent).map(|i| Step::Extend {
                    msg: MsgId(i as u32),
                    bytes: if bytes.is_empty() {
                        vec![0]
                    } else {
                        bytes.clone()
                    },
                }),
                Event::Inject { to, bytes } => Some(Step::Inject {
                    to: *to,
                    bytes: bytes.clone(),
                }),
                Event::Foreign { to, index } => Some(Step::Foreign {
                    to: *to,
                    index: *index,
                }),
                Event::Jump { from, past } => {
                    let from = if *from == Side::B && !net.b_heard {
                        Side::A
                    } else {
                        *from
                    };
                    let id = net.create(from);
                    net.deliver(id);
                    Some(Step::Jump { from, past: past.0 })
                }
                Event::Compromise { side } => Some(Step::Compromise { side: *side }),
                Event::Mutate { pick: p, field, op } => pick(*p, sent).map(|i| Step::Mutate {
                    msg: MsgId(i as u32),
                    field: *field,
                    op: *op,
                }),
                Event::Bundle { field, op } => Some(Step::Bundle {
                    field: *field,
                    op: *op,
                }),
                // Only once B has heard from A: before, the one-time key is not used up.
                Event::Second => net.b_heard.then_some(Step::Second),
                // One of A's messages: only A's go to a responder.
                Event::Fresh { pick: p } => {
                    let from_a: Vec<usize> =
                        (0..sent).filter(|&m| net.senders[m] == Side::A).collect();
                    pick(*p, from_a.len()).map(|i| Step::Fresh {
                        msg: MsgId(from_a[i] as u32),
                    })
                }
                Event::Renew { side } => Some(Step::Renew { side: *side }),
            };
            steps.extend(step);
        }
        Scenario { steps }
    }
}
