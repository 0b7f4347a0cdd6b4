//! A format of one's own: the example in a wire format no other implementation speaks,
//! declared as a family of its own (`Family::declare`). Its releases form the family's
//! interop matrix and are compared byte for byte, with the ideal model and the security
//! oracles of the declared properties.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Example;
use ratchet_bench_core::gate::{Gate, GateError};
use ratchet_bench_core::interop::CellResult;
use ratchet_bench_core::peer::{Family, FamilySpec};
use ratchet_bench_references::peers::ReferenceSignalDr;

#[test]
fn two_releases_of_a_declared_family_interoperate_and_agree_byte_for_byte() {
    let old = Example::own_format("example-dr@1.0");
    let new = Example::own_format("example-dr@1.1");
    let pass = Gate::new(&new)
        .against(&old)
        .scenarios(100)
        .check()
        .unwrap_or_else(|e| panic!("{e}"));
    let report = pass.report();
    assert_eq!(report.interop.len(), 1);
    let matrix = &report.interop[0];
    assert_eq!(matrix.family.name(), "example-dr");
    assert!(!matrix.family.is_built_in());
    assert_eq!(
        matrix.cells.len(),
        4,
        "every ordered pair of the two releases"
    );
    assert!(matrix
        .cells
        .iter()
        .all(|c| matches!(c.result, CellResult::Pass { .. })));
    assert_eq!(report.scenarios.get("example-dr"), Some(&100));
    let summary = pass.summary();
    assert!(
        summary.contains("family example-dr (100 drawn scenarios)"),
        "{summary}"
    );
    // Both draw from the bench's generators, so every send was compared byte for byte.
    let sent = report.outcomes["example-dr@1.1"]["sent"];
    assert!(sent > 1000, "{sent}");
    assert_eq!(
        report.outcomes["example-dr@1.1"],
        report.outcomes["example-dr@1.0"]
    );
}

#[test]
fn claiming_a_built_in_family_instead_fails_interop_with_its_reference() {
    let pretending = Example::own_format_claiming("pretending", Family::SIGNAL_DR);
    let report = Gate::new(&pretending)
        .against(&ReferenceSignalDr)
        .scenarios(20)
        .report()
        .expect("the gate runs");
    assert_eq!(report.exit_code, 1);
    let new = &report.triage.new;
    assert!(
        new.iter()
            .any(|s| s.starts_with("pretending+reference/interop/decrypt/")),
        "{new:?}"
    );
    assert!(
        new.iter()
            .any(|s| s.starts_with("pretending+reference/divergence-bytes/")),
        "{new:?}"
    );
}

#[test]
fn a_declaration_that_reuses_a_built_in_name_is_refused() {
    static NOT_SIGNAL_DR: FamilySpec = FamilySpec {
        name: "signal-dr",
        description: "a format that is not the bench's signal-dr",
        ratchets_per_turn: true,
        uses_previous_length: false,
        deletes_used_keys: true,
        benign: &[],
    };
    let impostor = Example::own_format_claiming("impostor", Family::declare(&NOT_SIGNAL_DR));
    let error = Gate::new(&impostor)
        .scenarios(1)
        .check()
        .expect_err("a built-in name with other properties is refused");
    assert!(matches!(error, GateError::Family(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "ratchet-bench gate: peer \"impostor\": \"signal-dr\" is a built-in family \
         (ratchets_per_turn true, uses_previous_length true, deletes_used_keys true); a \
         declaration with ratchets_per_turn true, uses_previous_length false, \
         deletes_used_keys true is another format: give it another name"
    );
}
