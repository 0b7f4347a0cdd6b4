#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The vodozemac peers (Olm and Megolm), each talking to itself: turns both ways, out of
//! order within the declared limits, the limits' edges (MAX_MESSAGE_GAP, the 40 kept keys
//! per chain, the 5 kept receiving chains, constants read in vodozemac's source), tampering,
//! other associated data, replays, messages of another session, and the wire layout of real
//! messages cross-checked against vodozemac's own parser.
//!
//! They assume a normal build. Built with `--cfg fuzzing` vodozemac accepts every MAC and
//! signature, so the tampering tests fail there by design; the test of `weakened` holds in
//! both builds.

use ratchet_bench::peer::{Party, Peer, RejectClass, SessionInit};
use ratchet_bench::peers::{VodozemacMegolm, VodozemacOlm};
use ratchet_bench::rng;
use vodozemac::megolm::MegolmMessage;
use vodozemac::olm::OlmMessage;

const AD: &[u8] = b"vodozemac peers test";

/// A new session of `peer`: `[initiator, responder]`, with the handshake delivered.
fn session(peer: &dyn Peer) -> [Box<dyn Party>; 2] {
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (mut b, bundle) = peer.respond(&init, Box::new(rng::stream(1, "B"))).unwrap();
    let mut a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(1, "A")))
        .unwrap();
    if let Some(handshake) = a.handshake().unwrap() {
        b.join(&handshake).unwrap();
    }
    [a, b]
}

fn send(p: &mut dyn Party, count: u8, tag: u8) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| p.encrypt(AD, &[tag, i]).unwrap())
        .collect()
}

fn flip(wire: &[u8], at: usize) -> Vec<u8> {
    let mut w = wire.to_vec();
    w[at] ^= 0x01;
    w
}

fn refusal(p: &mut dyn Party, wire: &[u8]) -> RejectClass {
    p.decrypt(AD, wire).expect_err("must be refused").class
}

#[test]
fn olm_turns_both_ways_out_of_order() {
    let [mut a, mut b] = session(&VodozemacOlm);
    // Until A hears from B, A sends pre-key messages; any one of them makes B's session.
    let first = send(a.as_mut(), 3, 0xa0);
    assert!(first.iter().all(|w| w[0] == 0), "pre-key messages first");
    for i in [2usize, 0, 1] {
        assert_eq!(b.decrypt(AD, &first[i]).unwrap(), [0xa0, i as u8]);
    }
    for turn in 1..4u8 {
        let from_b = send(b.as_mut(), 3, 0xb0 + turn);
        assert!(
            from_b.iter().all(|w| w[0] == 1),
            "the responder sends normal messages"
        );
        for i in [1usize, 2, 0] {
            assert_eq!(a.decrypt(AD, &from_b[i]).unwrap(), [0xb0 + turn, i as u8]);
        }
        let from_a = send(a.as_mut(), 4, 0xa0 + turn);
        assert!(
            from_a.iter().all(|w| w[0] == 1),
            "normal once A heard from B"
        );
        for i in [3usize, 0, 2, 1] {
            assert_eq!(b.decrypt(AD, &from_a[i]).unwrap(), [0xa0 + turn, i as u8]);
        }
    }
}

#[test]
fn olm_gap_keeps_the_last_40_keys_and_refuses_beyond_max_skip() {
    let info = VodozemacOlm.info();
    assert_eq!(info.limits.max_skip, 2000);
    assert_eq!(info.limits.max_stored_per_chain, Some(40));
    assert_eq!(info.limits.max_chains, Some(5));
    let [mut a, mut b] = session(&VodozemacOlm);
    let hello = a.encrypt(AD, b"hello").unwrap();
    b.decrypt(AD, &hello).unwrap();

    // A gap of 50 in B's first chain: the 40 keys just below the message are kept, the
    // older ones never derived.
    let from_b = send(b.as_mut(), 51, 0xb0);
    assert_eq!(a.decrypt(AD, &from_b[50]).unwrap(), [0xb0, 50]);
    for (i, wire) in from_b.iter().enumerate().take(50).skip(10) {
        assert_eq!(a.decrypt(AD, wire).unwrap(), [0xb0, i as u8]);
    }
    for wire in &from_b[..10] {
        assert_eq!(refusal(a.as_mut(), wire), RejectClass::Replay);
    }

    // Next expected index is 51: index 51 + 2001 is refused, 51 + 2000 is taken.
    let max = info.limits.max_skip as usize;
    let ahead: Vec<Vec<u8>> = (0..=max + 1)
        .map(|_| b.encrypt(AD, b"ahead").unwrap())
        .collect();
    assert_eq!(
        refusal(a.as_mut(), &ahead[max + 1]),
        RejectClass::TooFarAhead
    );
    assert_eq!(a.decrypt(AD, &ahead[max]).unwrap(), b"ahead");
    // The refusal left the chain as it was: the message after it still decrypts.
    assert_eq!(a.decrypt(AD, &ahead[max + 1]).unwrap(), b"ahead");
}

