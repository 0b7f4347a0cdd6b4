//! The decoders on inputs no genuine party makes: every truncation and extension of a real
//! state export, a wrong version, flags and bounds, each refused naming its field; and
//! random bytes into every decoder, which must refuse (or, for a message, parse only what
//! re-encodes to the same bytes) and never panic.

use super::common::{pair, seeded};
use crate::signal_v3::{
    bundle::PreKeyBundle, export::STATE_VERSION, pre_key_signal_message::PreKeySignalMessage,
    signal_message::SignalMessage, wire, ErrorClass, Party, SignalV3Error,
};
use proptest::prelude::*;

/// Alice and Bob after some traffic, so that every part of the encoding is present:
/// skipped keys, several chains, a pending pre-key on a third party.
fn busy_parties() -> (Party, Party, Party) {
    let (mut alice, mut bob) = pair(40);
    let early: Vec<_> = (0..4).map(|_| alice.encrypt(b"", b"x").unwrap()).collect();
    bob.decrypt(b"", &early[3]).unwrap();
    let w = bob.encrypt(b"", b"y").unwrap();
    alice.decrypt(b"", &w).unwrap();
    let w = alice.encrypt(b"", b"z").unwrap();
    bob.decrypt(b"", &w).unwrap();
    let (fresh, bundle) = Party::respond(seeded(41));
    let pending = Party::initiate(&bundle, seeded(42)).unwrap();
    drop(fresh);
    (alice, bob, pending)
}

fn restore_err(bytes: &[u8]) -> String {
    match Party::restore(bytes, seeded(0)) {
        Err(e @ SignalV3Error::MalformedState(_)) => e.to_string(),
        Err(e) => panic!("expected a malformed-state refusal, got {e}"),
        Ok(_) => panic!("expected a refusal of {} bytes", bytes.len()),
    }
}

#[test]
fn every_truncation_and_extension_of_a_state_is_refused_naming_a_field() {
    let (alice, bob, pending) = busy_parties();
    for party in [&alice, &bob, &pending] {
        let state = party.export_state();
        Party::restore(&state, seeded(0)).unwrap();
        for cut in 0..state.len() {
            // "<field>: expected N bytes at byte S, got R", the field starting at S with R
            // of its bytes present.
            let e = restore_err(&state[..cut]);
            let (_, tail) = e
                .split_once(" bytes at byte ")
                .unwrap_or_else(|| panic!("{e}"));
            let (start, got) = tail.split_once(", got ").unwrap();
            let (start, got): (usize, usize) = (start.parse().unwrap(), got.parse().unwrap());
            assert_eq!(start + got, cut, "{e}");
            assert!(e.starts_with("malformed state: ") && e.len() > 40, "{e}");
        }
        let e = restore_err(&[state.as_slice(), &[0]].concat());
        assert!(
            e.contains(&format!("end: expected {} bytes, got 1 more", state.len())),
            "{e}"
        );
    }
}

#[test]
fn versions_roles_flags_bounds_and_keys_are_checked() {
    let (alice, bob, _) = busy_parties();
    let state = bob.export_state();
    let with = |at: usize, b: u8| {
        let mut s = state.clone();
        s[at] = b;
        s
    };
    assert!(restore_err(&with(0, STATE_VERSION + 1)).contains("version: expected 1, got 2"));
    assert!(restore_err(&with(1, 2)).contains("role: expected 0 or 1, got 2"));
    assert!(restore_err(&with(38, 2)).contains("trusted identity flag: expected 0 or 1, got 2"));
    // An unclamped identity private key: no party stores one.
    assert!(
        restore_err(&with(2, state[2] | 1)).contains("identity private key: expected a clamped")
    );
    // The trusted identity's key type.
    assert!(restore_err(&with(39, 6)).contains("trusted identity: expected key type 0x05"));
    // A signature that does not verify under the identity key.
    let sig_at = 39 + 33 + 1 + 4 + 32;
    assert!(restore_err(&with(sig_at, state[sig_at] ^ 1)).contains("signed pre-key signature"));
    // An initiator cannot hold a signed pre-key, a responder must.
    assert!(restore_err(&with(1, 0)).contains("role: expected an initiator"));
    let a = alice.export_state();
    let mut as_responder = a.clone();
    as_responder[1] = 1;
    assert!(restore_err(&as_responder).contains("signed pre-key: expected one for a responder"));
    let mut two_one_time = state.clone();
    let count_at = 39 + 33 + 1 + 4 + 32 + 64;
    two_one_time[count_at + 3] = 2;
    assert!(
        restore_err(&two_one_time).contains("one-time pre-key count: expected at most 1, got 2")
    );
}

