//! The interop matrix: for each family, every ordered pair (initiator, responder) of its
//! peers sets up a session the way the protocol does and runs one fixed exchange.
//!
//! The exchange: three turns, each a batch from the initiator then one from the responder,
//! delivered out of order, with messages that never arrive (gaps) and messages of a chain the
//! sender has left that arrive after its next chain's first ones, all well inside every
//! peer's declared limits, so that a conformant pair passes every step. A cell is `pass` or
//! the first step that failed, with the peer's own error text. The diagonal (a peer with
//! itself) is the baseline the off-diagonal cells are read against: an off-diagonal failure
//! with a passing diagonal is an interop bug of one of the two.
//!
//! Both parties draw from seeded streams, so a cell of peers with injectable randomness is
//! reproducible byte for byte; every cell's outcome is reproducible on any peer.

use crate::guard::guarded;
use crate::journal;
use crate::peer::{Family, Party, Peer, Reject, SessionInit};
use crate::report::{FindingKind, Reproducer, Seen};
use crate::rng;
use crate::shard::Shard;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The associated data of every message of the exchange.
const AD: &[u8] = b"ratchet-bench interop";

/// One turn of the script: how many messages a side sends, the order in which the other side
/// receives them (indices into the batch; a missing index is a message never delivered), and
/// the messages it receives only after this side's next batch: late messages of a chain the
/// sender has left, which a receiver finds by the header's length of that chain (the Double
/// Ratchet's PN) or by keeping the chain.
struct Batch {
    sent: u8,
    delivered: &'static [u8],
    late: &'static [u8],
}

/// The fixed exchange: `(initiator's batch, responder's batch)` per turn. In the second turn
/// each side's last message arrives after its next chain's first messages, with a message
/// between that never arrives: a receiver that stores the previous chain's keys by the
/// header's length of it must read that length as the sender meant it.
const SCRIPT: [(Batch, Batch); 3] = [
    (
        Batch {
            sent: 4,
            delivered: &[0, 3, 1, 2],
            late: &[],
        },
        Batch {
            sent: 3,
            delivered: &[2, 0, 1],
            late: &[],
        },
    ),
    (
        Batch {
            sent: 5,
            delivered: &[0, 2],
            late: &[4],
        },
        Batch {
            sent: 3,
            delivered: &[0],
            late: &[2],
        },
    ),
    (
        Batch {
            sent: 3,
            delivered: &[1, 2, 0],
            late: &[],
        },
        Batch {
            sent: 4,
            delivered: &[3, 2, 1, 0],
            late: &[],
        },
    ),
];

/// A message held back for late delivery: its turn, its name and its bytes.
struct Held {
    turn: usize,
    name: String,
    plaintext: Vec<u8>,
    wire: Vec<u8>,
}

/// The result of one cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum CellResult {
    /// Every step of the exchange worked.
    Pass {
        /// How many messages were delivered and decrypted.
        delivered: u32,
    },
    /// A step failed.
    Fail {
        /// Which step, e.g. `turn 2: responder decrypts A4`.
        step: String,
        /// The kind of step, for the finding's signature (e.g. `decrypt`).
        step_kind: String,
        /// The refusal's class, or `panic`, or `wrong-plaintext`.
        class: String,
        /// What happened, with the peer's own text.
        detail: String,
    },
}

/// One cell: the initiator (row), the responder (column) and the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The peer that initiates the session (and sends first).
    pub initiator: String,
    /// The peer that responds (publishes the bundle).
    pub responder: String,
    /// Pass, or the first failing step.
    #[serde(flatten)]
    pub result: CellResult,
}

/// The matrix of one family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matrix {
    /// The family.
    pub family: Family,
    /// Its peers, in report order: rows (initiators) and columns (responders).
    pub peers: Vec<String>,
    /// Every ordered pair, row by row.
    pub cells: Vec<Cell>,
}

impl Matrix {
    /// Where the cell of `initiator` and `responder` sits in a whole matrix (row by row).
    pub fn position(&self, initiator: &str, responder: &str) -> Option<usize> {
        let row = self.peers.iter().position(|p| p == initiator)?;
        let column = self.peers.iter().position(|p| p == responder)?;
        Some(row * self.peers.len() + column)
    }

    /// The cells that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Cell> {
        self.cells
            .iter()
            .filter(|c| matches!(c.result, CellResult::Fail { .. }))
    }
}

