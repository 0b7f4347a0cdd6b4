//! The gate: the example's implementation against the bench's signal-dr reference, with the
//! family's vectors, a seeded campaign, the interop matrix and the expectations file, its
//! summary snapshotted beside this file.

mod common;

use common::Example;
use ratchet_bench_core::gate::{Gate, GateError};
use ratchet_bench_references::peers::ReferenceSignalDr;

#[test]
fn the_example_passes_its_gate() -> Result<(), GateError> {
    Gate::new(&Example::SIGNAL_DR)
        .against(&ReferenceSignalDr)
        .scenarios(500)
        .seed(1)
        .vectors("../../vectors")
        .expectations("gate-expectations.json")
        .snapshot("tests/gate.summary.txt")
        .check()?;
    Ok(())
}
