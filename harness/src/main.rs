//! The `ratchet-bench` command line.
fn main() {}