/// A failed step of the exchange.
struct Failed {
    step: String,
    step_kind: &'static str,
    class: String,
    detail: String,
}

impl Failed {
    fn refused(step: String, step_kind: &'static str, e: &Reject) -> Self {
        Failed {
            step,
            step_kind,
            class: e.class.name().into(),
            detail: e.detail.clone(),
        }
    }
}

/// Calls `f`, turning a refusal or a panic into the failure of `step`.
fn attempt<T>(
    step: &str,
    step_kind: &'static str,
    f: impl FnOnce() -> Result<T, Reject>,
) -> Result<T, Failed> {
    match guarded(f) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failed::refused(step.into(), step_kind, &e)),
        Err(p) => Err(Failed {
            step: step.into(),
            step_kind,
            class: "panic".into(),
            detail: format!("panicked: {}", p.0),
        }),
    }
}

/// Whether a family's bundles carry times of the wall clock that a receiver checks against
/// its own: an MLS key package's lifetime, in whole seconds (RFC 9420, section 7.2).
fn bundles_carry_time(family: Family) -> bool {
    family == Family::MLS
}

/// How much of the wall clock's current second a set-up needs left to make its bundle and
/// take it within that second (both calls take milliseconds).
const SET_UP_WITHIN: Duration = Duration::from_millis(300);

/// Waits, if less than [`SET_UP_WITHIN`] is left of the wall clock's current second, for the
/// next one to start. A bundle made and taken within one second is the earliest use of its
/// lifetime, where an off-by-one comparison of the two clocks' seconds shows (openmls 0.6
/// wants `not_before` strictly before now; mls-rs starts its key packages' lifetimes at the
/// current second): a set-up kept within one second makes such a cell come out the same on
/// every run, rather than by where in a second the set-up fell.
fn within_one_second() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left =
        Duration::from_secs(1).saturating_sub(Duration::from_nanos(u64::from(now.subsec_nanos())));
    if left < SET_UP_WITHIN {
        std::thread::sleep(left + Duration::from_millis(1));
    }
}

/// Sets up the session: the responder's bundle, the initiator's party, the handshake.
fn establish(
    initiator: &dyn Peer,
    responder: &dyn Peer,
    seed: u64,
) -> Result<[Box<dyn Party>; 2], Failed> {
    if bundles_carry_time(responder.info().family) {
        within_one_second();
    }
    let mut shared_secret = [0; 32];
    rng::stream(seed, "interop shared secret").fill_bytes(&mut shared_secret);
    let init = SessionInit { shared_secret };
    let (mut b, bundle) = attempt("responder makes its bundle", "respond", || {
        responder.respond(&init, Box::new(rng::stream(seed, "interop responder")))
    })?;
    let mut a = attempt("initiator takes the bundle", "initiate", || {
        initiator.initiate(
            &init,
            &bundle,
            Box::new(rng::stream(seed, "interop initiator")),
        )
    })?;
    let handshake = attempt("initiator's handshake", "handshake", || a.handshake())?;
    if let Some(h) = handshake {
        attempt("responder joins", "join", || b.join(&h))?;
    }
    Ok([a, b])
}

/// Has `parties[to]` decrypt `wire` at `step` and checks it read `plaintext`.
fn receive(
    parties: &mut [Box<dyn Party>; 2],
    to: usize,
    step: String,
    plaintext: &[u8],
    wire: &[u8],
) -> Result<(), Failed> {
    let party = &mut parties[to];
    let got = attempt(&step, "decrypt", || party.decrypt(AD, wire))?;
    if got != plaintext {
        return Err(Failed {
            step,
            step_kind: "decrypt",
            class: "wrong-plaintext".into(),
            detail: format!(
                "expected {}, got {}",
                hex::encode(plaintext),
                hex::encode(&got)
            ),
        });
    }
    Ok(())
}

/// The name of side `from` in step texts, the other side's, and the letter of its messages.
fn sides(from: usize) -> (&'static str, &'static str, char) {
    if from == 0 {
        ("initiator", "responder", 'A')
    } else {
        ("responder", "initiator", 'B')
    }
}

