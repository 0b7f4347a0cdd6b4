//! Ping-pong throughput of every bundled peer, side by side in one group so that their
//! medians and ratios come from the same run.
//!
//! One iteration is A → B then B → A with 1 KiB each. Each side replies only after it has
//! received, so every message carries a new ratchet key and each round trip makes two full
//! DH ratchet steps: this measures the asymmetric path, not only the symmetric chain.

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// Setup failures are bugs in the bench or the peer, and a bench has nobody to report to.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ratchet_bench::peer::{Party, Peer, SessionInit};
use ratchet_bench::peers::bundled;
use ratchet_bench::rng;
use std::time::Duration;

const MESSAGE: usize = 1024;
const AD: &[u8] = b"ratchet-bench ping-pong";

/// A fresh session: `[A, B]`.
fn establish(peer: &dyn Peer) -> [Box<dyn Party>; 2] {
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let (b, bundle) = peer
        .respond(&init, Box::new(rng::stream(1, "ping-pong B")))
        .expect("every bundled peer should accept a fresh responder");
    let a = peer
        .initiate(&init, &bundle, Box::new(rng::stream(1, "ping-pong A")))
        .expect("every bundled peer should accept its own responder's bundle");
    [a, b]
}

/// A → B, then B's reply → A; returns what A received.
fn exchange(a: &mut dyn Party, b: &mut dyn Party, plaintext: &[u8]) -> Vec<u8> {
    let wire = a.encrypt(AD, plaintext).expect("A should encrypt");
    let got = b.decrypt(AD, &wire).expect("B should decrypt A's message");
    let wire = b.encrypt(AD, &got).expect("B should encrypt its reply");
    a.decrypt(AD, &wire).expect("A should decrypt B's reply")
}

fn ping_pong(c: &mut Criterion) {
    let mut group = c.benchmark_group("ping_pong_1KiB");
    group.throughput(Throughput::Bytes(2 * MESSAGE as u64));
    let plaintext = vec![0x5a; MESSAGE];
    for peer in bundled() {
        let name = peer.info().name;
        // One long-lived session per peer, not a fresh one per iteration: ksi defers the
        // sending half of a DH ratchet step to its next encrypt (the spec's deferred key
        // generation), so the first exchange of a fresh session would leave A's half undone
        // for ksi only, about a third less X25519 work than the eager reference. On one session
        // every iteration pays both halves on both sides for every peer, and ping-pong is a
        // steady state (counters restart at each step, no keys are stored), so nothing grows.
        let [mut a, mut b] = establish(peer.as_ref());
        exchange(a.as_mut(), b.as_mut(), &plaintext);
        group.bench_function(&name, |bench| {
            bench.iter(|| black_box(exchange(a.as_mut(), b.as_mut(), &plaintext)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine is small and noisy, and the ratios are what matter.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = ping_pong
}
criterion_main!(benches);
