//! What each shim's requests cost, counted and timed by the host per shim and request kind
//! (`run --timings`): how many round trips a campaign makes through the pipes, and how long
//! the bench waited for them. Measured, never part of a report (a report is a function of
//! the seed).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One kind of request to one shim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Requests sent.
    pub requests: u64,
    /// Encryptions they asked for (an `encrypt_many` asks for several; other requests 0).
    pub encryptions: u64,
    /// From writing each request to reading its answer, summed.
    pub answered_in: Duration,
    /// Waiting for a process of the shim to be free before sending, summed.
    pub queued: Duration,
}

/// One shim's requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShimStats {
    /// The shim's name (from the peers file or `--peer shim:NAME=...`).
    pub shim: String,
    /// Processes it ran at once, at most.
    pub processes: usize,
    /// Processes started in place of failed ones.
    pub restarts: usize,
    /// Per request kind (`encrypt`, `encrypt_many`, `layout`, ...).
    pub ops: BTreeMap<&'static str, OpStats>,
}

/// The counters of one shim, shared by its pool and the registry.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    stats: Mutex<ShimStats>,
}

impl Counters {
    /// Counts one request `op` asking for `encryptions` encryptions.
    pub(crate) fn count(
        &self,
        op: &'static str,
        encryptions: u64,
        queued: Duration,
        answered_in: Duration,
    ) {
        if let Ok(mut s) = self.stats.lock() {
            let o = s.ops.entry(op).or_default();
            o.requests += 1;
            o.encryptions += encryptions;
            o.queued += queued;
            o.answered_in += answered_in;
        }
    }

    /// Notes that the shim now runs `n` processes.
    pub(crate) fn processes(&self, n: usize) {
        if let Ok(mut s) = self.stats.lock() {
            s.processes = s.processes.max(n);
        }
    }

    /// Notes that a process was started in place of a failed one.
    pub(crate) fn restarted(&self) {
        if let Ok(mut s) = self.stats.lock() {
            s.restarts += 1;
        }
    }
}

/// Every shim started in this process, in start order.
static REGISTRY: Mutex<Vec<Arc<Counters>>> = Mutex::new(Vec::new());

/// New counters for the shim `name`, registered so that [`stats`] reports them.
pub(crate) fn register(name: &str) -> Arc<Counters> {
    let counters = Arc::new(Counters {
        stats: Mutex::new(ShimStats {
            shim: name.to_string(),
            processes: 1,
            restarts: 0,
            ops: BTreeMap::new(),
        }),
    });
    if let Ok(mut r) = REGISTRY.lock() {
        r.push(Arc::clone(&counters));
    }
    counters
}

/// The requests of every shim started so far in this process, in start order (a shim
/// started twice, e.g. by two commands of one test binary, is listed twice).
pub fn stats() -> Vec<ShimStats> {
    REGISTRY
        .lock()
        .map(|r| {
            r.iter()
                .filter_map(|c| c.stats.lock().ok().map(|s| s.clone()))
                .collect()
        })
        .unwrap_or_default()
}
