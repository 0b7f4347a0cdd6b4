//! `ratchet-bench expectations migrate`: gives the entries of an expectations file written
//! before reproducers existed the reproducer of their finding in a run's report, so that
//! they are judged by replaying it like every other entry.
//!
//! The reports are runs' `--json` reports (or merged ones) made with the file: each entry
//! without a reproducer takes the reproducer of the first finding or note it covers (a
//! campaign's is already shortened). An entry the report holds no finding for keeps having
//! none and is named, so that a person looks at it (its finding may be gone, or need a
//! bigger run). Nothing else in the file changes; `expectations check` then replays them.

use crate::new_entry::{report_sightings, AddError};
use crate::report::Expectations;
use std::path::{Path, PathBuf};

/// What a migration did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migration {
    /// Signatures given a reproducer, each with the finding's signature it came from.
    pub given: Vec<(String, String)>,
    /// Signatures the report holds no finding for: still without a reproducer.
    pub left: Vec<String>,
    /// Entries that had a reproducer already.
    pub had: usize,
}

/// Gives the entries of `file` without a reproducer the one `reports` hold for them (the
/// first report's first, as given: a run of the bundled peers, then one with the shims),
/// and writes the file back (only if it changed).
pub fn migrate(file: &Path, reports: &[PathBuf]) -> Result<Migration, AddError> {
    let mut expectations =
        Expectations::load(file).map_err(|e| AddError::Refused(e.to_string()))?;
    let mut seen = Vec::new();
    for report in reports {
        seen.extend(report_sightings(report)?);
    }
    let mut done = Migration::default();
    for entry in &mut expectations.expectations {
        if entry.reproducer.is_some() {
            done.had += 1;
            continue;
        }
        match seen.iter().find(|s| entry.matches(&s.signature)) {
            Some(s) => {
                entry.reproducer = Some(s.case.clone());
                done.given
                    .push((entry.signature.clone(), s.signature.clone()));
            }
            None => done.left.push(entry.signature.clone()),
        }
    }
    if !done.given.is_empty() {
        std::fs::write(file, expectations.to_text()).map_err(|e| AddError::File {
            path: file.to_path_buf(),
            reason: format!("cannot write: {e}"),
        })?;
        // What is written must load.
        Expectations::load(file).map_err(|e| AddError::Refused(e.to_string()))?;
    }
    Ok(done)
}
