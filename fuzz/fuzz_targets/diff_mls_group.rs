//! Runs a drawn MLS group schedule on openmls and mls-rs, each alone and in mixed groups;
//! crashes on an unexpected finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratchet_bench::group::GroupSchedule;

fuzz_target!(|s: GroupSchedule| ratchet_bench::fuzzing::diff_mls_group(s));
