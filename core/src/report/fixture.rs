//! Reports the renderers' unit tests share: an empty run, and a failing run with one of
//! everything (a new finding whose text tries to break out of every format, an expected one,
//! a note, a stale and an expired entry, a failing and a passing interop cell, a failed
//! vector case, a suite not run, a pinned scenario), plus a selftest that misses a flaw.

use super::expectations::{Check, EntryCheck, Expectation, Triage};
use super::finding::{FindingKind, Seen};
use super::reproducer::Reproducer;
use super::selftest::{FlawResult, SelftestFamily, SelftestReport};
use super::summary::{Inputs, RunReport};
use crate::interop::{Cell, CellResult, Matrix};
use crate::peer::{Capabilities, Family, Limits, PeerInfo, WhenFull};
use crate::vectors::{CaseResult, CaseStatus, SuiteReport};
use std::collections::BTreeMap;

/// Text that breaks HTML, XML, Markdown, JSON and shell quoting if written unescaped.
pub const HOSTILE: &str =
    "<script>alert('x')</script> & \"quoted\" | `tick` [link](http://a) ]]> \u{1b}[31m";

fn peer(name: &str) -> PeerInfo {
    PeerInfo {
        name: name.into(),
        version: format!("{name} 1.0 {HOSTILE}"),
        family: Family::SIGNAL_DR,
        limits: Limits {
            max_skip: 1000,
            max_stored: Some(2000),
            max_stored_per_chain: None,
            when_full: WhenFull::Refuse,
            window: None,
            max_chains: None,
        },
        capabilities: Capabilities::default(),
        weakened: Vec::new(),
    }
}

fn seen(signature: &str, kind: FindingKind, expected: Option<&str>) -> Seen {
    Seen {
        signature: signature.into(),
        kind,
        count: 3,
        detail: format!("deliver m0 to B: {HOSTILE}"),
        scenario: "send A 1; tamper m0 body 7".into(),
        seed: 42,
        reproducer: format!(
            "ratchet-bench replay 'send A 1; tamper m0 body 7' --peer {} --seed 42",
            signature.split('/').next().unwrap_or_default()
        ),
        case: Reproducer::Scenario {
            scenario: "send A 1; tamper m0 body 7".into(),
            seed: 42,
            peers: vec![signature.split('/').next().unwrap_or_default().to_string()],
        },
        expected: expected.map(Into::into),
        listed_in: expected.map(|_| "ci/expectations.json".into()),
    }
}

fn entry(signature: &str) -> Expectation {
    Expectation {
        signature: signature.into(),
        reason: format!("known: {HOSTILE}"),
        reproducer: Some(Reproducer::Scenario {
            scenario: "send A 1; deliver m0".into(),
            seed: 1,
            peers: vec![signature.split('/').next().unwrap_or_default().to_string()],
        }),
        link: None,
        expires: None,
    }
}

/// `signature`'s entry in ci/expectations.json, with what its replay showed.
fn checked(signature: &str, check: Check) -> EntryCheck {
    EntryCheck {
        file: "ci/expectations.json".into(),
        entry: entry(signature),
        check,
    }
}

/// A run with nothing in it: no peers, no vectors, no findings; it passes.
pub fn empty() -> RunReport {
    RunReport::new(1)
}

