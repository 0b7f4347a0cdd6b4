//! `ratchet-bench expectations add`: a new entry for a finding, with its minimised
//! reproducer and a reason, appended to an expectations file.
//!
//! The reproducer comes from a report (`--from REPORT.json`: the finding's own, as a run,
//! `interop` or `merge` wrote it) or from the scenario the finding was printed with
//! (`--scenario TEXT --seed N --peer P`). A scenario is minimised again (the campaign only
//! shortens within a small budget), optionally pinned as a case of the regressions file
//! (`--pin NAME`: every run then shows the finding whatever it draws, and the entry points at
//! the case), and replayed: an entry is written only if its reproducer shows the signature.
//! A signature an entry already covers (in the file written or any file layered with it) is
//! refused, and so is an empty reason.

use crate::minimize::{self, Source};
use crate::recheck::{RecheckError, Replayer};
use crate::report::{Check, Expectation, ExpectationSet, Expectations, Listed, Reproducer, Seen};
use crate::scenario::Scenario;
use crate::shrink;
use std::path::{Path, PathBuf};

/// What `expectations add` is asked to do.
#[derive(Clone, Debug)]
pub struct AddOptions {
    /// The finding's signature (or a prefix ending in `*`).
    pub signature: String,
    /// Why it is accepted for now.
    pub reason: String,
    /// A report holding the finding.
    pub from: Option<PathBuf>,
    /// Or the scenario that shows it ...
    pub scenario: Option<String>,
    /// ... its session seed ...
    pub seed: u64,
    /// ... and the peers it runs on.
    pub peers: Vec<String>,
    /// The file to append to.
    pub write: PathBuf,
    /// The files layered with it (a signature listed in any is refused).
    pub layered: Vec<PathBuf>,
    /// Pin the scenario as this regressions case and point the entry at it.
    pub pin: Option<String>,
    /// The regressions file.
    pub regressions: PathBuf,
    /// The most scenario runs minimising takes.
    pub budget: usize,
    /// Where the finding is tracked.
    pub link: Option<String>,
    /// When the entry stops counting, `YYYY-MM-DD`.
    pub expires: Option<String>,
}

/// Why no entry was written: an input error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The request itself is wrong (no reason, a signature already listed, no reproducer).
    #[error("{0}")]
    Refused(String),
    /// A file cannot be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The reproducer cannot run.
    #[error(transparent)]
    Reproducer(#[from] RecheckError),
}

