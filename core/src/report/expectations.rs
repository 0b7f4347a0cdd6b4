//! The expectations file: known findings, each with a reason.
//!
//! A known finding does not fail a run; a new one does; an expected finding that no longer
//! shows fails too, as stale, so that fixed bugs leave the file. An entry past its expiry
//! date counts as absent. A signature ending in `*` covers every signature it prefixes.
//!
//! ```json
//! { "expectations": [
//!   { "signature": "double-ratchet-2/panic/tamper-body",
//!     "reason": "signals a failed AEAD check by panicking",
//!     "link": "https://...", "expires": "2027-06-30" } ] }
//! ```

use super::finding::Seen;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One known finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The finding's signature, exactly.
    pub signature: String,
    /// Why it is known and accepted for now.
    pub reason: String,
    /// Where it is tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `YYYY-MM-DD` after which the entry no longer counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl Expectation {
    /// Whether this entry covers `signature`: exactly, or by prefix when the entry ends in
    /// `*` (for a peer that fails one way on many kinds of input).
    pub fn matches(&self, signature: &str) -> bool {
        match self.signature.strip_suffix('*') {
            Some(prefix) => signature.starts_with(prefix),
            None => self.signature == signature,
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The entries.
    pub expectations: Vec<Expectation>,
}

/// An expectations file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExpectationsError {
    /// The file cannot be read.
    #[error("{path}: cannot read the expectations file: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry and field.
        reason: String,
    },
}

/// Today's date in UTC as `YYYY-MM-DD`, for [`Expectations::triage`]'s expiry dates.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn valid_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

impl Expectations {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ExpectationsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |reason: String| ExpectationsError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let file: Expectations = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        for (i, e) in file.expectations.iter().enumerate() {
            if e.signature.split('/').count() < 3 {
                return Err(invalid(format!(
                    "expectations[{i}].signature: expected peer/kind/step, got {:?}",
                    e.signature
                )));
            }
            if e.reason.trim().is_empty() {
                return Err(invalid(format!(
                    "expectations[{i}].reason: expected a reason, got none"
                )));
            }
            if let Some(d) = &e.expires {
                if !valid_date(d) {
                    return Err(invalid(format!(
                        "expectations[{i}].expires: expected YYYY-MM-DD, got {d:?}"
                    )));
                }
            }
            if file.expectations[..i]
                .iter()
                .any(|o| o.signature == e.signature)
            {
                return Err(invalid(format!(
                    "expectations[{i}].signature: {:?} is listed twice",
                    e.signature
                )));
            }
        }
        Ok(file)
    }

    /// Whether an entry (expired or not) matches `signature`.
    pub fn lists(&self, signature: &str) -> bool {
        self.expectations.iter().any(|e| e.matches(signature))
    }

    /// Marks each sighting in `seen` that an unexpired entry lists, and returns the triage.
    /// `today` is `YYYY-MM-DD`; `ran_peers` limits staleness to entries about peers that ran.
    pub fn triage(&self, seen: &mut [Seen], today: &str, ran_peers: &[String]) -> Triage {
        let mut triage = Triage::default();
        let live: Vec<&Expectation> = self
            .expectations
            .iter()
            .filter(|e| {
                let expired = e.expires.as_deref().is_some_and(|d| d < today);
                if expired {
                    triage.expired.push(e.signature.clone());
                }
                !expired
            })
            .collect();
        for s in seen.iter_mut() {
            match live.iter().find(|e| e.matches(&s.signature)) {
                Some(e) => s.expected = Some(e.reason.clone()),
                None if s.kind.fails_run() => triage.new.push(s.signature.clone()),
                None => {}
            }
        }
        for e in live {
            let peers = e.signature.split('/').next().unwrap_or_default();
            let about_ran = peers.split('+').all(|p| ran_peers.iter().any(|r| r == p));
            if seen.iter().any(|s| e.matches(&s.signature)) {
                triage.held.push(e.clone());
            } else if about_ran {
                triage.stale.push(e.clone());
            } else {
                triage.unjudged.push(e.clone());
            }
        }
        triage
    }
}

/// The result of holding a run's findings against the expectations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Triage {
    /// Signatures of failing findings the file does not list.
    pub new: Vec<String>,
    /// Entries whose finding did not show.
    pub stale: Vec<Expectation>,
    /// Entries past their expiry date.
    pub expired: Vec<String>,
    /// Entries whose finding showed: known and still true.
    pub held: Vec<Expectation>,
    /// Entries about peers that did not run (or ran only a sample of the campaign), so not
    /// judged either way.
    pub unjudged: Vec<Expectation>,
}

impl Triage {
    /// Whether the run fails: a new finding or a stale entry.
    pub fn fails(&self) -> bool {
        !self.new.is_empty() || !self.stale.is_empty()
    }
}
