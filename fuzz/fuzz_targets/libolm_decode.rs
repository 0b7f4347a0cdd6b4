//! Feeds arbitrary bytes to libolm's Olm or Megolm decrypt in an established session.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| ratchet_bench::fuzzing::libolm_decode(bytes));
