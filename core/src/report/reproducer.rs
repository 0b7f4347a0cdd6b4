//! What shows a finding again, as data: the reproducer every finding and every expectation
//! carries. Its shape depends on where the finding came from, never on its signature, so a
//! signature that is renamed keeps its reproducer.
//!
//! ```json
//! { "scenario": "send A 5; deliver m0; replay m0", "seed": 1, "peers": ["double-ratchet-2"] }
//! { "regression": "ksi-rekey-panic", "peers": ["ksi-double-ratchet"] }
//! { "vector": "olm-invalid", "file": "olm/invalid.json", "tcId": 10, "peer": "libolm-olm" }
//! { "interop": "olm", "initiator": "libolm-olm", "responder": "vodozemac-olm", "seed": 1 }
//! ```
//!
//! - A campaign finding (conformance, divergence, security oracles, a panic, a hang, a shim
//!   that broke the protocol, an abort during a scenario) is a scenario and its session seed,
//!   run on the peers it names, in that order (a divergence's signature names its peers in
//!   run order). `regression` names a case of the regressions file instead of carrying its
//!   text: that case is also pinned in every run, on every peer, so the finding shows in a
//!   run of any size, and removing the entry makes the run fail.
//! - A failed vector case is the case (suite, file, tcId) on one peer; an abort while a peer
//!   replayed a vector file is the file on that peer (no tcId).
//! - A failed interop cell (an abort in one included) is the cell: family, initiator,
//!   responder and the seed of the parties' randomness.

use super::finding::peer_arg;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The data that shows a finding again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Written", into = "Written")]
#[non_exhaustive]
pub enum Reproducer {
    /// A scenario run under a session seed on the named peers, in that order.
    Scenario {
        /// The scenario's text form.
        scenario: String,
        /// The session seed.
        seed: u64,
        /// The peers it runs on.
        peers: Vec<String>,
    },
    /// A case of the regressions file (its `# case NAME` line), run on the named peers.
    Regression {
        /// The case's name.
        case: String,
        /// The peers it runs on.
        peers: Vec<String>,
    },
    /// A vector case on one peer; without a tcId, the whole file.
    Vector {
        /// The suite's name in the manifest.
        suite: String,
        /// The file, relative to the vectors folder.
        file: String,
        /// The case, or `None` for the whole file.
        tc_id: Option<u64>,
        /// The peer that replays it.
        peer: String,
    },
    /// A cell of the interop matrix.
    Interop {
        /// The family's name.
        family: String,
        /// The peer that initiates (the row).
        initiator: String,
        /// The peer that responds (the column).
        responder: String,
        /// The seed of the parties' randomness.
        seed: u64,
    },
}

impl Reproducer {
    /// The peers it needs, in run order.
    pub fn peers(&self) -> Vec<String> {
        match self {
            Reproducer::Scenario { peers, .. } | Reproducer::Regression { peers, .. } => {
                peers.clone()
            }
            Reproducer::Vector { peer, .. } => vec![peer.clone()],
            Reproducer::Interop {
                initiator,
                responder,
                ..
            } if initiator == responder => vec![initiator.clone()],
            Reproducer::Interop {
                initiator,
                responder,
                ..
            } => vec![initiator.clone(), responder.clone()],
        }
    }

    /// What kind it is: `scenario`, `regression`, `vector` or `interop`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reproducer::Scenario { .. } => "scenario",
            Reproducer::Regression { .. } => "regression",
            Reproducer::Vector { .. } => "vector",
            Reproducer::Interop { .. } => "interop",
        }
    }

    /// The command that runs it (a regression case is named; [`Reproducer::command_with`]
    /// takes its text).
    pub fn command(&self) -> String {
        self.command_with(None)
    }

    /// The command that runs it, with a regression case's `(seed, text)` when known.
    pub fn command_with(&self, case: Option<(u64, &str)>) -> String {
        let args = |peers: &[String]| -> String { peers.iter().map(|p| peer_arg(p)).collect() };
        match self {
            Reproducer::Scenario {
                scenario,
                seed,
                peers,
            } => format!(
                "ratchet-bench replay '{scenario}'{} --seed {seed}",
                args(peers)
            ),
            Reproducer::Regression { case: name, peers } => match case {
                Some((seed, text)) => format!(
                    "ratchet-bench replay '{text}'{} --seed {seed}  (regression case {name})",
                    args(peers)
                ),
                None => format!("regression case {name} on {}", peers.join(", ")),
            },
            Reproducer::Vector {
                suite,
                file,
                tc_id,
                peer,
            } => {
                let which = tc_id.map_or_else(|| file.clone(), |tc| format!("{file} tcId {tc}"));
                format!(
                    "ratchet-bench vectors replay --suite {suite}{}  ({which})",
                    peer_arg(peer)
                )
            }
            Reproducer::Interop {
                family,
                initiator,
                responder,
                seed,
            } => format!(
                "ratchet-bench interop --family {family}{} --seed {seed}  ({initiator} -> {responder})",
                args(&self.peers())
            ),
        }
    }
}

