//! Olm and Megolm throughput of every bundled Olm and Megolm peer (the reference, vodozemac,
//! libolm), side by side in one run so that their medians and ratios are comparable.
//!
//! Olm: one iteration is A → B then B → A with 1 KiB each on a session already past the
//! pre-key stage. Each side replies only after it has received, so every message starts a new
//! ratchet turn (a fresh Curve25519 ratchet key and a new root-key step): the asymmetric path.
//! Megolm: encrypt and decrypt of 1 KiB are measured apart, decrypt on messages made in setup.
//! Everything goes through the `Peer`/`Party` traits, so the adapters' wire framing and the
//! binding of associated data are part of each figure, as they are in a campaign.

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// Setup failures are bugs in the bench or the peer, and a bench has nobody to report to.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ratchet_bench::peer::{Family, Party, Peer, SessionInit};
use ratchet_bench::peers::bundled;
use ratchet_bench::rng;
use std::time::Duration;

const MESSAGE: usize = 1024;
const AD: &[u8] = b"ratchet-bench olm";

/// The bundled peers of one family, in report order.
fn peers_of(family: Family) -> Vec<Box<dyn Peer>> {
    bundled()
        .into_iter()
        .filter(|peer| peer.info().family == family)
        .collect()
}

/// A fresh session `[A, B]`; for Megolm, B has imported A's session key.
fn establish(peer: &dyn Peer) -> [Box<dyn Party>; 2] {
    // Olm and Megolm make their own keys; the shared secret is not used.
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (mut b, bundle) = peer
        .respond(&init, Box::new(rng::stream(1, "olm bench B")))
        .expect("every bundled peer should accept a fresh responder");
    let mut a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(1, "olm bench A")))
        .expect("every bundled peer should accept its own responder's bundle");
    if let Some(handshake) = a.handshake().expect("A should give its handshake") {
        b.join(&handshake).expect("B should take A's handshake");
    }
    [a, b]
}

/// A → B, then B's reply → A; returns what A received.
fn exchange(a: &mut dyn Party, b: &mut dyn Party, plaintext: &[u8]) -> Vec<u8> {
    let wire = a.encrypt(AD, plaintext).expect("A should encrypt");
    let got = b.decrypt(AD, &wire).expect("B should decrypt A's message");
    let wire = b.encrypt(AD, &got).expect("B should encrypt its reply");
    a.decrypt(AD, &wire).expect("A should decrypt B's reply")
}

fn olm_ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("olm_ping_pong_1KiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(2 * MESSAGE as u64));
    let plaintext = vec![0x5a; MESSAGE];
    for peer in peers_of(Family::OLM) {
        let name = peer.info().name;
        // One long-lived session: the first exchange leaves the pre-key stage (B has
        // answered, so A sends normal messages), and from then on ping-pong is a steady state
        // (each turn restarts the chain counter and stores no skipped key).
        let [mut a, mut b] = establish(peer.as_ref());
        exchange(a.as_mut(), b.as_mut(), &plaintext);
        group.bench_function(&name, |bench| {
            bench.iter(|| black_box(exchange(a.as_mut(), b.as_mut(), &plaintext)));
        });
    }
    group.finish();
}

fn megolm_encrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("megolm_encrypt_1KiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(MESSAGE as u64));
    let plaintext = vec![0x5a; MESSAGE];
    for peer in peers_of(Family::MEGOLM) {
        let name = peer.info().name;
        // Megolm's sender advances one hash-ratchet step per message; its cost does not
        // depend on the index (the ratchet is re-seeded at most every 2^24 steps).
        let [mut a, _b] = establish(peer.as_ref());
        group.bench_function(&name, |bench| {
            bench.iter(|| black_box(a.encrypt(AD, &plaintext).expect("A should encrypt")));
        });
    }
    group.finish();
}

fn megolm_decrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("megolm_decrypt_1KiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(MESSAGE as u64));
    let plaintext = vec![0x5a; MESSAGE];
    for peer in peers_of(Family::MEGOLM) {
        let name = peer.info().name;
        // The messages are made in setup, in order, and each is decrypted once: B always
        // receives the next index, one hash step past the last, as in a live room.
        let [mut a, mut b] = establish(peer.as_ref());
        group.bench_function(&name, |bench| {
            bench.iter_batched(
                || a.encrypt(AD, &plaintext).expect("A should encrypt"),
                |wire| black_box(b.decrypt(AD, &wire).expect("B should decrypt")),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, olm_ping_pong, megolm_encrypt, megolm_decrypt);
criterion_main!(benches);
