//! Known answers from libsignal itself: a session recorded with libsignal-client 0.72.1
//! (`data/libsignal-0.72.1-session.json`) and XEdDSA signatures it made
//! (`data/libsignal-0.72.1-xeddsa.json`); each file's `about` says how it was made.
//!
//! Session file schema: `bob` holds Bob's private keys, ids and the bytes the bench's
//! `signal-v3` order of draws turns into the ids, his bundle (the bench's fixed layout with
//! libsignal's signature) and the sending ratchet private keys libsignal drew for him;
//! `events` is Bob's side in order: `decrypt` (a message from libsignal's Alice, as Bob
//! received it) or `encrypt` (a message libsignal's Bob sent), each with its associated
//! data and plaintext.
//!
//! Verification: the reference is built as Bob from exactly the bytes Bob's keys come from,
//! in the order [`Party::respond`] draws them (its signature's Z is arbitrary: the bundle
//! must then equal libsignal's but for the signature, and both signatures verify), then
//! replays every event: each received message must decrypt to its plaintext, each sent one
//! must encrypt to libsignal's bytes but for the version byte (`33` here, `34` from
//! libsignal 0.72) and, with it, the MAC; libsignal's ratchet keys must be drawn exactly at
//! the events that started a receiving chain, and nothing else drawn. Every single-bit
//! change of every received message is refused with the state unchanged (its export
//! byte-identical), except those inside a pre-key message's registration id, which nothing
//! authenticates (see `pre_key_signal_message`): those decrypt to the same plaintext.

use super::common::{replay, seeded};
use crate::signal_v3::{keys::PublicKey, wire, xeddsa, Party, PRE_KEY_TYPE};
use serde::Deserialize;

