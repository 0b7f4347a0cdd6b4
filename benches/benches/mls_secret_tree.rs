//! Deriving generation 1000 of a leaf's application ratchet (RFC 9420 §9.1) from a fresh
//! secret tree, cipher suite 1: the reference against mls-rs and openmls. Target: the
//! reference within 1.5x of the faster library.
//!
//! What each measures, as far as its API reaches (see `ratchet_bench::mls_secret_tree`):
//! - `reference`: `SecretTree::ratchet`, `advance_to(1000)`, `key_nonce()`.
//! - `mls-rs`: `Group::derive_decryption_key(leaf, 1000)` on a group made fresh in the
//!   (unmeasured) setup. With `out_of_order` it also derives and keeps the key and nonce of
//!   each of the 1000 skipped generations, as a receiver does.
//! - `openmls`: its secret tree is crate-private, so the receiver of a two-member group
//!   decrypts the sender's message of generation 1000 as the first one it gets (the sender's
//!   1000 earlier encrypts are setup): the derivation plus one PrivateMessage's sender data,
//!   AEAD and signature checks.
//!
//! On the 2-core bench machine (medians, `-- --warm-up-time 1 --measurement-time 5`):
//! reference 0.52 ms, mls-rs 1.97 ms, openmls 1.97 ms; the reference takes 0.26x the faster.

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// Setup failures are bugs in the bench or the peer, and a bench has nobody to report to.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ratchet_bench::mls_secret_tree::{reference_key_nonce, MlsRsTree};
use ratchet_bench::peer::{Party, Peer, SessionInit};
use ratchet_bench::peers::OpenMls;
use ratchet_bench::rng;
use std::time::Duration;

const GENERATION: u32 = 1000;
const SUITE: u16 = 1;
const AD: &[u8] = b"ratchet-bench mls_secret_tree";

/// openmls's receiver and the sender's message of generation [`GENERATION`].
fn openmls_at_generation() -> (Box<dyn Party>, Vec<u8>) {
    let init = SessionInit {
        shared_secret: [7; 32],
    };
    let peer = OpenMls;
    let (mut b, bundle) = peer
        .respond(&init, Box::new(rng::stream(1, "mls_secret_tree B")))
        .expect("openmls should make a responder");
    let mut a = peer
        .initiate(
            &init,
            &bundle,
            Box::new(rng::stream(1, "mls_secret_tree A")),
        )
        .expect("openmls should accept its own responder's bundle");
    let welcome = a
        .handshake()
        .expect("the initiator should give its Welcome")
        .expect("an MLS initiator has a Welcome");
    b.join(&welcome).expect("the responder should join");
    for _ in 0..GENERATION {
        a.encrypt(AD, b"skipped")
            .expect("the sender should encrypt");
    }
    let wire = a
        .encrypt(AD, b"generation 1000")
        .expect("the sender should encrypt");
    (b, wire)
}

fn generation_1000(c: &mut Criterion) {
    let mut group = c.benchmark_group("mls_secret_tree_generation_1000");
    let epoch_secret = [0x42u8; 64];

    let tree = MlsRsTree::new(SUITE, 1, &epoch_secret).expect("mls-rs should make a group");
    let encryption_secret = tree.encryption_secret().to_vec();
    group.bench_function("reference", |b| {
        b.iter(|| {
            black_box(
                reference_key_nonce(SUITE, black_box(&encryption_secret), 1, 0, GENERATION)
                    .expect("the reference should derive"),
            )
        });
    });

    group.bench_function("mls-rs", |b| {
        b.iter_batched(
            || MlsRsTree::new(SUITE, 1, &epoch_secret).expect("mls-rs should make a group"),
            |mut tree| black_box(tree.derive(0, GENERATION).expect("mls-rs should derive")),
            BatchSize::PerIteration,
        );
    });

    // Each setup pays 1001 encrypts, so fewer samples.
    group.sample_size(10);
    group.bench_function("openmls", |b| {
        b.iter_batched(
            openmls_at_generation,
            |(mut receiver, wire)| {
                black_box(
                    receiver
                        .decrypt(AD, &wire)
                        .expect("openmls should decrypt generation 1000"),
                )
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine is small and noisy, and the ratios are what matter.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = generation_1000
}
criterion_main!(benches);
