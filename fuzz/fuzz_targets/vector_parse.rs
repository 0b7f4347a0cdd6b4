//! Feeds raw bytes as a vector file to every loader; crashes if one panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ratchet_bench::fuzzing::vector_parse(data);
});
