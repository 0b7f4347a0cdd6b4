//! Whole sessions between two reference parties: round trips, out-of-order delivery within
//! libsignal's limits and at their edges, replays, tampering, the session record's archived
//! states, trust on first use, the one-time pre-key, and the order of random draws. Every
//! refusal is checked to leave the party's exported state byte-identical.

use super::common::{logged, pair, prefixed, replay, seeded};
use crate::signal_v3::{
    wire, ErrorClass, Party, SignalV3Error, Work, ARCHIVED_STATES_MAX_LENGTH, MAX_FORWARD_JUMPS,
    MAX_MESSAGE_KEYS, MAX_RECEIVER_CHAINS, PRE_KEY_TYPE, WHISPER_TYPE,
};

const AD: &[u8] = b"ad";

fn send(from: &mut Party, text: &str) -> Vec<u8> {
    from.encrypt(AD, text.as_bytes()).unwrap()
}

fn receive(to: &mut Party, wire: &[u8]) -> String {
    String::from_utf8(to.decrypt(AD, wire).unwrap()).unwrap()
}

/// Decrypting `wire` is refused with `class`, and the party's state is unchanged.
fn refused(to: &mut Party, wire: &[u8], class: ErrorClass) -> SignalV3Error {
    let before = to.export_state();
    let err = to.decrypt(AD, wire).unwrap_err();
    assert_eq!(err.class(), class, "{err}");
    assert_eq!(
        to.export_state(),
        before,
        "a refusal changed the state ({err})"
    );
    err
}

#[test]
fn messages_round_trip_and_pre_key_messages_stop_once_acknowledged() {
    let (mut alice, mut bob) = pair(1);
    for i in 0..3 {
        let w = send(&mut alice, &format!("a{i}"));
        assert_eq!(w[0], PRE_KEY_TYPE);
        assert_eq!(receive(&mut bob, &w), format!("a{i}"));
    }
    for turn in 0..20 {
        let w = send(&mut bob, &format!("b{turn}"));
        assert_eq!(w[0], WHISPER_TYPE);
        assert_eq!(receive(&mut alice, &w), format!("b{turn}"));
        for k in 0..(turn % 3 + 1) {
            let w = send(&mut alice, &format!("a{turn}.{k}"));
            assert_eq!(w[0], WHISPER_TYPE, "Alice heard from Bob");
            assert_eq!(receive(&mut bob, &w), format!("a{turn}.{k}"));
        }
    }
    // Empty and long plaintexts, empty and long associated data.
    for (ad, pt) in [(&b""[..], &b""[..]), (&[7u8; 300][..], &[9u8; 5000][..])] {
        let w = alice.encrypt(ad, pt).unwrap();
        assert_eq!(bob.decrypt(ad, &w).unwrap(), pt);
    }
}

#[test]
fn a_responder_cannot_send_or_take_a_whisper_message_before_a_pre_key_message() {
    let (mut alice, mut bob) = pair(2);
    let e = bob.encrypt(AD, b"x").unwrap_err();
    assert_eq!(e.class(), ErrorClass::UnknownSession);
    let first = send(&mut alice, "first");
    // The inner SignalMessage alone: no session to put it in.
    let inner = crate::signal_v3::pre_key_signal_message::PreKeySignalMessage::parse(&first[1..])
        .unwrap()
        .message()
        .serialized()
        .to_vec();
    let whisper = [&[WHISPER_TYPE][..], &inner].concat();
    refused(&mut bob, &whisper, ErrorClass::UnknownSession);
    assert_eq!(receive(&mut bob, &first), "first");
    // Once the session exists, the same bytes as a whisper message are a replay.
    refused(&mut bob, &whisper, ErrorClass::Replay);
}

