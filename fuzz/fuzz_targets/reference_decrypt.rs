//! Feeds raw bytes to an established reference session; crashes if any are accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ratchet_bench::fuzzing::reference_decrypt(data));
