//! The `ratchet-bench` command line: a thin layer over the library.

mod expect;
mod supervise;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ratchet_bench::artifact;
use ratchet_bench::bench::{self, RunOptions};
use ratchet_bench::campaign::check_scenario;
use ratchet_bench::interop;
use ratchet_bench::peer::Family;
use ratchet_bench::recheck::{self, Replayer};
use ratchet_bench::report::{
    self, expected_counts, peers_table, render_text, render_verbose, ExpectationSet, Expectations,
    RunReport, Seen, SelftestReport, Triage,
};
use ratchet_bench::scenario::Scenario;
use ratchet_bench::shard::Shard;
use ratchet_bench::{peers, vectors};
use std::path::PathBuf;
use std::process::ExitCode;

/// Conformance and differential-fuzzing test bench for messaging ratchets.
#[derive(Parser)]
#[command(name = "ratchet-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay every vector suite and run a seeded differential campaign on the peers.
    Run(RunArgs),
    /// List the peers (family, version, limits) and the vector suites; shims after their
    /// hello.
    List {
        /// The folder holding MANIFEST.json.
        #[arg(long, default_value = "vectors")]
        vectors_dir: PathBuf,
        /// Also a peer: `shim:NAME=COMMAND` starts a shim (repeatable).
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// `all`: also start and list every shim of the peers file.
        #[arg(long = "peers", value_parser = ["all"])]
        peers_all: Option<String>,
        #[command(flatten)]
        shims: ShimArgs,
    },
    /// Run one scenario on the named peers and print what each did; or replay a fuzz
    /// artifact (or corpus file) as its target decodes it.
    Replay {
        /// The scenario in its text form, a file holding it, or a fuzz target's input file
        /// (its target named by --target or by its folder, as in fuzz/artifacts/TARGET/).
        scenario: String,
        /// The fuzz target whose input FILE is (default: the folder's name, if a target's).
        #[arg(long)]
        target: Option<String>,
        /// A peer to run it on (repeat for several; all bundled peers if none);
        /// `shim:NAME=COMMAND` starts a shim.
        #[arg(long = "peer")]
        peers: Vec<String>,
        #[command(flatten)]
        shims: ShimArgs,
        /// The session seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[command(flatten)]
        expect: ExpectationArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Shrink a failing scenario (text, file or a scenario target's fuzz artifact) to the
    /// smallest found that still shows the same signature; optionally add it as a regression
    /// case replayed by every run.
    Minimize {
        /// The scenario in its text form, a file holding it, or a fuzz artifact.
        scenario: String,
        /// The fuzz target whose input it is (default: the folder's name, if a target's).
        #[arg(long)]
        target: Option<String>,
        /// A peer to run a text scenario on (repeatable; all bundled peers if none).
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// The session seed of a text scenario (artifacts run under the fuzz targets' 0).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The signature to keep (default: the first failing finding, for an artifact the
        /// one its target crashes on).
        #[arg(long)]
        signature: Option<String>,
        /// The most scenario runs the search takes.
        #[arg(long, default_value_t = ratchet_bench::minimize::DEFAULT_BUDGET)]
        budget: usize,
        /// Add the result to the regressions file as case NAME (then review its snapshot:
        /// cargo insta review).
        #[arg(long = "write")]
        write: Option<String>,
        /// The regressions file --write appends to.
        #[arg(long, default_value = "vectors/regressions/scenarios.txt")]
        regressions: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Replay every artifact of a fuzzing campaign (fuzz/artifacts, or one target's folder)
    /// and print its finding signatures with counts, reproducers and replay commands.
    FuzzReport {
        /// The artifacts folder.
        #[arg(default_value = "fuzz/artifacts")]
        dir: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the interop matrix: every ordered pair of peers of a family sets up a session and
    /// carries a fixed exchange (out of order, with gaps, over three turns).
    Interop {
        /// Only this family (repeatable; all families if none).
        #[arg(long = "family")]
        families: Vec<String>,
        /// Only this peer (repeatable; every known peer if none); `shim:NAME=COMMAND`
        /// starts a shim.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// `all`: every bundled peer and every shim of the peers file.
        #[arg(long = "peers", value_parser = ["all"])]
        peers_all: Option<String>,
        #[command(flatten)]
        shims: ShimArgs,
        /// The seed of the parties' randomness.
        #[arg(long, default_value_t = bench::DEFAULT_SEED)]
        seed: u64,
        #[command(flatten)]
        expect: ExpectationArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        reports: ReportFiles,
    },
    /// Compare two releases (or two builds) of one implementation, peers of one family, on the
    /// same seeded campaign and the family's vectors: every behaviour that changed, grouped
    /// by signature, each with a reproducer. Exit 0 when nothing changed, 1 when something
    /// did, 2 on a usage error (peers of two families).
    Compare {
        /// The first peer, by convention the earlier release (`vodozemac-olm@0.9`); a shim of
        /// the peers file by name, or `shim:NAME=COMMAND`.
        before: String,
        /// The second peer (`vodozemac-olm`).
        after: String,
        /// The campaign's seed.
        #[arg(long, default_value_t = bench::DEFAULT_SEED)]
        seed: u64,
        /// Drawn scenarios (default: the family's in `run`).
        #[arg(long)]
        scenarios: Option<u64>,
        /// The folder holding MANIFEST.json.
        #[arg(long, default_value = "vectors")]
        vectors_dir: PathBuf,
        /// Leave the vectors out.
        #[arg(long)]
        no_vectors: bool,
        /// The folder holding the MLS working group's vector files (default: the
        /// RATCHET_BENCH_MLS_VECTORS environment variable).
        #[arg(long)]
        mls_vectors_dir: Option<PathBuf>,
        /// Campaign threads (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        #[command(flatten)]
        shims: ShimArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hunt the planted-bug catalogue: a seeded campaign per flaw on a mutant of its family's
    /// reference beside the family's real peers; exit 0 only if every flaw is caught.
    Selftest(SelftestArgs),
    /// Vector files: generate ours, fetch the published ones, or replay the suites.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
    /// Combine the reports of a run's shards (`run --shard K/N --json`) into the report the
    /// whole run gives; exit code as `run`'s.
    Merge {
        /// Every shard's report.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        files: ReportFiles,
    },
    /// Expectations files: replay every entry's reproducer, or add an entry.
    Expectations {
        #[command(subcommand)]
        command: expect::ExpectationsCommand,
    },
}

/// The expectations files of a command that judges findings.
#[derive(Args)]
struct ExpectationArgs {
    /// An expectations file: the findings it lists do not fail the command (repeatable:
    /// files layer in order, the project's beside a team's).
    #[arg(long = "expectations", default_value = "ci/expectations.json")]
    expectations: Vec<PathBuf>,
    /// Run without expectations: every finding counts as new.
    #[arg(long, conflicts_with = "expectations")]
    no_expectations: bool,
}

impl ExpectationArgs {
    fn files(&self) -> Vec<PathBuf> {
        if self.no_expectations {
            Vec::new()
        } else {
            self.expectations.clone()
        }
    }

    fn load(&self) -> Result<ExpectationSet, ratchet_bench::report::ExpectationsError> {
        ExpectationSet::load(&self.files())
    }
}

#[derive(Args)]
struct SelftestArgs {
    /// The campaign's seed.
    #[arg(long, default_value_t = bench::DEFAULT_SEED)]
    seed: u64,
    /// The most scenarios drawn per flaw (default: each family's campaign size in `run`).
    #[arg(long)]
    scenarios: Option<u64>,
    /// Only this flaw (repeatable; the whole catalogue if none).
    #[arg(long = "flaw")]
    flaws: Vec<String>,
    /// Only the flaws of this family (repeatable; every family if none).
    #[arg(long = "family")]
    families: Vec<String>,
    /// A finding kind that does not count as a catch, e.g. forward-secrecy (repeatable), to
    /// see what the other oracles catch without it.
    #[arg(long = "ignore-kind")]
    ignore_kinds: Vec<String>,
    /// Findings of the real peers the expectations list do not count as catches.
    #[command(flatten)]
    expect: ExpectationArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    reports: SelftestFiles,
}

/// Writes the report files asked for of a selftest.
fn write_selftest_files(files: &SelftestFiles, s: &SelftestReport) -> Result<(), String> {
    if let Some(path) = &files.junit {
        let xml = report::junit::selftest(s).map_err(|e| e.to_string())?;
        write_file(path, &xml, false)?;
    }
    if let Some(path) = &files.summary {
        write_file(path, &report::markdown::selftest(s), true)?;
    }
    if let Some(path) = &files.html {
        let page = report::html::Page {
            run: None,
            selftest: Some(s),
            transcripts: None,
        };
        write_file(path, &report::html::render(&page), false)?;
    }
    Ok(())
}

fn selftest(args: SelftestArgs) -> ExitCode {
    use ratchet_bench::peers::mutant::Planted;
    use ratchet_bench::selftest;
    let mut flaws = Vec::new();
    for name in &args.flaws {
        match Planted::from_name(name) {
            Some(f) => flaws.push(f),
            None => {
                let all: Vec<&str> = Planted::all().iter().map(|f| f.name()).collect();
                return fail(format!(
                    "unknown flaw {name:?}; expected one of {}",
                    all.join(", ")
                ));
            }
        }
    }
    let mut families = Vec::new();
    for name in &args.families {
        let planted: Vec<Family> = Planted::all().iter().map(|p| p.family()).collect();
        match planted.iter().find(|f| f.name() == name) {
            Some(f) => families.push(*f),
            None => {
                let mut all: Vec<&str> = planted.iter().map(|f| f.name()).collect();
                all.dedup();
                return fail(format!(
                    "--family: no planted flaws in {name:?}; families with some: {}",
                    all.join(", ")
                ));
            }
        }
    }
    let mut ignore = Vec::new();
    for name in &args.ignore_kinds {
        match serde_json::from_value(serde_json::Value::String(name.clone())) {
            Ok(kind) => ignore.push(kind),
            Err(_) => return fail(format!("--ignore-kind: unknown finding kind {name:?}")),
        }
    }
    let expectations = if args.expect.no_expectations {
        None
    } else {
        match args.expect.load() {
            Ok(set) => Some(Expectations {
                expectations: set.entries.into_iter().map(|l| l.entry).collect(),
            }),
            Err(e) => return fail(e),
        }
    };
    let opts = selftest::SelftestOptions {
        seed: args.seed,
        scenarios: args.scenarios,
        flaws,
        families,
        ignore,
    };
    let report = selftest::run(&opts, expectations.as_ref());
    if let Err(e) = write_selftest_files(&args.reports, &report) {
        return fail(e);
    }
    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", selftest::render_text(&report, true));
    }
    ExitCode::from(u8::try_from(report.exit_code).unwrap_or(1))
}

#[derive(Subcommand)]
enum VectorsCommand {
    /// Write our signal-dr vector files as *-new.json for review (never overwrites).
    Generate {
        /// The vectors folder.
        #[arg(long, default_value = "vectors")]
        out: PathBuf,
    },
    /// Download the pinned files of every suite with an upstream (the MLS working group's),
    /// check each against the manifest's sha256, and write the good ones into a folder.
    Fetch {
        /// The folder holding MANIFEST.json.
        #[arg(long, default_value = "vectors")]
        vectors_dir: PathBuf,
        /// The folder to write into (default: the RATCHET_BENCH_MLS_VECTORS environment
        /// variable, else target/mls-vectors, which git ignores).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Read the files from here instead of each suite's upstream: a mirror's
        /// http(s):// base address, a file:// URL or a local folder.
        #[arg(long)]
        from: Option<String>,
        /// Only this suite (repeatable).
        #[arg(long = "suite")]
        suites: Vec<String>,
    },
    /// Replay the suites of the manifest on every peer that can take them.
    Replay {
        /// The folder holding MANIFEST.json.
        #[arg(long, default_value = "vectors")]
        vectors_dir: PathBuf,
        /// The folder holding the MLS working group's vector files (default: the
        /// RATCHET_BENCH_MLS_VECTORS environment variable).
        #[arg(long)]
        mls_vectors_dir: Option<PathBuf>,
        /// Only this suite (repeatable).
        #[arg(long = "suite")]
        suites: Vec<String>,
        /// Use files whose sha256 differs from the manifest's pin.
        #[arg(long)]
        accept_changed_vectors: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Only this peer (repeatable; all bundled peers if none); a shim of the peers
        /// file by name, or `shim:NAME=COMMAND`.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// `all`: every bundled peer and every shim of the peers file.
        #[arg(long = "peers", value_parser = ["all"])]
        peers_all: Option<String>,
        #[command(flatten)]
        shims: ShimArgs,
        #[command(flatten)]
        expect: ExpectationArgs,
        #[command(flatten)]
        reports: ReportFiles,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The campaign's seed.
    #[arg(long, default_value_t = bench::DEFAULT_SEED)]
    seed: u64,
    /// How many drawn scenarios the campaign runs on every peer (default: 2000 for the
    /// Double Ratchet families, 300 for Olm and Megolm, 200 for MLS).
    #[arg(long)]
    scenarios: Option<u64>,
    /// Only this peer (repeatable; all bundled peers if none); `shim:NAME=COMMAND` starts
    /// a shim.
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// `all`: every bundled peer and every shim of the peers file (see ci/setup-shims).
    #[arg(long = "peers", value_parser = ["all"])]
    peers_all: Option<String>,
    #[command(flatten)]
    shims: ShimArgs,
    #[command(flatten)]
    expect: ExpectationArgs,
    /// The gate for pull requests: vectors, interop, the pinned regressions, every
    /// expectation's reproducer and a small campaign (20 drawn scenarios per family unless
    /// --scenarios says otherwise).
    #[arg(long)]
    quick: bool,
    /// Run shard K of N (e.g. 2/3): a deterministic slice of every campaign, suite, interop
    /// matrix and expectation; `ratchet-bench merge` combines the shards' --json reports.
    #[arg(long)]
    shard: Option<Shard>,
    /// The folder holding MANIFEST.json.
    #[arg(long, default_value = "vectors")]
    vectors_dir: PathBuf,
    /// The folder holding the MLS working group's vector files (default: the
    /// RATCHET_BENCH_MLS_VECTORS environment variable).
    #[arg(long)]
    mls_vectors_dir: Option<PathBuf>,
    /// Pinned scenarios run before the drawn ones (seed and scenario per line), which
    /// expectations' `regression` reproducers name.
    #[arg(long, default_value = "vectors/regressions/scenarios.txt")]
    regressions: PathBuf,
    /// Pinned MLS group schedules run before the drawn ones (seed and group schedule per line).
    #[arg(long, default_value = "vectors/regressions/groups.txt")]
    group_regressions: PathBuf,
    /// How many MLS group schedules the group campaign draws (default: 24); each runs on
    /// every MLS peer alone and on mixed groups.
    #[arg(long)]
    group_schedules: Option<u64>,
    /// Run only drawn scenarios (and drawn group schedules); expectations pointing at
    /// regression cases are then not checked.
    #[arg(long, conflicts_with = "regressions")]
    no_regressions: bool,
    /// Leave the earlier release lines (vodozemac 0.9 and 0.10) out of the interop
    /// matrices; with no peer named they join them (the release matrix), never the campaigns.
    #[arg(long)]
    no_release_matrices: bool,
    /// Skip the vector suites.
    #[arg(long)]
    no_vectors: bool,
    /// Only this suite (repeatable).
    #[arg(long = "suite")]
    suites: Vec<String>,
    /// Use vector files whose sha256 differs from the manifest's pin.
    #[arg(long)]
    accept_changed_vectors: bool,
    /// Campaign threads (default: the machine's cores).
    #[arg(long)]
    workers: Option<usize>,
    /// How many of a family's drawn scenarios its shims take part in (default: the first 20;
    /// the in-process peers run them all).
    #[arg(long)]
    shim_scenarios: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print every detail in the text report: every peer's version and limits, every vector
    /// file and skipped case, the interop matrices, every expected finding with its
    /// reproducer (the default report fits a screen).
    #[arg(long)]
    verbose: bool,
    #[command(flatten)]
    reports: ReportFiles,
    /// Write what the run cost to FILE as JSON: seconds per phase, each peer's campaign time,
    /// each shim's requests by kind (measured, so kept out of the report).
    #[arg(long, value_name = "FILE")]
    timings: Option<PathBuf>,
}

/// Where shims come from and how long each request may take.
#[derive(Args)]
pub(crate) struct ShimArgs {
    /// The peers file `--peers all` reads: a JSON list of {"name", "command"} (and
    /// optionally "timeout_ms"), commands relative to the working directory.
    #[arg(long = "shims", default_value = peers::shim::DEFAULT_SHIMS_FILE)]
    shims_file: PathBuf,
    /// The budget of every shim request but the hello (which has 30 s), in milliseconds; a
    /// peers file entry's "timeout_ms" raises it for that shim.
    #[arg(long, default_value_t = 5000)]
    shim_timeout_ms: u64,
    /// Offer the shims neither `encrypt_many` nor `wire_layout`, as a bench before them did:
    /// one request per message and per layout (to compare timings; results do not change).
    #[arg(long)]
    no_shim_batching: bool,
}

impl ShimArgs {
    pub(crate) fn options(&self) -> peers::shim::ShimOptions {
        peers::shim::ShimOptions {
            shims_file: self.shims_file.clone(),
            timeout: std::time::Duration::from_millis(self.shim_timeout_ms),
            batching: !self.no_shim_batching,
            ..Default::default()
        }
    }
}

/// The report files a command writes beside its text output, any combination of them.
#[derive(Args)]
struct ReportFiles {
    /// Write a JUnit XML report to FILE (test tabs of CI systems).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a SARIF 2.1.0 log to FILE (code scanning).
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Append a GitHub-flavoured Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// The report files `selftest` writes (SARIF is for findings in the code under test; a
/// flaw the selftest misses is a failing test of the bench, which JUnit carries).
#[derive(Args)]
struct SelftestFiles {
    /// Write a JUnit XML report to FILE: a test case per planted flaw.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Append a GitHub-flavoured Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

fn write_file(path: &std::path::Path, text: &str, append: bool) -> Result<(), String> {
    use std::io::Write as _;
    let file = if append {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    } else {
        std::fs::File::create(path)
    };
    file.and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: cannot write the report: {e}", path.display()))
}

/// Writes the report files asked for of a run; `peers` (when the run's peers are still at
/// hand) replay each finding for the HTML report's transcripts.
fn write_run_files(
    files: &ReportFiles,
    r: &RunReport,
    peers: Option<&[Box<dyn ratchet_bench::peer::Peer>]>,
) -> Result<(), String> {
    if let Some(path) = &files.junit {
        let xml = report::junit::run(r).map_err(|e| e.to_string())?;
        write_file(path, &xml, false)?;
    }
    if let Some(path) = &files.sarif {
        let log = report::sarif::run(r).map_err(|e| e.to_string())?;
        write_file(path, &log, false)?;
    }
    if let Some(path) = &files.summary {
        write_file(path, &report::markdown::run(r), true)?;
    }
    if let Some(path) = &files.html {
        let transcripts = peers.map(|p| ratchet_bench::transcripts::transcripts(r, p));
        let page = report::html::Page {
            run: Some(r),
            selftest: None,
            transcripts: transcripts.as_ref(),
        };
        write_file(path, &report::html::render(&page), false)?;
    }
    Ok(())
}

/// The text report: short, or everything with `--verbose`.
fn run_text(verbose: bool, r: &RunReport) -> String {
    if verbose {
        render_verbose(r)
    } else {
        render_text(r)
    }
}

/// The one peer `name` selects, or why it is not one.
fn one_peer(
    name: &str,
    shims: &ShimArgs,
) -> Result<[Box<dyn ratchet_bench::peer::Peer>; 1], String> {
    let mut selected = peers::select_with(&[name.to_string()], &shims.options())?;
    match selected.len() {
        1 => selected
            .pop()
            .map(|p| [p])
            .ok_or_else(|| format!("{name} selects no peer")),
        _ => Err(format!(
            "{name} names {} peers ({}); compare takes one peer on each side",
            selected.len(),
            selected
                .iter()
                .map(|p| p.info().name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `compare`: see [`ratchet_bench::compare`].
fn compare_command(
    before: &str,
    after: &str,
    opts: &ratchet_bench::compare::CompareOptions,
    shims: &ShimArgs,
    json: bool,
) -> ExitCode {
    let (a, b) = match (one_peer(before, shims), one_peer(after, shims)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(e),
    };
    let bar = ProgressBar::new(
        opts.scenarios
            .unwrap_or_else(|| bench::default_scenarios(a[0].info().family)),
    );
    bar.set_style(
        ProgressStyle::with_template("compare [{bar:30}] {pos}/{len} scenarios, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = ratchet_bench::compare::run(&a, &b, opts, &|| bar.inc(1));
    bar.finish_and_clear();
    match result {
        Ok(c) => {
            if json {
                println!("{}", to_json(&c));
            } else {
                print!("{}", ratchet_bench::compare::render(&c));
            }
            ExitCode::from(u8::try_from(c.exit_code()).unwrap_or(1))
        }
        Err(e) => fail(e),
    }
}

/// The peer names of `--peer` plus `all` for `--peers all`.
fn peer_names(mut names: Vec<String>, all: Option<String>) -> Vec<String> {
    names.extend(all);
    names
}

pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ratchet-bench: error: {message}");
    ExitCode::from(2)
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn run(args: RunArgs) -> ExitCode {
    // A supervisor: the run happens in a child, started again past any scenario during
    // which a peer aborted the process.
    if let Some(code) = supervise::supervise() {
        return code;
    }
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // With no peer named, the earlier release lines join the interop matrices (the release
    // matrix), not the campaigns.
    let release_matrices =
        args.peers.is_empty() && args.peers_all.is_none() && !args.no_release_matrices;
    let opts = RunOptions {
        seed: args.seed,
        scenarios: args
            .scenarios
            .or(args.quick.then_some(bench::QUICK_SCENARIOS)),
        peers: peer_names(args.peers, args.peers_all),
        expectations: args.expect.files(),
        vectors_dir: (!args.no_vectors).then_some(args.vectors_dir),
        mls_vectors_dir: vectors::mls::mls_vectors_dir(args.mls_vectors_dir),
        regressions: (!args.no_regressions).then_some(args.regressions),
        suites: args.suites,
        accept_changed_vectors: args.accept_changed_vectors,
        workers,
        today: bench::today(),
        shim_scenarios: args.shim_scenarios.unwrap_or(bench::DEFAULT_SHIM_SCENARIOS),
        shard: args.shard,
        group_schedules: args.group_schedules,
        group_regressions: (!args.no_regressions).then_some(args.group_regressions),
        release_matrices,
    };
    // A process of each shim per campaign worker, so that workers do not queue for one.
    let shim_options = peers::shim::ShimOptions {
        processes: workers,
        ..args.shims.options()
    };
    let selected = match peers::select_with(&opts.peers, &shim_options) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut families: Vec<Family> = selected.iter().map(|p| p.info().family).collect();
    families.sort();
    families.dedup();
    let drawn: u64 = families
        .iter()
        .map(|&f| {
            let count = opts
                .scenarios
                .unwrap_or_else(|| bench::default_scenarios(f));
            let only_shims = selected
                .iter()
                .filter(|p| p.info().family == f)
                .all(|p| p.out_of_process());
            if only_shims {
                count.min(opts.shim_scenarios)
            } else {
                count
            }
        })
        .sum();
    let groups = if families.contains(&Family::MLS) {
        opts.group_schedules
            .unwrap_or(ratchet_bench::group_run::DEFAULT_GROUP_SCHEDULES)
    } else {
        0
    };
    let bar = ProgressBar::new((drawn + groups).div_ceil(opts.shard.map_or(1, Shard::count)));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos} scenarios (of {len} drawn, plus the pinned ones), {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("campaign");
    let started = std::time::Instant::now();
    let report = bench::run_timed(&opts, &selected, &|| bar.inc(1));
    bar.finish_and_clear();
    let report = match report {
        Ok((r, timings)) => {
            if let Some(path) = &args.timings {
                if let Err(e) = std::fs::write(path, to_json(&timings) + "\n") {
                    return fail(format!("--timings {}: cannot write: {e}", path.display()));
                }
            }
            r
        }
        Err(e) => return fail(e),
    };
    eprintln!(
        "ratchet-bench: {} scenario runs on {} peers in {:.1} s",
        report.ran.values().sum::<u64>(),
        report.peers.len(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = write_run_files(&args.reports, &report, Some(&selected)) {
        return fail(e);
    }
    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", run_text(args.verbose, &report));
    }
    ExitCode::from(report.exit_code as u8)
}

/// `merge`: the shards' reports as the whole run's report; exit code as `run`'s (2 when the
/// reports cannot be merged).
fn merge(reports: &[PathBuf], json: bool, files: &ReportFiles) -> ExitCode {
    let report = match ratchet_bench::merge::merge(reports) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // The merged report's files, as the whole run would write them (without transcripts:
    // the shards' peers are not here to replay the findings).
    if let Err(e) = write_run_files(files, &report, None) {
        return fail(e);
    }
    if json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", render_text(&report));
    }
    ExitCode::from(report.exit_code as u8)
}

fn list(vectors_dir: PathBuf, names: Vec<String>, shims: &ShimArgs) -> ExitCode {
    let bundled: Vec<_> = peers::bundled().iter().map(|p| p.info()).collect();
    println!("peers:");
    print!("{}", peers_table(&bundled));
    for (name, why) in peers::not_built() {
        println!("  {name:<20} not built: {why}");
    }
    if names.is_empty() {
        if let Ok(listed) = peers::shim::load_shims_file(&shims.shims_file) {
            let listed: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
            println!(
                "\nshims in {} (not started; --peers all starts them, ci/setup-shims installs them): {}",
                shims.shims_file.display(),
                listed.join(", ")
            );
        }
    } else {
        let started = match peers::select_with(&names, &shims.options()) {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let infos: Vec<_> = started
            .iter()
            .map(|p| p.info())
            .filter(|i| !bundled.iter().any(|b| b.name == i.name))
            .collect();
        println!("\nshims (after their hello):");
        print!("{}", peers_table(&infos));
        for info in infos.iter().filter(|i| !i.weakened.is_empty()) {
            println!("  {:<20} weakened: {}", info.name, info.weakened.join("; "));
        }
    }
    println!(
        "\nsuites ({}):",
        vectors_dir.join("MANIFEST.json").display()
    );
    match vectors::Manifest::load(&vectors_dir.join("MANIFEST.json")) {
        Ok(m) => {
            for s in m.suites {
                let mls_dir = vectors::mls::mls_vectors_dir(None);
                let present = match &s.source_crate {
                    Some(krate) => format!("{} bundled in {krate}", s.files.len()),
                    None if vectors::mls::MlsFile::from_loader(&s.loader).is_some() => {
                        match &mls_dir {
                            Some(dir) => format!(
                                "{} of {} files present in {}",
                                s.files
                                    .iter()
                                    .filter(|f| dir.join(&f.path).exists())
                                    .count(),
                                s.files.len(),
                                dir.display()
                            ),
                            None => format!(
                                "0 of {} files: set {} to the MLS vectors folder",
                                s.files.len(),
                                vectors::mls::MLS_VECTORS_ENV
                            ),
                        }
                    }
                    None => format!(
                        "{} of {} files present",
                        s.files
                            .iter()
                            .filter(|f| vectors_dir.join(&f.path).exists())
                            .count(),
                        s.files.len()
                    ),
                };
                println!(
                    "  {:<30} {:<10} {present}  origin: {}",
                    s.name, s.family, s.origin
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `replay FILE` of a fuzz target's input: 1 when the target crashes on it, 0 when not, 2 when
/// the file cannot be read.
fn replay_artifact(path: &std::path::Path, target: artifact::Target, json: bool) -> ExitCode {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: cannot read: {e}", path.display())),
    };
    let replayed = artifact::replay(target, &bytes);
    if json {
        let scenario = match &replayed.input {
            artifact::Input::Scenario(s) => Some(s.to_string()),
            _ => None,
        };
        println!(
            "{}",
            to_json(&serde_json::json!({
                "file": path.display().to_string(),
                "target": target.name(),
                "scenario": scenario,
                "seed": scenario.as_ref().map(|_| ratchet_bench::fuzzing::FUZZ_SEED),
                "transcripts": replayed.transcripts,
                "findings": replayed.findings,
                "did": replayed.did,
                "crash": replayed.crash.as_ref().map(|c| serde_json::json!({
                    "signature": c.signature,
                    "detail": c.detail,
                })),
                "note": replayed.note,
            }))
        );
    } else {
        println!("file: {}", path.display());
        print!("{}", artifact::render(&replayed));
    }
    ExitCode::from(u8::from(replayed.crash.is_some()))
}

#[allow(clippy::too_many_arguments)]
fn minimize_command(
    scenario: String,
    target: Option<String>,
    peer_names: Vec<String>,
    seed: u64,
    signature: Option<String>,
    budget: usize,
    write: Option<String>,
    regressions: PathBuf,
    json: bool,
) -> ExitCode {
    use ratchet_bench::minimize;
    if target.is_none() {
        let text = std::fs::read_to_string(&scenario).unwrap_or_else(|_| scenario.clone());
        if ratchet_bench::group::is_group_text(&text) {
            return minimize_group(
                &text,
                &peer_names,
                seed,
                signature.as_deref(),
                budget,
                write,
                &regressions,
                json,
            );
        }
    }
    let source = match minimize::source(&scenario, target.as_deref(), seed) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let owned = match source.target {
        Some(_) => Vec::new(),
        None => match peers::select(&peer_names) {
            Ok(p) => p,
            Err(e) => return fail(e),
        },
    };
    let refs: Vec<&dyn ratchet_bench::peer::Peer> = match source.target {
        Some(t) => artifact::target_peers(t),
        None => owned.iter().map(|p| p.as_ref()).collect(),
    };
    let finding = match minimize::pick_signature(&source, &refs, signature.as_deref()) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let min = match minimize::run(&source, &refs, &finding.signature, budget) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let peers_flags: String = min
        .finding
        .peers
        .iter()
        .map(|p| peers::shim::peer_arg(p))
        .collect();
    let replay = format!(
        "ratchet-bench replay '{}'{peers_flags} --seed {}",
        min.scenario, source.seed
    );
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "origin": source.origin,
                "signature": min.finding.signature,
                "seed": source.seed,
                "steps_before": source.scenario.steps.len(),
                "steps_after": min.scenario.steps.len(),
                "runs": min.runs,
                "budget_spent": min.budget_spent,
                "scenario": min.scenario.to_string(),
                "detail": min.finding.detail,
                "replay": replay,
            }))
        );
    } else {
        println!("signature: {}", min.finding.signature);
        println!(
            "from {} steps to {} in {} runs{}",
            source.scenario.steps.len(),
            min.scenario.steps.len(),
            min.runs,
            if min.budget_spent {
                " (budget spent: --budget for more)"
            } else {
                ""
            }
        );
        println!(
            "seed: {}
scenario: {}",
            source.seed, min.scenario
        );
        println!("detail: {}", min.finding.detail);
        println!("replay: {replay}");
    }
    if let Some(name) = write {
        if let Err(e) = minimize::write_case(&regressions, &name, &source, &min) {
            return fail(e);
        }
        eprintln!(
            "ratchet-bench: added case {name} to {}; run `cargo test -p ratchet-bench --test regressions` and review its new snapshot",
            regressions.display()
        );
    }
    ExitCode::SUCCESS
}

/// `fuzz-report`: 0 when the folder was read (whatever it holds), 2 when it cannot be.
fn fuzz_report_command(dir: PathBuf, json: bool) -> ExitCode {
    match ratchet_bench::fuzz_report::report(&dir) {
        Ok(r) if json => {
            println!("{}", to_json(&r));
            ExitCode::SUCCESS
        }
        Ok(r) => {
            print!("{}", ratchet_bench::fuzz_report::render(&r));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn replay(
    text: String,
    target: Option<String>,
    peer_names: Vec<String>,
    shims: &ShimArgs,
    seed: u64,
    expect: &ExpectationArgs,
    json: bool,
) -> ExitCode {
    let path = std::path::Path::new(&text);
    let target = match target.as_deref().map(artifact::Target::parse).transpose() {
        Ok(t) => t.or_else(|| {
            path.is_file()
                .then(|| artifact::Target::detect(path))
                .flatten()
        }),
        Err(e) => return fail(e),
    };
    if let Some(target) = target {
        return replay_artifact(path, target, json);
    }
    let text = match std::fs::read_to_string(&text) {
        Ok(file) => file,
        Err(_) => text,
    };
    if ratchet_bench::group::is_group_text(&text) {
        return replay_group(&text, &peer_names, seed, json);
    }
    let scenario: Scenario = match text.parse() {
        Ok(s) => s,
        Err(e) => return fail(format!("scenario: {e}")),
    };
    let selected = match peers::select_with(&peer_names, &shims.options()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let set = match expect.load() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let refs: Vec<&dyn ratchet_bench::peer::Peer> = selected.iter().map(|p| p.as_ref()).collect();
    let (transcripts, findings) = check_scenario(&refs, &scenario, seed);
    let expired = set.expired_on(&bench::today());
    // A failing finding no entry lists makes the command fail, as in `run`.
    let listed: Vec<(String, Option<&ratchet_bench::report::Listed>)> = findings
        .iter()
        .filter(|f| f.kind.fails_run())
        .map(|f| (f.signature.clone(), set.find(&f.signature, &expired)))
        .collect();
    let new: Vec<&str> = listed
        .iter()
        .filter(|(_, l)| l.is_none())
        .map(|(s, _)| s.as_str())
        .collect();
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "scenario": scenario.to_string(),
                "seed": seed,
                "transcripts": transcripts,
                "findings": findings,
                "expectations": set.files,
                "new": new,
            }))
        );
    } else {
        println!("scenario: {scenario}\nseed: {seed}");
        print!("{}", artifact::render_transcripts(&transcripts, &findings));
        for (signature, l) in &listed {
            match l {
                Some(l) => println!(
                    "[expected] {signature}  (listed by {} in {})",
                    l.entry.signature, l.file
                ),
                None => println!("[NEW] {signature}"),
            }
        }
    }
    ExitCode::from(u8::from(!new.is_empty()))
}

/// The group peers named by `--peer` (every one when none is named), or an error naming the
/// unknown ones.
fn group_peers(names: &[String]) -> Result<Vec<Box<dyn ratchet_bench::group::GroupPeer>>, String> {
    let selected = peers::mls_group::named(names);
    if selected.is_empty() {
        let known: Vec<String> = peers::mls_group::bundled()
            .iter()
            .map(|p| p.info().name)
            .collect();
        return Err(format!(
            "a group schedule runs on MLS peers; none of {names:?} is one (expected {})",
            known.join(", ")
        ));
    }
    Ok(selected)
}

/// `replay` of a group schedule: every assignment of the named MLS peers; 1 when a finding
/// shows.
fn replay_group(text: &str, names: &[String], seed: u64, json: bool) -> ExitCode {
    use ratchet_bench::group::GroupSchedule;
    let schedule: GroupSchedule = match text.trim().parse() {
        Ok(s) => s,
        Err(e) => return fail(format!("group schedule: {e}")),
    };
    let selected = match group_peers(names) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let refs: Vec<&dyn ratchet_bench::group::GroupPeer> =
        selected.iter().map(|p| p.as_ref()).collect();
    let transcripts = ratchet_bench::group_run::replay(&schedule, &refs, seed);
    let failing = transcripts.iter().any(|t| !t.findings.is_empty());
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "schedule": schedule.to_string(),
                "seed": seed,
                "transcripts": transcripts,
            }))
        );
    } else {
        println!("group schedule: {schedule}\nseed: {seed}");
        print!("{}", ratchet_bench::group_run::render(&transcripts));
    }
    ExitCode::from(u8::from(failing))
}

/// `minimize` of a group schedule: shrunk on the named MLS peers, optionally written to the
/// group regressions file.
#[allow(clippy::too_many_arguments)]
fn minimize_group(
    text: &str,
    names: &[String],
    seed: u64,
    signature: Option<&str>,
    budget: usize,
    write: Option<String>,
    regressions: &std::path::Path,
    json: bool,
) -> ExitCode {
    use ratchet_bench::group::GroupSchedule;
    let schedule: GroupSchedule = match text.trim().parse() {
        Ok(s) => s,
        Err(e) => return fail(format!("group schedule: {e}")),
    };
    let selected = match group_peers(names) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let refs: Vec<&dyn ratchet_bench::group::GroupPeer> =
        selected.iter().map(|p| p.as_ref()).collect();
    let min = match ratchet_bench::group_run::minimize(&schedule, &refs, seed, signature, budget) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let peer_flags: String = min
        .finding
        .peers
        .iter()
        .map(|p| format!(" --peer {p}"))
        .collect();
    let replay = format!(
        "ratchet-bench replay '{}'{peer_flags} --seed {seed}",
        min.schedule
    );
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "signature": min.finding.signature,
                "seed": seed,
                "steps_before": schedule.steps.len(),
                "steps_after": min.schedule.steps.len(),
                "assignment": min.assignment,
                "schedule": min.schedule.to_string(),
                "detail": min.finding.detail,
                "replay": replay,
            }))
        );
    } else {
        println!("signature: {}", min.finding.signature);
        println!(
            "from {} steps to {} (members on {})",
            schedule.steps.len(),
            min.schedule.steps.len(),
            min.assignment
        );
        println!("seed: {seed}\ngroup schedule: {}", min.schedule);
        println!("detail: {}", min.finding.detail);
        println!("replay: {replay}");
    }
    if let Some(name) = write {
        let path = regressions.with_file_name("groups.txt");
        if let Err(e) =
            ratchet_bench::group_run::write_case(&path, &name, seed, &min, schedule.steps.len())
        {
            return fail(e);
        }
        eprintln!(
            "ratchet-bench: added case {name} to {}; run `cargo test -p ratchet-bench --test mls_groups` and review its new snapshot",
            path.display()
        );
    }
    ExitCode::SUCCESS
}

/// `vectors fetch`: 0 when every file is there with its pinned hash, 1 when a download had
/// another hash, 2 on a usage or I/O error.
fn fetch(
    vectors_dir: PathBuf,
    to: Option<PathBuf>,
    from: Option<String>,
    suites: Vec<String>,
) -> ExitCode {
    use vectors::fetch::{Fetched, Source, DEFAULT_FETCH_DIR};
    let source = match from.as_deref().map(Source::parse).transpose() {
        Ok(s) => s.unwrap_or(Source::Upstream),
        Err(e) => return fail(e),
    };
    let manifest = match vectors::Manifest::load(&vectors_dir.join("MANIFEST.json")) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let to = vectors::mls::mls_vectors_dir(to).unwrap_or_else(|| PathBuf::from(DEFAULT_FETCH_DIR));
    let files = match vectors::fetch::fetch(&manifest, &to, &source, &suites) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let (mut mismatched, mut broken) = (false, false);
    for f in &files {
        match &f.result {
            Ok(Fetched::AlreadyThere) => println!("{} {}: ok, already there", f.suite, f.file),
            Ok(Fetched::Written) => {
                println!("{} {}: ok, written (sha256 {})", f.suite, f.file, f.sha256)
            }
            Ok(Fetched::Replaced { had }) => println!(
                "{} {}: ok, replaced a file with sha256 {had} (now {})",
                f.suite, f.file, f.sha256
            ),
            Ok(other) => println!("{} {}: ok ({other:?})", f.suite, f.file),
            Err(e) => {
                mismatched |= e.is_mismatch();
                broken |= !e.is_mismatch();
                eprintln!("ratchet-bench: error: {} {}: {e}", f.suite, f.file);
            }
        }
    }
    println!(
        "{} files in {}; replay them with --mls-vectors-dir {} or {}={}",
        files.len(),
        to.display(),
        to.display(),
        vectors::mls::MLS_VECTORS_ENV,
        to.display()
    );
    if broken {
        ExitCode::from(2)
    } else {
        ExitCode::from(u8::from(mismatched))
    }
}

/// `interop`: 0 when every cell passes or its failure is listed in the expectations file,
/// 1 otherwise, 2 on a usage error.
fn interop_command(
    families: Vec<String>,
    peer_names: Vec<String>,
    shims: &ShimArgs,
    seed: u64,
    expect: &ExpectationArgs,
    json: bool,
    files: &ReportFiles,
) -> ExitCode {
    let selected = if peer_names.is_empty() {
        Ok(peers::known())
    } else {
        peers::select_with(&peer_names, &shims.options())
    };
    let selected = match selected {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // The built-in families, then those the selected peers declare.
    let known = Family::present(
        Family::BUILT_IN
            .into_iter()
            .chain(selected.iter().map(|p| p.info().family)),
    );
    let mut wanted = Vec::new();
    for name in &families {
        match known.iter().find(|f| f.name() == name) {
            Some(f) => wanted.push(*f),
            None => {
                let all: Vec<&str> = known.iter().map(|f| f.name()).collect();
                return fail(format!(
                    "unknown family {name:?}; expected one of {}",
                    all.join(", ")
                ));
            }
        }
    }
    let set = match expect.load() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let matrices = interop::run(&selected, &wanted, seed);
    let mut sightings = interop::sightings(&matrices, seed);
    // The interop entries are judged by replaying their cells; the others by `run`.
    let triage = match judge(&set, &mut sightings, &["interop"], &selected, None) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let new = triage.new.len();
    // The report files render the matrices and their failing cells as a run's.
    let mut r = RunReport::new(seed);
    r.peers = selected
        .iter()
        .map(|p| p.info())
        .filter(|i| matrices.iter().any(|m| m.peers.contains(&i.name)))
        .collect();
    r.expectations = set.files.clone();
    r.triage = triage.clone();
    r.interop = matrices.clone();
    r.findings = sightings.clone();
    r.exit_code = i32::from(triage.fails());
    if let Err(e) = write_run_files(files, &r, None) {
        return fail(e);
    }
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "seed": seed,
                "interop": matrices,
                "findings": sightings,
                "expectations": set.files,
                "triage": triage,
            }))
        );
    } else {
        print!("{}", interop::render(&matrices));
        for s in &sightings {
            let tag = if s.expected.is_some() {
                "expected"
            } else {
                "NEW"
            };
            println!("[{tag}] {}", s.signature);
            if let Some(reason) = &s.expected {
                println!(
                    "    known: {reason} ({})",
                    s.listed_in.as_deref().unwrap_or("expectations")
                );
            }
        }
        print!("{}", judged(&set, &triage, "interop"));
        let cells: usize = matrices.iter().map(|m| m.cells.len()).sum();
        println!(
            "result: {} cells, {} failing ({} new), {} stale expectations",
            cells,
            sightings.len(),
            new,
            triage.stale.len()
        );
    }
    ExitCode::from(u8::from(triage.fails()))
}

