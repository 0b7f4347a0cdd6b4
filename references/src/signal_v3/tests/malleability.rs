//! Re-encodings of a pre-key message's outer part that libsignal 0.72.1 accepts (each one
//! checked on libsignal-client 0.72.1 when the reference was written: it decrypted every one
//! of them to the genuine plaintext), delivered to the reference: it refuses all of them
//! naming the field, but for the two that nothing can bind, the registration id's value and
//! the version byte `34` (see `pre_key_signal_message`). Also libsignal's acceptance of a
//! second pre-key message naming another one-time pre-key, which the reference refuses.

use super::common::{pair, seeded};
use crate::signal_v3::protobuf::{put_bytes, put_uint32, put_varint, read_fields, Field};
use crate::signal_v3::{ErrorClass, Party, SignalV3Error};

/// A fresh responder and the first pre-key message of a session with it.
fn setting() -> (Party, Vec<u8>) {
    let (mut alice, bob) = pair(50);
    let wire = alice.encrypt(b"ad", b"pt").unwrap();
    (bob, wire)
}

/// The outer fields of a pre-key wire message (type byte, version byte, protobuf).
fn outer(wire: &[u8]) -> Vec<Field> {
    read_fields(&wire[2..], 2, "test").unwrap()
}

fn rebuild(wire: &[u8], fields: &[Field], replace: &dyn Fn(&Field) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut out = wire[..2].to_vec();
    for f in fields {
        match replace(f) {
            Some(bytes) => out.extend(bytes),
            None => out.extend_from_slice(&wire[f.range.clone()]),
        }
    }
    out
}

fn key_with(wire: &[u8], f: &Field, number: u32, change: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut key = wire[f.value.clone()].to_vec();
    change(&mut key);
    let mut out = Vec::new();
    put_bytes(&mut out, number, &key);
    out
}

#[test]
fn outer_re_encodings_libsignal_accepts_are_refused_but_two() {
    let (bob, wire) = setting();
    let fields = outer(&wire);
    let field = |n: u32| fields.iter().find(|f| f.number == n).unwrap();
    let registration = field(5).varint;
    let mut cases: Vec<(&str, Vec<u8>, Option<&str>)> = Vec::new();
    let with_version = |v: u8| {
        let mut w = wire.clone();
        w[1] = v;
        w
    };
    cases.push(("version 0x34", with_version(0x34), None));
    cases.push((
        "version 0x30",
        with_version(0x30),
        Some("version byte: expected 0x33 or 0x34, got 0x30"),
    ));
    cases.push((
        "version 0x3f",
        with_version(0x3f),
        Some("version byte: expected 0x33 or 0x34, got 0x3f"),
    ));
    cases.push((
        "another registration id",
        rebuild(&wire, &fields, &|f| {
            (f.number == 5).then(|| {
                let mut out = Vec::new();
                put_uint32(&mut out, 5, registration as u32 ^ 1);
                out
            })
        }),
        None,
    ));
    cases.push((
        "no registration id",
        rebuild(&wire, &fields, &|f| (f.number == 5).then(Vec::new)),
        None,
    ));
    cases.push((
        "a registration id beyond 32 bits",
        rebuild(&wire, &fields, &|f| {
            (f.number == 5).then(|| {
                let mut out = vec![0x28];
                put_varint(&mut out, (1 << 32) + registration);
                out
            })
        }),
        Some("field 5 (registrationId): expected a uint32"),
    ));
    cases.push((
        "a non-minimal signed pre-key id",
        rebuild(&wire, &fields, &|f| {
            (f.number == 6).then(|| {
                let mut v = wire[f.range.clone()].to_vec();
                let last = v.len() - 1;
                v[last] |= 0x80;
                v.push(0);
                v
            })
        }),
        Some("more bytes than its value needs"),
    ));
    cases.push((
        "an unknown field 9",
        [wire.as_slice(), &[0x48, 0x01]].concat(),
        Some("got field 9"),
    ));
    cases.push((
        "a fixed32 field 10",
        [wire.as_slice(), &[0x55, 0, 0, 0, 0]].concat(),
        Some("field 10: expected wire type 0 or 2, got 5"),
    ));
    cases.push((
        "the registration id twice",
        [wire.as_slice(), &[0x28, 0x07]].concat(),
        Some("field 5 (registrationId): expected once, got it twice"),
    ));
    cases.push((
        "fields in reverse order",
        {
            let mut reversed = fields.clone();
            reversed.reverse();
            rebuild(&wire, &reversed, &|_| None)
        },
        None,
    ));
    cases.push((
        "an identity key with a trailing byte",
        rebuild(&wire, &fields, &|f| {
            (f.number == 3).then(|| key_with(&wire, f, 3, |k| k.push(0xaa)))
        }),
        Some("field 3 (identityKey): expected 33 bytes, got 34"),
    ));
    cases.push((
        "a base key with a trailing byte",
        rebuild(&wire, &fields, &|f| {
            (f.number == 2).then(|| key_with(&wire, f, 2, |k| k.push(0xaa)))
        }),
        Some("field 2 (baseKey): expected 33 bytes, got 34"),
    ));
    cases.push((
        "a base key with its unused top bit set",
        rebuild(&wire, &fields, &|f| {
            (f.number == 2).then(|| key_with(&wire, f, 2, |k| k[32] |= 0x80))
        }),
        Some("field 2 (baseKey): expected a canonical X25519 u-coordinate"),
    ));
    let state = bob.export_state();
    for (what, bytes, refusal) in cases {
        let mut copy = Party::restore(&state, seeded(1)).unwrap();
        match (copy.decrypt(b"ad", &bytes), refusal) {
            (Ok(pt), None) => assert_eq!(pt, b"pt", "{what}"),
            (Err(e), Some(text)) => {
                assert_eq!(e.class(), ErrorClass::Malformed, "{what}: {e}");
                assert!(e.to_string().contains(text), "{what}: {e}");
                assert_eq!(copy.export_state(), state, "{what}");
            }
            (got, _) => panic!("{what}: {got:?}"),
        }
    }
}

#[test]
fn a_later_pre_key_message_naming_other_pre_keys_is_refused() {
    let (mut alice, mut bob) = pair(51);
    let first = alice.encrypt(b"", b"1").unwrap();
    bob.decrypt(b"", &first).unwrap();
    let second = alice.encrypt(b"", b"2").unwrap();
    let fields = outer(&second);
    let other_id = rebuild(&second, &fields, &|f| {
        (f.number == 1).then(|| {
            let mut out = Vec::new();
            put_uint32(&mut out, 1, f.varint as u32 ^ 1);
            out
        })
    });
    let before = bob.export_state();
    let e = bob.decrypt(b"", &other_id).unwrap_err();
    assert!(matches!(e, SignalV3Error::PreKeyIdsMismatch { .. }), "{e}");
    assert_eq!(e.class(), ErrorClass::Auth);
    assert_eq!(bob.export_state(), before);
    assert_eq!(bob.decrypt(b"", &second).unwrap(), b"2");
}
