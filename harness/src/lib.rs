#![doc = include_str!("../../README.md")]

pub mod bench;
pub mod campaign;
pub mod fuzzing;
pub mod interop;
pub mod mls_secret_tree;
pub mod oracle;
pub mod peer;
pub mod peers;
pub mod reference;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod shrink;
pub mod vectors;
