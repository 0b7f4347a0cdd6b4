//! Expectations files: known findings, each with a reason and a reproducer.
//!
//! A known finding does not fail a run; a new one does. Whether an entry is still true is
//! judged only by replaying its reproducer ([`super::Reproducer`]), alone and on the peers
//! it names, never by whether a drawn campaign happened to meet the finding: an entry whose
//! reproducer no longer shows it is stale and fails the run, so that fixed bugs leave the
//! file, at any campaign size and seed. An entry whose peers did not run is reported as not
//! checked, with the reason. An entry past its expiry date counts as absent. A signature
//! ending in `*` covers every signature it prefixes; its reproducer shows one of them.
//!
//! Several files layer (the project's own beside a team's for its implementation): a
//! finding is listed by the first entry that covers it, in file order then entry order;
//! every entry is reported with the file it came from; one signature in two files is an
//! error naming both.
//!
//! ```json
//! { "expectations": [
//!   { "signature": "ksi-double-ratchet/panic/rekey",
//!     "reason": "unwraps its receiving chain key when a header carries the key it holds",
//!     "reproducer": { "regression": "ksi-rekey-panic", "peers": ["ksi-double-ratchet"] },
//!     "link": "https://...", "expires": "2027-06-30" } ] }
//! ```

use super::finding::Seen;
use super::reproducer::Reproducer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One known finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The finding's signature, exactly, or a prefix ending in `*`.
    pub signature: String,
    /// Why it is known and accepted for now.
    pub reason: String,
    /// What shows the finding again (for a `*` entry, one signature it covers). An entry
    /// written before reproducers existed has none: it is judged the old way, by whether
    /// the run's own findings show it, until `expectations migrate` gives it one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproducer: Option<Reproducer>,
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

    /// The reproducer's command, or what stands for it when the entry has none.
    pub fn reproducer_command(&self) -> String {
        self.reproducer.as_ref().map_or_else(
            || "none (an entry from before reproducers: `ratchet-bench expectations migrate --from REPORT.json` adds one)".into(),
            Reproducer::command,
        )
    }

    /// The reproducer's kind (`scenario`, `regression`, `vector`, `interop`), or `none`.
    pub fn reproducer_kind(&self) -> &'static str {
        self.reproducer.as_ref().map_or("none", Reproducer::kind)
    }

    /// Whether the entry is past its expiry date on `today` (`YYYY-MM-DD`).
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|d| d < today)
    }
}

/// One file, as written.
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
    /// Two files list one signature.
    #[error("{signature:?} is listed in {first} and in {second}: keep one")]
    Twice {
        /// The signature.
        signature: String,
        /// The file read first.
        first: PathBuf,
        /// The file read later.
        second: PathBuf,
    },
}

/// Today's date in UTC as `YYYY-MM-DD`, for [`ExpectationSet::triage`]'s expiry dates.
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
        Self::parse(&text).map_err(|reason| ExpectationsError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Reads and checks the text of a file; errors name the entry and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            expectations: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut file = Expectations::default();
        for (i, value) in raw.expectations.into_iter().enumerate() {
            let e: Expectation = serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." {
                    String::new()
                } else {
                    format!(".{path}")
                };
                format!("expectations[{i}]{at}: {}", e.inner())
            })?;
            if e.signature.split('/').count() < 3 {
                return Err(format!(
                    "expectations[{i}].signature: expected peer/kind/step, got {:?}",
                    e.signature
                ));
            }
            if e.reason.trim().is_empty() {
                return Err(format!(
                    "expectations[{i}].reason: expected a reason, got none"
                ));
            }
            if let Some(d) = &e.expires {
                if !valid_date(d) {
                    return Err(format!(
                        "expectations[{i}].expires: expected YYYY-MM-DD, got {d:?}"
                    ));
                }
            }
            if let Some(Reproducer::Scenario { scenario, .. }) = &e.reproducer {
                if let Err(why) = scenario.parse::<crate::scenario::Scenario>() {
                    return Err(format!("expectations[{i}].reproducer.scenario: {why}"));
                }
            }
            if file.expectations.iter().any(|o| o.signature == e.signature) {
                return Err(format!(
                    "expectations[{i}].signature: {:?} is listed twice",
                    e.signature
                ));
            }
            file.expectations.push(e);
        }
        Ok(file)
    }

    /// Whether an entry (expired or not) matches `signature`.
    pub fn lists(&self, signature: &str) -> bool {
        self.expectations.iter().any(|e| e.matches(signature))
    }

    /// The file as written by `expectations add`: pretty JSON and a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// An entry and the file it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// The file, as named on the command line.
    pub file: String,
    /// The entry.
    pub entry: Expectation,
}

