//! Every family's codec reads what the real peers write and writes back exactly those bytes:
//! each message every bundled peer sends over drawn scenarios, and each peer's bundle, parse
//! into typed fields and encode to the bytes received. A typed change is then a change of
//! one field and nothing else.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use ratchet_bench::campaign::scenario_for;
use ratchet_bench::peer::Peer;
use ratchet_bench::scenario::{execute, Outcome, Setup};
use std::collections::BTreeMap;
use std::sync::OnceLock;

fn peers() -> &'static [Box<dyn Peer>] {
    static PEERS: OnceLock<Vec<Box<dyn Peer>>> = OnceLock::new();
    PEERS.get_or_init(ratchet_bench::peers::bundled)
}

/// Checks the messages `peer` sends in drawn scenario `index` and its bundle; the number of
/// byte strings checked.
fn round_trips(peer: &dyn Peer, index: u64) -> usize {
    let name = peer.info().name;
    let Some(codec) = peer.codec() else {
        return 0;
    };
    let (scenario, seed) = scenario_for(5, index);
    let mut checked = 0;
    let setup = Setup::seeded(seed);
    if let Ok((_, bundle)) = peer.respond(&setup.init, setup.rng_b) {
        if let Some(parsed) = codec.bundle(&bundle) {
            let parsed =
                parsed.unwrap_or_else(|e| panic!("{name}: its bundle does not parse: {e}"));
            assert_eq!(parsed.encode(), bundle, "{name}: its bundle round-trips");
            checked += 1;
        }
    }
    let transcript = execute(peer, &scenario, Setup::seeded(seed));
    for r in &transcript.records {
        let Outcome::Sent(wire) = &r.outcome else {
            continue;
        };
        let parsed = codec.message(wire).unwrap_or_else(|e| {
            panic!(
                "{name}: step {} of {scenario} (seed {seed}): a message it sent does not parse: {e}",
                r.step
            )
        });
        assert_eq!(
            &parsed.encode(),
            wire,
            "{name}: step {} of {scenario} (seed {seed}): the message round-trips",
            r.step
        );
        checked += 1;
    }
    checked
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_message_a_peer_sends_round_trips_through_its_codec(index in 0u64..100_000) {
        for p in peers() {
            round_trips(p.as_ref(), index);
        }
    }
}

/// The property above must have something to check: every peer with a codec sends messages
/// its codec reads, over a fixed range of scenarios.
#[test]
fn every_peer_with_a_codec_has_its_messages_checked() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in peers() {
        let n: usize = (0..12).map(|i| round_trips(p.as_ref(), i)).sum();
        counts.insert(p.info().name, n);
    }
    for p in peers() {
        let name = p.info().name;
        if p.codec().is_some() {
            assert!(counts[&name] > 20, "{name}: only {} checked", counts[&name]);
        }
    }
    eprintln!("byte strings checked per peer: {counts:?}");
}
