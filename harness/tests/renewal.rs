#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A session set up again (`renew`), and both sides initiating at once, on the peers that
//! keep a session record: what an ideal device must do, shown on the signal-v3 reference;
//! a record that forgets its earlier sessions, and a device whose new sessions an earlier
//! copy of its state reads, caught.

use ratchet_bench::campaign;
use ratchet_bench::oracle::Verdict;
use ratchet_bench::peer::Peer;
use ratchet_bench::peers;
use ratchet_bench::peers::mutant::{Planted, SignalV3Flaw};
use ratchet_bench::scenario::{execute, Outcome, Record, Scenario, Setup};

fn bundled(name: &str) -> Box<dyn Peer> {
    peers::bundled()
        .into_iter()
        .find(|p| p.info().name == name)
        .unwrap()
}

fn run(peer: &dyn Peer, text: &str, seed: u64) -> Vec<Record> {
    let scenario: Scenario = text.parse().unwrap();
    execute(peer, &scenario, Setup::seeded(seed)).records
}

fn signatures(peer: &dyn Peer, text: &str, seed: u64) -> Vec<String> {
    let scenario: Scenario = text.parse().unwrap();
    let (_, findings) = campaign::check_scenario(&[peer], &scenario, seed);
    findings.into_iter().map(|f| f.signature).collect()
}

/// The records of `records` at step `step`, as `(kind, message, verdict, outcome kind)`.
fn at(records: &[Record], step: usize) -> Vec<(String, Option<u32>, Verdict, &'static str)> {
    records
        .iter()
        .filter(|r| r.step == step)
        .map(|r| {
            (
                r.kind.to_string(),
                r.msg.map(|m| m.0),
                r.verdict,
                r.outcome.kind(),
            )
        })
        .collect()
}

/// Both devices start a session to the other before either hears from it: each takes the
/// other's pre-key message (a session of its own kept beside it), each then sends on the
/// session it last heard in, and every message of either session still in flight decrypts,
/// once. A late pre-key message of the first session, after the session moved on, too.
const BOTH_AT_ONCE: &str = "send A 3; renew A; renew B; send A 4; send B 5; deliver m1; \
    deliver m2; send A 6; send B 7; deliver-all; replay m2; send A 1; send B 2; deliver-all";

