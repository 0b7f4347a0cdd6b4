//! What a run cost, phase by phase, peer by peer and shim request by shim request
//! (`ratchet-bench run --timings FILE`). Measured on the machine, so never part of the
//! report, which is a function of the seed alone.

use crate::campaign::PeerTime;
use crate::peers::shim::stats::ShimStats;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A run's timings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunTimings {
    /// Campaign threads.
    pub workers: usize,
    /// Seconds spent replaying the vector suites.
    pub vectors_s: f64,
    /// Seconds of the seeded campaign (every family).
    pub campaign_s: f64,
    /// Seconds spent shrinking the findings' reproducers.
    pub shrink_s: f64,
    /// Seconds of the interop matrices.
    pub interop_s: f64,
    /// Per peer, what its campaign scenarios cost.
    pub peers: BTreeMap<String, PeerTiming>,
    /// Per shim, its requests (all phases).
    pub shims: Vec<ShimTiming>,
}

/// One peer's campaign scenarios.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PeerTiming {
    /// Scenarios it ran (pinned ones included).
    pub scenarios: u64,
    /// Seconds the workers spent running them, summed over the workers: about the wall
    /// time it added times the number of workers.
    pub busy_s: f64,
}

/// One shim's requests over the whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ShimTiming {
    /// The shim's name.
    pub shim: String,
    /// Processes it ran at once, at most.
    pub processes: usize,
    /// Processes started in place of failed ones (a hang, an exit, a broken answer).
    pub restarts: usize,
    /// Requests sent, all kinds.
    pub requests: u64,
    /// Per request kind.
    pub ops: BTreeMap<String, OpTiming>,
}

/// One kind of request to one shim.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OpTiming {
    /// Requests sent.
    pub requests: u64,
    /// Encryptions they asked for (several per `encrypt_many`).
    pub encryptions: u64,
    /// Seconds from writing the requests to reading their answers, summed.
    pub answered_s: f64,
    /// Seconds spent waiting for a free process of the shim, summed.
    pub queued_s: f64,
}

impl PeerTiming {
    /// A peer's campaign time.
    pub fn of(time: &PeerTime) -> PeerTiming {
        PeerTiming {
            scenarios: time.scenarios,
            busy_s: seconds(time.busy),
        }
    }
}

impl ShimTiming {
    /// A shim's request counters.
    pub fn of(stats: &ShimStats) -> ShimTiming {
        ShimTiming {
            shim: stats.shim.clone(),
            processes: stats.processes,
            restarts: stats.restarts,
            requests: stats.ops.values().map(|o| o.requests).sum(),
            ops: stats
                .ops
                .iter()
                .map(|(op, o)| {
                    (
                        op.to_string(),
                        OpTiming {
                            requests: o.requests,
                            encryptions: o.encryptions,
                            answered_s: seconds(o.answered_in),
                            queued_s: seconds(o.queued),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A duration in seconds, to the millisecond.
pub fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}
