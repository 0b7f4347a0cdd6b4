//! Properties of the reference and of the scenario language, over generated inputs.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ratchet_bench::peer::{Party, Peer, SessionInit};
use ratchet_bench::peers::ReferenceSignalDr;
use ratchet_bench::report::conformance;
use ratchet_bench::rng;
use ratchet_bench::scenario::{execute, MsgId, Scenario, Setup, Side, Step};

fn session(seed: u64) -> (Box<dyn Party>, Box<dyn Party>) {
    let peer = ReferenceSignalDr;
    let init = SessionInit {
        shared_secret: [seed as u8; 32],
    };
    let (bob, bundle) = peer
        .respond(&init, Box::new(rng::stream(seed, "B")))
        .expect("the reference responds");
    let alice = peer
        .initiate(&init, &bundle, Box::new(rng::stream(seed, "A")))
        .expect("the reference initiates");
    (alice, bob)
}

/// An honest schedule: turns of sends by alternating sides, each turn's messages delivered
/// in an order given by `orders`, none lost, none tampered.
fn honest(turns: &[(u8, Vec<usize>)]) -> Scenario {
    let mut steps = Vec::new();
    let mut next = 0u32;
    for (t, (count, order)) in turns.iter().enumerate() {
        let from = if t % 2 == 0 { Side::A } else { Side::B };
        let ids: Vec<u32> = (0..u32::from(*count).max(1))
            .map(|_| {
                steps.push(Step::Send { from, len: 24 });
                next += 1;
                next - 1
            })
            .collect();
        let mut pending = ids.clone();
        for pick in order {
            if pending.is_empty() {
                break;
            }
            let id = pending.remove(pick % pending.len());
            steps.push(Step::Deliver { msg: MsgId(id) });
        }
        steps.extend(
            pending
                .into_iter()
                .map(|id| Step::Deliver { msg: MsgId(id) }),
        );
    }
    Scenario { steps }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn honest_schedules_always_decrypt(
        turns in prop::collection::vec((1u8..6, prop::collection::vec(0usize..8, 0..6)), 1..6),
        seed in any::<u64>(),
    ) {
        let scenario = honest(&turns);
        let t = execute(&ReferenceSignalDr, &scenario, Setup::seeded(seed));
        let findings = conformance(&t);
        prop_assert!(findings.is_empty(), "an honest schedule gave findings: {findings:?}");
        let delivered = t.records.iter().filter(|r| r.kind == "deliver").count();
        let accepted = t.records.iter().filter(|r| r.kind == "deliver" && r.outcome.succeeded()).count();
        prop_assert_eq!(delivered, accepted, "every honest delivery must decrypt");
    }

    #[test]
    fn any_single_bit_flip_is_rejected_and_leaves_the_session_usable(
        seed in any::<u64>(),
        len in 0usize..80,
        bit in any::<usize>(),
        reply_first in any::<bool>(),
    ) {
        let (mut alice, mut bob) = session(seed);
        let ad = b"ad";
        if reply_first {
            let w = alice.encrypt(ad, b"first").unwrap();
            bob.decrypt(ad, &w).unwrap();
            let w = bob.encrypt(ad, b"reply").unwrap();
            alice.decrypt(ad, &w).unwrap();
        }
        let pt = vec![0x5a; len];
        let wire = alice.encrypt(ad, &pt).unwrap();
        let mut forged = wire.clone();
        let b = bit % (forged.len() * 8);
        forged[b / 8] ^= 1 << (b % 8);
        prop_assert!(bob.decrypt(ad, &forged).is_err(), "a message with bit {b} flipped must be rejected");
        prop_assert_eq!(bob.decrypt(ad, &wire).unwrap(), pt, "the genuine message must still decrypt");
        let later = alice.encrypt(ad, b"later").unwrap();
        prop_assert_eq!(bob.decrypt(ad, &later).unwrap(), b"later".to_vec(), "later messages must still decrypt");
    }

    #[test]
    fn the_reference_conforms_on_drawn_scenarios(bytes in prop::collection::vec(any::<u8>(), 0..384), seed in any::<u64>()) {
        let scenario: Scenario = arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes)).unwrap();
        let t = execute(&ReferenceSignalDr, &scenario, Setup::seeded(seed));
        let findings = conformance(&t);
        prop_assert!(findings.is_empty(), "scenario {scenario} gave {findings:?}");
    }

    #[test]
    fn removing_any_step_leaves_a_valid_scenario(bytes in prop::collection::vec(any::<u8>(), 0..384), pick in any::<usize>()) {
        let scenario: Scenario = arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes)).unwrap();
        prop_assume!(!scenario.steps.is_empty());
        let i = pick % scenario.steps.len();
        let smaller = scenario.without(i);
        prop_assert!(smaller.validate().is_ok(), "without step {} of {}: {}", i, scenario, smaller);
        prop_assert!(smaller.steps.len() < scenario.steps.len());
        prop_assert_eq!(smaller.message_count() + u32::from(scenario.steps[i].creates_message()), scenario.message_count());
    }

    #[test]
    fn scenario_text_parses_back(bytes in prop::collection::vec(any::<u8>(), 0..384)) {
        let scenario: Scenario = arbitrary::Arbitrary::arbitrary_take_rest(arbitrary::Unstructured::new(&bytes)).unwrap();
        let text = scenario.to_string();
        let parsed: Scenario = text.parse().unwrap();
        prop_assert_eq!(&parsed, &scenario, "text {} must parse back", text);
    }
}