#[test]
fn out_of_order_messages_decrypt_once_and_replays_are_refused() {
    let (mut alice, mut bob) = pair(3);
    let first: Vec<_> = (0..5).map(|i| send(&mut alice, &format!("a{i}"))).collect();
    for i in [3, 0, 4, 1, 2] {
        assert_eq!(receive(&mut bob, &first[i]), format!("a{i}"));
    }
    for w in &first {
        refused(&mut bob, w, ErrorClass::Replay);
    }
    let b: Vec<_> = (0..4).map(|i| send(&mut bob, &format!("b{i}"))).collect();
    assert_eq!(receive(&mut alice, &b[2]), "b2");
    let a: Vec<_> = (0..3).map(|i| send(&mut alice, &format!("c{i}"))).collect();
    assert_eq!(receive(&mut alice, &b[0]), "b0");
    assert_eq!(receive(&mut bob, &a[1]), "c1");
    // A late message of Bob's previous chain still decrypts after both sides moved on.
    let b2: Vec<_> = (0..2).map(|i| send(&mut bob, &format!("d{i}"))).collect();
    assert_eq!(receive(&mut alice, &b2[1]), "d1");
    assert_eq!(receive(&mut alice, &b[3]), "b3");
    assert_eq!(receive(&mut alice, &b[1]), "b1");
    refused(&mut alice, &b[1], ErrorClass::Replay);
    assert_eq!(receive(&mut bob, &a[0]), "c0");
    assert_eq!(receive(&mut bob, &a[2]), "c2");
}

#[test]
fn the_forward_limit_takes_a_jump_of_max_forward_jumps_and_refuses_one_more() {
    for new_chain in [false, true] {
        let (mut alice, mut bob) = pair(4);
        if !new_chain {
            // Bob is on Alice's chain already: the jump is within an existing chain.
            let w = send(&mut alice, "start");
            receive(&mut bob, &w);
        }
        let mut wires: Vec<Vec<u8>> = Vec::new();
        for _ in 0..=MAX_FORWARD_JUMPS + 1 {
            wires.push(alice.encrypt(AD, b"x").unwrap());
        }
        // At index 0 of its chain (or 1 after "start"), a message MAX + 1 further is refused.
        let too_far = &wires[MAX_FORWARD_JUMPS as usize + 1];
        let before = bob.work();
        let e = refused(&mut bob, too_far, ErrorClass::TooFarAhead);
        assert_eq!(
            e,
            SignalV3Error::TooFarAhead {
                jump: u64::from(MAX_FORWARD_JUMPS) + 1,
                max: MAX_FORWARD_JUMPS
            }
        );
        assert_eq!(
            bob.work().derivations,
            before.derivations,
            "refused before any step"
        );
        // Exactly MAX skipped keys: taken, at MAX + 1 chain steps.
        let at_limit = &wires[MAX_FORWARD_JUMPS as usize];
        assert_eq!(bob.decrypt(AD, at_limit).unwrap(), b"x");
        let after = bob.work();
        assert_eq!(
            after.derivations - before.derivations,
            u64::from(MAX_FORWARD_JUMPS) + 1
        );
        assert_eq!(after.stored_keys, MAX_MESSAGE_KEYS as u64);
        // The one beyond is now one step ahead: fine.
        assert_eq!(bob.decrypt(AD, too_far).unwrap(), b"x");
    }
}

#[test]
fn skipped_keys_stay_within_max_message_keys_per_chain_oldest_dropped() {
    let (mut alice, mut bob) = pair(5);
    let skipped = MAX_MESSAGE_KEYS + 500;
    let wires: Vec<_> = (0..=skipped)
        .map(|i| send(&mut alice, &format!("{i}")))
        .collect();
    assert_eq!(receive(&mut bob, &wires[skipped]), skipped.to_string());
    assert_eq!(bob.work().stored_keys, MAX_MESSAGE_KEYS as u64);
    // The oldest 500 were dropped: a refusal as a replay (the key is gone), as libsignal.
    for i in [0, 1, 499] {
        refused(&mut bob, &wires[i], ErrorClass::Replay);
    }
    for i in [500, 501, 1700, skipped - 1] {
        assert_eq!(receive(&mut bob, &wires[i]), i.to_string());
    }
    assert_eq!(bob.work().stored_keys, MAX_MESSAGE_KEYS as u64 - 4);
}

