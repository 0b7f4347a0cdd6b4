//! `ratchet-bench selftest`: the bench hunting its own planted bugs.
//!
//! For each flaw of the catalogue ([`Flaw`]), a mutant of the reference
//! ([`MutantReference`]) runs the seeded campaign of `ratchet-bench run` (the same drawn
//! scenarios, executor and oracles, through [`campaign::check_scenario`]) beside the real
//! peers of its family: the reference and ksi-double-ratchet. Byte divergence from them is
//! one of the ways a flaw shows; the oracle's verdicts are the others. The hunt stops at the
//! first scenario with a finding that involves the mutant and that the real peers do not
//! explain:
//!
//! - a finding of the mutant alone, or of the mutant against the real reference, always
//!   counts (the reference is the same code without the flaw);
//! - a finding of the mutant against another peer counts unless, with the mutant read as
//!   the reference, the real peers have the same finding in that scenario or the
//!   expectations file lists it (ksi-double-ratchet's known off-by-one diverges from the
//!   reference and the mutant alike).
//!
//! A flaw is caught when such a finding shows within the campaign size; the result says by
//! which finding kind, with the signature, after how many scenarios and seconds (one
//! thread, so the seconds are those of a single-core campaign).

use crate::bench;
use crate::campaign;
use crate::peer::{Family, Peer};
use crate::peers::mutant::MutantReference;
use crate::peers::{KsiDoubleRatchet, ReferenceSignalDr};
use crate::reference::signal_dr::Flaw;
use crate::report::{Expectations, Finding, FindingKind};
pub use crate::report::{FlawResult, SelftestReport};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

/// What `selftest` is asked to do.
#[derive(Clone, Debug)]
pub struct SelftestOptions {
    /// The campaign's seed.
    pub seed: u64,
    /// The most scenarios drawn per flaw.
    pub scenarios: u64,
    /// Only these flaws; empty for the whole catalogue.
    pub flaws: Vec<Flaw>,
    /// Finding kinds that do not count as a catch (to measure what the other oracles
    /// catch without them).
    pub ignore: Vec<FindingKind>,
}

