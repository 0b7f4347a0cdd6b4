//! The journal a supervised run keeps, so that a peer that aborts the process (a C library's
//! `abort()`, a stack overflow, an out-of-memory abort: what no panic guard can catch) does
//! not lose the run.
//!
//! `ratchet-bench run` runs as a supervisor (the CLI's `supervise` module): it starts itself again as a child with the same
//! arguments and a journal file, and the child does the whole run. Before each campaign
//! scenario, and before each peer's turn in it, the child writes a line to the journal. If
//! the child is ended by a signal, the supervisor reads the journal for the scenario and the
//! peer that were running, and starts the run again with that scenario of that family
//! skipped: the new child reports it as the finding `<peer>/abort/scenario` (with the
//! signal, the scenario's text and its reproducer) instead of running it. Runs are
//! deterministic, so the new child recomputes every other result exactly; nothing is lost,
//! at the cost of running again. If more than one scenario was running (several campaign
//! threads), the run is started again on one thread first, so that the one that aborts is
//! known. The interop matrix's cells and the vector files' peers are journaled the same way
//! ([`unit()`]): an aborted cell fails as `initiator+responder/interop/abort/signal-N`, an
//! aborted vector file is not run on that peer and reported as `<peer>/abort/vectors`; the
//! replay of an expectation's reproducer is a unit too ([`EXPECTATIONS_KEY`]), its abort the
//! finding the reproducer's kind gives (`<peer>/abort/scenario`, `<peer>/abort/vectors`,
//! `a+b/interop/abort/signal-N`). An abort anywhere else (loading files, starting shims)
//! cannot be skipped: the supervisor says so and fails.

use crate::report::{Finding, FindingKind};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Set in the child: the journal's path.
pub const JOURNAL_ENV: &str = "RATCHET_BENCH_JOURNAL";
/// Set in the child: the scenarios to skip, `family:index:peer:signal` separated by `;`.
pub const SKIP_ENV: &str = "RATCHET_BENCH_SKIP";
/// Set in the child: run the campaign on one thread.
pub const ONE_THREAD_ENV: &str = "RATCHET_BENCH_ONE_THREAD";
/// Fault injection for the supervisor's own tests: `abort:PEER:FAMILY:INDEX` makes the
/// process abort when PEER's turn in scenario INDEX of FAMILY comes (as a peer's C code
/// would), unless that scenario is skipped.
pub const FAULT_ENV: &str = "RATCHET_BENCH_FAULT";
/// Set to `0` to run without a supervisor (one process; an abort ends the run).
pub const SUPERVISE_ENV: &str = "RATCHET_BENCH_SUPERVISE";

fn journal() -> Option<&'static Mutex<File>> {
    static JOURNAL: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    JOURNAL
        .get_or_init(|| {
            let path = std::env::var_os(JOURNAL_ENV)?;
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .ok()
                .map(Mutex::new)
        })
        .as_ref()
}