/// One turn: `from` sends one message `to` receives, so that `to` starts a new chain.
fn turn(from: &mut Party, to: &mut Party, text: &str) {
    let w = send(from, text);
    assert_eq!(receive(to, &w), text);
}

#[test]
fn a_state_keeps_max_receiver_chains_and_drops_the_oldest() {
    let (mut alice, mut bob) = pair(6);
    let chain_1_late = send(&mut alice, "chain 1, late");
    let chain_1_lost = send(&mut alice, "chain 1, too late");
    turn(&mut alice, &mut bob, "chain 1");
    let mut chain_2_late = None;
    for chain in 2..=MAX_RECEIVER_CHAINS {
        turn(&mut bob, &mut alice, "b");
        if chain == 2 {
            chain_2_late = Some(send(&mut alice, "chain 2, late"));
        }
        turn(&mut alice, &mut bob, "a");
    }
    assert_eq!(
        bob.record().current().unwrap().receiver_chains().len(),
        MAX_RECEIVER_CHAINS
    );
    // Five chains: the first is still there.
    assert_eq!(receive(&mut bob, &chain_1_late), "chain 1, late");
    // A sixth drops the oldest: a late message of it no longer decrypts (libsignal, not
    // finding the ratchet key, makes a new chain for it, whose MAC then fails).
    turn(&mut bob, &mut alice, "b");
    turn(&mut alice, &mut bob, "chain 6");
    assert_eq!(
        bob.record().current().unwrap().receiver_chains().len(),
        MAX_RECEIVER_CHAINS
    );
    refused(&mut bob, &chain_1_lost, ErrorClass::Auth);
    // Chain 2 is now the oldest kept.
    assert_eq!(
        receive(&mut bob, chain_2_late.as_ref().unwrap()),
        "chain 2, late"
    );
}

/// An initiator with `identity_seed`'s identity key (the first 32 bytes it draws).
fn initiator_with_identity(bundle: &[u8], identity_seed: u8, seed: u64) -> Party {
    Party::initiate(bundle, prefixed(vec![identity_seed; 32], seed)).unwrap()
}

/// `bundle` without its one-time pre-key (143 bytes, flag 00).
fn without_one_time(bundle: &[u8]) -> Vec<u8> {
    let mut b = bundle[..143].to_vec();
    b[142] = 0;
    b
}

#[test]
fn a_new_session_archives_the_current_one_whose_messages_still_decrypt() {
    let (mut bob, bundle) = Party::respond(seeded(8));
    let mut first = initiator_with_identity(&bundle, 1, 80);
    turn(&mut first, &mut bob, "session 1");
    turn(&mut bob, &mut first, "reply 1");
    let late = send(&mut first, "session 1, late");
    // The same identity starts another session (the one-time pre-key is used: a bundle
    // without it, as a server hands out when it has none left).
    let mut second = initiator_with_identity(&without_one_time(&bundle), 1, 81);
    let w = send(&mut second, "session 2");
    assert_eq!(receive(&mut bob, &w), "session 2");
    assert_eq!(bob.record().previous().len(), 1);
    // The archived state decrypts its late message and becomes current again.
    assert_eq!(receive(&mut bob, &late), "session 1, late");
    assert_eq!(bob.record().previous().len(), 1);
    assert_eq!(
        bob.record().current().unwrap().alice_base_key(),
        first.record().current().unwrap().alice_base_key()
    );
    // Bob now answers in session 1; session 2's next pre-key message promotes session 2.
    turn(&mut bob, &mut first, "reply 1 again");
    let w = send(&mut second, "session 2 again");
    assert_eq!(receive(&mut bob, &w), "session 2 again");
    assert_eq!(
        bob.record().current().unwrap().alice_base_key(),
        second.record().current().unwrap().alice_base_key()
    );
}

