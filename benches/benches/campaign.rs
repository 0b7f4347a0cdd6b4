//! Throughput of the seeded differential campaign: 100 scenarios on every bundled peer, on
//! one worker, checked against the oracle and across peers.

// criterion_group! defines an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use ratchet_bench::campaign;
use ratchet_bench::peers::bundled;
use std::time::Duration;

const SCENARIOS: u64 = 100;
const SEED: u64 = 1;

fn campaign(c: &mut Criterion) {
    let peers = bundled();
    let mut group = c.benchmark_group("campaign");
    group.throughput(Throughput::Elements(SCENARIOS));
    // One iteration is a whole campaign (seconds), so few samples of one iteration each.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    // Nothing to set up per iteration: the campaign builds its own sessions from the seed,
    // and the same seed keeps the work identical across iterations.
    group.bench_function("run_100_1_worker", |bench| {
        bench.iter(|| black_box(campaign::run(&peers, &[], SEED, SCENARIOS, 1, &|| {})));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the bench machine is small and noisy.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    targets = campaign
}
criterion_main!(benches);
