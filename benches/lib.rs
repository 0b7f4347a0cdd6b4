//! Shared helpers of the benches live in the benches themselves; this crate only hosts them.
