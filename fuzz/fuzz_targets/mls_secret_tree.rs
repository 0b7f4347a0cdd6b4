//! Compares the reference MLS secret tree with mls-rs's for an arbitrary suite, tree size,
//! leaf and generation; crashes if they disagree, the signature alone on the message's first
//! line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratchet_bench::mls_secret_tree::SecretTreeCase;

fuzz_target!(|case: SecretTreeCase| {
    ratchet_bench::fuzzing::mls_secret_tree(&case);
});