#[derive(Deserialize)]
struct Recording {
    about: Vec<String>,
    version: String,
    bob: Bob,
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Bob {
    identity_private: String,
    identity_public: String,
    registration_id: u32,
    registration_id_draw: String,
    signed_pre_key_id: u32,
    signed_pre_key_id_draw: String,
    signed_pre_key_private: String,
    signed_pre_key_public: String,
    signed_pre_key_signature: String,
    one_time_pre_key_id: u32,
    one_time_pre_key_id_draw: String,
    one_time_pre_key_private: String,
    bundle: String,
    ratchet_private_keys: Vec<String>,
}

#[derive(Deserialize)]
struct Event {
    op: String,
    name: String,
    ad: String,
    plaintext: String,
    wire: String,
    #[serde(default)]
    draws_ratchet_key: bool,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn recording() -> Recording {
    let r: Recording =
        serde_json::from_str(include_str!("data/libsignal-0.72.1-session.json")).unwrap();
    assert!(
        r.about[0].contains("libsignal-client 0.72.1"),
        "{}",
        r.about[0]
    );
    assert_eq!(r.version, "0.72.1");
    r
}

/// Bob's draws in [`Party::respond`]'s order, Z being 64 zero bytes.
fn bob_respond_draws(b: &Bob) -> Vec<u8> {
    [
        unhex(&b.identity_private),
        unhex(&b.registration_id_draw),
        unhex(&b.signed_pre_key_id_draw),
        unhex(&b.signed_pre_key_private),
        vec![0; 64],
        unhex(&b.one_time_pre_key_id_draw),
        unhex(&b.one_time_pre_key_private),
    ]
    .concat()
}

#[test]
fn the_reference_as_bob_replays_libsignals_session() {
    let r = recording();
    let b = &r.bob;
    let mut draws = bob_respond_draws(b);
    for k in &b.ratchet_private_keys {
        draws.extend(unhex(k));
    }
    let (rng, left) = replay(draws);
    let (mut bob, bundle) = Party::respond(rng);

    // The bundle: libsignal's but for the signature (ours has another Z); both verify.
    let recorded = unhex(&b.bundle);
    assert_eq!(bundle.len(), 180);
    assert_eq!(hex::encode(&bundle[..78]), hex::encode(&recorded[..78]));
    assert_eq!(hex::encode(&bundle[142..]), hex::encode(&recorded[142..]));
    assert_eq!(
        hex::encode(bob.identity_key().serialize()),
        b.identity_public
    );
    assert_eq!(bob.registration_id(), b.registration_id);
    assert_eq!(
        u32::from_be_bytes(bundle[41..45].try_into().unwrap()),
        b.signed_pre_key_id
    );
    assert_eq!(hex::encode(&bundle[45..78]), b.signed_pre_key_public);
    assert_eq!(
        u32::from_be_bytes(bundle[143..147].try_into().unwrap()),
        b.one_time_pre_key_id
    );
    let identity = PublicKey::deserialize("identity", &unhex(&b.identity_public)).unwrap();
    let theirs: [u8; 64] = unhex(&b.signed_pre_key_signature).try_into().unwrap();
    assert!(xeddsa::verify(
        &identity,
        &unhex(&b.signed_pre_key_public),
        &theirs
    ));
    assert!(xeddsa::verify(
        &identity,
        &bundle[45..78],
        bundle[78..142].try_into().unwrap()
    ));

    let mut ratchet_keys_left = b.ratchet_private_keys.len();
    for e in &r.events {
        let (ad, plaintext, theirs) = (unhex(&e.ad), unhex(&e.plaintext), unhex(&e.wire));
        match e.op.as_str() {
            "decrypt" => {
                let got = bob
                    .decrypt(&ad, &theirs)
                    .unwrap_or_else(|err| panic!("{}: {err}", e.name));
                assert_eq!(got, plaintext, "{}", e.name);
                if e.draws_ratchet_key {
                    ratchet_keys_left -= 1;
                }
            }
            "encrypt" => {
                let ours = bob.encrypt(&ad, &plaintext).unwrap();
                assert_eq!(ours.len(), theirs.len(), "{}", e.name);
                assert_eq!(
                    (ours[0], ours[1], theirs[1]),
                    (theirs[0], 0x33, 0x34),
                    "{}",
                    e.name
                );
                let end = ours.len() - 8;
                assert_eq!(
                    hex::encode(&ours[2..end]),
                    hex::encode(&theirs[2..end]),
                    "{}",
                    e.name
                );
            }
            op => panic!("unknown op {op}"),
        }
        assert_eq!(
            left.lock().unwrap().len(),
            32 * ratchet_keys_left,
            "after {}: ratchet keys drawn exactly when a chain starts",
            e.name
        );
    }
    assert!(left.lock().unwrap().is_empty());
}

#[test]
fn every_bit_flip_of_libsignals_messages_is_refused_with_the_state_unchanged() {
    let r = recording();
    let b = &r.bob;
    let mut draws = bob_respond_draws(b);
    for k in &b.ratchet_private_keys {
        draws.extend(unhex(k));
    }
    let (mut bob, _) = Party::respond(replay(draws).0);
    let mut accepted_registration_id_flips = 0;
    let mut pre_key_messages = 0;
    for e in &r.events {
        let (ad, plaintext, wire_bytes) = (unhex(&e.ad), unhex(&e.plaintext), unhex(&e.wire));
        if e.op == "encrypt" {
            bob.encrypt(&ad, &plaintext).unwrap();
            continue;
        }
        let before = bob.export_state();
        // The registration id's value bytes in a pre-key message (outer field 5).
        let registration_id = (wire_bytes[0] == PRE_KEY_TYPE).then(|| {
            pre_key_messages += 1;
            let m = crate::signal_v3::pre_key_signal_message::PreKeySignalMessage::parse(
                &wire_bytes[1..],
            )
            .unwrap();
            let f = m
                .fields()
                .iter()
                .find(|f| f.number == 5)
                .unwrap()
                .value
                .clone();
            f.start + 1..f.end + 1
        });
        let mut copy = Party::restore(&before, seeded(1)).unwrap();
        for i in 0..wire_bytes.len() {
            for bit in 0..8 {
                let mut flipped = wire_bytes.clone();
                flipped[i] ^= 1 << bit;
                match copy.decrypt(&ad, &flipped) {
                    Err(_) => {
                        assert_eq!(copy.export_state(), before, "{} byte {i} bit {bit}", e.name)
                    }
                    Ok(got) => {
                        assert!(
                            registration_id.as_ref().is_some_and(|r| r.contains(&i)),
                            "{}: byte {i} bit {bit} accepted outside the registration id",
                            e.name
                        );
                        assert_eq!(got, plaintext);
                        accepted_registration_id_flips += 1;
                        copy = Party::restore(&before, seeded(1)).unwrap();
                    }
                }
            }
        }
        // Other associated data is refused too, and so is the message cut or extended.
        assert!(copy.decrypt(b"other", &wire_bytes).is_err());
        assert!(copy
            .decrypt(&ad, &wire_bytes[..wire_bytes.len() - 1])
            .is_err());
        assert!(copy
            .decrypt(&ad, &[wire_bytes.as_slice(), &[0]].concat())
            .is_err());
        assert_eq!(copy.export_state(), before, "{}", e.name);
        assert_eq!(
            bob.decrypt(&ad, &wire_bytes).unwrap(),
            plaintext,
            "{}",
            e.name
        );
        // The layout names the regions of libsignal's bytes.
        let l = wire::layout(&wire_bytes).unwrap();
        assert_eq!(l.mac.len(), 8);
        assert_eq!(l.ratchet_key.len(), 33);
        assert_eq!(wire_bytes[l.ratchet_key.start], 0x05);
    }
    // Alice's registration id 5000 is the varint `88 27`: the low seven bits of either byte
    // flip to another id (none leaves a zero last byte, which would be non-minimal); a flip
    // of either continuation bit breaks the framing.
    assert_eq!(pre_key_messages, 3);
    assert_eq!(accepted_registration_id_flips, 14 * pre_key_messages);
}

#[derive(Deserialize)]
struct Signatures {
    about: Vec<String>,
    version: String,
    signatures: Vec<Signature>,
}

#[derive(Deserialize)]
struct Signature {
    private: String,
    public: String,
    message: String,
    signature: String,
}

#[test]
fn libsignals_xeddsa_signatures_verify_here() {
    let s: Signatures =
        serde_json::from_str(include_str!("data/libsignal-0.72.1-xeddsa.json")).unwrap();
    assert!(s.about[0].contains("libsignal-client 0.72.1"));
    assert_eq!(s.version, "0.72.1");
    assert_eq!(s.signatures.len(), 40);
    let mut sign_bits = 0;
    for sig in &s.signatures {
        let private =
            crate::signal_v3::keys::PrivateKey::from_bytes(unhex(&sig.private).try_into().unwrap());
        assert_eq!(hex::encode(private.public_key().serialize()), sig.public);
        let public = PublicKey::deserialize("public", &unhex(&sig.public)).unwrap();
        let message = unhex(&sig.message);
        let signature: [u8; 64] = unhex(&sig.signature).try_into().unwrap();
        sign_bits += usize::from(signature[63] >> 7);
        assert!(xeddsa::is_canonical(&signature));
        assert!(
            xeddsa::verify(&public, &message, &signature),
            "{}",
            sig.signature
        );
        let mut other = message.clone();
        other.push(0);
        assert!(!xeddsa::verify(&public, &other, &signature));
        // Ours with the same key and message verifies (the Z differs, so the bytes do).
        let ours = xeddsa::sign(&private, &message, &[7; 64]);
        assert!(xeddsa::verify(&public, &message, &ours));
    }
    assert!(
        sign_bits > 0 && sign_bits < s.signatures.len(),
        "both sign bits are exercised"
    );
}