#[test]
fn the_record_keeps_archived_states_max_length_states() {
    let (mut bob, bundle) = Party::respond(seeded(9));
    let bundle = without_one_time(&bundle);
    // Late messages are whisper messages (their initiator heard from Bob): a pre-key
    // message of a dropped state would make a new state from the signed pre-key again.
    let mut oldest = initiator_with_identity(&bundle, 2, 900);
    turn(&mut oldest, &mut bob, "oldest");
    turn(&mut bob, &mut oldest, "reply");
    let late = send(&mut oldest, "oldest, late");
    assert_eq!(late[0], WHISPER_TYPE);
    let mut kept = None;
    for i in 0..ARCHIVED_STATES_MAX_LENGTH {
        let mut other = initiator_with_identity(&bundle, 2, 901 + i as u64);
        turn(&mut other, &mut bob, "newer");
        if i == 0 {
            turn(&mut bob, &mut other, "reply");
            kept = Some((send(&mut other, "second oldest, late"), other));
        }
    }
    assert_eq!(bob.record().previous().len(), ARCHIVED_STATES_MAX_LENGTH);
    // 41 states: the oldest is still there, and decrypting promotes it (the newest is
    // archived in its place, so the second oldest is now last).
    assert_eq!(receive(&mut bob, &late), "oldest, late");
    // One more session drops the last archived state, the second oldest.
    let mut newest = initiator_with_identity(&bundle, 2, 999);
    turn(&mut newest, &mut bob, "newest");
    assert_eq!(bob.record().previous().len(), ARCHIVED_STATES_MAX_LENGTH);
    let (second_late, _) = kept.unwrap();
    refused(&mut bob, &second_late, ErrorClass::Auth);
}

#[test]
fn the_responder_trusts_the_first_identity_and_refuses_another() {
    let (mut bob, bundle) = Party::respond(seeded(10));
    let mut first = initiator_with_identity(&bundle, 3, 100);
    turn(&mut first, &mut bob, "hello");
    let mut stranger = initiator_with_identity(&without_one_time(&bundle), 4, 101);
    let w = send(&mut stranger, "let me in");
    let e = refused(&mut bob, &w, ErrorClass::UnknownSession);
    assert!(matches!(e, SignalV3Error::UntrustedIdentity { .. }), "{e}");
}

#[test]
fn a_one_time_pre_key_makes_one_session_only() {
    let (mut bob, bundle) = Party::respond(seeded(11));
    let mut first = initiator_with_identity(&bundle, 5, 110);
    let mut second = initiator_with_identity(&bundle, 5, 111);
    turn(&mut first, &mut bob, "first");
    let w = send(&mut second, "second, same one-time pre-key");
    let e = refused(&mut bob, &w, ErrorClass::UnknownSession);
    assert!(matches!(e, SignalV3Error::UnknownPreKey(_)), "{e}");
    // A refused first message does not consume it: a fresh responder shows the order.
    let (mut bob2, bundle2) = Party::respond(seeded(12));
    let mut a = initiator_with_identity(&bundle2, 6, 120);
    let w = send(&mut a, "x");
    let mut bad_mac = w.clone();
    bad_mac[wire::layout(&w).unwrap().mac.start] ^= 1;
    refused(&mut bob2, &bad_mac, ErrorClass::Auth);
    assert_eq!(receive(&mut bob2, &w), "x");
}

#[test]
fn an_initiator_refuses_pre_key_messages_and_a_bad_bundle() {
    let (mut alice, mut bob) = pair(13);
    let w = send(&mut alice, "x");
    receive(&mut bob, &w);
    // Alice's own pre-key message reflected back: another identity than the one she trusts.
    refused(&mut alice, &w, ErrorClass::UnknownSession);
    let (_, bundle) = Party::respond(seeded(14));
    let mut bad = bundle.clone();
    bad[100] ^= 1;
    let e = Party::initiate(&bad, seeded(15)).unwrap_err();
    assert_eq!(e, SignalV3Error::BadSignature);
    assert_eq!(e.class(), ErrorClass::Auth);
    let e = Party::initiate(&bundle[..150], seeded(15)).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed);
    // A bundle without a one-time pre-key is taken, and the session works.
    let (mut bob, bundle) = Party::respond(seeded(16));
    let mut alice = Party::initiate(&without_one_time(&bundle), seeded(17)).unwrap();
    turn(&mut alice, &mut bob, "no one-time pre-key");
    turn(&mut bob, &mut alice, "fine");
}

