//! Fuzz artifacts (libFuzzer's `crash-*`, `leak-*`, `timeout-*` files, and corpus inputs)
//! decoded exactly as their target decodes them, and replayed outside the fuzzer.
//!
//! A target takes its input through `libfuzzer-sys`: a scenario target decodes the bytes with
//! `Scenario::arbitrary_take_rest` (an input that does not decode is never run), a byte target
//! takes them as they are. Replaying runs the same [`crate::fuzzing`] check the target runs,
//! under the same session seed, so the crash it names is the one the fuzzer saw, unless the
//! crash needs the fuzz build itself (a sanitizer report, or vodozemac's MACs switched off
//! under `cfg(fuzzing)`); [`Replay::note`] says so when nothing shows.

use crate::fuzzing::{self, Crash, FUZZ_SEED};
use crate::guard::{guarded_within, Stopped};
use crate::mls_secret_tree::SecretTreeCase;
use crate::peer::{Family, Peer};
pub use crate::report::render_transcripts;
use crate::report::Finding;
use crate::scenario::{hex_preview, Scenario, Transcript};
use arbitrary::{Arbitrary, Unstructured};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// A fuzz target of fuzz/fuzz_targets/.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Target {
    /// `diff_session`: a scenario on the Double Ratchet peers.
    DiffSession,
    /// `diff_olm`: a scenario on the Olm peers.
    DiffOlm,
    /// `diff_megolm`: a scenario on the Megolm peers.
    DiffMegolm,
    /// `libolm_decode`: a selector byte and a wire message for libolm.
    LibolmDecode,
    /// `reference_decrypt`: bytes given to an established reference session.
    ReferenceDecrypt,
    /// `vector_parse`: bytes given to every vector loader.
    VectorParse,
    /// `mls_secret_tree`: a secret-tree case compared with mls-rs.
    MlsSecretTree,
    /// `diff_mls_group`: a group schedule on the MLS group peers, alone and mixed.
    DiffMlsGroup,
    /// `diff_signal_v3`: a scenario on the signal-v3 peers.
    DiffSignalV3,
}

impl Target {
    /// Every target, in fuzz/Cargo.toml's order.
    pub const ALL: [Target; 9] = [
        Target::DiffSession,
        Target::ReferenceDecrypt,
        Target::VectorParse,
        Target::DiffOlm,
        Target::DiffMegolm,
        Target::LibolmDecode,
        Target::MlsSecretTree,
        Target::DiffMlsGroup,
        Target::DiffSignalV3,
    ];

    /// The target's name (its binary and its corpus and artifacts folders).
    pub fn name(self) -> &'static str {
        match self {
            Target::DiffSession => "diff_session",
            Target::DiffOlm => "diff_olm",
            Target::DiffMegolm => "diff_megolm",
            Target::LibolmDecode => "libolm_decode",
            Target::ReferenceDecrypt => "reference_decrypt",
            Target::VectorParse => "vector_parse",
            Target::MlsSecretTree => "mls_secret_tree",
            Target::DiffMlsGroup => "diff_mls_group",
            Target::DiffSignalV3 => "diff_signal_v3",
        }
    }

    /// The target called `name`, or an error listing the names.
    pub fn parse(name: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let all: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown fuzz target {name:?}; expected one of {}",
                    all.join(", ")
                )
            })
    }

    /// The target whose name is the nearest folder above `path` (fuzz/artifacts/diff_olm/
    /// crash-..., fuzz/corpus/diff_session/...), if any.
    pub fn detect(path: &Path) -> Option<Target> {
        path.ancestors()
            .skip(1)
            .filter_map(|p| p.file_name()?.to_str())
            .find_map(|name| Target::parse(name).ok())
    }

    /// The families a scenario target runs; `None` for byte targets.
    pub fn families(self) -> Option<&'static [Family]> {
        match self {
            Target::DiffSession => Some(fuzzing::SESSION_FAMILIES),
            Target::DiffOlm => Some(&[Family::OLM]),
            Target::DiffMegolm => Some(&[Family::MEGOLM]),
            Target::DiffSignalV3 => Some(&[Family::SIGNAL_V3]),
            _ => None,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An artifact's bytes as its target reads them.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Input {
    /// A scenario target's input, decoded.
    Scenario(Scenario),
    /// libFuzzer never runs this input: the target's decoding refuses it (why).
    NotRun(String),
    /// `libolm_decode`: the peer the selector byte picks and the wire message.
    Wire {
        /// The libolm peer.
        peer: &'static str,
        /// The message.
        bytes: Vec<u8>,
    },
    /// `reference_decrypt` or `vector_parse`: the bytes as they are.
    Bytes(Vec<u8>),
    /// `mls_secret_tree`: the case.
    SecretTree(Box<SecretTreeCase>),
    /// `diff_mls_group`: the group schedule.
    GroupSchedule(Box<crate::group::GroupSchedule>),
}

