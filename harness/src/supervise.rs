//! Keeps a peer that aborts the process (a C library's `abort()`, a stack overflow, an
//! out-of-memory abort: what no panic guard can catch) from losing a run.
//!
//! `ratchet-bench run` runs as a supervisor: it starts itself again as a child with the same
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
//! ([`unit`]): an aborted cell fails as `initiator+responder/interop/abort/signal-N`, an
//! aborted vector file is not run on that peer and reported as `<peer>/abort/vectors`. An
//! abort anywhere else (loading files, starting shims) cannot be skipped: the supervisor says
//! so and fails.

use crate::report::{Finding, FindingKind};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
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

/// How often the supervisor starts a run again before it gives up.
const MAX_RESTARTS: usize = 16;

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
    fn encode(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.family, self.index, self.signal, self.peer
        )
    }

    fn decode(text: &str) -> Option<Skip> {
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
        if let Some(file) = self.family.strip_prefix("vectors/") {
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
pub fn unit<T>(key: &str, index: u64, label: &str, f: impl FnOnce() -> T) -> Option<T> {
    if skipped(key, index).is_some() {
        return None;
    }
    started(key, index);
    peer_turn(key, index, label);
    let out = f();
    ended(key, index);
    Some(out)
}

/// Whether the supervisor asked for one campaign thread.
pub fn one_thread() -> bool {
    std::env::var_os(ONE_THREAD_ENV).is_some()
}

/// The scenarios started and not ended in a journal, each with the last peer whose turn
/// began.
pub fn in_flight(journal: &str) -> Vec<(String, u64, Option<String>)> {
    let mut running: Vec<(String, u64, Option<String>)> = Vec::new();
    for line in journal.lines() {
        let mut words = line.splitn(4, ' ');
        let (Some(what), Some(family), Some(index)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let Ok(index) = index.parse::<u64>() else {
            continue;
        };
        let at = running
            .iter()
            .position(|(f, i, _)| f == family && *i == index);
        match (what, at) {
            ("start", None) => running.push((family.to_string(), index, None)),
            ("end", Some(at)) => {
                running.remove(at);
            }
            ("peer", Some(at)) => {
                if let Some(r) = running.get_mut(at) {
                    r.2 = words.next().map(str::to_string);
                }
            }
            _ => {}
        }
    }
    running
}

/// Runs the command line of this process again as a supervised child until it ends on its
/// own, skipping each scenario during which it was ended by a signal. `None` in the child
/// itself, or when supervision is off (the caller then does the run in this process).
pub fn supervise() -> Option<ExitCode> {
    if std::env::var_os(JOURNAL_ENV).is_some() {
        follow_parent();
        return None;
    }
    if std::env::var(SUPERVISE_ENV).is_ok_and(|v| v == "0") || !cfg!(unix) {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    let journal_path = journal_path();
    let mut skips: BTreeSet<Skip> = BTreeSet::new();
    let mut one_thread = false;
    for _ in 0..=MAX_RESTARTS {
        let _ = std::fs::write(&journal_path, b"");
        let mut child = Command::new(&exe);
        child
            .args(std::env::args_os().skip(1))
            .env(JOURNAL_ENV, &journal_path)
            .env(
                SKIP_ENV,
                skips.iter().map(Skip::encode).collect::<Vec<_>>().join(";"),
            );
        if one_thread {
            child.env(ONE_THREAD_ENV, "1");
        }
        let status = match child.status() {
            Ok(s) => s,
            Err(e) => {
                eprintln!(
                    "ratchet-bench: cannot start the run's process ({e}); running in this one"
                );
                return None;
            }
        };
        let Some(signal) = signal_of(&status) else {
            let _ = std::fs::remove_file(&journal_path);
            return Some(ExitCode::from(
                status
                    .code()
                    .and_then(|c| u8::try_from(c).ok())
                    .unwrap_or(1),
            ));
        };
        if STOPPED_FROM_OUTSIDE.contains(&signal) {
            // Someone stopped the run (Ctrl-C, a timeout): not a peer's abort.
            let _ = std::fs::remove_file(&journal_path);
            eprintln!("ratchet-bench: the run was stopped by signal {signal}");
            return Some(ExitCode::from(128 + signal as u8));
        }
        let journal = std::fs::read_to_string(&journal_path).unwrap_or_default();
        let running = in_flight(&journal);
        match running.as_slice() {
            [] => {
                eprintln!(
                    "ratchet-bench: the run was ended by signal {signal} outside any scenario, \
                     interop cell or vector file; its results are lost"
                );
                let _ = std::fs::remove_file(&journal_path);
                return Some(ExitCode::FAILURE);
            }
            [(family, index, peer)] => {
                let peer = peer.clone().unwrap_or_else(|| "a peer".into());
                let skip = Skip {
                    family: family.clone(),
                    index: *index,
                    peer,
                    signal,
                };
                eprintln!(
                    "ratchet-bench: the run was ended by signal {signal} during {}'s turn in \
                     {}; running again with it skipped and reported",
                    skip.peer,
                    skip.unit()
                );
                skips.insert(skip);
            }
            several => {
                if one_thread {
                    eprintln!("ratchet-bench: the journal shows {} scenarios running on one thread; giving up", several.len());
                    return Some(ExitCode::FAILURE);
                }
                eprintln!(
                    "ratchet-bench: the run was ended by signal {signal} with {} scenarios \
                     running; running again on one thread to find which",
                    several.len()
                );
                one_thread = true;
            }
        }
    }
    eprintln!("ratchet-bench: the run was ended by a signal {MAX_RESTARTS} times; giving up");
    let _ = std::fs::remove_file(&journal_path);
    Some(ExitCode::FAILURE)
}

/// Signals that stop a run from outside (hang-up, Ctrl-C, quit, terminate): never a peer's.
const STOPPED_FROM_OUTSIDE: [i32; 4] = [1, 2, 3, 15];

/// In the child: ends this process when the supervisor is gone (killed by a timeout, say),
/// so that no run goes on unseen.
fn follow_parent() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        let _ = std::thread::Builder::new()
            .name("ratchet-bench parent watch".into())
            .spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                if std::os::unix::process::parent_id() != parent {
                    eprintln!("ratchet-bench: the supervising process is gone; stopping");
                    std::process::exit(1);
                }
            });
    }
}

fn journal_path() -> PathBuf {
    std::env::temp_dir().join(format!("ratchet-bench-journal-{}.txt", std::process::id()))
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_names_what_was_running() {
        let journal = "start olm 0\npeer olm 0 reference-olm\npeer olm 0 libolm-olm\nend olm 0\n\
                       start olm 1\npeer olm 1 reference-olm\nstart megolm 1\npeer olm 1 libolm-olm\n";
        assert_eq!(
            in_flight(journal),
            vec![
                ("olm".to_string(), 1, Some("libolm-olm".to_string())),
                ("megolm".to_string(), 1, None),
            ]
        );
        assert!(in_flight("start olm 3\nend olm 3\ngarbage\n").is_empty());
    }

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