impl Default for SelftestOptions {
    /// The seed and size `ratchet-bench run` uses for the `signal-dr` family.
    fn default() -> Self {
        SelftestOptions {
            seed: bench::DEFAULT_SEED,
            scenarios: bench::default_scenarios(Family::SIGNAL_DR),
            flaws: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

/// The real peers a `signal-dr` mutant runs beside, the reference first.
pub fn companions() -> Vec<Box<dyn Peer>> {
    vec![Box::new(ReferenceSignalDr), Box::new(KsiDoubleRatchet)]
}

/// Runs the hunt for every flaw asked for, one after the other.
pub fn run(opts: &SelftestOptions, expectations: Option<&Expectations>) -> SelftestReport {
    let beside = companions();
    let flaws = if opts.flaws.is_empty() {
        Flaw::ALL.to_vec()
    } else {
        opts.flaws.clone()
    };
    let results: Vec<FlawResult> = flaws
        .into_iter()
        .map(|flaw| {
            let mutant = MutantReference::new(flaw);
            let mut r = hunt(
                &mutant,
                &beside,
                opts.seed,
                opts.scenarios,
                expectations,
                &opts.ignore,
            );
            r.flaw = flaw.name().into();
            r.summary = flaw.summary().into();
            r
        })
        .collect();
    let caught = results.iter().filter(|r| r.caught).count();
    SelftestReport {
        tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
        seed: opts.seed,
        scenarios: opts.scenarios,
        beside: beside.iter().map(|p| p.info().name).collect(),
        ignored: opts.ignore.clone(),
        exit_code: i32::from(caught != results.len()),
        caught,
        flaws: results,
    }
}

/// Hunts `subject` (a mutant, or for a control the reference under another name) through
/// at most `limit` scenarios of the campaign under `seed`, beside the real peers `beside`
/// (the first of which is the one `subject` claims to be); findings of the kinds in
/// `ignore` do not count. The result's `flaw` and `summary` are left empty for the caller.
pub fn hunt(
    subject: &dyn Peer,
    beside: &[Box<dyn Peer>],
    seed: u64,
    limit: u64,
    expectations: Option<&Expectations>,
    ignore: &[FindingKind],
) -> FlawResult {
    let name = subject.info().name;
    let real: Vec<String> = beside.iter().map(|p| p.info().name).collect();
    let mut peers: Vec<&dyn Peer> = beside.iter().map(|p| p.as_ref()).collect();
    peers.push(subject);
    let started = Instant::now();
    let mut result = FlawResult {
        flaw: String::new(),
        summary: String::new(),
        peer: name.clone(),
        caught: false,
        kind: None,
        signature: None,
        also: Vec::new(),
        detail: None,
        scenarios: 0,
        seconds: 0.0,
        scenario: None,
        session_seed: None,
    };
    for index in 0..limit {
        let (scenario, session) = campaign::scenario_for(seed, index);
        let (_, findings) = campaign::check_scenario(&peers, &scenario, session);
        result.scenarios = index + 1;
        let caught = catching(&findings, &name, &real, expectations, ignore);
        if let Some(f) = caught.first() {
            result.caught = true;
            let mut also: Vec<FindingKind> = caught.iter().map(|c| c.kind).collect();
            also.sort();
            also.dedup();
            also.retain(|k| *k != f.kind);
            result.also = also;
            result.kind = Some(f.kind);
            result.signature = Some(f.signature.clone());
            result.detail = Some(f.detail.clone());
            result.scenario = Some(scenario.prefix(f.step).to_string());
            result.session_seed = Some(session);
            break;
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result
}

/// The findings of one scenario that involve `subject` and that the real peers do not
/// explain (see the module's doc), earliest step first.
fn catching<'f>(
    findings: &'f [Finding],
    subject: &str,
    real: &[String],
    expectations: Option<&Expectations>,
    ignore: &[FindingKind],
) -> Vec<&'f Finding> {
    let Some(claimed) = real.first() else {
        return Vec::new();
    };
    let of_real: BTreeSet<String> = findings
        .iter()
        .filter(|f| !f.peers.iter().any(|p| p == subject))
        .map(|f| f.signature.clone())
        .collect();
    let mut candidates: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.peers.iter().any(|p| p == subject) && !ignore.contains(&f.kind))
        .filter(|f| {
            // The mutant against the reference it claims to be: the flaw itself.
            if f.peers.len() > 1 && f.peers.iter().all(|p| p == subject || p == claimed) {
                return true;
            }
            let read_as_real = as_real(f, subject, claimed, real);
            !of_real.contains(&read_as_real)
                && !expectations.is_some_and(|e| e.lists(&read_as_real))
        })
        .collect();
    candidates.sort_by_key(|f| f.step);
    candidates
}

/// `f`'s signature with `subject` read as the peer it claims to be, the peers in the order
/// the real ones run in (so that it reads as the real peers' own finding would).
fn as_real(f: &Finding, subject: &str, claimed: &str, real: &[String]) -> String {
    let mut peers: Vec<&str> = f
        .peers
        .iter()
        .map(|p| if p == subject { claimed } else { p.as_str() })
        .collect();
    peers.sort_by_key(|p| real.iter().position(|r| r == p).unwrap_or(usize::MAX));
    let rest = f
        .signature
        .strip_prefix(&f.peers.join("+"))
        .unwrap_or(&f.signature);
    format!("{}{rest}", peers.join("+"))
}

/// The report as a table; `times` adds the seconds column (left out of snapshots, since
/// times vary from run to run).
pub fn render_text(report: &SelftestReport, times: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ratchet-bench selftest: seed {}, at most {} scenarios per flaw, each mutant beside {} (signal-dr)",
        report.seed,
        report.scenarios,
        report.beside.join(", ")
    );
    if !report.ignored.is_empty() {
        let ignored: Vec<&str> = report.ignored.iter().map(|k| k.name()).collect();
        let _ = writeln!(out, "not counted as catches: {}", ignored.join(", "));
    }
    out.push('\n');
    let _ = write!(
        out,
        "{:<24} {:<42} {:<7} {:<24} {:>9}",
        "flaw", "what", "caught", "by", "scenarios"
    );
    if times {
        let _ = write!(out, " {:>8}", "seconds");
    }
    out.push('\n');
    for r in &report.flaws {
        let by = r.kind.map_or("-", FindingKind::name);
        let _ = write!(
            out,
            "{:<24} {:<42} {:<7} {:<24} {:>9}",
            r.flaw,
            r.summary,
            if r.caught { "yes" } else { "NO" },
            by,
            r.scenarios
        );
        if times {
            let _ = write!(out, " {:>8.2}", r.seconds);
        }
        out.push('\n');
    }
    out.push_str("\nsignatures and reproducers (session seed, scenario cut after the finding):\n");
    for r in &report.flaws {
        match (&r.signature, &r.scenario, r.session_seed) {
            (Some(sig), Some(scenario), Some(seed)) => {
                let also: Vec<&str> = r.also.iter().map(|k| k.name()).collect();
                let also = if also.is_empty() {
                    String::new()
                } else {
                    format!(" (also {})", also.join(", "))
                };
                let _ = writeln!(out, "  {}: {sig}{also}\n    {seed} {scenario}", r.flaw);
            }
            _ => {
                let _ = writeln!(out, "  {}: not caught in {} scenarios", r.flaw, r.scenarios);
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} of {} flaws caught",
        report.caught,
        report.flaws.len()
    );
    out
}