/// The expectations of a run: every file given, layered in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectationSet {
    /// The files, in order.
    pub files: Vec<String>,
    /// Every entry, file by file; an entry's position here is its ordinal.
    pub entries: Vec<Listed>,
}

impl ExpectationSet {
    /// Reads `paths` in order. An error names the file (and the entry and field); one
    /// signature listed in two files is an error naming both.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ExpectationsError> {
        let mut set = ExpectationSet::default();
        for path in paths {
            let file = Expectations::load(path)?;
            let name = path.display().to_string();
            for entry in file.expectations {
                if let Some(first) = set
                    .entries
                    .iter()
                    .find(|l| l.entry.signature == entry.signature)
                {
                    return Err(ExpectationsError::Twice {
                        signature: entry.signature,
                        first: PathBuf::from(&first.file),
                        second: path.clone(),
                    });
                }
                set.entries.push(Listed {
                    file: name.clone(),
                    entry,
                });
            }
            set.files.push(name);
        }
        Ok(set)
    }

    /// Per entry, whether it is past its expiry date on `today` (`YYYY-MM-DD`).
    pub fn expired_on(&self, today: &str) -> Vec<bool> {
        self.entries
            .iter()
            .map(|l| l.entry.expired(today))
            .collect()
    }

    /// The first unexpired entry that covers `signature` (`expired` as from
    /// [`ExpectationSet::expired_on`]).
    pub fn find(&self, signature: &str, expired: &[bool]) -> Option<&Listed> {
        self.entries
            .iter()
            .enumerate()
            .find(|(i, l)| !expired.get(*i).copied().unwrap_or(false) && l.entry.matches(signature))
            .map(|(_, l)| l)
    }

    /// Whether any entry (expired or not) covers `signature`.
    pub fn lists(&self, signature: &str) -> bool {
        self.entries.iter().any(|l| l.entry.matches(signature))
    }

    /// Marks each sighting an unexpired entry lists with the entry's reason and file.
    pub fn mark(&self, seen: &mut [Seen], expired: &[bool]) {
        for s in seen.iter_mut() {
            match self.find(&s.signature, expired) {
                Some(l) => {
                    s.expected = Some(l.entry.reason.clone());
                    s.listed_in = Some(l.file.clone());
                }
                None => {
                    s.expected = None;
                    s.listed_in = None;
                }
            }
        }
    }

    /// Marks the sightings ([`ExpectationSet::mark`]) and holds them and the replays of the
    /// entries' reproducers against the set: `checks[i]` is what the replay of entry `i`
    /// showed (an expired entry, as `expired` says, is reported as expired whatever its
    /// check says).
    pub fn triage(&self, seen: &mut [Seen], expired: &[bool], checks: Vec<Check>) -> Triage {
        self.mark(seen, expired);
        let mut triage = Triage {
            new: seen
                .iter()
                .filter(|s| s.expected.is_none() && s.kind.fails_run())
                .map(|s| s.signature.clone())
                .collect(),
            ..Triage::default()
        };
        let mut checks = checks.into_iter();
        for (i, listed) in self.entries.iter().enumerate() {
            let check = checks.next().unwrap_or(Check::NotChecked {
                why: "no replay was asked for".into(),
            });
            let check = if expired.get(i).copied().unwrap_or(false) {
                triage.expired.push(listed.entry.signature.clone());
                Check::Expired
            } else {
                check
            };
            if check.is_stale() {
                triage.stale.push(listed.entry.signature.clone());
            }
            triage.entries.push(EntryCheck {
                file: listed.file.clone(),
                entry: listed.entry.clone(),
                check,
            });
        }
        triage
    }
}

