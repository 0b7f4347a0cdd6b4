#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The MLS peers (openmls, mls-rs): a two-member group, each way, out of order within the
//! declared limits, and across the two libraries (a group created by one, joined by the
//! other).

use ratchet_bench::peer::{Party, Peer, RejectClass, SessionInit};
use ratchet_bench::peers::{MlsRs, OpenMls};
use ratchet_bench::rng;

const AD: &[u8] = b"mls peers test";

/// Builds a group created by `initiator` and joined by `responder`: `[creator, joiner]`.
fn group(initiator: &dyn Peer, responder: &dyn Peer) -> [Box<dyn Party>; 2] {
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (mut b, bundle) = responder
        .respond(&init, Box::new(rng::stream(1, "B")))
        .unwrap();
    let mut a = initiator
        .initiate(&init, &bundle, Box::new(rng::stream(1, "A")))
        .unwrap();
    let welcome = a.handshake().unwrap().expect("MLS hands over a Welcome");
    b.join(&welcome).unwrap();
    [a, b]
}

fn exchange(initiator: &dyn Peer, responder: &dyn Peer) {
    let [mut a, mut b] = group(initiator, responder);
    for turn in 0..3u8 {
        let from_a: Vec<Vec<u8>> = (0..4u8)
            .map(|i| a.encrypt(AD, &[turn, i, 0xa]).unwrap())
            .collect();
        for i in [0usize, 3, 1, 2] {
            assert_eq!(b.decrypt(AD, &from_a[i]).unwrap(), [turn, i as u8, 0xa]);
        }
        let from_b: Vec<Vec<u8>> = (0..3u8)
            .map(|i| b.encrypt(AD, &[turn, i, 0xb]).unwrap())
            .collect();
        for i in [2usize, 0, 1] {
            assert_eq!(a.decrypt(AD, &from_b[i]).unwrap(), [turn, i as u8, 0xb]);
        }
    }
    let wire = a.encrypt(AD, b"once").unwrap();
    let mut tampered = wire.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(
        b.decrypt(AD, &tampered).is_err(),
        "a flipped tag bit must be refused"
    );
    let other_ad = b.decrypt(b"another associated data", &wire).unwrap_err();
    assert_eq!(other_ad.class, RejectClass::Auth);
}

#[test]
fn openmls_members_exchange_out_of_order() {
    exchange(&OpenMls, &OpenMls);
}

#[test]
fn mls_rs_members_exchange_out_of_order() {
    exchange(&MlsRs, &MlsRs);
}

#[test]
fn a_group_created_by_openmls_is_joined_and_used_by_mls_rs() {
    exchange(&OpenMls, &MlsRs);
}

#[test]
fn a_group_created_by_mls_rs_is_joined_and_used_by_openmls() {
    exchange(&MlsRs, &OpenMls);
}
