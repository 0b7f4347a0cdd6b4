//! `ratchet-bench expectations check` and `expectations add`.

use crate::{fail, to_json, ShimArgs};
use clap::{Args, Subcommand};
use ratchet_bench::bench;
use ratchet_bench::new_entry::{self, AddOptions};
use ratchet_bench::recheck::{self, Replayer};
use ratchet_bench::report::{ExpectationSet, Triage};
use ratchet_bench::vectors;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ExpectationsCommand {
    /// Replay every entry's reproducer alone, on the peers it names, and say per entry
    /// whether it still shows its finding, is stale (exit 1), or was not checked (why).
    Check(CheckArgs),
    /// Write a new entry for a finding, with its minimised reproducer and a reason.
    Add(AddArgs),
    /// Give the entries written before reproducers existed the reproducer of their finding
    /// in a run's report (`run --json`, with this file).
    Migrate(MigrateArgs),
}

#[derive(Args)]
pub struct MigrateArgs {
    /// A run's report (`run --json` or `merge --json`; repeatable, e.g. a run of the
    /// bundled peers and one with `--peers all`).
    #[arg(long, required = true)]
    from: Vec<PathBuf>,
    /// The expectations file to complete.
    #[arg(long, default_value = "ci/expectations.json")]
    write: PathBuf,
}

/// Where reproducers find their inputs.
#[derive(Args)]
pub struct InputArgs {
    /// The folder holding MANIFEST.json (vector reproducers).
    #[arg(long, default_value = "vectors")]
    vectors_dir: PathBuf,
    /// The folder holding the MLS working group's vector files (default: the
    /// RATCHET_BENCH_MLS_VECTORS environment variable).
    #[arg(long)]
    mls_vectors_dir: Option<PathBuf>,
    /// The regressions file that `regression` reproducers name cases of.
    #[arg(long, default_value = "vectors/regressions/scenarios.txt")]
    regressions: PathBuf,
    #[command(flatten)]
    shims: ShimArgs,
}

