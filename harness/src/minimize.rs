//! `ratchet-bench minimize`: a failing scenario (text, or a scenario target's fuzz artifact)
//! shrunk to the smallest found that still shows the same signature, and written as a
//! regression case that every `run` replays.
//!
//! Regression cases live in vectors/regressions/scenarios.txt, one per line (the session
//! seed, then the scenario's text), each after comment lines saying why it is there. A
//! comment line `# case NAME: SIGNATURE` names the case and the signature it pins; the
//! snapshot test (tests/regressions.rs) replays every case on every bundled peer and
//! snapshots what each did, per case.

use crate::artifact::{self, Input, Target};
use crate::fuzzing::{self, FUZZ_SEED};
use crate::peer::Peer;
use crate::report::Finding;
use crate::scenario::Scenario;
use crate::shrink::{self, Minimized};
use std::path::{Path, PathBuf};

/// Runs `minimize` takes unless told otherwise.
pub const DEFAULT_BUDGET: usize = 2000;

/// Where a scenario to minimise comes from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The scenario.
    pub scenario: Scenario,
    /// Its session seed.
    pub seed: u64,
    /// The fuzz target of an artifact (its peers are the target's), `None` for text.
    pub target: Option<Target>,
    /// Where it was read from, for messages (`text` for a scenario given inline).
    pub origin: String,
}

/// Why a scenario cannot be minimised.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MinimizeError {
    /// The input is unusable (file, target, scenario text), with the reason.
    #[error("{0}")]
    Input(String),
    /// The scenario shows no failing finding, or not the one asked for.
    #[error("{origin}: {reason}")]
    NoFinding {
        /// Where the scenario came from.
        origin: String,
        /// What was looked for and what was seen.
        reason: String,
    },
    /// The regressions file could not be read or written.
    #[error("{path}: {reason}")]
    Regressions {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Reads `arg` as a fuzz artifact (when `target` is given or its folder names one) or as a
/// scenario: a file holding the text, or the text itself. Text scenarios run under `seed`;
/// artifacts under the fuzz targets' seed.
pub fn source(arg: &str, target: Option<&str>, seed: u64) -> Result<Source, MinimizeError> {
    let path = Path::new(arg);
    let target = match target {
        Some(name) => Some(Target::parse(name).map_err(MinimizeError::Input)?),
        None if path.is_file() => Target::detect(path),
        None => None,
    };
    if let Some(target) = target {
        let bytes = std::fs::read(path)
            .map_err(|e| MinimizeError::Input(format!("{}: cannot read: {e}", path.display())))?;
        return match artifact::decode(target, &bytes) {
            Input::Scenario(scenario) => Ok(Source {
                scenario,
                seed: FUZZ_SEED,
                target: Some(target),
                origin: path.display().to_string(),
            }),
            Input::NotRun(why) => Err(MinimizeError::Input(format!(
                "{}: target {target} never runs this input: {why}",
                path.display()
            ))),
            _ => Err(MinimizeError::Input(format!(
                "{}: target {target} takes bytes, not a scenario; shrink its inputs with \
                 `cargo fuzz tmin {target} FILE`",
                path.display()
            ))),
        };
    }
    let (text, origin) = match std::fs::read_to_string(path) {
        Ok(text) => (text, path.display().to_string()),
        Err(_) => (arg.to_string(), "text".to_string()),
    };
    let scenario: Scenario = text
        .trim()
        .parse()
        .map_err(|e| MinimizeError::Input(format!("{origin}: scenario: {e}")))?;
    Ok(Source {
        scenario,
        seed,
        target: None,
        origin,
    })
}

/// The signature to keep: `wanted` if the scenario shows it, else the first finding that
/// fails a run (for an artifact: the one its target crashes on, which the expectations file
/// does not list).
pub fn pick_signature(
    source: &Source,
    peers: &[&dyn Peer],
    wanted: Option<&str>,
) -> Result<Finding, MinimizeError> {
    let (_, findings) = crate::campaign::check_scenario(peers, &source.scenario, source.seed);
    let no = |reason: String| MinimizeError::NoFinding {
        origin: source.origin.clone(),
        reason,
    };
    let seen = || {
        let all: Vec<&str> = findings.iter().map(|f| f.signature.as_str()).collect();
        if all.is_empty() {
            "none".to_string()
        } else {
            all.join(", ")
        }
    };
    if let Some(sig) = wanted {
        return findings
            .iter()
            .find(|f| f.signature == sig)
            .cloned()
            .ok_or_else(|| no(format!("no finding {sig:?}; it shows: {}", seen())));
    }
    if let Some(families) = source.target.and_then(Target::families) {
        if let Some(crash) = fuzzing::check_families(&source.scenario, families) {
            if let Some(f) = findings.iter().find(|f| f.signature == crash.signature) {
                return Ok(f.clone());
            }
        }
    }
    findings
        .iter()
        .find(|f| f.kind.fails_run())
        .cloned()
        .ok_or_else(|| no(format!("no failing finding; it shows: {}", seen())))
}

/// Minimises `source` on `peers` keeping `signature`, within `budget` runs.
pub fn run(
    source: &Source,
    peers: &[&dyn Peer],
    signature: &str,
    budget: usize,
) -> Result<Minimized, MinimizeError> {
    shrink::minimize(peers, &source.scenario, source.seed, signature, budget).ok_or_else(|| {
        MinimizeError::NoFinding {
            origin: source.origin.clone(),
            reason: format!("the scenario does not show {signature:?}"),
        }
    })
}

/// One case of a regressions file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// Its name (`# case NAME: ...`), or `line-N` for a case without one.
    pub name: String,
    /// The signature its `# case` line pins, if it names one.
    pub signature: Option<String>,
    /// The session seed.
    pub seed: u64,
    /// The scenario.
    pub scenario: Scenario,
    /// The comment lines before it, without `#`.
    pub comment: Vec<String>,
}