/// Sends `batch` from `parties[from]` and delivers it to the other side as scripted; returns
/// how many messages were delivered and the ones held back for late delivery.
fn batch(
    parties: &mut [Box<dyn Party>; 2],
    from: usize,
    turn: usize,
    batch: &Batch,
) -> Result<(u32, Vec<Held>), Failed> {
    let (side, other, letter) = sides(from);
    let mut sent = Vec::with_capacity(usize::from(batch.sent));
    for i in 0..batch.sent {
        let plaintext = format!("turn {turn} {letter}{i}").into_bytes();
        let party = &mut parties[from];
        let wire = attempt(
            &format!("turn {turn}: {side} encrypts {letter}{i}"),
            "encrypt",
            || party.encrypt(AD, &plaintext),
        )?;
        sent.push((plaintext, wire));
    }
    for &i in batch.delivered {
        let Some((plaintext, wire)) = sent.get(usize::from(i)) else {
            continue;
        };
        let step = format!("turn {turn}: {other} decrypts {letter}{i}");
        receive(parties, 1 - from, step, plaintext, wire)?;
    }
    let held = batch
        .late
        .iter()
        .filter_map(|&i| {
            let (plaintext, wire) = sent.get(usize::from(i))?.clone();
            Some(Held {
                turn,
                name: format!("{letter}{i}"),
                plaintext,
                wire,
            })
        })
        .collect();
    Ok((batch.delivered.len() as u32, held))
}

/// Runs the exchange between `initiator` and `responder`.
pub fn cell(initiator: &dyn Peer, responder: &dyn Peer, seed: u64) -> Cell {
    let run = || -> Result<u32, Failed> {
        let mut parties = establish(initiator, responder, seed)?;
        let mut delivered = 0;
        let mut held: [Vec<Held>; 2] = Default::default();
        for (turn, (from_a, from_b)) in SCRIPT.iter().enumerate() {
            for (from, script) in [(0, from_a), (1, from_b)] {
                let (count, late) = batch(&mut parties, from, turn + 1, script)?;
                delivered += count;
                // What this side held back from its last batch arrives now, after its new
                // chain's first messages.
                let other = sides(from).1;
                for h in std::mem::replace(&mut held[from], late) {
                    let step = format!(
                        "turn {}: {other} decrypts {} of turn {}, late",
                        turn + 1,
                        h.name,
                        h.turn
                    );
                    receive(&mut parties, 1 - from, step, &h.plaintext, &h.wire)?;
                    delivered += 1;
                }
            }
        }
        Ok(delivered)
    };
    let result = match run() {
        Ok(delivered) => CellResult::Pass { delivered },
        Err(f) => CellResult::Fail {
            step: f.step,
            step_kind: f.step_kind.into(),
            class: f.class,
            detail: f.detail,
        },
    };
    Cell {
        initiator: initiator.info().name,
        responder: responder.info().name,
        result,
    }
}

/// The matrices of every family among `peers` (only `families` if not empty), in family
/// order.
pub fn run(peers: &[Box<dyn Peer>], families: &[Family], seed: u64) -> Vec<Matrix> {
    let peers: Vec<&dyn Peer> = peers.iter().map(|p| p.as_ref()).collect();
    run_refs(&peers, families, seed)
}

/// [`run`] on borrowed peers (a gate borrows the peers it checks). Every family among the
/// peers gets its matrix, built-in and declared alike.
pub fn run_refs(peers: &[&dyn Peer], families: &[Family], seed: u64) -> Vec<Matrix> {
    run_sharded(peers, families, seed, Shard::WHOLE)
}