#[test]
fn olm_keeps_a_skipped_key_of_an_old_chain_until_five_newer_chains() {
    // Two held messages of A's chain 0: one delivered while B has 5 chains, one after.
    let [mut a, mut b] = session(&VodozemacOlm);
    let held = send(a.as_mut(), 2, 0xa0);
    let first = a.encrypt(AD, b"first").unwrap();
    b.decrypt(AD, &first).unwrap();
    for chain in 1..=5u8 {
        let reply = b.encrypt(AD, b"reply").unwrap();
        a.decrypt(AD, &reply).unwrap();
        let m = a.encrypt(AD, &[chain]).unwrap();
        b.decrypt(AD, &m).unwrap();
        if chain == 4 {
            assert_eq!(b.decrypt(AD, &held[0]).unwrap(), [0xa0, 0]);
        }
    }
    // Chain 5 evicted chain 0 and its kept key: vodozemac takes the message's ratchet key
    // for a new one, and the MAC under the keys that gives fails; the adapter names it.
    let refused = b.decrypt(AD, &held[1]).unwrap_err();
    assert_eq!(refused.class, RejectClass::Replay, "{}", refused.detail);
    assert!(refused.detail.contains("invalid MAC"), "{}", refused.detail);
    // A chain never seen (a normal message of another session) is still a failed MAC.
    let [mut a2, mut b2] = session(&VodozemacOlm);
    b2.decrypt(AD, &a2.encrypt(AD, b"hi").unwrap()).unwrap();
    a2.decrypt(AD, &b2.encrypt(AD, b"hi").unwrap()).unwrap();
    let foreign = a2.encrypt(AD, b"x").unwrap();
    assert_eq!(foreign[0], 1, "a normal message");
    assert_eq!(refusal(b.as_mut(), &foreign), RejectClass::Auth);
}

#[test]
fn olm_refuses_tampering_other_associated_data_and_replays() {
    let [mut a, mut b] = session(&VodozemacOlm);
    let pre_key = a.encrypt(AD, b"pre-key").unwrap();
    let last = pre_key.len() - 1;
    assert_eq!(
        refusal(b.as_mut(), &flip(&pre_key, last)),
        RejectClass::Auth
    );
    let other_ad = b.decrypt(b"other", &pre_key).unwrap_err();
    assert_eq!(other_ad.class, RejectClass::Auth);
    // Neither refusal used up the one-time key or made a session.
    assert_eq!(b.decrypt(AD, &pre_key).unwrap(), b"pre-key");
    assert_eq!(refusal(b.as_mut(), &pre_key), RejectClass::Replay);

    let normal = b.encrypt(AD, b"normal").unwrap();
    let last = normal.len() - 1;
    assert_eq!(refusal(a.as_mut(), &flip(&normal, last)), RejectClass::Auth);
    let other_ad = a.decrypt(b"other", &normal).unwrap_err();
    assert_eq!(other_ad.class, RejectClass::Auth);
    assert_eq!(a.decrypt(AD, &normal).unwrap(), b"normal");
    assert_eq!(refusal(a.as_mut(), &normal), RejectClass::Replay);
}