/// What the replay of an entry's reproducer showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Check {
    /// The reproducer still shows a signature the entry covers.
    Shows {
        /// The signature it showed.
        signature: String,
        /// What happened, in a sentence.
        detail: String,
    },
    /// The reproducer no longer shows the finding: remove the entry (or fix the
    /// reproducer).
    Stale {
        /// The failing signatures it showed instead.
        shown: Vec<String>,
    },
    /// The entry has no reproducer (written before reproducers existed) and the run's own
    /// findings did not show it, though its peers ran the whole campaign: stale the old way.
    /// `expectations migrate` gives such entries reproducers.
    Unseen,
    /// The reproducer was not replayed.
    NotChecked {
        /// Why (a peer not selected or not built, no vectors folder, ...).
        why: String,
    },
    /// The entry is past its expiry date and counts as absent.
    Expired,
}

impl Check {
    /// What a replay that showed `signatures` (with their details) says of `entry`.
    pub fn of(entry: &Expectation, shown: &[(String, String)]) -> Check {
        match shown.iter().find(|(s, _)| entry.matches(s)) {
            Some((signature, detail)) => Check::Shows {
                signature: signature.clone(),
                detail: detail.clone(),
            },
            None => Check::Stale {
                shown: shown.iter().map(|(s, _)| s.clone()).collect(),
            },
        }
    }

    /// What an entry without a reproducer gets from the findings of a run, `shown` (the
    /// old way): `Shows` when one is covered, else `Unseen` if `complete` (every peer the
    /// signature names ran the whole campaign), else not checked.
    pub fn by_findings(entry: &Expectation, shown: &[Seen], complete: bool) -> Check {
        match shown.iter().find(|s| entry.matches(&s.signature)) {
            Some(s) => Check::Shows {
                signature: s.signature.clone(),
                detail: s.detail.clone(),
            },
            None if complete => Check::Unseen,
            None => Check::NotChecked {
                why: "no reproducer, and a peer it names did not run, or ran only a sample or a \
                      shard of the campaign (judged the old way; `ratchet-bench expectations \
                      migrate` gives it a reproducer)"
                    .into(),
            },
        }
    }

    /// Whether the entry fails the run as stale.
    pub fn is_stale(&self) -> bool {
        matches!(self, Check::Stale { .. } | Check::Unseen)
    }

    /// One word for tables: `shows`, `STALE`, `not checked`, `expired`.
    pub fn label(&self) -> &'static str {
        match self {
            Check::Shows { .. } => "shows",
            Check::Stale { .. } | Check::Unseen => "STALE",
            Check::NotChecked { .. } => "not checked",
            Check::Expired => "expired",
        }
    }

    /// The rest of the line after the label.
    pub fn explain(&self) -> String {
        match self {
            Check::Shows { signature, .. } => format!("shows {signature}"),
            Check::Stale { shown } if shown.is_empty() => {
                "the reproducer shows no failing finding: remove the entry".into()
            }
            Check::Stale { shown } => format!(
                "the reproducer shows only {}: remove or update the entry",
                shown.join(", ")
            ),
            Check::Unseen => "no reproducer, and the run's findings did not show it (judged the \
                               old way: `ratchet-bench expectations migrate` gives it a \
                               reproducer; or remove the entry)"
                .into(),
            Check::NotChecked { why } => why.clone(),
            Check::Expired => "past its expiry date, counted as absent".into(),
        }
    }
}

/// An entry, the file it came from, and what the replay of its reproducer showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCheck {
    /// The file it came from.
    pub file: String,
    /// The entry.
    pub entry: Expectation,
    /// What its replay showed.
    pub check: Check,
}

/// The result of holding a run's findings and the replays of the entries against the
/// expectations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    /// Signatures of failing findings no entry lists.
    pub new: Vec<String>,
    /// Signatures of entries whose reproducer no longer shows them.
    pub stale: Vec<String>,
    /// Signatures of entries past their expiry date.
    pub expired: Vec<String>,
    /// Every entry of every file, in order, with what its replay showed.
    pub entries: Vec<EntryCheck>,
}

impl Triage {
    /// Whether the run fails: a new finding or a stale entry.
    pub fn fails(&self) -> bool {
        !self.new.is_empty() || !self.stale.is_empty()
    }

    /// The entries whose finding showed (their replay, or the run's findings for an entry
    /// without a reproducer): known and still true.
    pub fn held(&self) -> impl Iterator<Item = &EntryCheck> {
        self.entries
            .iter()
            .filter(|e| matches!(e.check, Check::Shows { .. }))
    }

    /// The entries that fail the run as stale, each with its file and what its replay showed.
    pub fn stale_entries(&self) -> impl Iterator<Item = &EntryCheck> {
        self.entries.iter().filter(|e| e.check.is_stale())
    }

