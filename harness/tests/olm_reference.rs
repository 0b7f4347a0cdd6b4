//! The reference Olm and Megolm against vodozemac 0.11.1, an independent implementation,
//! talking directly through vodozemac's public API: every known answer here comes from
//! vodozemac decrypting what the reference made, or the reference decrypting what
//! vodozemac made. Then the two reference peers through the bench's `Peer` trait, with
//! vodozemac's peers on the other side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratchet_bench::peer::{Peer, RejectClass, SessionInit};
use ratchet_bench::peers::{ReferenceMegolm, ReferenceOlm, VodozemacMegolm, VodozemacOlm};
use ratchet_bench::reference::megolm::{InboundSession, MegolmError, OutboundSession};
use ratchet_bench::reference::olm::{Account, MessageType, OlmError, Session};
use ratchet_bench::rng::stream;
use vodozemac::megolm::{
    GroupSession, GroupSessionPickle, InboundGroupSession, MegolmMessage, SessionKey,
};
use vodozemac::olm::{self as vz, OlmMessage};
use vodozemac::Curve25519PublicKey;

fn olm_config() -> vz::SessionConfig {
    vz::SessionConfig::version_1()
}

fn megolm_config() -> vodozemac::megolm::SessionConfig {
    vodozemac::megolm::SessionConfig::version_1()
}

/// The reference's message as a vodozemac `OlmMessage`.
fn to_vz(message_type: MessageType, bytes: &[u8]) -> OlmMessage {
    OlmMessage::from_parts(message_type as usize, bytes)
        .expect("vodozemac reads the reference's message")
}

/// A vodozemac message as the reference's type and bytes.
fn from_vz(message: &OlmMessage) -> (MessageType, Vec<u8>) {
    let (t, bytes) = message.to_parts();
    let t = match t {
        0 => MessageType::PreKey,
        1 => MessageType::Normal,
        other => panic!("vodozemac message type {other}"),
    };
    (t, bytes)
}

/// Several turns with out-of-order delivery within the limits: each side sends `n`
/// messages per turn and the other reads them in a shuffled order.
fn converse(reference: &mut Session, vodozemac: &mut vz::Session, turns: usize) {
    let mut rng = stream(77, "olm turns");
    let orders: [&[usize]; 3] = [&[3, 0, 2, 1, 4], &[4, 3, 2, 1, 0], &[1, 0, 3, 4, 2]];
    for turn in 0..turns {
        let order = orders[turn % orders.len()];
        // vodozemac -> reference.
        let sent: Vec<_> = (0..order.len())
            .map(|i| vodozemac.encrypt(format!("v{turn}.{i}")).unwrap())
            .collect();
        for &i in order {
            let (t, bytes) = from_vz(&sent[i]);
            assert_eq!(t, MessageType::Normal);
            let plaintext = reference.decrypt(t, &bytes).unwrap();
            assert_eq!(plaintext, format!("v{turn}.{i}").as_bytes());
        }
        // reference -> vodozemac: normal messages now that the reference has heard back.
        let sent: Vec<_> = (0..order.len())
            .map(|i| {
                reference
                    .encrypt(format!("r{turn}.{i}").as_bytes(), &mut rng)
                    .unwrap()
            })
            .collect();
        for &i in order {
            let (t, bytes) = &sent[i];
            assert_eq!(*t, MessageType::Normal);
            let plaintext = vodozemac.decrypt(&to_vz(*t, bytes)).unwrap();
            assert_eq!(plaintext, format!("r{turn}.{i}").as_bytes());
        }
    }
}

#[test]
fn reference_initiator_makes_a_vodozemac_inbound_session_and_they_ratchet() {
    let mut rng = stream(1, "olm initiator");
    let mut bob = vz::Account::new();
    let otk = *bob.generate_one_time_keys(1).created.first().unwrap();
    bob.mark_keys_as_published();

    let alice = Account::new(&mut rng);
    let mut alice_session =
        alice.create_outbound_session(&bob.curve25519_key().to_bytes(), &otk.to_bytes(), &mut rng);

    // Pre-key messages until Alice hears from Bob; the first one makes Bob's session.
    let (t0, m0) = alice_session.encrypt(b"first", &mut rng).unwrap();
    let (t1, m1) = alice_session.encrypt(b"second", &mut rng).unwrap();
    assert_eq!((t0, t1), (MessageType::PreKey, MessageType::PreKey));
    let OlmMessage::PreKey(pre_key) = to_vz(t1, &m1) else {
        panic!("expected a pre-key message")
    };
    assert_eq!(pre_key.identity_key().to_bytes(), alice.curve25519_key());
    // Delivered out of order: the second pre-key message creates the session.
    let created = bob
        .create_inbound_session(olm_config(), pre_key.identity_key(), &pre_key)
        .unwrap();
    assert_eq!(created.plaintext, b"second");
    let mut bob_session = created.session;
    assert_eq!(bob_session.decrypt(&to_vz(t0, &m0)).unwrap(), b"first");
    assert_eq!(
        hex::encode(alice_session.session_id()),
        hex::encode(vodozemac::base64_decode(bob_session.session_id()).unwrap()),
        "libolm's session id, SHA-256 of the three keys"
    );

    let reply = bob_session.encrypt("reply").unwrap();
    let (t, bytes) = from_vz(&reply);
    assert_eq!(alice_session.decrypt(t, &bytes).unwrap(), b"reply");
    assert_eq!(alice_session.encrypt_message_type(), MessageType::Normal);
    converse(&mut alice_session, &mut bob_session, 6);
}