#[test]
fn olm_refuses_messages_of_another_session() {
    let [mut a, mut b] = session(&VodozemacOlm);
    let [mut a2, mut b2] = session(&VodozemacOlm);
    let foreign_pre_key = a2.encrypt(AD, b"x").unwrap();
    // Before B has a session: the pre-key message names a one-time key B never had.
    assert_eq!(
        refusal(b.as_mut(), &foreign_pre_key),
        RejectClass::UnknownSession
    );
    b.decrypt(AD, &a.encrypt(AD, b"hi").unwrap()).unwrap();
    // After: the pre-key message names another session.
    assert_eq!(
        refusal(b.as_mut(), &foreign_pre_key),
        RejectClass::UnknownSession
    );
    b2.decrypt(AD, &foreign_pre_key).unwrap();
    let foreign_normal = b2.encrypt(AD, b"y").unwrap();
    // A normal message names no session: its unknown ratchet key gives other keys.
    assert_eq!(refusal(a.as_mut(), &foreign_normal), RejectClass::Auth);
    // The refusals changed nothing.
    let reply = b.encrypt(AD, b"reply").unwrap();
    assert_eq!(a.decrypt(AD, &reply).unwrap(), b"reply");
}

#[test]
fn olm_responder_has_no_session_before_a_pre_key_message() {
    let [_a, mut b] = session(&VodozemacOlm);
    let [_a2, mut b2] = session(&VodozemacOlm);
    let [mut a3, mut b3] = session(&VodozemacOlm);
    assert_eq!(
        b.encrypt(AD, b"too early").unwrap_err().class,
        RejectClass::UnknownSession
    );
    b3.decrypt(AD, &a3.encrypt(AD, b"hi").unwrap()).unwrap();
    let normal = b3.encrypt(AD, b"normal").unwrap();
    assert_eq!(refusal(b2.as_mut(), &normal), RejectClass::UnknownSession);
}

#[test]
fn olm_layout_regions_match_vodozemac_and_each_flip_is_refused() {
    let [mut a, mut b] = session(&VodozemacOlm);
    let pre_key = a.encrypt(AD, b"pre-key message").unwrap();
    let l = VodozemacOlm.layout(&pre_key);
    let OlmMessage::PreKey(parsed) = OlmMessage::from_parts(0, &pre_key[1..]).unwrap() else {
        panic!("type byte 0 is a pre-key message");
    };
    assert_eq!(&pre_key[l.body.clone()], parsed.message().ciphertext());
    assert_eq!(l.mac, pre_key.len() - 8..pre_key.len());
    assert_eq!(l.header.start, 0);
    assert_eq!(l.header.end, l.body.start);
    assert_eq!(l.body.end, l.mac.start);
    for at in [
        l.header.start + l.header.len() / 2,
        l.body.start,
        l.mac.start,
    ] {
        assert!(b.decrypt(AD, &flip(&pre_key, at)).is_err(), "flip at {at}");
    }
    assert_eq!(b.decrypt(AD, &pre_key).unwrap(), b"pre-key message");

    let normal = b.encrypt(AD, b"normal message").unwrap();
    let l = VodozemacOlm.layout(&normal);
    let OlmMessage::Normal(parsed) = OlmMessage::from_parts(1, &normal[1..]).unwrap() else {
        panic!("type byte 1 is a normal message");
    };
    assert_eq!(&normal[l.body.clone()], parsed.ciphertext());
    assert_eq!(l.mac, normal.len() - 8..normal.len());
    assert_eq!(l.header, 1..l.body.start);
    let key = l
        .ratchet_key
        .clone()
        .expect("a normal message has its ratchet key");
    assert_eq!(&normal[key], parsed.ratchet_key().as_bytes());
    // The ratchet key (mid-header), the body and the MAC are all authenticated.
    for at in [
        l.header.start + l.header.len() / 2,
        l.body.start,
        l.mac.start,
    ] {
        assert_eq!(refusal(a.as_mut(), &flip(&normal, at)), RejectClass::Auth);
    }
    assert_eq!(a.decrypt(AD, &normal).unwrap(), b"normal message");
}

