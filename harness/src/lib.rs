#![doc = include_str!("../../README.md")]

pub use ratchet_bench_core::{
    campaign, codec, gate, group, guard, interop, journal, oracle, peer, report, rng, scenario,
    shard, shrink,
};
pub use ratchet_bench_peers as peers;
pub use ratchet_bench_peers::mls_secret_tree;
pub use ratchet_bench_references as reference;

pub mod artifact;
pub mod bench;
pub mod compare;
pub mod fuzz_report;
pub mod fuzzing;
pub mod group_run;
pub mod merge;
pub mod migrate;
pub mod minimize;
pub mod new_entry;
pub mod recheck;
pub mod selftest;
pub mod timings;
pub mod transcripts;
pub mod vectors;