/// Decodes `bytes` as `target` does.
pub fn decode(target: Target, bytes: &[u8]) -> Input {
    match target {
        Target::DiffSession | Target::DiffOlm | Target::DiffMegolm | Target::DiffSignalV3 => {
            match Scenario::arbitrary_take_rest(Unstructured::new(bytes)) {
                Ok(s) => Input::Scenario(s),
                Err(e) => Input::NotRun(format!("the bytes do not decode to a scenario: {e}")),
            }
        }
        Target::LibolmDecode => match fuzzing::libolm_decode_input(bytes) {
            Some((peer, rest)) => Input::Wire {
                peer,
                bytes: rest.to_vec(),
            },
            None => Input::NotRun("an empty input selects no peer".into()),
        },
        Target::ReferenceDecrypt | Target::VectorParse => Input::Bytes(bytes.to_vec()),
        Target::DiffMlsGroup => {
            match crate::group::GroupSchedule::arbitrary_take_rest(Unstructured::new(bytes)) {
                Ok(s) => Input::GroupSchedule(Box::new(s)),
                Err(e) => {
                    Input::NotRun(format!("the bytes do not decode to a group schedule: {e}"))
                }
            }
        }
        Target::MlsSecretTree => {
            if bytes.len() < SecretTreeCase::size_hint(0).0 {
                return Input::NotRun(format!(
                    "{} bytes, fewer than the {} a case needs",
                    bytes.len(),
                    SecretTreeCase::size_hint(0).0
                ));
            }
            match SecretTreeCase::arbitrary_take_rest(Unstructured::new(bytes)) {
                Ok(c) => Input::SecretTree(Box::new(c)),
                Err(e) => Input::NotRun(format!("the bytes do not decode to a case: {e}")),
            }
        }
    }
}

/// What replaying an artifact showed.
#[derive(Debug)]
pub struct Replay {
    /// The target.
    pub target: Target,
    /// The decoded input.
    pub input: Input,
    /// For scenario targets, what each peer did.
    pub transcripts: Vec<Transcript>,
    /// For scenario targets, every finding (expected or not, failing or not).
    pub findings: Vec<Finding>,
    /// For byte targets, what the code under test did, line by line.
    pub did: Vec<String>,
    /// What the target crashes with on this input, if it does.
    pub crash: Option<Crash>,
    /// A remark when the replay may differ from the fuzz build's run.
    pub note: Option<String>,
}

/// The longest a byte target's replay may take before it is reported as a hang (its thread
/// is left behind).
pub const REPLAY_BUDGET: Duration = Duration::from_secs(60);

/// The peers a scenario target runs: every known peer of its families.
pub fn target_peers(target: Target) -> Vec<&'static dyn Peer> {
    target.families().map(fuzzing::peers_of).unwrap_or_default()
}