#[test]
fn megolm_turns_both_ways_out_of_order_and_replays_decrypt() {
    let [mut a, mut b] = session(&VodozemacMegolm);
    // In Megolm both sides can send from the start.
    let early = b.encrypt(AD, b"early").unwrap();
    assert_eq!(a.decrypt(AD, &early).unwrap(), b"early");
    for turn in 0..3u8 {
        let from_a = send(a.as_mut(), 4, 0xa0 + turn);
        for i in [3usize, 0, 2, 1] {
            assert_eq!(b.decrypt(AD, &from_a[i]).unwrap(), [0xa0 + turn, i as u8]);
        }
        let from_b = send(b.as_mut(), 3, 0xb0 + turn);
        for i in [1usize, 2, 0] {
            assert_eq!(a.decrypt(AD, &from_b[i]).unwrap(), [0xb0 + turn, i as u8]);
        }
        // No replay protection in the protocol: a message decrypts again.
        assert_eq!(a.decrypt(AD, &from_b[0]).unwrap(), [0xb0 + turn, 0]);
    }
    // A gap far past any Olm bound, across ratchet part boundaries (2^8, 2^16), then the
    // skipped messages, in any order.
    let gap = send(a.as_mut(), 255, 0xc0);
    let many: Vec<Vec<u8>> = (0..70_000u32)
        .map(|_| a.encrypt(AD, b"far").unwrap())
        .collect();
    assert_eq!(b.decrypt(AD, many.last().unwrap()).unwrap(), b"far");
    assert_eq!(b.decrypt(AD, &gap[7]).unwrap(), [0xc0, 7]);
    assert_eq!(b.decrypt(AD, &many[300]).unwrap(), b"far");
    assert_eq!(b.decrypt(AD, &gap[0]).unwrap(), [0xc0, 0]);
    assert_eq!(VodozemacMegolm.info().limits.max_skip, u32::MAX);
}

#[test]
fn megolm_refuses_tampering_other_associated_data_and_other_sessions() {
    let [mut a, mut b] = session(&VodozemacMegolm);
    let [mut a2, _b2] = session(&VodozemacMegolm);
    let wire = a.encrypt(AD, b"once").unwrap();
    let l = VodozemacMegolm.layout(&wire);
    let parsed = MegolmMessage::from_bytes(&wire).unwrap();
    assert_eq!(&wire[l.body.clone()], parsed.ciphertext());
    assert_eq!(&wire[l.mac.clone()], parsed.mac());
    assert_eq!(l.mac, wire.len() - 72..wire.len() - 64);
    assert_eq!(l.header, 0..l.body.start);
    // Every region is covered by the signature and the MAC; the signature too.
    // Byte 2 is the message index's varint (0 here), so a flip still parses.
    for at in [2, l.body.start, l.body.end - 1, l.mac.start, wire.len() - 1] {
        assert_eq!(
            refusal(b.as_mut(), &flip(&wire, at)),
            RejectClass::Auth,
            "at {at}"
        );
    }
    assert_eq!(
        b.decrypt(b"other", &wire).unwrap_err().class,
        RejectClass::Auth
    );
    // A Megolm message names no session: another session's fails the signature check.
    let foreign = a2.encrypt(AD, b"foreign").unwrap();
    assert_eq!(refusal(b.as_mut(), &foreign), RejectClass::Auth);
    assert_eq!(b.decrypt(AD, &wire).unwrap(), b"once");
    assert_eq!(
        refusal(b.as_mut(), &wire[..wire.len() - 100]),
        RejectClass::Malformed
    );
}

#[test]
fn megolm_responder_needs_the_initiators_key_to_decrypt() {
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (mut b, bundle) = VodozemacMegolm
        .respond(&init, Box::new(rng::stream(2, "B")))
        .unwrap();
    let mut a = VodozemacMegolm
        .initiate(&init, &bundle, Box::new(rng::stream(2, "A")))
        .unwrap();
    let handshake = a
        .handshake()
        .unwrap()
        .expect("Megolm hands over a session key");
    assert_eq!(handshake.len(), 229);
    assert_eq!(a.handshake().unwrap(), None, "handed over once");
    let early = a.encrypt(AD, b"early").unwrap();
    assert_eq!(refusal(b.as_mut(), &early), RejectClass::UnknownSession);
    assert_eq!(
        b.join(&flip(&handshake, 100)).unwrap_err().class,
        RejectClass::Auth
    );
    b.join(&handshake).unwrap();
    assert_eq!(b.decrypt(AD, &early).unwrap(), b"early");
}

