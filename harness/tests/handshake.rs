//! The `fresh` step on every bundled peer: a responder built again as it was when it
//! published its bundle (its state lost, or restored from a backup taken then) must take A's
//! first-chain messages, which nothing tells from a first delivery, in any order; it must
//! refuse A's later messages, which need a reply it never made; and the session's own B is
//! left as it was. Families without a set-up message skip the step with the reason.
//!
//! The expected plaintexts are the ones A encrypted; the outcomes are the peers' own, each
//! judged against the ruling the step states, not against another peer.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::oracle::{Verdict, Why};
use ratchet_bench::peer::{Family, Peer};
use ratchet_bench::peers;
use ratchet_bench::scenario::{execute, Outcome, Record, Scenario, Setup};

const SEED: u64 = 7;

/// The records of `text` run on `peer` under [`SEED`].
fn records(peer: &dyn Peer, text: &str) -> Vec<Record> {
    let scenario: Scenario = text.parse().unwrap();
    let t = execute(peer, &scenario, Setup::seeded(SEED));
    assert!(
        t.setup_failure.is_none(),
        "{}: the session did not start: {:?}",
        peer.info().name,
        t.setup_failure
    );
    t.records
}

fn per_turn_peers() -> Vec<Box<dyn Peer>> {
    peers::bundled()
        .into_iter()
        .filter(|p| p.info().family.ratchets_per_turn())
        .collect()
}

/// Peers that can give no fresh responder: double-ratchet-2 draws its set-up keys from the
/// operating system, not from the bench, and cannot export a party's state. Their steps are
/// skipped with that reason; every other per-turn peer must run them.
const NO_FRESH_RESPONDER: [&str; 1] = ["double-ratchet-2"];

/// Whether `r` was skipped because the peer gives no fresh responder; fails on any other skip.
fn no_fresh_responder(peer: &str, r: &Record) -> bool {
    match &r.outcome {
        Outcome::Skipped(why) if why.ends_with("there is no fresh B") => {
            assert!(NO_FRESH_RESPONDER.contains(&peer), "{peer}: {why}");
            true
        }
        _ => false,
    }
}

/// What went wrong with `r` against `verdict` and `expected`, if anything.
fn wrong(r: &Record, verdict: Verdict, accept: bool) -> Option<String> {
    if r.verdict != verdict {
        return Some(format!(
            "step {} ({}): ruled {:?}, expected {verdict:?} ({:?})",
            r.step, r.kind, r.verdict, r.outcome
        ));
    }
    match (&r.outcome, accept) {
        (Outcome::Accepted(pt), true) if Some(pt) == r.expected.as_ref() => None,
        (Outcome::Rejected(_), false) => None,
        (other, _) => Some(format!(
            "step {} ({}): {}, expected {}",
            r.step,
            r.kind,
            other.label(),
            if accept {
                "the sent plaintext"
            } else {
                "a refusal"
            }
        )),
    }
}

#[test]
fn a_fresh_responder_takes_a_s_first_chain_in_any_order_and_b_is_left_as_it_was() {
    // m1 before m0 (a skipped key on the fresh responder), then both to the session's B.
    let text = "send A 8; send A 8; fresh m1; fresh m0; deliver m0; deliver m1";
    let peers = per_turn_peers();
    assert!(
        peers.len() >= 4,
        "expected the Double Ratchet, Olm and signal-v3 peers"
    );
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for peer in &peers {
        let name = peer.info().name;
        let rs = records(peer.as_ref(), text);
        let steps: Vec<&Record> = rs.iter().filter(|r| r.step >= 2).collect();
        assert_eq!(steps.len(), 4, "{name}: {rs:?}");
        for r in steps {
            if r.kind == "fresh" && no_fresh_responder(&name, r) {
                skipped.push(name.clone());
            } else if let Some(why) = wrong(r, Verdict::MustAccept, true) {
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    skipped.dedup();
    assert!(skipped.len() <= NO_FRESH_RESPONDER.len(), "{skipped:?}");
}

#[test]
fn a_fresh_responder_refuses_a_s_later_chain() {
    // m2 is on A's second chain: DH'd with the ratchet key of B's reply m1.
    let text = "send A 8; deliver m0; send B 8; deliver m1; send A 8; fresh m2; deliver m2";
    let mut failures = Vec::new();
    for peer in &per_turn_peers() {
        let rs = records(peer.as_ref(), text);
        let fresh = rs.iter().find(|r| r.kind == "fresh").unwrap();
        if no_fresh_responder(&peer.info().name, fresh) {
            continue;
        }
        if let Some(why) = wrong(fresh, Verdict::MustReject(Why::Foreign), false) {
            failures.push(format!("{}: {why}", peer.info().name));
        }
        let delivered = rs.iter().find(|r| r.step == 6).unwrap();
        if let Some(why) = wrong(delivered, Verdict::MustAccept, true) {
            failures.push(format!("{}: {why}", peer.info().name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn families_without_a_set_up_message_and_b_s_messages_are_skipped_with_the_reason() {
    for peer in peers::bundled() {
        let family = peer.info().family;
        let rs = records(
            peer.as_ref(),
            "send A 8; deliver m0; send B 8; fresh m0; fresh m1",
        );
        let fresh: Vec<&Record> = rs.iter().filter(|r| r.kind == "fresh").collect();
        assert_eq!(fresh.len(), 2, "{}", peer.info().name);
        let reason = |r: &Record| match &r.outcome {
            Outcome::Skipped(why) => why.clone(),
            other => panic!(
                "{}: expected a skip, got {}",
                peer.info().name,
                other.label()
            ),
        };
        if !family.ratchets_per_turn() {
            assert!(reason(fresh[0]).contains("no set-up message"), "{family}");
        } else if !no_fresh_responder(&peer.info().name, fresh[0]) {
            assert!(matches!(fresh[0].outcome, Outcome::Accepted(_)), "{family}");
        }
        assert!(
            reason(fresh[1]).contains("m1 is B's"),
            "{}: {}",
            peer.info().name,
            reason(fresh[1])
        );
    }
}

/// A fresh responder's acceptance is not B's: after `fresh m0` the session's B has accepted
/// nothing, its one-time key is unused, and a second initiator's message is no one else's
/// session yet. `second` is then skipped with that reason, as before any delivery, instead
/// of ruling that B must refuse it (diff_olm found the bench calling the Olm reference and
/// vodozemac wrong there: `send A 141; fresh m0; send A 111; jump A +0; second`, where the
/// jump's message was too far ahead for B). Peers whose bundle has no one-time key skip it
/// for that reason, as ever.
#[test]
fn a_fresh_responder_does_not_use_up_b_s_one_time_key_for_second() {
    let text = "send A 8; fresh m0; second";
    let mut with_one_time_key = 0;
    for peer in per_turn_peers() {
        let name = peer.info().name;
        let rs = records(peer.as_ref(), text);
        let second = rs.iter().find(|r| r.kind == "second").unwrap();
        let Outcome::Skipped(why) = &second.outcome else {
            panic!("{name}: second ran: {}", second.outcome.label());
        };
        let family = peer.info().family;
        if family == Family::OLM || family == Family::SIGNAL_V3 {
            with_one_time_key += 1;
            assert!(
                why.contains("the one-time key is not used up"),
                "{name}: {why}"
            );
        } else {
            assert!(why.contains("one-time key"), "{name}: {why}");
        }
    }
    assert!(with_one_time_key >= 3, "the Olm and signal-v3 peers");
}