impl fmt::Display for Reproducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.command())
    }
}

/// The written form: one object, the kind told by which of `scenario`, `regression`,
/// `vector` or `interop` it holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Written {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scenario: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    regression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tc_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interop: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    initiator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    responder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peer: Option<String>,
}

impl From<Reproducer> for Written {
    fn from(r: Reproducer) -> Written {
        match r {
            Reproducer::Scenario {
                scenario,
                seed,
                peers,
            } => Written {
                scenario: Some(scenario),
                seed: Some(seed),
                peers: Some(peers),
                ..Written::default()
            },
            Reproducer::Regression { case, peers } => Written {
                regression: Some(case),
                peers: Some(peers),
                ..Written::default()
            },
            Reproducer::Vector {
                suite,
                file,
                tc_id,
                peer,
            } => Written {
                vector: Some(suite),
                file: Some(file),
                tc_id,
                peer: Some(peer),
                ..Written::default()
            },
            Reproducer::Interop {
                family,
                initiator,
                responder,
                seed,
            } => Written {
                interop: Some(family),
                initiator: Some(initiator),
                responder: Some(responder),
                seed: Some(seed),
                ..Written::default()
            },
        }
    }
}

/// A field the kind needs, or an error naming it.
fn needed<T>(value: Option<T>, kind: &str, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("a {kind} reproducer needs {field:?}"))
}

/// Refuses a field the kind does not take.
fn unused<T>(value: &Option<T>, kind: &str, field: &str) -> Result<(), String> {
    match value {
        Some(_) => Err(format!("a {kind} reproducer takes no {field:?}")),
        None => Ok(()),
    }
}

fn peer_list(peers: Option<Vec<String>>, kind: &str) -> Result<Vec<String>, String> {
    let peers = needed(peers, kind, "peers")?;
    if peers.is_empty() || peers.iter().any(|p| p.trim().is_empty()) {
        return Err(format!(
            "a {kind} reproducer needs the names of the peers it runs on, got {peers:?}"
        ));
    }
    Ok(peers)
}

impl TryFrom<Written> for Reproducer {
    type Error = String;

