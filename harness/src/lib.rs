#![doc = include_str!("../../README.md")]

pub use ratchet_bench_core::{
    campaign, guard, interop, journal, oracle, peer, report, rng, scenario, shrink,
};
pub use ratchet_bench_peers as peers;
pub use ratchet_bench_peers::mls_secret_tree;
pub use ratchet_bench_references as reference;

pub mod artifact;
pub mod bench;
pub mod fuzz_report;
pub mod fuzzing;
pub mod minimize;
pub mod selftest;
pub mod timings;
pub mod vectors;