/// Judges `seen` (a command's findings) and the entries with reproducers of `kinds`
/// against `set`, replaying those entries on `peers`; exit code 2 on an input error.
fn judge(
    set: &ExpectationSet,
    seen: &mut [Seen],
    kinds: &[&str],
    peers: &[Box<dyn ratchet_bench::peer::Peer>],
    vectors: Option<(
        &std::path::Path,
        Option<&std::path::Path>,
        &[vectors::SuiteReport],
    )>,
) -> Result<Triage, ExitCode> {
    if set.files.is_empty() {
        return Ok(Triage::without_expectations(seen));
    }
    let replayer = Replayer {
        peers,
        releases: &[],
        absent: &bench::absent_reason,
        vectors_dir: vectors.map(|v| v.0),
        mls_vectors_dir: vectors.and_then(|v| v.1),
        accept_changed_vectors: false,
        vector_reports: vectors.map_or(&[], |v| v.2),
        cases: None,
    };
    recheck::judge_kinds(set, seen, kinds, &replayer, &bench::today()).map_err(fail)
}

/// The entries a command judged (its `kind`'s), one line each, and a count of the others.
fn judged(set: &ExpectationSet, triage: &Triage, kind: &str) -> String {
    if set.files.is_empty() {
        return "expectations: none (every finding counts as new)\n".into();
    }
    let mut out = format!("expectations: {}\n", set.files.join(", "));
    let mut others = 0;
    for e in &triage.entries {
        if e.entry.reproducer_kind() == kind {
            out.push_str(&format!(
                "  {:<12} {} ({}): {}\n",
                e.check.label(),
                e.entry.signature,
                e.file,
                e.check.explain()
            ));
        } else {
            others += 1;
        }
    }
    if others > 0 {
        out.push_str(&format!(
            "  {others} entries of other kinds: judged by `run` and `expectations check`\n"
        ));
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args),
        Command::Selftest(args) => selftest(args),
        Command::List {
            vectors_dir,
            peers,
            peers_all,
            shims,
        } => list(vectors_dir, peer_names(peers, peers_all), &shims),
        Command::Replay {
            scenario,
            target,
            peers,
            shims,
            seed,
            expect,
            json,
        } => replay(scenario, target, peers, &shims, seed, &expect, json),
        Command::Minimize {
            scenario,
            target,
            peers,
            seed,
            signature,
            budget,
            write,
            regressions,
            json,
        } => minimize_command(
            scenario,
            target,
            peers,
            seed,
            signature,
            budget,
            write,
            regressions,
            json,
        ),
        Command::FuzzReport { dir, json } => fuzz_report_command(dir, json),
        Command::Interop {
            families,
            peers,
            peers_all,
            shims,
            seed,
            expect,
            json,
            reports,
        } => interop_command(
            families,
            peer_names(peers, peers_all),
            &shims,
            seed,
            &expect,
            json,
            &reports,
        ),
        Command::Merge {
            reports,
            json,
            files,
        } => merge(&reports, json, &files),
        Command::Compare {
            before,
            after,
            seed,
            scenarios,
            vectors_dir,
            no_vectors,
            mls_vectors_dir,
            workers,
            shims,
            json,
        } => {
            let opts = ratchet_bench::compare::CompareOptions {
                seed,
                scenarios,
                vectors_dir: (!no_vectors).then_some(vectors_dir),
                mls_vectors_dir: vectors::mls::mls_vectors_dir(mls_vectors_dir),
                workers: workers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            };
            compare_command(&before, &after, &opts, &shims, json)
        }
        Command::Expectations { command } => expect::command(command),
        Command::Vectors { command } => match command {
            VectorsCommand::Generate { out } => match vectors::generate(&out) {
                Ok(written) => {
                    for (path, sha) in written {
                        println!("wrote {}  sha256 {sha}", path.display());
                    }
                    println!("review each file, rename it without -new, and pin its sha256 in MANIFEST.json");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            },
            VectorsCommand::Fetch {
                vectors_dir,
                to,
                from,
                suites,
            } => fetch(vectors_dir, to, from, suites),
            VectorsCommand::Replay {
                vectors_dir,
                mls_vectors_dir,
                suites,
                accept_changed_vectors,
                json,
                peers,
                peers_all,
                shims,
                expect,
                reports: files,
            } => {
                let all = match peers::select_with(&peer_names(peers, peers_all), &shims.options())
                {
                    Ok(p) => p,
                    Err(e) => return fail(e),
                };
                let set = match expect.load() {
                    Ok(s) => s,
                    Err(e) => return fail(e),
                };
                let mls_dir = vectors::mls::mls_vectors_dir(mls_vectors_dir);
                match vectors::run_suites(
                    &vectors_dir,
                    mls_dir.as_deref(),
                    &all,
                    &suites,
                    accept_changed_vectors,
                ) {
                    Ok(reports) => {
                        let mut sightings = vectors::sightings(&reports);
                        let triage = match judge(
                            &set,
                            &mut sightings,
                            &["vector"],
                            &all,
                            Some((&vectors_dir, mls_dir.as_deref(), &reports)),
                        ) {
                            Ok(t) => t,
                            Err(code) => return code,
                        };
                        // The report files render the suites as a run's.
                        let mut r = RunReport::new(bench::DEFAULT_SEED);
                        r.peers = all.iter().map(|p| p.info()).collect();
                        r.inputs.vectors_dir = Some(vectors_dir.display().to_string());
                        r.expectations = set.files.clone();
                        r.findings = sightings.clone();
                        r.triage = triage.clone();
                        r.vector_failures = reports.iter().map(|v| v.failed).sum();
                        r.exit_code = i32::from(triage.fails());
                        r.vectors = reports;
                        if let Err(e) = write_run_files(&files, &r, Some(&all)) {
                            return fail(e);
                        }
                        let reports = &r.vectors;
                        if json {
                            println!(
                                "{}",
                                to_json(&serde_json::json!({
                                    "vectors": reports,
                                    "findings": sightings,
                                    "expectations": set.files,
                                    "triage": triage,
                                }))
                            );
                        } else {
                            for r in reports {
                                match &r.not_run {
                                    Some(why) => println!(
                                        "{} {} {}: not run: {why}",
                                        r.suite, r.file, r.peer
                                    ),
                                    None => println!(
                                        "{} {} {}: {} passed, {} failed, {} skipped{}",
                                        r.suite,
                                        r.file,
                                        r.peer,
                                        r.passed,
                                        r.failed,
                                        r.skipped,
                                        expected_counts(r)
                                    ),
                                }
                                for c in r.cases.iter().filter(|c| !c.reason.is_empty()) {
                                    println!("  tcId {} {:?}: {}", c.tc_id, c.status, c.reason);
                                }
                            }
                            for s in &sightings {
                                match &s.expected {
                                    Some(reason) => println!(
                                        "[expected] {}\n    known: {reason} ({})",
                                        s.signature,
                                        s.listed_in.as_deref().unwrap_or("expectations")
                                    ),
                                    None => println!("[NEW] {}", s.signature),
                                }
                            }
                            print!("{}", judged(&set, &triage, "vector"));
                            println!(
                                "result: {}: {} failed cases ({} new), {} stale expectations",
                                if triage.fails() { "FAIL" } else { "PASS" },
                                sightings.len(),
                                triage.new.len(),
                                triage.stale.len()
                            );
                        }
                        ExitCode::from(u8::from(triage.fails()))
                    }
                    Err(e) => fail(e),
                }
            }
        },
    }
}