/// [`run_refs`], only the cells `shard` takes: a cell's ordinal is its position over every
/// matrix, row by row, family after family (built-in and declared alike, in report order).
/// A matrix keeps its peers whatever cells it holds, so that the shards' matrices merge into
/// the whole one.
pub fn run_sharded(
    peers: &[&dyn Peer],
    families: &[Family],
    seed: u64,
    shard: Shard,
) -> Vec<Matrix> {
    let mut ordinal = 0u64;
    Family::present(peers.iter().map(|p| p.info().family))
        .into_iter()
        .filter(|f| families.is_empty() || families.contains(f))
        .map(|family| {
            let members: Vec<&dyn Peer> = peers
                .iter()
                .copied()
                .filter(|p| p.info().family == family)
                .collect();
            let key = format!("interop/{}", family.name());
            let first = ordinal;
            ordinal += (members.len() * members.len()) as u64;
            let cells = members
                .iter()
                .flat_map(|&a| members.iter().map(move |&b| (a, b)))
                .enumerate()
                .filter(|(i, _)| shard.takes(first + *i as u64))
                .map(|(i, (a, b))| {
                    let (ia, ib) = (a.info().name, b.info().name);
                    let label = format!("{ia}+{ib}");
                    journal::unit(&key, i as u64, &label, || cell(a, b, seed)).unwrap_or_else(
                        || {
                            let signal = journal::skipped(&key, i as u64).map_or(0, |s| s.signal);
                            Cell {
                                initiator: ia,
                                responder: ib,
                                result: CellResult::Fail {
                                    step: "the whole exchange".into(),
                                    step_kind: "abort".into(),
                                    class: format!("signal-{signal}"),
                                    detail: format!(
                                        "the process was ended by signal {signal} during this \
                                         cell (an abort no panic guard catches); the run was \
                                         started again with the cell skipped"
                                    ),
                                },
                            }
                        },
                    )
                })
                .collect();
            Matrix {
                family,
                peers: members.iter().map(|p| p.info().name).collect(),
                cells,
            }
        })
        .collect()
}

/// The failing cells as findings: signature `initiator+responder/interop/<step>/<class>`,
/// with the command that runs the cell again.
pub fn sightings(matrices: &[Matrix], seed: u64) -> Vec<Seen> {
    matrices
        .iter()
        .flat_map(|m| m.failures().map(move |c| (m.family, c)))
        .filter_map(|(family, c)| {
            let CellResult::Fail {
                step,
                step_kind,
                class,
                detail,
            } = &c.result
            else {
                return None;
            };
            let peers = if c.initiator == c.responder {
                vec![c.initiator.clone()]
            } else {
                vec![c.initiator.clone(), c.responder.clone()]
            };
            let case = Reproducer::Interop {
                family: family.name().to_string(),
                initiator: c.initiator.clone(),
                responder: c.responder.clone(),
                seed,
            };
            Some(Seen {
                signature: format!(
                    "{}+{}/{}/{step_kind}/{class}",
                    c.initiator,
                    c.responder,
                    FindingKind::InteropFailed.name()
                ),
                kind: FindingKind::InteropFailed,
                count: 1,
                detail: format!("{step}: {detail}"),
                scenario: format!("interop {family}: {} -> {}", c.initiator, c.responder),
                seed,
                reproducer: format!(
                    "ratchet-bench interop --family {family}{} --seed {seed}",
                    peers
                        .iter()
                        .map(|p| crate::report::peer_arg(p))
                        .collect::<String>()
                ),
                case,
                expected: None,
                listed_in: None,
            })
        })
        .collect()
}

/// The matrices as text: a grid per family (initiators as rows, responders as columns), each
/// cell `pass` or `FAIL n` (`-` for a cell another shard ran), and the failures numbered
/// below it.
pub fn render(matrices: &[Matrix]) -> String {
    let mut out = String::new();
    for m in matrices {
        let _ = writeln!(
            out,
            "interop {} (rows initiate, columns respond):",
            m.family
        );
        let width = m.peers.iter().map(String::len).max().unwrap_or(0).max(9);
        let mut line = format!("  {:width$}", "");
        for p in &m.peers {
            let _ = write!(line, "  {p:width$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        let mut failures = Vec::new();
        for a in &m.peers {
            let mut line = format!("  {a:width$}");
            for b in &m.peers {
                let cell = m
                    .cells
                    .iter()
                    .find(|c| &c.initiator == a && &c.responder == b);
                let text = match cell {
                    Some(Cell {
                        result: CellResult::Pass { .. },
                        ..
                    }) => "pass".to_string(),
                    Some(c) => {
                        failures.push(c);
                        format!("FAIL {}", failures.len())
                    }
                    None => "-".to_string(),
                };
                let _ = write!(line, "  {text:width$}");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        for (i, c) in failures.iter().enumerate() {
            if let CellResult::Fail {
                step,
                class,
                detail,
                ..
            } = &c.result
            {
                let _ = writeln!(
                    out,
                    "  FAIL {}: {} -> {}: {step}: {class}: {detail}",
                    i + 1,
                    c.initiator,
                    c.responder
                );
            }
        }
    }
    out
}