/// The reproducer of the finding `opts` asks for, before minimising, and the signature it
/// shows (for a `*` entry, the first covered one the report holds).
pub fn reproducer(opts: &AddOptions) -> Result<(Reproducer, String), AddError> {
    if opts.reason.trim().is_empty() {
        return Err(AddError::Refused(
            "--reason: give the reason the finding is accepted for now".into(),
        ));
    }
    if opts.signature.split('/').count() < 3 {
        return Err(AddError::Refused(format!(
            "signature: expected peer/kind/step, got {:?}",
            opts.signature
        )));
    }
    let mut paths = opts.layered.clone();
    if opts.write.exists() && !paths.contains(&opts.write) {
        paths.push(opts.write.clone());
    }
    let set = ExpectationSet::load(&paths).map_err(|e| AddError::Refused(e.to_string()))?;
    if let Some(l) = set
        .entries
        .iter()
        .find(|l| l.entry.matches(&opts.signature) || l.entry.signature == opts.signature)
    {
        return Err(AddError::Refused(format!(
            "{:?} is already listed: by {:?} in {}",
            opts.signature, l.entry.signature, l.file
        )));
    }
    let wanted = Expectation {
        signature: opts.signature.clone(),
        reason: String::new(),
        reproducer: None,
        link: None,
        expires: None,
    };
    match (&opts.from, &opts.scenario) {
        (Some(path), None) => {
            let bad = |reason: String| AddError::File {
                path: path.clone(),
                reason,
            };
            let all = report_sightings(path)?;
            let found = all
                .iter()
                .find(|s| wanted.matches(&s.signature))
                .ok_or_else(|| {
                    let names: Vec<&str> = all.iter().map(|s| s.signature.as_str()).collect();
                    bad(format!(
                        "no finding {:?}; it holds: {}",
                        opts.signature,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?;
            Ok((found.case.clone(), found.signature.clone()))
        }
        (None, Some(text)) => {
            let scenario: Scenario = text
                .parse()
                .map_err(|e| AddError::Refused(format!("--scenario: {e}")))?;
            if opts.peers.is_empty() {
                return Err(AddError::Refused(
                    "--scenario: name the peers it runs on with --peer (as the finding's reproducer does)".into(),
                ));
            }
            Ok((
                Reproducer::Scenario {
                    scenario: scenario.to_string(),
                    seed: opts.seed,
                    peers: opts.peers.clone(),
                },
                opts.signature.clone(),
            ))
        }
        (Some(_), Some(_)) => Err(AddError::Refused(
            "give the reproducer once: --from REPORT.json or --scenario TEXT".into(),
        )),
        (None, None) => Err(AddError::Refused(
            "give the finding's reproducer: --from REPORT.json (a run's --json report) or --scenario TEXT --seed N --peer P (its reproduce line)".into(),
        )),
    }
}

/// The findings and notes of a report (`run`, `interop` or `merge` with `--json`), each
/// with its reproducer.
pub fn report_sightings(path: &Path) -> Result<Vec<Seen>, AddError> {
    let bad = |reason: String| AddError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let mut all: Vec<Seen> = Vec::new();
    for field in ["findings", "notes"] {
        if let Some(list) = value.get(field) {
            let seen: Vec<Seen> =
                serde_json::from_value(list.clone()).map_err(|e| bad(format!("{field}: {e}")))?;
            all.extend(seen);
        }
    }
    Ok(all)
}

/// Minimises `found` (a scenario, keeping `shown`), pins it if asked, replays it with
/// `replayer` (whose peers must hold the reproducer's), and appends the entry to
/// `opts.write`. Returns the entry written and what its replay showed.
pub fn add(
    opts: &AddOptions,
    found: Reproducer,
    shown: &str,
    replayer: &Replayer,
) -> Result<(Expectation, Check), AddError> {
    let mut reproducer = found;
    let mut pin: Option<(Source, shrink::Minimized)> = None;
    if let Reproducer::Scenario {
        scenario,
        seed,
        peers,
    } = &reproducer
    {
        let parsed: Scenario = scenario
            .parse()
            .map_err(|e| AddError::Refused(format!("the finding's scenario: {e}")))?;
        let on: Vec<&dyn crate::peer::Peer> = peers
            .iter()
            .filter_map(|n| {
                replayer
                    .peers
                    .iter()
                    .map(|p| p.as_ref())
                    .find(|p| &p.info().name == n)
            })
            .collect();
        if on.len() == peers.len() {
            if let Some(min) = shrink::minimize(&on, &parsed, *seed, shown, opts.budget) {
                let minimised = Reproducer::Scenario {
                    scenario: min.scenario.to_string(),
                    seed: *seed,
                    peers: peers.clone(),
                };
                let source = Source {
                    scenario: parsed.clone(),
                    seed: *seed,
                    target: None,
                    origin: "a finding's reproducer".into(),
                };
                reproducer = minimised;
                pin = Some((source, min));
            }
        }
    } else if opts.pin.is_some() {
        return Err(AddError::Refused(format!(
            "--pin: a {} reproducer is not a scenario; only scenarios are pinned",
            reproducer.kind()
        )));
    }
    let mut entry = Expectation {
        signature: opts.signature.clone(),
        reason: opts.reason.trim().to_string(),
        reproducer: Some(reproducer),
        link: opts.link.clone(),
        expires: opts.expires.clone(),
    };
    let listed = Listed {
        file: opts.write.display().to_string(),
        entry: entry.clone(),
    };
    let check = replayer.check(0, 0, &listed)?;
    if !matches!(check, Check::Shows { .. }) {
        return Err(AddError::Refused(format!(
            "the reproducer does not show {:?} ({}): no entry written; reproducer: {}",
            opts.signature,
            check.explain(),
            entry.reproducer_command()
        )));
    }
    if let Some(name) = &opts.pin {
        let Some((source, min)) = &pin else {
            return Err(AddError::Refused(format!(
                "--pin {name}: the scenario's peers are not all here to minimise it on"
            )));
        };
        minimize::write_case(&opts.regressions, name, source, min).map_err(|e| AddError::File {
            path: opts.regressions.clone(),
            reason: e.to_string(),
        })?;
        entry.reproducer = Some(Reproducer::Regression {
            case: name.clone(),
            peers: entry.reproducer.iter().flat_map(|r| r.peers()).collect(),
        });
    }
    let mut file = if opts.write.exists() {
        Expectations::load(&opts.write).map_err(|e| AddError::Refused(e.to_string()))?
    } else {
        Expectations::default()
    };
    file.expectations.push(entry.clone());
    // Written, then read back: what is written must load.
    write(&opts.write, &file.to_text())?;
    Expectations::load(&opts.write).map_err(|e| AddError::Refused(e.to_string()))?;
    Ok((entry, check))
}

fn write(path: &Path, text: &str) -> Result<(), AddError> {
    std::fs::write(path, text).map_err(|e| AddError::File {
        path: path.to_path_buf(),
        reason: format!("cannot write: {e}"),
    })
}