/// The cases of a regressions file, named. Errors name the line.
pub fn cases(text: &str) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    let mut comment = Vec::new();
    let mut named: Option<(String, Option<String>)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if let Some(rest) = c.strip_prefix("case ") {
                let (name, sig) = match rest.split_once(':') {
                    Some((n, s)) => (n.trim(), Some(s.trim().to_string())),
                    None => (rest.trim(), None),
                };
                named = Some((name.to_string(), sig.filter(|s| !s.is_empty())));
            } else {
                comment.push(c.to_string());
            }
            continue;
        }
        let parsed = crate::campaign::parse_pinned(line).map_err(|e| {
            // parse_pinned numbers its one line 1.
            format!("line {}: {}", i + 1, e.trim_start_matches("line 1: "))
        })?;
        let Some((scenario, seed)) = parsed.into_iter().next() else {
            continue;
        };
        let (name, signature) = named.take().unwrap_or((format!("line-{}", i + 1), None));
        out.push(Case {
            name,
            signature,
            seed,
            scenario,
            comment: std::mem::take(&mut comment),
        });
    }
    Ok(out)
}

/// Whether `name` can name a case: letters, digits, `-` and `_`, so that it is also a
/// snapshot's file name.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Appends the minimised case to the regressions file at `path`: a comment saying where it
/// came from, `# case NAME: SIGNATURE`, and the line. Refuses a name already used.
pub fn write_case(
    path: &Path,
    name: &str,
    source: &Source,
    min: &Minimized,
) -> Result<(), MinimizeError> {
    let bad = |reason: String| MinimizeError::Regressions {
        path: path.to_path_buf(),
        reason,
    };
    if !valid_name(name) {
        return Err(MinimizeError::Input(format!(
            "case name {name:?}: use letters, digits, - and _ only"
        )));
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(bad(format!("cannot read: {e}"))),
    };
    let existing = cases(&text).map_err(bad)?;
    if existing.iter().any(|c| c.name == name) {
        return Err(bad(format!("a case named {name:?} is already there")));
    }
    let from = match source.target {
        Some(t) => format!("fuzz target {t}'s input"),
        None => "a scenario".to_string(),
    };
    let mut add = String::new();
    if !text.is_empty() && !text.ends_with("\n\n") {
        add.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    }
    add.push_str(&format!(
        "# Found: {}\n# Minimised by `ratchet-bench minimize` from {from} of {} steps ({} runs).\n\
         # case {name}: {}\n{} {}\n",
        min.finding.detail.replace('\n', " "),
        source.scenario.steps.len(),
        min.runs,
        min.finding.signature,
        source.seed,
        min.scenario
    ));
    let mut all = text;
    all.push_str(&add);
    std::fs::write(path, all).map_err(|e| bad(format!("cannot write: {e}")))
}