#[test]
fn errors_map_to_the_benchs_classes() {
    use ErrorClass::*;
    let cases = [
        (SignalV3Error::Malformed("x".into()), Malformed),
        (SignalV3Error::MalformedState("x".into()), Malformed),
        (SignalV3Error::BadMac, Auth),
        (SignalV3Error::BadPadding, Auth),
        (SignalV3Error::AssociatedData, Auth),
        (SignalV3Error::BadSignature, Auth),
        (
            SignalV3Error::PreKeyIdsMismatch {
                expected: "a".into(),
                got: "b".into(),
            },
            Auth,
        ),
        (SignalV3Error::Duplicate { counter: 1 }, Replay),
        (
            SignalV3Error::TooFarAhead {
                jump: 25_001,
                max: 25_000,
            },
            TooFarAhead,
        ),
        (
            SignalV3Error::UntrustedIdentity {
                trusted: "a".into(),
                presented: "b".into(),
            },
            UnknownSession,
        ),
        (SignalV3Error::UnknownSignedPreKey(1), UnknownSession),
        (SignalV3Error::UnknownPreKey(1), UnknownSession),
        (SignalV3Error::NoSession("x"), UnknownSession),
        (SignalV3Error::ChainExhausted(u32::MAX), Other),
        (SignalV3Error::Internal("x"), Other),
    ];
    for (e, class) in cases {
        assert_eq!(e.class(), class, "{e}");
    }
    assert_eq!(
        SignalV3Error::TooFarAhead {
            jump: 25_001,
            max: 25_000
        }
        .to_string(),
        "expected a jump of at most 25000 messages, got 25001"
    );
}

#[test]
fn every_truncation_and_extension_of_a_message_or_bundle_is_refused() {
    let (mut alice, mut bob) = pair(44);
    let pre_key = alice.encrypt(b"", b"0123456789abcdef").unwrap();
    bob.decrypt(b"", &pre_key).unwrap();
    let whisper = bob.encrypt(b"", b"0123456789abcdef").unwrap();
    let (_, bundle) = Party::respond(seeded(45));
    let check = |what: &str, bytes: &[u8], parse: &dyn Fn(&[u8]) -> Result<(), SignalV3Error>| {
        parse(bytes).unwrap();
        let mut variants: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        variants.push([bytes, &[0]].concat());
        variants.push([bytes, &[0x08, 0x01]].concat());
        for v in variants {
            let e = parse(&v).unwrap_err();
            assert_eq!(
                e.class(),
                ErrorClass::Malformed,
                "{what} of {} bytes: {e}",
                v.len()
            );
            assert!(e.to_string().contains(what), "{e}");
        }
    };
    check("PreKeySignalMessage", &pre_key[1..], &|b| {
        PreKeySignalMessage::parse(b).map(drop)
    });
    check("SignalMessage", &whisper[1..], &|b| {
        SignalMessage::parse(b).map(drop)
    });
    check("bundle", &bundle, &|b| PreKeyBundle::parse(b).map(drop));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Party::restore(&bytes, seeded(0));
        let _ = PreKeyBundle::parse(&bytes);
        let _ = wire::layout(&bytes);
        // A message that parses is one the writer would have written: same bytes back.
        if let Ok(m) = SignalMessage::parse(&bytes) {
            let mut again = vec![m.version_byte()];
            for f in m.fields() {
                again.extend_from_slice(&bytes[f.range.clone()]);
            }
            again.extend_from_slice(&bytes[m.mac_range()]);
            prop_assert_eq!(again, bytes.clone());
        }
        let _ = PreKeySignalMessage::parse(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic_a_party(flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6)) {
        let (mut alice, mut bob) = pair(43);
        let w = alice.encrypt(b"ad", b"hello").unwrap();
        let mut t = w.clone();
        for (at, x) in flips {
            let i = usize::from(at) % t.len();
            t[i] ^= x.max(1);
        }
        let before = bob.export_state();
        match bob.decrypt(b"ad", &t) {
            Ok(pt) => {
                // Only the registration id is unauthenticated: same plaintext.
                prop_assert_eq!(pt, b"hello".to_vec());
            }
            Err(_) => prop_assert_eq!(bob.export_state(), before),
        }
    }
}