#[test]
fn both_sides_initiating_at_once_converge_on_the_reference() {
    let reference = bundled("reference-signal-v3");
    for seed in [1, 2, 3] {
        let records = run(reference.as_ref(), BOTH_AT_ONCE, seed);
        for r in records.iter().filter(|r| r.kind == "renew") {
            assert_eq!(r.verdict, Verdict::MustAccept, "seed {seed}: {r:?}");
            assert!(
                matches!(r.outcome, Outcome::Accepted(_)),
                "seed {seed}: {r:?}"
            );
        }
        // m0, the first session's pre-key message, arrives last (in deliver-all, step 9)
        // and must still decrypt: B keeps that session beside the two new ones.
        let late = records
            .iter()
            .find(|r| r.msg.map(|m| m.0) == Some(0) && r.step == 9);
        assert!(
            late.is_some_and(|r| r.verdict == Verdict::MustAccept && r.outcome.succeeded()),
            "seed {seed}: {late:?}"
        );
        assert_eq!(
            at(&records, 10),
            vec![(
                "replay".into(),
                Some(2),
                Verdict::MustReject(ratchet_bench::oracle::Why::Replay),
                "rejected"
            )],
            "seed {seed}"
        );
        assert_eq!(
            signatures(reference.as_ref(), BOTH_AT_ONCE, seed),
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}

/// A device whose record keeps one session (the planted flaw `previous-sessions-dropped`)
/// loses the message A sent before it started again: the oracle says it must decrypt.
#[test]
fn a_record_that_drops_its_earlier_sessions_is_caught() {
    let text = "send A 3; deliver m0; send A 4; renew A; send A 5; deliver m2; deliver m1";
    let reference = bundled("reference-signal-v3");
    assert_eq!(
        signatures(reference.as_ref(), text, 4),
        Vec::<String>::new()
    );
    let mutant = Planted::SignalV3(SignalV3Flaw::PreviousSessionsDropped).mutant();
    let found = signatures(mutant.as_ref(), text, 4);
    assert_eq!(
        found,
        ["reference-signal-v3+previous-sessions-dropped/rejected-genuine/renewed/deliver/unknown-session"],
        "the message of the dropped session finds no session"
    );
}

/// A party that is one session (Olm's, the Double Ratchet crates', MLS's) cannot renew: the
/// step is skipped with that reason, and the session goes on as if it had not come.
#[test]
fn a_party_without_a_session_record_skips_renew_with_its_reason() {
    for name in ["vodozemac-olm", "reference-olm", "reference", "openmls"] {
        let peer = bundled(name);
        let records = run(peer.as_ref(), "send A 3; renew A; deliver m0", 1);
        let renew = records.iter().find(|r| r.kind == "renew").unwrap();
        let Outcome::Skipped(why) = &renew.outcome else {
            panic!("{name}: {renew:?}")
        };
        assert!(why.contains("is one session"), "{name}: {why}");
        assert_eq!(renew.op, Some("renew"), "{name}");
        assert!(records.last().unwrap().outcome.succeeded(), "{name}");
    }
}

/// After a renew the receiver holds two sessions and tries a message on each, as
/// libsignal's record does: a message 24,999 ahead of a chain the current session does not
/// hold costs a jump in each. The work bound holds per session held (the campaign drew this
/// case when it was one session's bound, and called the reference unbounded).
#[test]
fn the_work_bound_holds_per_session_held() {
    let reference = bundled("reference-signal-v3");
    let text = "send A 189; deliver-all; renew A; jump B -1";
    let found = signatures(reference.as_ref(), text, 15041990859999507623);
    assert!(
        !found.iter().any(|s| s.contains("unbounded-work")),
        "{found:?}"
    );
    let records = run(reference.as_ref(), text, 15041990859999507623);
    let jump = records.iter().rfind(|r| r.kind == "jump").unwrap();
    assert!(jump.outcome.succeeded(), "{jump:?}");
}

/// Healing is judged per session. B's state is copied; then A sets a session up again from
/// B's new bundle. The new session's secret rests on the new one-time pre-key, which the
/// copy does not hold, so it must be closed to the copy from its first message; the first
/// session, meanwhile, still heals by its own round trip. The reference keeps both; a device
/// whose later bundles offer no one-time pre-key (the planted flaw
/// `one-time-pre-keys-not-replenished`) gives the copy the new session.
#[test]
fn a_session_set_up_after_a_copy_is_closed_to_it() {
    let text = "send A 3; deliver m0; send B 4; deliver m1; compromise B; renew A; send A 5; \
        deliver m2; send B 6; deliver m3; send A 7; deliver m4";
    let reference = bundled("reference-signal-v3");
    let mutant = Planted::SignalV3(SignalV3Flaw::OneTimePreKeysNotReplenished).mutant();
    for seed in [1, 2, 3] {
        assert_eq!(
            signatures(reference.as_ref(), text, seed),
            Vec::<String>::new(),
            "seed {seed}"
        );
        assert_eq!(
            signatures(mutant.as_ref(), text, seed),
            ["reference-signal-v3+one-time-pre-keys-not-replenished/no-healing/deliver/new-session"],
            "seed {seed}: a copy of B from before the renew reads A's first message of the new session"
        );
    }
    // Without the copy the flaw is invisible: every message of both sessions decrypts.
    let uncopied = text.replace("compromise B; ", "");
    assert_eq!(
        signatures(mutant.as_ref(), &uncopied, 1),
        Vec::<String>::new()
    );
}

/// No false breach: a copy of A taken before A sets a session up again, then messages of
/// both sessions in flight and the sides moving between them. The copy is tried in each
/// session apart, and the reference gives it nothing it must not have (seeds 1 to 3); a rule
/// that judged the first session's messages as the new session's, or healed a session by
/// another's round trip, would report a breach here.
#[test]
fn a_copy_across_two_sessions_finds_no_breach_on_the_reference() {
    let text = "send A 3; deliver m0; send B 4; compromise A; renew A; send B 5; deliver m1; \
        deliver m2; send A 6; deliver m3; send B 7; deliver m4; send A 8; deliver m5; send B 9; \
        deliver m6";
    let reference = bundled("reference-signal-v3");
    for seed in [1, 2, 3] {
        assert_eq!(
            signatures(reference.as_ref(), text, seed),
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}
