//! Runs a drawn scenario on every signal-v3 peer; crashes on an unexpected finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratchet_bench::scenario::Scenario;

fuzz_target!(|s: Scenario| ratchet_bench::fuzzing::diff_signal_v3(s));
