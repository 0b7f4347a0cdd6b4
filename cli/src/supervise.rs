//! Keeps a peer that aborts the process (a C library's `abort()`, a stack overflow, an
//! out-of-memory abort: what no panic guard can catch) from losing a run: the run happens in
//! a child process that keeps a journal (`ratchet_bench::journal`), and a child ended by a
//! signal is started again with the scenario that was running skipped and reported.

use ratchet_bench::journal::{Skip, JOURNAL_ENV, ONE_THREAD_ENV, SKIP_ENV, SUPERVISE_ENV};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// How often the supervisor starts a run again before it gives up.
const MAX_RESTARTS: usize = 16;

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
}