#[test]
fn tampering_with_any_region_is_refused_with_the_state_unchanged() {
    let (mut alice, mut bob) = pair(18);
    for round in 0..3 {
        let w = send(&mut alice, "genuine");
        let l = wire::layout(&w).unwrap();
        for (region, range) in [
            ("header", l.header.clone()),
            ("body", l.body.clone()),
            ("mac", l.mac.clone()),
            ("ratchet key", l.ratchet_key.clone()),
        ] {
            for i in range {
                let mut t = w.clone();
                t[i] ^= 0x10;
                let before = bob.export_state();
                assert!(
                    bob.decrypt(AD, &t).is_err(),
                    "round {round} {region} byte {i}"
                );
                assert_eq!(bob.export_state(), before);
            }
        }
        // A different ratchet key (a valid one) is a new chain whose MAC fails.
        let other = Party::respond(seeded(19)).0.identity_key().serialize();
        let mut rekeyed = w.clone();
        rekeyed[l.ratchet_key.clone()].copy_from_slice(&other);
        refused(&mut bob, &rekeyed, ErrorClass::Auth);
        // Cut or extended: the protobuf no longer frames (the MAC is the last 8 bytes of a
        // whisper message; a pre-key message ends in its signed pre-key id's varint).
        assert_eq!(w[0] == PRE_KEY_TYPE, round == 0);
        refused(&mut bob, &w[..w.len() - 1], ErrorClass::Malformed);
        refused(
            &mut bob,
            &[w.as_slice(), &[0]].concat(),
            ErrorClass::Malformed,
        );
        refused(&mut bob, &[], ErrorClass::Malformed);
        refused(&mut bob, &[4, 0x33], ErrorClass::Malformed);
        assert_eq!(receive(&mut bob, &w), "genuine");
        turn(&mut bob, &mut alice, "next round");
    }
}

#[test]
fn other_associated_data_is_refused_with_the_state_unchanged_and_nothing_drawn() {
    let (bob, bundle) = Party::respond(seeded(20));
    let mut alice = Party::initiate(&bundle, seeded(21)).unwrap();
    let w = alice.encrypt(b"right", b"pt").unwrap();
    let (rng, left) = replay(vec![0x55; 32]);
    let mut bob = Party::restore(&bob.export_state(), rng).unwrap();
    let before = bob.export_state();
    let e = bob.decrypt(b"wrong", &w).unwrap_err();
    assert_eq!(e, SignalV3Error::AssociatedData);
    assert_eq!(e.class(), ErrorClass::Auth);
    assert_eq!(bob.export_state(), before);
    assert_eq!(
        left.lock().unwrap().len(),
        32,
        "nothing drawn for a refusal"
    );
    assert_eq!(bob.decrypt(b"right", &w).unwrap(), b"pt");
    assert!(
        left.lock().unwrap().is_empty(),
        "the new chain's ratchet key drawn once accepted"
    );
}

#[test]
fn parties_draw_in_the_bench_order() {
    let (rng, log) = logged(22);
    let (mut bob, bundle) = Party::respond(rng);
    assert_eq!(*log.lock().unwrap(), [32, 2, 3, 32, 64, 3, 32]);
    let (rng, alice_log) = logged(23);
    let mut alice = Party::initiate(&bundle, rng).unwrap();
    assert_eq!(*alice_log.lock().unwrap(), [32, 2, 32, 32]);
    let w = send(&mut alice, "1");
    let w2 = send(&mut alice, "2");
    assert_eq!(alice_log.lock().unwrap().len(), 4, "encrypt draws nothing");
    receive(&mut bob, &w2);
    assert_eq!(
        log.lock().unwrap()[7..],
        [32],
        "a new receiving chain draws a ratchet key"
    );
    receive(&mut bob, &w);
    assert_eq!(log.lock().unwrap().len(), 8, "a skipped key draws nothing");
    let b = send(&mut bob, "b");
    receive(&mut alice, &b);
    assert_eq!(alice_log.lock().unwrap()[4..], [32]);
    refused(&mut alice, &b, ErrorClass::Replay);
    assert_eq!(
        alice_log.lock().unwrap().len(),
        5,
        "a refusal draws nothing"
    );
}

