//! `ratchet-bench selftest`: the bench hunting its own planted bugs.
//!
//! For each flaw of the catalogue ([`Planted`]), a mutant of its family's reference runs the
//! seeded campaign of `ratchet-bench run` (the same drawn scenarios, executor and oracles,
//! through [`campaign::check_scenario`]) beside the real peers of its family
//! ([`companions`]): the reference first, then an independent implementation
//! (ksi-double-ratchet for `signal-dr`, vodozemac for Olm and Megolm; `signal-v3` has only
//! shims beside its reference, so the reference alone). Byte divergence from the reference
//! is one of the ways a flaw shows; the oracle's verdicts are the others. The hunt stops at
//! the first scenario with a finding that involves the mutant and that the real peers do not
//! explain:
//!
//! - a finding of the mutant alone, or of the mutant against the real reference, always
//!   counts (the reference is the same code without the flaw);
//! - a finding of the mutant against another peer counts unless, with the mutant read as
//!   the reference, the real peers have the same finding in that scenario or the
//!   expectations file lists it (ksi-double-ratchet's known off-by-one diverges from the
//!   reference and the mutant alike).
//!
//! A flaw is caught when such a finding shows within the campaign size (by default the
//! family's size in `run`); the result says by which finding kind, with the signature,
//! after how many scenarios and seconds (one thread, so the seconds are those of a
//! single-core campaign). The report is per family.

use crate::bench;
use crate::campaign;
use crate::peer::{Family, Peer};
use crate::peers::mutant::Planted;
use crate::peers::{
    KsiDoubleRatchet, ReferenceMegolm, ReferenceOlm, ReferenceSignalDr, ReferenceSignalV3,
    VodozemacMegolm, VodozemacOlm,
};
use crate::report::{Expectations, Finding, FindingKind, SelftestFamily};
pub use crate::report::{FlawResult, SelftestReport};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Instant;

/// What `selftest` is asked to do.
#[derive(Clone, Debug)]
pub struct SelftestOptions {
    /// The campaign's seed.
    pub seed: u64,
    /// The most scenarios drawn per flaw; `None` for each family's campaign size in `run`.
    pub scenarios: Option<u64>,
    /// Only these flaws; empty for the whole catalogue.
    pub flaws: Vec<Planted>,
    /// Only the flaws of these families; empty for every family.
    pub families: Vec<Family>,
    /// Finding kinds that do not count as a catch (to measure what the other oracles
    /// catch without them).
    pub ignore: Vec<FindingKind>,
}

impl Default for SelftestOptions {
    /// The seed `ratchet-bench run` uses, each family's campaign size, the whole catalogue.
    fn default() -> Self {
        SelftestOptions {
            seed: bench::DEFAULT_SEED,
            scenarios: None,
            flaws: Vec::new(),
            families: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl SelftestOptions {
    /// The flaws asked for, in catalogue order.
    pub fn planted(&self) -> Vec<Planted> {
        Planted::all()
            .into_iter()
            .filter(|p| self.flaws.is_empty() || self.flaws.contains(p))
            .filter(|p| self.families.is_empty() || self.families.contains(&p.family()))
            .collect()
    }
}

/// The real peers a mutant of `family` runs beside, the reference first.
pub fn companions(family: Family) -> Vec<Box<dyn Peer>> {
    match family.name() {
        "signal-dr" => vec![Box::new(ReferenceSignalDr), Box::new(KsiDoubleRatchet)],
        "olm" => vec![Box::new(ReferenceOlm), Box::new(VodozemacOlm)],
        "megolm" => vec![Box::new(ReferenceMegolm), Box::new(VodozemacMegolm)],
        "signal-v3" => vec![Box::new(ReferenceSignalV3)],
        _ => Vec::new(),
    }
}

/// Runs the hunt for every flaw asked for, one after the other.
pub fn run(opts: &SelftestOptions, expectations: Option<&Expectations>) -> SelftestReport {
    let planted = opts.planted();
    let mut families: Vec<SelftestFamily> = Vec::new();
    let mut results = Vec::with_capacity(planted.len());
    for flaw in planted {
        let family = flaw.family();
        let beside = companions(family);
        let limit = opts
            .scenarios
            .unwrap_or_else(|| bench::default_scenarios(family));
        if !families.iter().any(|f| f.family == family.name()) {
            families.push(SelftestFamily {
                family: family.name().into(),
                scenarios: limit,
                beside: beside.iter().map(|p| p.info().name).collect(),
            });
        }
        let mutant = flaw.mutant();
        let mut r = hunt(
            mutant.as_ref(),
            &beside,
            opts.seed,
            limit,
            expectations,
            &opts.ignore,
        );
        r.family = family.name().into();
        r.flaw = flaw.name().into();
        r.summary = flaw.summary().into();
        results.push(r);
    }
    let caught = results.iter().filter(|r| r.caught).count();
    SelftestReport {
        tool: concat!("ratchet-bench ", env!("CARGO_PKG_VERSION")).into(),
        seed: opts.seed,
        families,
        ignored: opts.ignore.clone(),
        exit_code: i32::from(caught != results.len()),
        caught,
        flaws: results,
    }
}

/// Hunts `subject` (a mutant, or for a control the reference under another name) through
/// at most `limit` scenarios of the campaign under `seed`, beside the real peers `beside`
/// (the first of which is the one `subject` claims to be); findings of the kinds in
/// `ignore` do not count. The result's `family`, `flaw` and `summary` are left empty for the
/// caller.
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
        family: String::new(),
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

/// The report as a table per family; `times` adds the seconds column (left out of
/// snapshots, since times vary from run to run).
pub fn render_text(report: &SelftestReport, times: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ratchet-bench selftest: seed {}, each mutant beside the real peers of its family",
        report.seed
    );
    if !report.ignored.is_empty() {
        let ignored: Vec<&str> = report.ignored.iter().map(|k| k.name()).collect();
        let _ = writeln!(out, "not counted as catches: {}", ignored.join(", "));
    }
    for family in &report.families {
        let _ = writeln!(
            out,
            "\n{}: at most {} scenarios per flaw, beside {}",
            family.family,
            family.scenarios,
            family.beside.join(", ")
        );
        let _ = write!(
            out,
            "{:<34} {:<48} {:<7} {:<24} {:>9}",
            "flaw", "what", "caught", "by", "scenarios"
        );
        if times {
            let _ = write!(out, " {:>8}", "seconds");
        }
        out.push('\n');
        for r in report.flaws.iter().filter(|r| r.family == family.family) {
            let by = r.kind.map_or("-", FindingKind::name);
            let _ = write!(
                out,
                "{:<34} {:<48} {:<7} {:<24} {:>9}",
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