    /// The entries not judged either way, each with why (a peer not selected or not built,
    /// a shard that does not own it, no vectors folder, ...).
    pub fn unjudged(&self) -> impl Iterator<Item = &EntryCheck> {
        self.entries
            .iter()
            .filter(|e| matches!(e.check, Check::NotChecked { .. }))
    }

    /// The triage of a run without expectations: every failing finding is new.
    pub fn without_expectations(seen: &[Seen]) -> Triage {
        Triage {
            new: seen
                .iter()
                .filter(|s| s.kind.fails_run())
                .map(|s| s.signature.clone())
                .collect(),
            ..Triage::default()
        }
    }

    /// How many entries ended in each check, as `N shows, N stale, N not checked, N
    /// expired` (zeros left out).
    pub fn counts(&self) -> String {
        let mut parts = Vec::new();
        for label in ["shows", "STALE", "not checked", "expired"] {
            let n = self
                .entries
                .iter()
                .filter(|e| e.check.label() == label)
                .count();
            if n > 0 {
                let word = if label == "STALE" { "stale" } else { label };
                parts.push(format!("{n} {word}"));
            }
        }
        if parts.is_empty() {
            "no entries".into()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FindingKind;

    fn entry(signature: &str) -> serde_json::Value {
        serde_json::json!({
            "signature": signature,
            "reason": "known in this test",
            "reproducer": {"scenario": "send A 5; deliver m0; replay m0", "seed": 1, "peers": ["p"]},
        })
    }

    fn write(name: &str, entries: &[serde_json::Value]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ratchet-bench-expectations-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.json"));
        std::fs::write(
            &path,
            serde_json::json!({ "expectations": entries }).to_string(),
        )
        .unwrap();
        path
    }

    fn seen(signature: &str, kind: FindingKind) -> Seen {
        let finding = crate::report::Finding::new(
            kind,
            vec![signature.split('/').next().unwrap().into()],
            0,
            "x",
            None,
            String::new(),
        );
        let mut s = Seen::first(&finding, "send A 1".into(), 1);
        s.signature = signature.into();
        s
    }

    #[test]
    fn files_layer_in_order_and_a_signature_in_two_files_names_both() {
        let project = write("project", &[entry("a/panic/*"), entry("b/panic/replay")]);
        let team = write("team", &[entry("a/panic/replay"), entry("c/panic/replay")]);
        let set = ExpectationSet::load(&[project.clone(), team.clone()]).unwrap();
        assert_eq!(set.entries.len(), 4);
        // The first entry that covers a signature lists it: the project's wildcard.
        let none = set.expired_on("2026-01-01");
        let l = set.find("a/panic/replay", &none).unwrap();
        assert_eq!(l.entry.signature, "a/panic/*");
        assert_eq!(l.file, project.display().to_string());
        assert_eq!(
            set.find("c/panic/replay", &none).unwrap().file,
            team.display().to_string()
        );

        let again = write("again", &[entry("c/panic/replay")]);
        let err = ExpectationSet::load(&[team.clone(), again.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&team.display().to_string())
                && err.contains(&again.display().to_string())
                && err.contains("c/panic/replay"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_entry_is_an_error_naming_the_entry_and_field() {
        let bad_reproducer = serde_json::json!({
            "signature": "a/panic/x", "reason": "r", "reproducer": {"seed": 1},
        });
        let bad_scenario = serde_json::json!({
            "signature": "a/panic/x", "reason": "r",
            "reproducer": {"scenario": "send A 5; deliver m7", "seed": 1, "peers": ["a"]},
        });
        let no_seed = serde_json::json!({
            "signature": "a/panic/x", "reason": "r",
            "reproducer": {"scenario": "send A 5", "peers": ["a"]},
        });
        let empty_reason = serde_json::json!({
            "signature": "a/panic/x", "reason": " ",
            "reproducer": {"scenario": "send A 5", "seed": 1, "peers": ["a"]},
        });
        for (value, want) in [
            (
                bad_reproducer,
                "expectations[1].reproducer: expected one of",
            ),
            (
                bad_scenario,
                "expectations[1].reproducer.scenario: step 1: step refers to m7",
            ),
            (
                no_seed,
                "expectations[1].reproducer: a scenario reproducer needs \"seed\"",
            ),
            (empty_reason, "expectations[1].reason: expected a reason"),
        ] {
            let path = write("bad", &[entry("a/panic/y"), value]);
            let err = Expectations::load(&path).unwrap_err().to_string();
            assert!(
                err.contains(&path.display().to_string()) && err.contains(want),
                "{err} should say {want}"
            );
        }
    }

    #[test]
    fn stale_means_the_replay_did_not_show_it_whatever_the_campaign_saw() {
        let path = write(
            "triage",
            &[
                entry("a/panic/*"),
                entry("b/panic/replay"),
                entry("c/panic/x"),
            ],
        );
        let mut set = ExpectationSet::load(std::slice::from_ref(&path)).unwrap();
        set.entries[2].entry.expires = Some("2020-01-01".into());
        // The campaign saw a/panic/replay and d/panic/replay, not b's finding.
        let mut sightings = vec![
            seen("a/panic/replay", FindingKind::Panic),
            seen("d/panic/replay", FindingKind::Panic),
            seen(
                "e/divergence-outcome/deliver",
                FindingKind::DivergenceOutcome,
            ),
        ];
        let checks = vec![
            Check::of(
                &set.entries[0].entry,
                &[("a/panic/tamper-mac".into(), "it panicked".into())],
            ),
            Check::of(
                &set.entries[1].entry,
                &[("b/rejected-genuine/deliver".into(), String::new())],
            ),
            Check::NotChecked {
                why: "c did not run".into(),
            },
        ];
        let expired = set.expired_on("2026-01-01");
        assert_eq!(expired, [false, false, true]);
        let triage = set.triage(&mut sightings, &expired, checks);
        assert_eq!(triage.new, ["d/panic/replay"], "a note never fails");
        assert_eq!(triage.stale, ["b/panic/replay"]);
        assert_eq!(triage.expired, ["c/panic/x"]);
        assert_eq!(sightings[0].listed_in, Some(path.display().to_string()));
        assert_eq!(
            triage.entries[0].check,
            Check::Shows {
                signature: "a/panic/tamper-mac".into(),
                detail: "it panicked".into()
            }
        );
        assert_eq!(triage.entries[2].check, Check::Expired);
        assert!(triage.fails());
        assert_eq!(triage.counts(), "1 shows, 1 stale, 1 expired");
        // A campaign that met b's finding does not make the entry true: only its replay does.
        let mut met = vec![seen("b/panic/replay", FindingKind::Panic)];
        let checks = vec![
            Check::NotChecked { why: "x".into() },
            Check::Stale { shown: Vec::new() },
            Check::NotChecked { why: "x".into() },
        ];
        assert_eq!(
            set.triage(&mut met, &expired, checks).stale,
            ["b/panic/replay"]
        );
    }

    #[test]
    fn an_entry_from_before_reproducers_loads_and_is_judged_by_the_runs_findings() {
        let legacy = serde_json::json!({"signature": "a/panic/*", "reason": "r"});
        let path = write("legacy", &[legacy, entry("b/panic/replay")]);
        let set = ExpectationSet::load(std::slice::from_ref(&path)).unwrap();
        let old = &set.entries[0].entry;
        assert_eq!(old.reproducer, None);
        assert!(old.reproducer_command().contains("expectations migrate"));
        assert_eq!(old.reproducer_kind(), "none");
        let shown = [seen("a/panic/replay", FindingKind::Panic)];
        assert_eq!(
            Check::by_findings(old, &shown, true),
            Check::Shows {
                signature: "a/panic/replay".into(),
                detail: shown[0].detail.clone()
            }
        );
        let none: [Seen; 0] = [];
        let unseen = Check::by_findings(old, &none, true);
        assert!(unseen.is_stale() && unseen.explain().contains("migrate"));
        assert!(matches!(
            Check::by_findings(old, &none, false),
            Check::NotChecked { .. }
        ));
        // It writes back without a reproducer field.
        let file = Expectations::load(&path).unwrap();
        assert!(!file.to_text().contains("\"reproducer\": null"));
        assert_eq!(Expectations::parse(&file.to_text()).unwrap(), file);
    }

    #[test]
    fn the_written_form_reads_back() {
        let path = write("roundtrip", &[entry("a/panic/*")]);
        let file = Expectations::load(&path).unwrap();
        assert_eq!(Expectations::parse(&file.to_text()).unwrap(), file);
    }
}
