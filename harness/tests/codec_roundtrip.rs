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

/// A signal-v3 pre-key message written as other genuine senders write it (oldmemo leaves the
/// registration id out, libsignal-protocol-typescript writes the fields in their declared
/// order) compares equal to the reference's; a change of any other field does not; and a
/// family whose senders share one encoding (Olm) compares bytes as they are.
#[test]
fn comparison_forms_set_aside_only_what_the_family_declares_benign() {
    use ratchet_bench::codec::{comparison_form, Body, Node};
    use ratchet_bench::scenario::Scenario;
    let parse = |text: &str| text.parse::<Scenario>();
    let peer = peers()
        .iter()
        .find(|p| p.info().name == "reference-signal-v3")
        .unwrap();
    let codec = peer.codec().unwrap();
    let spec = peer.info().family.spec();
    let t = execute(peer.as_ref(), &parse("send A 7").unwrap(), Setup::seeded(3));
    let Outcome::Sent(wire) = &t.records[0].outcome else {
        panic!("the reference did not send");
    };
    let form =
        comparison_form(Some(codec), spec, wire).expect("the reference writes a registration id");
    assert_eq!(
        t.records[0].compared.as_ref(),
        Some(&form),
        "the executor records the form"
    );

    // The pre-key message's fields, as another sender writes them.
    let rewrite = |change: &dyn Fn(&mut Vec<Node>)| {
        let mut m = codec.message(wire).unwrap();
        let (path, _) = m
            .walk()
            .into_iter()
            .find(|(_, n)| n.name == "registration-id")
            .unwrap();
        let (siblings, _) = m.parent_mut(&path).unwrap();
        change(siblings);
        m.encode()
    };
    let is_field = |n: &Node| matches!(n.body, Body::Field { .. });
    let without_id = rewrite(&|s| s.retain(|n| n.name != "registration-id"));
    let reversed = rewrite(&|s| {
        let places: Vec<usize> = (0..s.len()).filter(|&i| is_field(&s[i])).collect();
        let fields: Vec<Node> = places.iter().map(|&i| s[i].clone()).collect();
        for (&i, n) in places.iter().zip(fields.into_iter().rev()) {
            s[i] = n;
        }
    });
    let other_pre_key_id = rewrite(&|s| {
        let n = s.iter_mut().find(|n| n.name == "pre-key-id").unwrap();
        let Body::Field { value, .. } = &mut n.body else {
            panic!("pre-key-id is a field");
        };
        let Body::Int { value, .. } = value.as_mut() else {
            panic!("pre-key-id is an integer");
        };
        *value += 1;
    });
    for (what, bytes) in [
        ("without its registration id", &without_id),
        ("in reverse order", &reversed),
    ] {
        assert_ne!(bytes, wire, "{what}: other bytes");
        let other = comparison_form(Some(codec), spec, bytes).unwrap_or_else(|| bytes.clone());
        assert_eq!(other, form, "{what}: the same comparison form");
    }
    let other = comparison_form(Some(codec), spec, &other_pre_key_id).unwrap();
    assert_ne!(other, form, "another pre-key id is another message");

    // A SignalMessage lies wholly under its MAC: compared as it is, without a parse.
    let t = execute(
        peer.as_ref(),
        &parse("send A 7; deliver m0; send B 7").unwrap(),
        Setup::seeded(3),
    );
    let Outcome::Sent(reply) = &t.records[2].outcome else {
        panic!("the reference did not reply");
    };
    assert_eq!(reply[0], 2, "a SignalMessage");
    assert!(codec.under_one_mac(reply));
    assert!(!codec.under_one_mac(wire));
    assert_eq!(comparison_form(Some(codec), spec, reply), None);
    assert_eq!(t.records[2].compared, None);

    let olm = peers()
        .iter()
        .find(|p| p.info().name == "reference-olm")
        .unwrap();
    let t = execute(olm.as_ref(), &parse("send A 7").unwrap(), Setup::seeded(3));
    let Outcome::Sent(wire) = &t.records[0].outcome else {
        panic!("the Olm reference did not send");
    };
    assert_eq!(
        comparison_form(olm.codec(), olm.info().family.spec(), wire),
        None,
        "Olm's bytes are compared as they are"
    );
}
