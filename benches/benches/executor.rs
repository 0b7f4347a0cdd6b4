//! The scenario executor's overhead: one fixed 64-step scenario run through `execute` on
//! the reference, against the same encrypt and decrypt calls made directly on the
//! reference's parties. The difference is what the executor adds (oracle, records, digest,
//! copies, panic guard); the target is at most 10% of the direct calls.
//!
//! The scenario has no `jump` (1000 encryptions would drown everything else) and no
//! `foreign` (a second session, which the direct calls would have to build too).

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]
// The fixed scenario and its replay are checked once before timing; a failure there is a bug
// in this file, and a bench has nobody to report it to.
#![allow(clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ratchet_bench::peer::{Party, Peer};
use ratchet_bench::peers::ReferenceSignalDr;
use ratchet_bench::scenario::{execute, Outcome, Scenario, Setup, Side, Transcript};
use std::time::Duration;

const SEED: u64 = 0x6578_6563;

/// Sends both ways, out-of-order deliveries, drops, replays, tampers, truncations, an
/// extension and injections: 64 steps.
const SCENARIO: &str = "
    send A 32; send A 64; send A 16; deliver m2; deliver m0
    send B 48; send B 100; deliver m4; replay m2; deliver m1
    deliver m3; tamper m1 mac 5; send A 200; send A 10; deliver m5
    send B 20; truncate m6 30; deliver m6; deliver m7; inject B 00112233445566778899
    send A 128; send A 1; send A 0; deliver m10; deliver m8
    tamper m9 body 77; deliver m9; send B 64; send B 64; send B 64
    deliver m13; deliver m12; replay m12; deliver m11; send A 255
    tamper m14 header 3; deliver m14; send B 33; send A 44; deliver m16
    deliver m15; extend m15 ff; send B 90; send B 91; drop m17
    deliver m18; send A 12; deliver-all; replay m19; inject A -
    send A 17; send A 18; send B 19; deliver m22; deliver m21
    tamper m20 mac 250; deliver m20; send B 7; deliver-all; truncate m23 3
    send A 500; deliver m24; replay m24; deliver m17
";

/// One call the executor made into a party: who, and the plaintext to encrypt or the wire
/// bytes to decrypt.
struct Call {
    party: Side,
    send: bool,
    input: Vec<u8>,
}

fn scenario() -> Scenario {
    let scenario: Scenario = SCENARIO.parse().expect("the fixed scenario should parse");
    assert_eq!(
        scenario.steps.len(),
        64,
        "the fixed scenario should have 64 steps"
    );
    assert!(
        scenario
            .steps
            .iter()
            .all(|s| !matches!(s.kind(), "jump" | "foreign" | "tamper-ad")),
        "the fixed scenario should make only calls a recording can replay"
    );
    scenario
}

/// The calls of one transcript, in order. Every record is exactly one call: the scenario has
/// no step that skips, jumps or changes the associated data.
fn calls(transcript: &Transcript) -> Vec<Call> {
    transcript
        .records
        .iter()
        .map(|r| {
            assert!(
                !matches!(r.outcome, Outcome::Skipped(_) | Outcome::Panicked(_)),
                "every step of the fixed scenario should reach the reference"
            );
            Call {
                party: r.party,
                send: r.kind == "send",
                input: r.input.clone(),
            }
        })
        .collect()
}

/// The recorded calls on a fresh session built from `setup`, as the executor builds it.
fn direct(peer: &dyn Peer, setup: Setup, calls: &[Call]) -> Vec<Result<Vec<u8>, ()>> {
    let (b, bundle) = peer
        .respond(&setup.init, setup.rng_b)
        .expect("the reference should build a responder");
    let a = peer
        .initiate(&setup.init, &bundle, setup.rng_a)
        .expect("the reference should build an initiator");
    let mut parties = [a, b];
    calls
        .iter()
        .map(|c| {
            let party: &mut Box<dyn Party> = &mut parties[c.party.index()];
            let out = if c.send {
                party.encrypt(&setup.ad, &c.input)
            } else {
                party.decrypt(&setup.ad, &c.input)
            };
            out.map_err(|_| ())
        })
        .collect()
}

fn executor(c: &mut Criterion) {
    let peer = ReferenceSignalDr;
    let scenario = scenario();
    let transcript = execute(&peer, &scenario, Setup::seeded(SEED));
    let calls = calls(&transcript);

    // Same seed, same calls: the direct run must see exactly what the executor saw, or the
    // comparison is between different work.
    let replayed = direct(&peer, Setup::seeded(SEED), &calls);
    for (record, out) in transcript.records.iter().zip(&replayed) {
        let same = match (&record.outcome, out) {
            (Outcome::Sent(w), Ok(x)) | (Outcome::Accepted(w), Ok(x)) => w == x,
            (Outcome::Rejected(_), Err(())) => true,
            _ => false,
        };
        assert!(
            same,
            "the direct calls should reproduce step {} of the executor",
            record.step
        );
    }

    let mut group = c.benchmark_group("executor");
    group.throughput(Throughput::Elements(scenario.steps.len() as u64));
    // Setup::seeded (four keyed streams) is outside the timing in both; establishing the
    // session is inside both, as execute cannot skip it.
    group.bench_function("execute", |bench| {
        bench.iter_batched(
            || Setup::seeded(SEED),
            |setup| execute(&peer, &scenario, setup),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("direct", |bench| {
        bench.iter_batched(
            || Setup::seeded(SEED),
            |setup| black_box(direct(&peer, setup, &calls)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine is small and noisy.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = executor
}
criterion_main!(benches);