/// A failing run with one of everything (see the module's doc).
pub fn failing() -> RunReport {
    let mut r = RunReport::new(7);
    r.scenarios = BTreeMap::from([("signal-dr".to_string(), 20)]);
    r.pinned = 1;
    r.peers = vec![peer("alpha"), peer("beta")];
    r.expectations = vec!["ci/expectations.json".into()];
    r.inputs = Inputs {
        vectors_dir: Some("vectors".into()),
        regressions: Some("vectors/regressions/scenarios.txt".into()),
    };
    r.vectors = vec![
        SuiteReport {
            suite: "signal-dr-invalid".into(),
            file: "signal-dr/invalid.json".into(),
            peer: "beta".into(),
            passed: 10,
            failed: 1,
            skipped: 1,
            cases: vec![
                CaseResult {
                    tc_id: 3,
                    status: CaseStatus::Fail,
                    reason: format!("outcome: expected rejected, got accepted {HOSTILE}"),
                    trace: String::new(),
                },
                CaseResult {
                    tc_id: 4,
                    status: CaseStatus::Skip,
                    reason: "not for this peer".into(),
                    trace: String::new(),
                },
            ],
            not_run: None,
            expected: None,
        },
        SuiteReport::not_run(
            "mls-tree-math",
            "tree-math.json",
            "alpha",
            "no MLS vectors folder; run `ratchet-bench vectors fetch`".into(),
        ),
    ];
    r.interop = vec![Matrix {
        family: Family::SIGNAL_DR,
        peers: vec!["alpha".into(), "beta".into()],
        cells: vec![
            Cell {
                initiator: "alpha".into(),
                responder: "alpha".into(),
                result: CellResult::Pass { delivered: 24 },
            },
            Cell {
                initiator: "alpha".into(),
                responder: "beta".into(),
                result: CellResult::Fail {
                    step: "turn 1: responder decrypts A0".into(),
                    step_kind: "decrypt".into(),
                    class: "auth".into(),
                    detail: format!("bad mac {HOSTILE}"),
                },
            },
            Cell {
                initiator: "beta".into(),
                responder: "alpha".into(),
                result: CellResult::Pass { delivered: 24 },
            },
            Cell {
                initiator: "beta".into(),
                responder: "beta".into(),
                result: CellResult::Pass { delivered: 24 },
            },
        ],
    }];
    r.outcomes = BTreeMap::from([
        (
            "alpha".to_string(),
            BTreeMap::from([("sent".to_string(), 100), ("accepted".to_string(), 60)]),
        ),
        (
            "beta".to_string(),
            BTreeMap::from([("sent".to_string(), 100), ("panic".to_string(), 2)]),
        ),
    ]);
    let mut interop = seen(
        "alpha+beta/interop/decrypt/auth",
        FindingKind::InteropFailed,
        None,
    );
    interop.scenario = "interop signal-dr: alpha -> beta".into();
    interop.reproducer =
        "ratchet-bench interop --family signal-dr --peer alpha --peer beta --seed 7".into();
    let mut vector = seen(
        "beta/vector-failed/signal-dr-invalid/tc3",
        FindingKind::VectorFailed,
        Some("beta accepts it, known"),
    );
    vector.scenario = String::new();
    vector.reproducer = "ratchet-bench vectors replay --suite signal-dr-invalid".into();
    r.findings = vec![
        seen(
            "beta/accepted-forgery/tamper-body",
            FindingKind::AcceptedForgery,
            None,
        ),
        seen(
            "beta/panic/rekey",
            FindingKind::Panic,
            Some("beta panics, known"),
        ),
        interop,
        vector,
    ];
    r.notes = vec![seen(
        "alpha+beta/divergence-outcome/deliver",
        FindingKind::DivergenceOutcome,
        None,
    )];
    r.triage = Triage {
        new: vec![
            "beta/accepted-forgery/tamper-body".into(),
            "alpha+beta/interop/decrypt/auth".into(),
        ],
        stale: vec!["alpha/panic/deliver".into()],
        expired: vec!["alpha/rejected-genuine/*".into()],
        entries: vec![
            checked("alpha/panic/deliver", Check::Stale { shown: Vec::new() }),
            checked("alpha/rejected-genuine/*", Check::Expired),
            checked(
                "beta/panic/*",
                Check::Shows {
                    signature: "beta/panic/deliver".into(),
                    detail: "beta panics".into(),
                },
            ),
            checked(
                "beta/vector-failed/signal-dr-invalid/tc3",
                Check::Shows {
                    signature: "beta/vector-failed/signal-dr-invalid/tc3".into(),
                    detail: "tcId 3 fails".into(),
                },
            ),
            checked(
                "gamma/panic/*",
                Check::NotChecked {
                    why: "gamma did not run".into(),
                },
            ),
        ],
    };
    r.vector_failures = 1;
    r.exit_code = 1;
    r
}

/// A selftest that caught one flaw and missed another.
pub fn selftest() -> SelftestReport {
    SelftestReport {
        tool: "ratchet-bench 0.1.0".into(),
        seed: 1,
        families: vec![SelftestFamily {
            family: "signal-dr".into(),
            scenarios: 50,
            beside: vec!["reference".into(), "ksi-double-ratchet".into()],
        }],
        ignored: Vec::new(),
        flaws: vec![
            FlawResult {
                family: "signal-dr".into(),
                flaw: "skip-mac".into(),
                summary: format!("never checks the MAC {HOSTILE}"),
                peer: "mutant-skip-mac".into(),
                caught: true,
                kind: Some(FindingKind::AcceptedForgery),
                signature: Some("mutant-skip-mac/accepted-forgery/tamper-mac".into()),
                also: vec![FindingKind::DivergenceBytes],
                detail: Some("tamper-mac m0 to B: accepted".into()),
                scenarios: 2,
                seconds: 0.01,
                scenario: Some("send A 1; tamper m0 mac 3".into()),
                session_seed: Some(9),
            },
            FlawResult {
                family: "signal-dr".into(),
                flaw: "slow-leak".into(),
                summary: "keeps old keys".into(),
                peer: "mutant-slow-leak".into(),
                caught: false,
                kind: None,
                signature: None,
                also: Vec::new(),
                detail: None,
                scenarios: 50,
                seconds: 0.2,
                scenario: None,
                session_seed: None,
            },
        ],
        caught: 1,
        exit_code: 1,
    }
}
