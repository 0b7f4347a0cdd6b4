//! The core of ratchet-bench: what a ratchet implementation is to the bench, the attacker
//! schedules it runs, the oracles that judge them, and the findings, expectations and reports
//! that come out. No implementation under test is among this crate's dependencies; the
//! bundled references are in `ratchet-bench-references`, the adapters of real
//! implementations in `ratchet-bench-peers`.
//!
//! This page is the guide for a team that puts its own ratchet under the bench from Rust:
//! write a [`Peer`](peer::Peer), run a [`Gate`](gate::Gate), read a finding. A team in
//! another language writes a shim instead (`shims/PROTOCOL.md`); `docs/gate.md` shows both
//! side by side.
//!
//! # Write a Peer
//!
//! Add this crate and `ratchet-bench-references` (the bundled references, the yardsticks
//! your implementation is held against) as dev-dependencies, and write the adapter in your
//! tests, so that your library never depends on the bench:
//!
//! ```toml
//! [dev-dependencies]
//! ratchet-bench-core = "0.1"
//! ratchet-bench-references = "0.1"
//! ```
//!
//! A [`Peer`](peer::Peer) describes the implementation ([`PeerInfo`](peer::PeerInfo)) and
//! builds the two sides of a session; a [`Party`](peer::Party) is one side: bytes in, bytes
//! out. Here `my_ratchet` stands for your library, speaking the bench's `signal-dr` profile:
//!
//! ```no_run
//! # mod my_ratchet {
//! #     pub struct Error;
//! #     pub struct Session<R>(R);
//! #     impl<R> Session<R> {
//! #         pub fn responder(_: [u8; 32], _: R) -> (Self, [u8; 32]) { unimplemented!() }
//! #         pub fn initiator(_: [u8; 32], _: [u8; 32], _: R) -> Self { unimplemented!() }
//! #         pub fn encrypt(&mut self, _: &[u8], _: &[u8]) -> Result<Vec<u8>, Error> { unimplemented!() }
//! #         pub fn decrypt(&mut self, _: &[u8], _: &[u8]) -> Result<Vec<u8>, Error> { unimplemented!() }
//! #     }
//! #     impl Error { pub fn is_bad_mac(&self) -> bool { true } }
//! #     impl std::fmt::Display for Error {
//! #         fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("bad MAC") }
//! #     }
//! # }
//! use ratchet_bench_core::peer::{
//!     BoxRng, Capabilities, Family, Limits, Party, Peer, PeerInfo, Reject, RejectClass,
//!     SessionInit, WhenFull, WireLayout,
//! };
//!
//! struct Mine;
//! struct MyParty(my_ratchet::Session<BoxRng>);
//!
//! /// Your errors in the bench's classes, your own text beside them.
//! fn reject(e: my_ratchet::Error) -> Reject {
//!     let class = if e.is_bad_mac() { RejectClass::Auth } else { RejectClass::Other };
//!     Reject::new(class, e.to_string())
//! }
//!
//! impl Party for MyParty {
//!     fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Reject> {
//!         self.0.encrypt(ad, plaintext).map_err(reject)
//!     }
//!     fn decrypt(&mut self, ad: &[u8], wire: &[u8]) -> Result<Vec<u8>, Reject> {
//!         self.0.decrypt(ad, wire).map_err(reject)
//!     }
//! }
//!
//! impl Peer for Mine {
//!     fn info(&self) -> PeerInfo {
//!         PeerInfo {
//!             name: "mine".into(),
//!             version: "my-ratchet 2.1.0".into(),
//!             family: Family::SIGNAL_DR,
//!             // The contract the oracle holds you to: inside these limits every genuine
//!             // message must decrypt, beyond max_skip it must be refused.
//!             limits: Limits {
//!                 max_skip: 1000,
//!                 max_stored: Some(2000),
//!                 max_stored_per_chain: None,
//!                 when_full: WhenFull::Refuse,
//!                 window: None,
//!                 max_chains: None,
//!             },
//!             // Every random byte comes from the `rng` the bench hands in: your wire bytes
//!             // are then compared with the reference's, and the recorded vectors replay.
//!             capabilities: Capabilities { injectable_rng: true, export_state: false },
//!             weakened: Vec::new(),
//!         }
//!     }
//!
//!     fn respond(&self, init: &SessionInit, rng: BoxRng) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
//!         let (bob, ratchet_key) = my_ratchet::Session::responder(init.shared_secret, rng);
//!         Ok((Box::new(MyParty(bob)), ratchet_key.to_vec()))
//!     }
//!
//!     fn initiate(&self, init: &SessionInit, bundle: &[u8], rng: BoxRng) -> Result<Box<dyn Party>, Reject> {
//!         let theirs: [u8; 32] = bundle
//!             .try_into()
//!             .map_err(|_| Reject::new(RejectClass::Malformed, "expected a 32-byte key"))?;
//!         Ok(Box::new(MyParty(my_ratchet::Session::initiator(init.shared_secret, theirs, rng))))
//!     }
//!
//!     /// Where header, body and MAC lie, so that scenarios can tamper with each.
//!     fn layout(&self, wire: &[u8]) -> WireLayout {
//!         let n = wire.len();
//!         WireLayout {
//!             header: 0..40.min(n),
//!             body: 40.min(n)..n.saturating_sub(32).max(40.min(n)),
//!             mac: n.saturating_sub(32).max(40.min(n))..n,
//!             ratchet_key: (n >= 32).then_some(0..32),
//!         }
//!     }
//! }
//! ```
//!
//! A party must leave its state as it was when it refuses a message. With
//! [`Capabilities::export_state`](peer::Capabilities::export_state) and
//! [`Party::export_state`](peer::Party::export_state) / [`Peer::restore`](peer::Peer::restore)
//! the security oracles also check forward secrecy and healing
//! ([`oracle::security`]); with [`Party::work`](peer::Party::work), bounded work.
//! `examples/gate-signal-dr` in the repository is a whole example: a small independent
//! signal-dr implementation, its adapter (`tests/common/mod.rs`) and its gate.
//!
//! # Run a gate
//!
//! One test runs the family's vectors, the interop matrix, a seeded campaign and the
//! expectations triage ([`gate`]). Here the bundled reference stands in for your peer:
//!
//! ```
//! use ratchet_bench_core::gate::{Gate, GateError};
//! use ratchet_bench_references::peers::ReferenceSignalDr;
//! # use ratchet_bench_core::peer::{BoxRng, Party, Peer, PeerInfo, Reject, SessionInit, WireLayout};
//! # /// The reference under another name, standing in for your peer.
//! # struct Mine;
//! # impl Peer for Mine {
//! #     fn info(&self) -> PeerInfo {
//! #         PeerInfo { name: "mine".into(), ..ReferenceSignalDr.info() }
//! #     }
//! #     fn respond(&self, i: &SessionInit, r: BoxRng) -> Result<(Box<dyn Party>, Vec<u8>), Reject> {
//! #         ReferenceSignalDr.respond(i, r)
//! #     }
//! #     fn initiate(&self, i: &SessionInit, b: &[u8], r: BoxRng) -> Result<Box<dyn Party>, Reject> {
//! #         ReferenceSignalDr.initiate(i, b, r)
//! #     }
//! #     fn layout(&self, w: &[u8]) -> WireLayout {
//! #         ReferenceSignalDr.layout(w)
//! #     }
//! # }
//! # fn main() -> Result<(), GateError> {
//! let pass = Gate::new(&Mine)
//!     .against(&ReferenceSignalDr)
//!     .scenarios(30) // 500 or more in a real gate
//!     .seed(1)
//!     // .vectors("vectors")                       the family's ratchet-session files
//!     // .expectations("gate-expectations.json")   known findings, each with a reason
//!     // .snapshot("tests/gate.summary.txt")       the summary, compared and kept
//!     .check()?;
//! assert!(pass.summary().ends_with("result: PASS: nothing unexpected\n"));
//! # Ok(()) }
//! ```
//!
//! `check` returns `Err` when anything is unexpected: a new finding, an expectation that no
//! longer shows (stale: remove it), a failed vector case, a changed snapshot. The error's
//! text (also its `Debug`, which a failing test prints) starts with what failed, each finding
//! with its reproducer, then the whole report.
//!
//! # Read a finding
//!
//! A finding is a transcript that disagrees with the ideal model (a genuine message refused,
//! a forgery or a replay accepted, a wrong plaintext), two peers of one family with injected
//! randomness that produce different bytes from one seed, a panic or a hang, a failed interop
//! cell or vector case ([`report::FindingKind`]). Its signature `peer[+peer]/kind/step[/class]`
//! is stable across runs, so the expectations file ([`report::Expectations`]) lists known ones
//! by it, with a reason. Its reproducer is the shortest scenario found that shows it again,
//! written as a call on the gate: `gate.replay("<scenario>", <seed>)` runs it on the gate's
//! peers and prints every step beside the oracle's ruling ([`gate::Gate::replay`]).
//!
//! ```
//! use ratchet_bench_core::gate::{Gate, GateError};
//! use ratchet_bench_references::peers::mutant::MutantReference;
//! use ratchet_bench_references::peers::ReferenceSignalDr;
//! use ratchet_bench_references::signal_dr::Flaw;
//!
//! // The reference with a planted bug: it uses up a message's key before checking its MAC.
//! let broken = MutantReference::new(Flaw::MacAfterAdvance);
//! let gate = Gate::new(&broken).against(&ReferenceSignalDr).scenarios(30);
//! let Err(GateError::Failed(failure)) = gate.check() else {
//!     panic!("the planted bug should fail the gate");
//! };
//! let new: Vec<_> = failure
//!     .report
//!     .findings
//!     .iter()
//!     .filter(|seen| seen.expected.is_none())
//!     .collect();
//! assert!(!new.is_empty());
//! for seen in new {
//!     println!("{}\n  {}\n  reproduce: {}", seen.signature, seen.detail, seen.reproducer);
//!     if !seen.scenario.is_empty() {
//!         // What each peer did, step by step, beside the oracle's ruling.
//!         println!("{}", gate.replay(&seen.scenario, seen.seed).expect("a reproducer parses"));
//!     }
//! }
//! ```
//!
//! # A family of your own
//!
//! A wire format none of the bench's families speaks is declared with a
//! [`FamilySpec`](peer::FamilySpec): what the ideal model needs to know of it. Peers of a
//! declared family get the delivery oracle built from it, the security oracles their
//! capabilities allow, an interop matrix of their own (your releases side by side) and byte
//! comparison where randomness is injected:
//!
//! ```
//! use ratchet_bench_core::peer::{Family, FamilySpec};
//!
//! static MY_FORMAT: FamilySpec = FamilySpec {
//!     name: "my-format",
//!     description: "my messenger's Double Ratchet, wire format 2",
//!     ratchets_per_turn: true,    // a side starts a new chain when it hears from a new one
//!     uses_previous_length: true, // headers carry the previous chain's length (PN)
//!     deletes_used_keys: true,    // a used message key is gone: replays are refused
//!     benign: &[],               // re-encodings your parser may accept, each with its reason
//! };
//! const MY_FAMILY: Family = Family::declare(&MY_FORMAT);
//! assert!(!MY_FAMILY.is_built_in());
//! ```
//!
//! # The modules
//!
//! - [`peer`]: the [`Peer`](peer::Peer) / [`Party`](peer::Party) abstraction, families,
//!   limits, the refusal classes;
//! - [`scenario`]: the attacker-schedule language and its executor;
//! - [`oracle`]: the ideal model and the security oracles;
//! - [`report`]: findings, signatures, the expectations file, the report and its text;
//! - [`campaign`], [`interop`], [`shrink`], [`vectors`]: the seeded campaign, the interop
//!   matrix, the shrinking of reproducers, the ratchet-session vectors;
//! - [`gate`]: all of them behind one call, for a team's test;
//! - [`guard`], [`journal`], [`rng`]: panics and hangs kept inside a call, the supervised
//!   run's journal, the injected randomness.

pub mod campaign;
pub mod codec;
pub mod compare;
pub mod gate;
pub mod group;
pub mod guard;
pub mod interop;
pub mod journal;
pub mod oracle;
pub mod peer;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod shard;
pub mod shrink;
pub mod vectors;
