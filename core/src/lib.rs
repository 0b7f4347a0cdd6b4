//! The core of ratchet-bench: what a ratchet implementation is to the bench, the attacker
//! schedules it runs, the oracles that judge them, and the findings, expectations and reports
//! that come out. No implementation under test is among this crate's dependencies; the
//! bundled references are in `ratchet-bench-references`, the adapters of real
//! implementations in `ratchet-bench-peers`.

pub mod campaign;
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