#[test]
fn vodozemac_initiator_makes_a_reference_inbound_session_and_they_ratchet() {
    let mut rng = stream(2, "olm responder");
    let mut bob = Account::new(&mut rng);
    let otk = bob.generate_one_time_keys(1, &mut rng)[0];

    let alice = vz::Account::new();
    let mut alice_session = alice
        .create_outbound_session(
            olm_config(),
            Curve25519PublicKey::from_bytes(bob.curve25519_key()),
            Curve25519PublicKey::from_bytes(otk),
        )
        .unwrap();
    let first = from_vz(&alice_session.encrypt("first").unwrap());
    let second = from_vz(&alice_session.encrypt("second").unwrap());
    assert_eq!(first.0, MessageType::PreKey);

    // A forged first message makes no session and keeps the one-time key.
    let mut forged = first.1.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert_eq!(
        bob.create_inbound_session(&forged).unwrap_err(),
        OlmError::BadMac
    );
    assert_eq!(bob.one_time_keys(), vec![otk]);

    let (mut bob_session, plaintext) = bob.create_inbound_session(&first.1).unwrap();
    assert_eq!(plaintext, b"first");
    assert!(
        bob.one_time_keys().is_empty(),
        "the used one-time key is removed"
    );
    assert_eq!(bob_session.decrypt(second.0, &second.1).unwrap(), b"second");
    // A replayed pre-key message is a used key now.
    assert_eq!(
        bob_session.decrypt(first.0, &first.1).unwrap_err(),
        OlmError::Replay { index: 0 }
    );

    // Bob answers; then several turns, with vodozemac as "alice" in `converse` roles
    // swapped: the reference is the side that reads first in each turn.
    let (t, reply) = bob_session.encrypt(b"reply", &mut rng).unwrap();
    assert_eq!(t, MessageType::Normal);
    assert_eq!(alice_session.decrypt(&to_vz(t, &reply)).unwrap(), b"reply");
    converse(&mut bob_session, &mut alice_session, 6);
}

#[test]
fn the_reference_takes_vodozemac_gaps_up_to_2000_and_refuses_2001() {
    let mut rng = stream(3, "olm gap");
    let mut bob = Account::new(&mut rng);
    let otk = bob.generate_one_time_keys(1, &mut rng)[0];
    let alice = vz::Account::new();
    let mut alice_session = alice
        .create_outbound_session(
            olm_config(),
            Curve25519PublicKey::from_bytes(bob.curve25519_key()),
            Curve25519PublicKey::from_bytes(otk),
        )
        .unwrap();
    let first = from_vz(&alice_session.encrypt("0").unwrap());
    let (mut bob_session, _) = bob.create_inbound_session(&first.1).unwrap();
    let later: Vec<_> = (1..=2002)
        .map(|i| from_vz(&alice_session.encrypt(i.to_string()).unwrap()))
        .collect();
    // Bob expects index 1 next; index 2002 (later[2001]) is 2001 ahead.
    let mut refused = bob_session.clone();
    let (t, m) = &later[2001];
    assert!(matches!(
        refused.decrypt(*t, m).unwrap_err(),
        OlmError::TooFarAhead {
            gap: 2001,
            max: 2000
        }
    ));
    // Index 2001 is exactly 2000 ahead: taken.
    let (t, m) = &later[2000];
    assert_eq!(bob_session.decrypt(*t, m).unwrap(), b"2001");
    // 40 skipped keys in all are kept (libolm's bound): index 1961 ..= 2000.
    let (t, m) = &later[1960];
    assert_eq!(bob_session.decrypt(*t, m).unwrap(), b"1961");
    let (t, m) = &later[1959];
    assert_eq!(
        bob_session.decrypt(*t, m).unwrap_err(),
        OlmError::Replay { index: 1960 }
    );
}

