#![doc = include_str!("../../README.md")]

pub mod peer;
pub mod peers;
pub mod reference;
pub mod rng;
pub mod oracle;
pub mod scenario;
pub mod campaign;
pub mod report;
pub mod vectors;
pub mod bench;
pub mod fuzzing;
