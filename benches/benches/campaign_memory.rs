//! Peak memory of one long campaign, read off at checkpoints so that flatness shows.
//!
//! Criterion measures time only, so this is a plain program: it runs `campaign::run` once on
//! every bundled peer and, from the progress callback, prints the process's peak resident
//! set (VmHWM in /proc/self/status, Linux only) after 10%, 25%, 50% and 100% of the
//! scenarios, with the rate so far.
//!
//! `RATCHET_BENCH_MEMORY_SCENARIOS` sets the count (default 100000: at the 40 to 55
//! scenarios a second one worker manages on a small machine, over half an hour) and
//! `RATCHET_BENCH_MEMORY_WORKERS` the threads (default 1). Run without `--bench` (as `cargo test --benches` does), it checks itself on 200 scenarios.

use ratchet_bench::campaign;
use ratchet_bench::peers::bundled;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const DEFAULT_SCENARIOS: u64 = 100_000;
const SMOKE_SCENARIOS: u64 = 200;
const SEED: u64 = 1;

/// A `/proc/self/status` field in KiB, if the platform has one.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn env_count(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("expected {name} to be a positive integer, got {v:?}")),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; without it this is a test run and stays short.
    let benching = std::env::args().any(|a| a == "--bench");
    let counts = env_count("RATCHET_BENCH_MEMORY_SCENARIOS", DEFAULT_SCENARIOS)
        .and_then(|n| env_count("RATCHET_BENCH_MEMORY_WORKERS", 1).map(|w| (n, w)));
    let (count, workers) = match counts {
        Ok((n, w)) if benching => (n, w as usize),
        Ok((_, w)) => (SMOKE_SCENARIOS, w as usize),
        Err(why) => {
            eprintln!("campaign_memory: {why}");
            std::process::exit(2);
        }
    };
    let checkpoints: Vec<u64> = [10, 25, 50, 100]
        .iter()
        .map(|pct| (count * pct / 100).max(1))
        .collect();

    let peers = bundled();
    println!(
        "campaign_memory: {count} scenarios, seed {SEED}, {workers} worker(s), {} peers",
        peers.len()
    );
    println!(
        "{:>10}  {:>12}  {:>12}  {:>9}  {:>12}",
        "scenarios", "peak RSS", "RSS", "seconds", "scenarios/s"
    );
    println!(
        "{:>10}  {:>12}  {:>12}  {:>9}  {:>12}",
        0,
        mib(status_kib("VmHWM")),
        mib(status_kib("VmRSS")),
        "-",
        "-"
    );
    let start = Instant::now();
    let done = AtomicU64::new(0);
    let progress = || {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if checkpoints.contains(&n) {
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{n:>10}  {:>12}  {:>12}  {secs:>9.1}  {:>12.1}",
                mib(status_kib("VmHWM")),
                mib(status_kib("VmRSS")),
                n as f64 / secs
            );
        }
    };
    let result = campaign::run(&peers, &[], SEED, count, workers, &progress);
    println!(
        "done: {} scenarios, {} distinct signatures kept, peak RSS {}",
        result.scenarios,
        result.seen.len(),
        mib(status_kib("VmHWM"))
    );
}