#[test]
fn reference_megolm_session_key_imports_into_vodozemac_including_far_jumps() {
    let mut rng = stream(4, "megolm outbound");
    let mut outbound = OutboundSession::new(&mut rng);
    let key = outbound.session_key();
    assert_eq!(key.0.len(), 229);
    let mut inbound =
        InboundGroupSession::new(&SessionKey::from_bytes(&key.0).unwrap(), megolm_config());
    assert_eq!(inbound.first_known_index(), 0);

    let m0 = outbound.encrypt(b"zero");
    let m1 = outbound.encrypt(b"one");
    // Out of order, and again (Megolm keeps the first ratchet).
    for (m, index, plaintext) in [(&m1, 1, "one"), (&m0, 0, "zero"), (&m1, 1, "one")] {
        let d = inbound
            .decrypt(&MegolmMessage::from_bytes(m).unwrap())
            .unwrap();
        assert_eq!(
            (d.message_index, d.plaintext.as_slice()),
            (index, plaintext.as_bytes())
        );
    }
    for index in [
        1000u32,
        (1 << 16) + 3,
        (1 << 24) + 5,
        (3 << 24) + (7 << 16) + (11 << 8) + 13,
    ] {
        outbound.advance_to_for_testing_only(index);
        let m = outbound.encrypt(index.to_string().as_bytes());
        let d = inbound
            .decrypt(&MegolmMessage::from_bytes(&m).unwrap())
            .unwrap();
        assert_eq!(d.message_index, index);
        assert_eq!(d.plaintext, index.to_string().as_bytes());
        // A fresh vodozemac session jumps there straight from index 0.
        let mut fresh =
            InboundGroupSession::new(&SessionKey::from_bytes(&key.0).unwrap(), megolm_config());
        assert_eq!(
            fresh
                .decrypt(&MegolmMessage::from_bytes(&m).unwrap())
                .unwrap()
                .plaintext,
            index.to_string().as_bytes()
        );
    }
    // A session key exported later starts there.
    let later = outbound.session_key();
    let late =
        InboundGroupSession::new(&SessionKey::from_bytes(&later.0).unwrap(), megolm_config());
    assert_eq!(late.first_known_index(), outbound.message_index());
}

/// A vodozemac outbound session moved to `index` by vodozemac itself: `inbound` (vodozemac's
/// inbound copy at index 0)
/// exports the ratchet at `index`, which goes into a pickle of the outbound session.
fn vodozemac_outbound_at(
    outbound: &GroupSession,
    inbound: &mut InboundGroupSession,
    index: u32,
) -> GroupSession {
    let exported = inbound.export_at(index).unwrap().to_bytes();
    // Export format: version 1, index (4, big endian), R_i (128), Ed25519 key (32).
    assert_eq!(exported[1..5], index.to_be_bytes());
    let mut pickle = serde_json::to_value(outbound.pickle()).unwrap();
    pickle["ratchet"]["inner"] = serde_json::json!(exported[5..133].to_vec());
    pickle["ratchet"]["counter"] = serde_json::json!(index);
    let pickle: GroupSessionPickle = serde_json::from_value(pickle).unwrap();
    GroupSession::from_pickle(pickle)
}

