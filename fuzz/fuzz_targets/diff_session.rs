//! Runs a drawn scenario on every Double Ratchet peer; crashes on an unexpected finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratchet_bench::scenario::Scenario;

fuzz_target!(|s: Scenario| ratchet_bench::fuzzing::diff(s));