fn write_line(line: &str) {
    if let Some(j) = journal() {
        if let Ok(mut f) = j.lock() {
            // A line per write: on an abort, every line written before it is in the file.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Whether this process writes a journal or has a fault to inject: callers skip the work of
/// naming what runs when it does not.
pub fn active() -> bool {
    journal().is_some() || fault().is_some()
}

/// Scenario `index` of `family` starts (in the child; nothing otherwise).
pub fn started(family: &str, index: u64) {
    write_line(&format!("start {family} {index}\n"));
}

/// Scenario `index` of `family` is done.
pub fn ended(family: &str, index: u64) {
    write_line(&format!("end {family} {index}\n"));
}

/// `peer`'s turn in scenario `index` of `family` starts.
pub fn peer_turn(family: &str, index: u64, peer: &str) {
    write_line(&format!("peer {family} {index} {peer}\n"));
    if let Some((p, f, i)) = fault() {
        if p == peer && f == family && *i == index {
            eprintln!("ratchet-bench: {FAULT_ENV}: aborting in {peer}'s turn of {family} scenario {index}");
            std::process::abort();
        }
    }
}

fn fault() -> Option<&'static (String, String, u64)> {
    static FAULT: OnceLock<Option<(String, String, u64)>> = OnceLock::new();
    FAULT
        .get_or_init(|| {
            let text = std::env::var(FAULT_ENV).ok()?;
            let mut parts = text.strip_prefix("abort:")?.rsplitn(3, ':');
            let index = parts.next()?.parse().ok()?;
            let family = parts.next()?.to_string();
            let peer = parts.next()?.to_string();
            Some((peer, family, index))
        })
        .as_ref()
}

/// A scenario the supervisor told the child to skip.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skip {
    /// The family's name.
    pub family: String,
    /// The scenario's index in the family's campaign (pinned ones first).
    pub index: u64,
    /// The peer whose turn it was.
    pub peer: String,
    /// The signal that ended the process.
    pub signal: i32,
}

impl Skip {
    /// The skip as the supervisor passes it to the child.
    pub fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.family, self.index, self.signal, self.peer
        )
    }

    /// A skip from [`Skip::encode`]'s text.
    pub fn decode(text: &str) -> Option<Skip> {
        let mut parts = text.splitn(4, ':');
        Some(Skip {
            family: parts.next()?.to_string(),
            index: parts.next()?.parse().ok()?,
            signal: parts.next()?.parse().ok()?,
            peer: parts.next()?.to_string(),
        })
    }

    /// What was skipped, for a person.
    pub fn unit(&self) -> String {
        if self.family == EXPECTATIONS_KEY {
            format!("the reproducer of expectation {}", self.index)
        } else if let Some(file) = self.family.strip_prefix("vectors/") {
            format!("the vector file {file}")
        } else if let Some(family) = self.family.strip_prefix("interop/") {
            format!("cell {} of the {family} interop matrix", self.index)
        } else {
            format!("{} scenario {}", self.family, self.index)
        }
    }

    /// The finding the skipped scenario stands for.
    pub fn finding(&self) -> Finding {
        Finding::new(
            FindingKind::Abort,
            vec![self.peer.clone()],
            0,
            "scenario",
            None,
            format!(
                "the process was ended by signal {} during {}'s turn in {} (an abort no panic \
                 guard catches); the run was started again with it skipped",
                self.signal,
                self.peer,
                self.unit()
            ),
        )
    }
}

/// Every skip the supervisor asked for.
pub fn skips() -> &'static [Skip] {
    static SKIPS: OnceLock<Vec<Skip>> = OnceLock::new();
    SKIPS.get_or_init(|| {
        std::env::var(SKIP_ENV)
            .map(|t| t.split(';').filter_map(Skip::decode).collect())
            .unwrap_or_default()
    })
}

/// The skip for unit `index` of `family`, if the supervisor asked for one.
pub fn skipped(family: &str, index: u64) -> Option<&'static Skip> {
    skips()
        .iter()
        .find(|s| s.family == family && s.index == index)
}

/// Runs `f` as unit `index` of `key` (an interop matrix, `interop/<family>`, or a vector
/// file, `vectors/<path>`) on behalf of `label` (the peer, or `initiator+responder`),
/// journaled like a campaign scenario, so that an abort inside it is skipped on the next
/// run; `None` (and `f` not run) when the supervisor asked to skip it.
///
/// A unit inside another on the same thread (a vector file replayed for an expectation's
/// reproducer, inside that reproducer's unit) is part of the outer one: it runs unjournaled,
/// so that an abort in it is the outer unit's.
pub fn unit<T>(key: &str, index: u64, label: &str, f: impl FnOnce() -> T) -> Option<T> {
    if INSIDE.with(|inside| inside.get()) {
        return Some(f());
    }
    if skipped(key, index).is_some() {
        return None;
    }
    started(key, index);
    peer_turn(key, index, label);
    let out = {
        let _inside = Inside::enter();
        f()
    };
    ended(key, index);
    Some(out)
}

thread_local! {
    /// Whether this thread is inside a [`unit`].
    static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the thread as inside a unit until dropped (also when the unit unwinds).
struct Inside;

impl Inside {
    fn enter() -> Inside {
        INSIDE.with(|inside| inside.set(true));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.with(|inside| inside.set(false));
    }
}

/// The journal key of the replays of expectations' reproducers; the unit's index is the
/// entry's ordinal over the layered files.
pub const EXPECTATIONS_KEY: &str = "expectations";

/// Whether the supervisor asked for one campaign thread.
pub fn one_thread() -> bool {
    std::env::var_os(ONE_THREAD_ENV).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_survive_the_environment() {
        let s = Skip {
            family: "signal-dr".into(),
            index: 12,
            peer: "shim:x=a:b".into(),
            signal: 6,
        };
        assert_eq!(Skip::decode(&s.encode()), Some(s.clone()));
        assert_eq!(s.finding().signature, "shim:x=a:b/abort/scenario");
    }
}