#[derive(Args)]
pub struct CheckArgs {
    /// An expectations file (repeatable: layered in order).
    #[arg(long = "expectations", default_value = "ci/expectations.json")]
    expectations: Vec<PathBuf>,
    /// Only these peers (repeatable); by default every bundled peer and, for entries naming
    /// a shim of the peers file, that shim (started now).
    #[arg(long = "peer")]
    peers: Vec<String>,
    #[command(flatten)]
    inputs: InputArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AddArgs {
    /// The finding's signature (or a prefix ending in `*` for a family of findings).
    signature: String,
    /// Why the finding is accepted for now (required, not empty).
    #[arg(long, required = true)]
    reason: String,
    /// A report holding the finding (`run --json`, `interop --json`, `merge --json`).
    #[arg(long, conflicts_with = "scenario")]
    from: Option<PathBuf>,
    /// Or the scenario the finding was printed with (its `reproduce:` line).
    #[arg(long)]
    scenario: Option<String>,
    /// The scenario's session seed.
    #[arg(long, default_value_t = 0, requires = "scenario")]
    seed: u64,
    /// A peer the scenario runs on (repeatable, in the reproducer's order).
    #[arg(long = "peer", requires = "scenario")]
    peers: Vec<String>,
    /// The expectations file to append to.
    #[arg(long, default_value = "ci/expectations.json")]
    write: PathBuf,
    /// A file layered with it: a signature listed there is refused too (repeatable).
    #[arg(long = "expectations")]
    expectations: Vec<PathBuf>,
    /// Also pin the scenario as case NAME of the regressions file, and point the entry at
    /// it: every run then shows the finding, whatever its size and seed.
    #[arg(long)]
    pin: Option<String>,
    /// The most scenario runs minimising takes.
    #[arg(long, default_value_t = ratchet_bench::minimize::DEFAULT_BUDGET)]
    budget: usize,
    /// Where the finding is tracked.
    #[arg(long)]
    link: Option<String>,
    /// The date (YYYY-MM-DD) after which the entry no longer counts.
    #[arg(long)]
    expires: Option<String>,
    #[command(flatten)]
    inputs: InputArgs,
}

pub fn command(command: ExpectationsCommand) -> ExitCode {
    match command {
        ExpectationsCommand::Check(args) => check(args),
        ExpectationsCommand::Add(args) => add(args),
        ExpectationsCommand::Migrate(args) => migrate(args),
    }
}

/// `expectations migrate`: 0 when every entry has a reproducer afterwards, 1 when some
/// remain without (named), 2 on an input error.
fn migrate(args: MigrateArgs) -> ExitCode {
    let done = match ratchet_bench::migrate::migrate(&args.write, &args.from) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    for (entry, from) in &done.given {
        println!("reproducer given: {entry} (from finding {from})");
    }
    for entry in &done.left {
        println!(
            "no reproducer: {entry} (the report holds no finding it covers; look at it by hand)"
        );
    }
    println!(
        "{}: {} entries given a reproducer, {} had one, {} left without; check them with `ratchet-bench expectations check --expectations {}`",
        args.write.display(),
        done.given.len(),
        done.had,
        done.left.len(),
        args.write.display()
    );
    ExitCode::from(u8::from(!done.left.is_empty()))
}

/// Peers to replay on, and why each peer that could not be had is absent.
type Peers = (
    Vec<Box<dyn ratchet_bench::peer::Peer>>,
    BTreeMap<String, String>,
);

/// The peers for `needed`: the ones named by `--peer` (started as given), or the bundled
/// peers and the shims `needed` names.
fn peers(given: &[String], needed: &[String], inputs: &InputArgs) -> Result<Peers, String> {
    if given.is_empty() {
        return Ok(recheck::peers_for(needed, &inputs.shims.options()));
    }
    let selected = ratchet_bench::peers::select_with(given, &inputs.shims.options())?;
    Ok((selected, BTreeMap::new()))
}

fn cases(inputs: &InputArgs) -> Result<Option<Vec<ratchet_bench::minimize::Case>>, String> {
    if !inputs.regressions.exists() {
        return Ok(None);
    }
    bench::read_cases(&inputs.regressions)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Runs `f` with a replayer of the entries' reproducers: the peers `given` (else those the
/// reproducers in `needed` name), the regression cases and the vector folders of `inputs`.
fn with_replayer<T>(
    given: &[String],
    needed: &[String],
    inputs: &InputArgs,
    f: impl FnOnce(&Replayer) -> T,
) -> Result<T, String> {
    let (peers, absent) = peers(given, needed, inputs)?;
    let cases = cases(inputs)?;
    let why = |name: &str| {
        absent
            .get(name)
            .cloned()
            .unwrap_or_else(|| bench::absent_reason(name))
    };
    let mls = vectors::mls::mls_vectors_dir(inputs.mls_vectors_dir.clone());
    let replayer = Replayer {
        peers: &peers,
        releases: &[],
        absent: &why,
        vectors_dir: Some(&inputs.vectors_dir),
        mls_vectors_dir: mls.as_deref(),
        accept_changed_vectors: false,
        vector_reports: &[],
        cases: cases
            .as_ref()
            .map(|c| (inputs.regressions.as_path(), c.as_slice())),
    };
    Ok(f(&replayer))
}

fn check(args: CheckArgs) -> ExitCode {
    // Replays run supervised, as `run`'s do: a peer that aborts the process is reported.
    if let Some(code) = crate::supervise::supervise() {
        return code;
    }
    let set = match ExpectationSet::load(&args.expectations) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let needed: Vec<String> = set
        .entries
        .iter()
        .flat_map(|l| l.entry.reproducer.iter().flat_map(|r| r.peers()))
        .collect();
    let replay = |replayer: &Replayer| recheck::check_set(&set, replayer, &bench::today());
    let triage = match with_replayer(&args.peers, &needed, &args.inputs, replay) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let triage = match triage {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    if args.json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "expectations": set.files,
                "triage": triage,
            }))
        );
    } else {
        print!("{}", render(&set, &triage));
    }
    ExitCode::from(u8::from(triage.fails()))
}

/// Per file, per entry: the check, the signature and what the replay said.
pub fn render(set: &ExpectationSet, triage: &Triage) -> String {
    let mut out = String::new();
    for file in &set.files {
        out.push_str(&format!("{file}:\n"));
        for e in triage.entries.iter().filter(|e| &e.file == file) {
            out.push_str(&format!(
                "  {:<12} {}: {}\n",
                e.check.label(),
                e.entry.signature,
                e.check.explain()
            ));
            if e.check.is_stale() {
                out.push_str(&format!(
                    "               reproducer: {}\n",
                    e.entry.reproducer_command()
                ));
            }
        }
    }
    let verdict = if triage.fails() { "FAIL" } else { "PASS" };
    out.push_str(&format!(
        "result: {verdict}: {} entries: {}\n",
        triage.entries.len(),
        triage.counts()
    ));
    out
}

fn add(args: AddArgs) -> ExitCode {
    let opts = AddOptions {
        signature: args.signature,
        reason: args.reason,
        from: args.from,
        scenario: args.scenario,
        seed: args.seed,
        peers: args.peers,
        write: args.write,
        layered: args.expectations,
        pin: args.pin,
        regressions: args.inputs.regressions.clone(),
        budget: args.budget,
        link: args.link,
        expires: args.expires,
    };
    let (found, shown) = match new_entry::reproducer(&opts) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let needed = found.peers();
    let added = with_replayer(&[], &needed, &args.inputs, |replayer| {
        new_entry::add(&opts, found, &shown, replayer)
    });
    let added = match added {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    match added {
        Ok((entry, check)) => {
            println!(
                "added {} to {}: {}",
                entry.signature,
                opts.write.display(),
                check.explain()
            );
            println!("reproducer: {}", entry.reproducer_command());
            if let Some(name) = &opts.pin {
                println!(
                    "pinned as case {name} of {}; run `cargo test -p ratchet-bench --test regressions` and review its new snapshot",
                    opts.regressions.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}