#[test]
fn a_normal_build_reports_nothing_weakened_and_no_injectable_rng() {
    for info in [VodozemacOlm.info(), VodozemacMegolm.info()] {
        assert!(
            info.weakened.is_empty(),
            "{}: {:?}",
            info.name,
            info.weakened
        );
        assert!(!info.capabilities.injectable_rng);
    }
    let names =
        ratchet_bench::peers::select(&["vodozemac-olm".into(), "vodozemac-megolm".into()]).unwrap();
    assert_eq!(names.len(), 2);
}

/// `weakened` must tell the truth about the build: empty exactly when vodozemac refuses a
/// flipped MAC. In a normal build that is the usual refusal; built with `--cfg fuzzing`
/// (as cargo fuzz builds) vodozemac accepts the message and the peer must say so.
#[test]
fn weakened_is_said_exactly_when_a_flipped_mac_is_accepted() {
    let [mut a, mut b] = session(&VodozemacOlm);
    b.decrypt(AD, &a.encrypt(AD, b"hi").unwrap()).unwrap();
    let wire = a.encrypt(AD, b"flipped").unwrap();
    let forged = flip(&wire, wire.len() - 1);
    let accepted = b.decrypt(AD, &forged).is_ok();
    for info in [VodozemacOlm.info(), VodozemacMegolm.info()] {
        assert_eq!(!info.weakened.is_empty(), accepted, "{}", info.name);
    }
    let [mut a, mut b] = session(&VodozemacMegolm);
    let wire = a.encrypt(AD, b"flipped").unwrap();
    let mac_start = VodozemacMegolm.layout(&wire).mac.start;
    assert_eq!(b.decrypt(AD, &flip(&wire, mac_start)).is_ok(), accepted);
}

/// vodozemac checks an Olm MAC and a Megolm signature and MAC over a re-encoding of the
/// fields it parsed (`to_mac_bytes` / `to_signature_bytes` in its `messages/message.rs` and
/// `megolm/message.rs`), not over the bytes received. So a change that parses to the same
/// fields is accepted: here a field's tag turned into an unknown tag (which the protobuf
/// decoder skips) where the field held its default, 0. libolm authenticates the bytes as
/// received. Pinned so that a vodozemac release that changes this shows up; the campaign
/// reports it as an accepted malleation.
#[test]
fn vodozemac_authenticates_a_re_encoding_so_an_index_0_tag_flip_is_accepted() {
    let [mut a, mut b] = session(&VodozemacMegolm);
    let wire = a.encrypt(AD, b"index 0").unwrap();
    assert_eq!(wire[1..3], [0x08, 0x00], "message index: field 1, varint 0");
    let mut malleated = wire.clone();
    malleated[1] = 0x48; // field 9, varint: unknown
    assert_eq!(b.decrypt(AD, &malleated).unwrap(), b"index 0");
    let next = a.encrypt(AD, b"index 1").unwrap();
    let mut malleated = next.clone();
    malleated[1] = 0x48; // the index now reads as 0: other keys, other signed bytes
    assert_eq!(refusal(b.as_mut(), &malleated), RejectClass::Auth);

    let [mut a, mut b] = session(&VodozemacOlm);
    b.decrypt(AD, &a.encrypt(AD, b"hi").unwrap()).unwrap();
    let wire = b.encrypt(AD, b"chain index 0").unwrap();
    let at = VodozemacOlm.layout(&wire).ratchet_key.unwrap().end;
    assert_eq!(
        wire[at..at + 2],
        [0x10, 0x00],
        "chain index: field 2, varint 0"
    );
    let mut malleated = wire.clone();
    malleated[at] = 0x50; // field 10, varint: unknown
    assert_eq!(a.decrypt(AD, &malleated).unwrap(), b"chain index 0");
    assert_eq!(refusal(a.as_mut(), &wire), RejectClass::Replay);
}
