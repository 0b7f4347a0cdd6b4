//! The reference and ksi-double-ratchet, one seed each, must produce the same bytes.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::campaign::scenario_for;
use ratchet_bench::peer::RejectClass;
use ratchet_bench::peers::{KsiDoubleRatchet, ReferenceSignalDr};
use ratchet_bench::scenario::{execute, Outcome, Setup, Step};

fn storage_full(o: &Outcome) -> bool {
    matches!(o, Outcome::Rejected(r) if r.class == RejectClass::StorageFull)
}

/// Over a seeded campaign, every send gives the same wire bytes and every delivery the same
/// outcome (reject texts differ by design, so only success and bytes count) on both peers, up to the first input where either refuses for a full store: there
/// ksi-double-ratchet's known off-by-one (ci/expectations.json) lets it keep one key more.
/// Scenarios that start from a bundle with a low-order key are left out: the reference
/// refuses such a bundle, ksi-double-ratchet takes it (also listed there).
#[test]
fn reference_and_ksi_agree_byte_for_byte_on_a_seeded_campaign() {
    let mut sends = 0;
    let mut cut_short = 0;
    let mut low_order = 0;
    for index in 0..300 {
        let (scenario, seed) = scenario_for(7, index);
        if scenario
            .steps
            .iter()
            .any(|s| matches!(s, Step::Bundle { op, .. } if op.name() == "low-order"))
        {
            low_order += 1;
            continue;
        }
        let a = execute(&ReferenceSignalDr, &scenario, Setup::seeded(seed));
        let b = execute(&KsiDoubleRatchet, &scenario, Setup::seeded(seed));
        let mut stopped = false;
        for (ra, rb) in a.records.iter().zip(&b.records) {
            if storage_full(&ra.outcome) || storage_full(&rb.outcome) {
                stopped = true;
                break;
            }
            assert_eq!(
                (ra.step, ra.kind, ra.outcome.succeeded(), ra.outcome.bytes()),
                (rb.step, rb.kind, rb.outcome.succeeded(), rb.outcome.bytes()),
                "scenario {index} ({scenario}), seed {seed}: the peers differ"
            );
            sends += usize::from(matches!(ra.outcome, Outcome::Sent(_)));
        }
        if stopped {
            cut_short += 1;
        } else {
            assert_eq!(
                a.records.len(),
                b.records.len(),
                "scenario {index}: record counts differ"
            );
            assert_eq!(
                a.sent_digest, b.sent_digest,
                "scenario {index}: lost jump messages differ"
            );
        }
    }
    assert!(
        sends > 2000,
        "expected thousands of compared sends, got {sends}"
    );
    assert!(
        low_order < 100,
        "low-order bundles should be a minority, got {low_order} of 300"
    );
    assert!(
        cut_short < 30,
        "the store boundary should be rare, got {cut_short} of 300"
    );
}