#[test]
fn vodozemac_megolm_session_key_imports_into_the_reference_including_far_jumps() {
    let mut outbound = GroupSession::new(megolm_config());
    let key = outbound.session_key().to_bytes();
    let mut inbound = InboundSession::import(&key).unwrap();
    // vodozemac's own inbound copy at index 0, to move the outbound session with.
    let mut mover =
        InboundGroupSession::new(&SessionKey::from_bytes(&key).unwrap(), megolm_config());
    assert_eq!(inbound.first_known_index(), 0);

    let m0 = outbound.encrypt("zero").to_bytes();
    let m1 = outbound.encrypt("one").to_bytes();
    assert_eq!(inbound.decrypt(&m1).unwrap(), (b"one".to_vec(), 1));
    assert_eq!(inbound.decrypt(&m0).unwrap(), (b"zero".to_vec(), 0));
    assert_eq!(inbound.decrypt(&m1).unwrap(), (b"one".to_vec(), 1));

    for index in [
        1000u32,
        (1 << 16) + 3,
        (1 << 24) + 5,
        (3 << 24) + (7 << 16) + (11 << 8) + 13,
    ] {
        let mut far = vodozemac_outbound_at(&outbound, &mut mover, index);
        let m = far.encrypt(index.to_string()).to_bytes();
        assert_eq!(
            inbound.decrypt(&m).unwrap(),
            (index.to_string().into_bytes(), index)
        );
        let mut fresh = InboundSession::import(&key).unwrap();
        assert_eq!(fresh.decrypt(&m).unwrap().1, index);
    }
    // Earlier indices still decrypt after the far ones.
    assert_eq!(inbound.decrypt(&m0).unwrap().1, 0);

    // A tampered session key or message is refused, naming why.
    let mut bad_key = key.clone();
    bad_key[10] ^= 1;
    assert_eq!(
        InboundSession::import(&bad_key).unwrap_err(),
        MegolmError::BadSignature("session key")
    );
    let mut bad = m0.clone();
    bad[5] ^= 1;
    assert_eq!(
        inbound.decrypt(&bad).unwrap_err(),
        MegolmError::BadSignature("message")
    );
    // A session key exported at index 1 cannot decrypt index 0.
    let mut late = InboundSession::import(
        &vodozemac_outbound_at(&outbound, &mut mover, 1)
            .session_key()
            .to_bytes(),
    )
    .unwrap();
    assert_eq!(
        late.decrypt(&m0).unwrap_err(),
        MegolmError::UnknownIndex { first: 1, index: 0 }
    );
    assert_eq!(late.decrypt(&m1).unwrap().1, 1);
}

fn init() -> SessionInit {
    SessionInit {
        shared_secret: [0; 32],
    }
}

#[test]
fn reference_olm_peer_interoperates_with_the_vodozemac_peer_both_ways() {
    for (responder, initiator) in [
        (&ReferenceOlm as &dyn Peer, &VodozemacOlm as &dyn Peer),
        (&VodozemacOlm, &ReferenceOlm),
        (&ReferenceOlm, &ReferenceOlm),
    ] {
        let (mut bob, bundle) = responder
            .respond(&init(), Box::new(stream(5, "B")))
            .unwrap();
        let mut alice = initiator
            .initiate(&init(), &bundle, Box::new(stream(5, "A")))
            .unwrap();
        assert_eq!(alice.handshake().unwrap(), None);
        let names = (responder.info().name, initiator.info().name);
        if names.0 == "reference-olm" {
            assert_eq!(
                bob.encrypt(b"ad", b"early").unwrap_err().class,
                RejectClass::UnknownSession,
                "{names:?}"
            );
        }
        let w0 = alice.encrypt(b"ad", b"a0").unwrap();
        let w1 = alice.encrypt(b"ad", b"a1").unwrap();
        assert_eq!(w0[0], 0, "pre-key messages first");
        // Other associated data is refused and changes nothing.
        assert_eq!(
            bob.decrypt(b"other", &w1).unwrap_err().class,
            RejectClass::Auth
        );
        assert_eq!(bob.decrypt(b"ad", &w1).unwrap(), b"a1", "{names:?}");
        assert_eq!(bob.decrypt(b"ad", &w0).unwrap(), b"a0", "{names:?}");
        for turn in 0..4 {
            let b = bob.encrypt(b"ad", format!("b{turn}").as_bytes()).unwrap();
            assert_eq!(b[0], 1);
            assert_eq!(
                alice.decrypt(b"ad", &b).unwrap(),
                format!("b{turn}").as_bytes()
            );
            let a = alice.encrypt(b"ad", format!("a{turn}").as_bytes()).unwrap();
            assert_eq!(a[0], 1, "normal messages after hearing back");
            assert_eq!(
                bob.decrypt(b"ad", &a).unwrap(),
                format!("a{turn}").as_bytes()
            );
        }
    }
}

#[test]
fn reference_olm_peer_is_deterministic_from_its_seed() {
    let run = || {
        let (mut bob, bundle) = ReferenceOlm
            .respond(&init(), Box::new(stream(6, "B")))
            .unwrap();
        let mut alice = ReferenceOlm
            .initiate(&init(), &bundle, Box::new(stream(6, "A")))
            .unwrap();
        let a = alice.encrypt(b"", b"x").unwrap();
        bob.decrypt(b"", &a).unwrap();
        let b = bob.encrypt(b"", b"y").unwrap();
        (bundle, a, b)
    };
    assert_eq!(run(), run());
}

#[test]
fn reference_olm_responder_refuses_a_normal_message_before_any_session() {
    let (mut bob, _) = ReferenceOlm
        .respond(&init(), Box::new(stream(7, "B")))
        .unwrap();
    let err = bob
        .decrypt(b"", &[1, 3, 0, 0, 0, 0, 0, 0, 0, 0])
        .unwrap_err();
    assert_eq!(err.class, RejectClass::UnknownSession);
}