#[test]
fn one_seed_gives_the_same_bytes() {
    let run = || {
        let (mut alice, mut bob) = pair(24);
        let mut out = Vec::new();
        for i in 0..4 {
            let w = send(&mut alice, &format!("{i}"));
            receive(&mut bob, &w);
            out.push(w);
            let w = send(&mut bob, &format!("{i}"));
            receive(&mut alice, &w);
            out.push(w);
        }
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn a_restored_copy_continues_the_session_and_cannot_read_what_was_received() {
    let (mut alice, mut bob) = pair(25);
    let early: Vec<_> = (0..4).map(|i| send(&mut alice, &format!("e{i}"))).collect();
    receive(&mut bob, &early[0]);
    receive(&mut bob, &early[2]);
    turn(&mut bob, &mut alice, "b");
    // Export both; the copies draw from the same seeds as the originals' next draws.
    let bob_state = bob.export_state();
    let mut bob_copy = Party::restore(&bob_state, seeded(26)).unwrap();
    assert_eq!(
        bob_copy.export_state(),
        bob_state,
        "restore then export is the identity"
    );
    assert_eq!(
        bob_copy.work(),
        Work {
            derivations: 0,
            stored_keys: bob.work().stored_keys
        }
    );
    // Forward secrecy: the copy cannot decrypt what Bob decrypted before the export...
    for w in [&early[0], &early[2]] {
        refused(&mut bob_copy, w, ErrorClass::Replay);
    }
    // ...but holds the skipped key of a message not yet received, as Bob does.
    assert_eq!(receive(&mut bob_copy, &early[1]), "e1");
    // The copy continues the session with Alice: same bytes as the original would.
    let mut bob_again = Party::restore(&bob_state, seeded(26)).unwrap();
    let a = send(&mut alice, "after");
    assert_eq!(receive(&mut bob_copy, &a), "after");
    assert_eq!(receive(&mut bob_again, &a), "after");
    assert_eq!(send(&mut bob_copy, "r"), send(&mut bob_again, "r"));
    // And an export of Alice taken later cannot read her session's old messages either.
    let mut alice_copy = Party::restore(&alice.export_state(), seeded(27)).unwrap();
    let old = send(&mut bob, "old");
    receive(&mut alice, &old);
    let alice_after = alice.export_state();
    let mut alice_later = Party::restore(&alice_after, seeded(28)).unwrap();
    refused(&mut alice_later, &old, ErrorClass::Replay);
    assert_eq!(receive(&mut alice_copy, &old), "old");
}

#[test]
fn work_counts_chain_steps_and_stored_keys() {
    let (mut alice, mut bob) = pair(29);
    let w: Vec<_> = (0..10).map(|i| send(&mut alice, &format!("{i}"))).collect();
    assert_eq!(alice.work().derivations, 10, "one step per message sent");
    receive(&mut bob, &w[9]);
    assert_eq!(
        bob.work(),
        Work {
            derivations: 10,
            stored_keys: 9
        }
    );
    receive(&mut bob, &w[3]);
    assert_eq!(
        bob.work(),
        Work {
            derivations: 10,
            stored_keys: 8
        }
    );
    refused(&mut bob, &w[3], ErrorClass::Replay);
    assert_eq!(bob.work().derivations, 10);
}

#[test]
fn debug_output_shows_no_secrets() {
    let (alice, bob) = pair(30);
    let state = alice.export_state();
    let identity_private = hex::encode(&state[2..34]);
    for shown in [
        format!("{alice:?}"),
        format!("{bob:?}"),
        format!("{:?}", alice.record()),
    ] {
        assert!(!shown.contains(&identity_private), "{shown}");
    }
    // The record's Debug does show public keys (they are not secret).
    assert!(format!("{:?}", alice.record()).contains("PublicKey(05"));
}

#[test]
fn a_party_can_move_to_another_thread() {
    fn send_able<T: Send>() {}
    send_able::<Party>();
}