    fn try_from(w: Written) -> Result<Reproducer, String> {
        let kinds = [
            ("scenario", w.scenario.is_some()),
            ("regression", w.regression.is_some()),
            ("vector", w.vector.is_some()),
            ("interop", w.interop.is_some()),
        ];
        let given: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
        match given.as_slice() {
            ["scenario"] => {
                let kind = "scenario";
                for (v, f) in [(&w.file, "file"), (&w.initiator, "initiator")] {
                    unused(v, kind, f)?;
                }
                unused(&w.responder, kind, "responder")?;
                unused(&w.tc_id, kind, "tcId")?;
                unused(&w.peer, kind, "peer (write peers: [...])")?;
                Ok(Reproducer::Scenario {
                    scenario: needed(w.scenario, kind, "scenario")?,
                    seed: needed(w.seed, kind, "seed")?,
                    peers: peer_list(w.peers, kind)?,
                })
            }
            ["regression"] => {
                let kind = "regression";
                for (v, f) in [(&w.file, "file"), (&w.initiator, "initiator")] {
                    unused(v, kind, f)?;
                }
                unused(&w.responder, kind, "responder")?;
                unused(&w.tc_id, kind, "tcId")?;
                unused(&w.seed, kind, "seed (the case carries its own)")?;
                unused(&w.peer, kind, "peer (write peers: [...])")?;
                Ok(Reproducer::Regression {
                    case: needed(w.regression, kind, "regression")?,
                    peers: peer_list(w.peers, kind)?,
                })
            }
            ["vector"] => {
                let kind = "vector";
                unused(&w.initiator, kind, "initiator")?;
                unused(&w.responder, kind, "responder")?;
                unused(&w.seed, kind, "seed")?;
                unused(&w.peers, kind, "peers (write peer: NAME)")?;
                Ok(Reproducer::Vector {
                    suite: needed(w.vector, kind, "vector")?,
                    file: needed(w.file, kind, "file")?,
                    tc_id: w.tc_id,
                    peer: needed(w.peer, kind, "peer")?,
                })
            }
            ["interop"] => {
                let kind = "interop";
                unused(&w.file, kind, "file")?;
                unused(&w.tc_id, kind, "tcId")?;
                unused(&w.peers, kind, "peers (write initiator and responder)")?;
                unused(&w.peer, kind, "peer (write initiator and responder)")?;
                Ok(Reproducer::Interop {
                    family: needed(w.interop, kind, "interop")?,
                    initiator: needed(w.initiator, kind, "initiator")?,
                    responder: needed(w.responder, kind, "responder")?,
                    seed: needed(w.seed, kind, "seed")?,
                })
            }
            [] => Err(
                "expected one of \"scenario\", \"regression\", \"vector\" or \"interop\", got none"
                    .into(),
            ),
            several => Err(format!(
                "expected one of \"scenario\", \"regression\", \"vector\" or \"interop\", got {}",
                several.join(" and ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Reproducer, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn every_kind_reads_and_writes_back_the_same() {
        for json in [
            r#"{"scenario":"send A 5; deliver m0; replay m0","seed":1,"peers":["double-ratchet-2"]}"#,
            r#"{"regression":"ksi-rekey-panic","peers":["ksi-double-ratchet"]}"#,
            r#"{"vector":"olm-invalid","file":"olm/invalid.json","tcId":10,"peer":"libolm-olm"}"#,
            r#"{"vector":"olm-invalid","file":"olm/invalid.json","peer":"libolm-olm"}"#,
            r#"{"interop":"olm","initiator":"libolm-olm","responder":"vodozemac-olm","seed":1}"#,
        ] {
            let r = read(json).unwrap();
            assert_eq!(serde_json::to_string(&r).unwrap(), json);
        }
    }

    #[test]
    fn a_reproducer_names_what_is_missing_or_too_much() {
        let cases = [
            (r#"{"seed":1}"#, "got none"),
            (
                r#"{"scenario":"send A 1","regression":"x","peers":["a"],"seed":1}"#,
                "got scenario and regression",
            ),
            (r#"{"scenario":"send A 1","peers":["a"]}"#, "needs \"seed\""),
            (
                r#"{"scenario":"send A 1","seed":1,"peers":[]}"#,
                "names of the peers",
            ),
            (
                r#"{"scenario":"send A 1","seed":1,"peer":"a"}"#,
                "takes no \"peer (write peers: [...])\"",
            ),
            (
                r#"{"vector":"olm-invalid","tcId":1,"peer":"a"}"#,
                "needs \"file\"",
            ),
            (
                r#"{"interop":"olm","initiator":"a","seed":1}"#,
                "needs \"responder\"",
            ),
            (
                r#"{"regression":"x","peers":["a"],"seed":3}"#,
                "takes no \"seed",
            ),
            (
                r#"{"scenario":"send A 1","seed":1,"peers":["a"],"colour":1}"#,
                "colour",
            ),
        ];
        for (json, want) in cases {
            let err = read(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn peers_and_commands_follow_the_kind() {
        let cell = Reproducer::Interop {
            family: "olm".into(),
            initiator: "libolm-olm".into(),
            responder: "libolm-olm".into(),
            seed: 1,
        };
        assert_eq!(cell.peers(), ["libolm-olm"]);
        assert_eq!(
            cell.command(),
            "ratchet-bench interop --family olm --peer libolm-olm --seed 1  (libolm-olm -> libolm-olm)"
        );
        let case = Reproducer::Regression {
            case: "ksi-rekey-panic".into(),
            peers: vec!["ksi-double-ratchet".into()],
        };
        assert_eq!(
            case.command_with(Some((1, "send A 5"))),
            "ratchet-bench replay 'send A 5' --peer ksi-double-ratchet --seed 1  (regression case ksi-rekey-panic)"
        );
    }
}