#[test]
fn reference_megolm_peer_interoperates_with_the_vodozemac_peer_both_ways() {
    for (responder, initiator) in [
        (&ReferenceMegolm as &dyn Peer, &VodozemacMegolm as &dyn Peer),
        (&VodozemacMegolm, &ReferenceMegolm),
        (&ReferenceMegolm, &ReferenceMegolm),
    ] {
        let (mut bob, bundle) = responder
            .respond(&init(), Box::new(stream(8, "B")))
            .unwrap();
        assert_eq!(bundle.len(), 229);
        let mut alice = initiator
            .initiate(&init(), &bundle, Box::new(stream(8, "A")))
            .unwrap();
        let handshake = alice.handshake().unwrap().unwrap();
        let early = alice.encrypt(b"ad", b"before join").unwrap();
        assert_eq!(
            bob.decrypt(b"ad", &early).unwrap_err().class,
            RejectClass::UnknownSession
        );
        bob.join(&handshake).unwrap();
        assert_eq!(bob.decrypt(b"ad", &early).unwrap(), b"before join");
        let b0 = bob.encrypt(b"ad", b"b0").unwrap();
        let b1 = bob.encrypt(b"ad", b"b1").unwrap();
        assert_eq!(alice.decrypt(b"ad", &b1).unwrap(), b"b1");
        assert_eq!(
            alice.decrypt(b"x", &b0).unwrap_err().class,
            RejectClass::Auth
        );
        assert_eq!(alice.decrypt(b"ad", &b0).unwrap(), b"b0");
    }
}

/// Same seeds, same bytes: the reference draws its randomness where libolm's C API does,
/// so the libolm peer (libolm 3.2.7 itself) must produce the reference's wire bytes.
#[cfg(feature = "libolm")]
#[test]
fn reference_and_libolm_peers_write_the_same_bytes_from_one_seed() {
    use ratchet_bench::peers::{LibolmMegolm, LibolmOlm};
    let run = |peer: &dyn Peer| {
        let (mut bob, bundle) = peer.respond(&init(), Box::new(stream(9, "B"))).unwrap();
        let mut alice = peer
            .initiate(&init(), &bundle, Box::new(stream(9, "A")))
            .unwrap();
        let mut wire = vec![bundle];
        if let Some(h) = alice.handshake().unwrap() {
            bob.join(&h).unwrap();
            wire.push(h);
        }
        for turn in 0..3 {
            let a = alice.encrypt(b"ad", format!("a{turn}").as_bytes()).unwrap();
            let a2 = alice.encrypt(b"ad", b"again").unwrap();
            bob.decrypt(b"ad", &a2).unwrap();
            bob.decrypt(b"ad", &a).unwrap();
            let b = bob.encrypt(b"ad", format!("b{turn}").as_bytes()).unwrap();
            alice.decrypt(b"ad", &b).unwrap();
            wire.extend([a, a2, b]);
        }
        wire
    };
    for (reference, libolm) in [
        (&ReferenceOlm as &dyn Peer, &LibolmOlm as &dyn Peer),
        (&ReferenceMegolm, &LibolmMegolm),
    ] {
        let (ours, theirs) = (run(reference), run(libolm));
        assert_eq!(ours.len(), theirs.len());
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                hex::encode(o),
                hex::encode(t),
                "{} item {i}",
                reference.info().name
            );
        }
    }
}

#[test]
fn reference_olm_responder_refuses_a_pre_key_message_of_another_session() {
    let (mut bob, bundle) = ReferenceOlm
        .respond(&init(), Box::new(stream(10, "B")))
        .unwrap();
    let mut alice = ReferenceOlm
        .initiate(&init(), &bundle, Box::new(stream(10, "A")))
        .unwrap();
    let mut other = ReferenceOlm
        .initiate(&init(), &bundle, Box::new(stream(10, "C")))
        .unwrap();
    let theirs = other.encrypt(b"", b"other").unwrap();
    let ours = alice.encrypt(b"", b"mine").unwrap();
    assert_eq!(bob.decrypt(b"", &ours).unwrap(), b"mine");
    // Same one-time key, another base key: not this session, and the key is used.
    assert_eq!(
        bob.decrypt(b"", &theirs).unwrap_err().class,
        RejectClass::UnknownSession
    );
    let again = alice.encrypt(b"", b"still mine").unwrap();
    assert_eq!(again[0], 0, "still pre-key: Alice has not heard back");
    assert_eq!(bob.decrypt(b"", &again).unwrap(), b"still mine");
}