/// Decodes `bytes` as `target` does and runs the target's check on them.
pub fn replay(target: Target, bytes: &[u8]) -> Replay {
    let input = decode(target, bytes);
    let mut out = Replay {
        target,
        input: input.clone(),
        transcripts: Vec::new(),
        findings: Vec::new(),
        did: Vec::new(),
        crash: None,
        note: None,
    };
    match input {
        Input::NotRun(why) => out.did.push(format!("not run: {why}")),
        Input::Scenario(scenario) => {
            let peers = target_peers(target);
            let (transcripts, findings) =
                crate::campaign::check_scenario(&peers, &scenario, FUZZ_SEED);
            out.transcripts = transcripts;
            out.findings = findings;
            out.crash = target
                .families()
                .and_then(|f| fuzzing::check_families(&scenario, f));
        }
        Input::Wire { peer, bytes } => {
            out.did.push(format!(
                "{peer} given {} bytes: {}",
                bytes.len(),
                hex_preview(&bytes, 48)
            ));
            if !crate::peers::known().iter().any(|p| p.info().name == peer) {
                out.note = Some(format!("{peer} is not built here, so nothing ran"));
            }
            let owned = bytes.clone();
            out.crash = watched(target, move || fuzzing::check_decode_on(peer, &owned));
        }
        Input::Bytes(bytes) if target == Target::VectorParse => {
            out.did.push(format!(
                "{} bytes as a vector file: {}",
                bytes.len(),
                hex_preview(&bytes, 48)
            ));
            let owned = bytes.clone();
            match guarded_within(REPLAY_BUDGET, move || fuzzing::vector_parse(&owned)) {
                Ok(verdicts) => {
                    for (loader, verdict) in verdicts {
                        out.did.push(match verdict {
                            Ok(n) => format!("  {loader}: {n} cases judged"),
                            Err(e) => format!("  {loader}: refused: {e}"),
                        });
                    }
                }
                Err(stopped) => out.crash = Some(stopped_crash(target, &stopped)),
            }
        }
        Input::Bytes(bytes) => {
            out.did.push(format!(
                "{} bytes given to both parties of an established reference session: {}",
                bytes.len(),
                hex_preview(&bytes, 48)
            ));
            out.crash = watched(target, move || fuzzing::check_reference_decrypt(&bytes));
        }
        Input::GroupSchedule(schedule) => {
            let peers = fuzzing::group_peers();
            let transcripts = crate::group_run::replay(&schedule, &peers, FUZZ_SEED);
            out.did.push(format!("group schedule: {schedule}"));
            out.did.extend(
                crate::group_run::render(&transcripts)
                    .lines()
                    .map(str::to_string),
            );
            out.crash = fuzzing::check_mls_group(&schedule);
        }
        Input::SecretTree(case) => {
            out.did.push(format!("case {case:?}"));
            let copy = case.clone();
            match guarded_within(REPLAY_BUDGET, move || {
                crate::mls_secret_tree::compare(&copy)
            }) {
                Ok(Ok(outcome)) => out.did.push(format!("compared: {outcome:?}")),
                Ok(Err(e)) => out.did.push(format!("compared: {e}")),
                Err(stopped) => out.did.push(format!("stopped: {stopped}")),
            }
            out.crash = watched(target, move || fuzzing::check_mls_secret_tree(&case));
        }
    }
    if out.crash.is_none() && !matches!(out.input, Input::NotRun(_)) {
        out.note = out.note.or_else(|| {
            Some(
                "no crash in this build; a crash the fuzzer saw on this input may need the fuzz \
                 build (its sanitizers, or cfg(fuzzing), under which vodozemac accepts every \
                 MAC): `cargo fuzz run TARGET FILE` shows it"
                    .into(),
            )
        });
    }
    out
}

/// Runs a byte target's check within [`REPLAY_BUDGET`], a panic of the code under test and a
/// hang both being the target's crash.
fn watched(target: Target, f: impl FnOnce() -> Option<Crash> + Send + 'static) -> Option<Crash> {
    match guarded_within(REPLAY_BUDGET, f) {
        Ok(crash) => crash,
        Err(stopped) => Some(stopped_crash(target, &stopped)),
    }
}

/// A panic raised by the code under test itself (not one of the targets' crash messages).
fn panic_crash(target: Target, text: &str) -> Crash {
    match fuzzing::crash_signature(text) {
        Some(sig) => Crash {
            signature: sig.into(),
            detail: text.into(),
        },
        None => Crash {
            signature: format!("{target}/panic"),
            detail: text.into(),
        },
    }
}

fn stopped_crash(target: Target, stopped: &Stopped) -> Crash {
    match stopped {
        Stopped::Panicked(text) => panic_crash(target, text),
        _ => Crash {
            signature: format!("{target}/hang"),
            detail: stopped.to_string(),
        },
    }
}

/// The replay as text: the target, the decoded input (the scenario's text for scenario
/// targets), each peer's transcript or what the code under test did, and the crash.
pub fn render(replay: &Replay) -> String {
    let mut out = format!("target: {}\n", replay.target);
    match &replay.input {
        Input::Scenario(s) => {
            let _ = writeln!(out, "scenario: {s}\nseed: {FUZZ_SEED}");
            out.push_str(&render_transcripts(&replay.transcripts, &replay.findings));
        }
        _ => {
            for line in &replay.did {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    match &replay.crash {
        Some(c) => {
            let _ = writeln!(
                out,
                "\ncrash: {}\n  {}",
                c.signature,
                c.detail.replace('\n', "\n  ")
            );
        }
        None => {
            let _ = writeln!(out, "\ncrash: none");
        }
    }
    if let Some(note) = &replay.note {
        let _ = writeln!(out, "note: {note}");
    }
    out
}
