//! The `ratchet-bench` command line: a thin layer over the library.

mod supervise;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ratchet_bench::artifact;
use ratchet_bench::bench::{self, RunOptions};
use ratchet_bench::campaign::check_scenario;
use ratchet_bench::interop;
use ratchet_bench::peer::Family;
use ratchet_bench::report::{expected_counts, peers_table, render_text, Expectations};
use ratchet_bench::scenario::Scenario;
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
        /// The expectations file: failing cells it lists do not fail the command.
        #[arg(long, default_value = "ci/expectations.json")]
        expectations: PathBuf,
        /// Run without an expectations file: every failing cell counts as new.
        #[arg(long, conflicts_with = "expectations")]
        no_expectations: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hunt the planted-bug catalogue: a seeded campaign per flaw on a mutant of the
    /// reference beside the real signal-dr peers; exit 0 only if every flaw is caught.
    Selftest(SelftestArgs),
    /// Vector files: generate ours, fetch the published ones, or replay the suites.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
}

#[derive(Args)]
struct SelftestArgs {
    /// The campaign's seed.
    #[arg(long, default_value_t = bench::DEFAULT_SEED)]
    seed: u64,
    /// The most scenarios drawn per flaw (default: the signal-dr campaign size of `run`).
    #[arg(long)]
    scenarios: Option<u64>,
    /// Only this flaw (repeatable; the whole catalogue if none).
    #[arg(long = "flaw")]
    flaws: Vec<String>,
    /// A finding kind that does not count as a catch, e.g. forward-secrecy (repeatable), to
    /// see what the other oracles catch without it.
    #[arg(long = "ignore-kind")]
    ignore_kinds: Vec<String>,
    /// The expectations file: findings of the real peers it lists do not count as catches.
    #[arg(long, default_value = "ci/expectations.json")]
    expectations: PathBuf,
    /// Run without an expectations file.
    #[arg(long, conflicts_with = "expectations")]
    no_expectations: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn selftest(args: SelftestArgs) -> ExitCode {
    use ratchet_bench::reference::signal_dr::Flaw;
    use ratchet_bench::selftest;
    let mut flaws = Vec::new();
    for name in &args.flaws {
        match Flaw::from_name(name) {
            Some(f) => flaws.push(f),
            None => {
                let all: Vec<&str> = Flaw::ALL.iter().map(|f| f.name()).collect();
                return fail(format!(
                    "unknown flaw {name:?}; expected one of {}",
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
    let expectations = if args.no_expectations {
        None
    } else {
        match Expectations::load(&args.expectations) {
            Ok(e) => Some(e),
            Err(e) => return fail(e),
        }
    };
    let opts = selftest::SelftestOptions {
        seed: args.seed,
        scenarios: args
            .scenarios
            .unwrap_or_else(|| bench::default_scenarios(Family::SIGNAL_DR)),
        flaws,
        ignore,
    };
    let report = selftest::run(&opts, expectations.as_ref());
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
    /// The expectations file.
    #[arg(long, default_value = "ci/expectations.json")]
    expectations: PathBuf,
    /// Run without an expectations file: every finding counts as new.
    #[arg(long, conflicts_with = "expectations")]
    no_expectations: bool,
    /// The folder holding MANIFEST.json.
    #[arg(long, default_value = "vectors")]
    vectors_dir: PathBuf,
    /// The folder holding the MLS working group's vector files (default: the
    /// RATCHET_BENCH_MLS_VECTORS environment variable).
    #[arg(long)]
    mls_vectors_dir: Option<PathBuf>,
    /// Pinned scenarios run before the drawn ones (seed and scenario per line).
    #[arg(long, default_value = "vectors/regressions/scenarios.txt")]
    regressions: PathBuf,
    /// Run only drawn scenarios.
    #[arg(long, conflicts_with = "regressions")]
    no_regressions: bool,
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
    /// How many of a family's drawn scenarios its shims take part in (default: all; the
    /// in-process peers run them all); expectations about a sampled shim are not judged
    /// stale.
    #[arg(long)]
    shim_scenarios: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Write what the run cost to FILE as JSON: seconds per phase, each peer's campaign time,
    /// each shim's requests by kind (measured, so kept out of the report).
    #[arg(long, value_name = "FILE")]
    timings: Option<PathBuf>,
}

/// Where shims come from and how long each request may take.
#[derive(Args)]
struct ShimArgs {
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
    fn options(&self) -> peers::shim::ShimOptions {
        peers::shim::ShimOptions {
            shims_file: self.shims_file.clone(),
            timeout: std::time::Duration::from_millis(self.shim_timeout_ms),
            batching: !self.no_shim_batching,
            ..Default::default()
        }
    }
}

/// The peer names of `--peer` plus `all` for `--peers all`.
fn peer_names(mut names: Vec<String>, all: Option<String>) -> Vec<String> {
    names.extend(all);
    names
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("ratchet-bench: error: {message}");
    ExitCode::from(2)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
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
    let opts = RunOptions {
        seed: args.seed,
        scenarios: args.scenarios,
        peers: peer_names(args.peers, args.peers_all),
        expectations: (!args.no_expectations).then_some(args.expectations),
        vectors_dir: (!args.no_vectors).then_some(args.vectors_dir),
        mls_vectors_dir: vectors::mls::mls_vectors_dir(args.mls_vectors_dir),
        regressions: (!args.no_regressions).then_some(args.regressions),
        suites: args.suites,
        accept_changed_vectors: args.accept_changed_vectors,
        workers,
        today: bench::today(),
        shim_scenarios: args.shim_scenarios.unwrap_or(bench::DEFAULT_SHIM_SCENARIOS),
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
    let bar = ProgressBar::new(drawn);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos} scenarios (of {len} drawn, plus the pinned ones), {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("campaign");
    let started = std::time::Instant::now();
    let report = bench::run_timed(&opts, selected, &|| bar.inc(1));
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
        "ratchet-bench: {} scenarios on {} peers in {:.1} s",
        report.scenarios.values().sum::<u64>() + report.pinned * report.scenarios.len() as u64,
        report.peers.len(),
        started.elapsed().as_secs_f64()
    );
    if args.json {
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
    let scenario: Scenario = match text.parse() {
        Ok(s) => s,
        Err(e) => return fail(format!("scenario: {e}")),
    };
    let selected = match peers::select_with(&peer_names, &shims.options()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let refs: Vec<&dyn ratchet_bench::peer::Peer> = selected.iter().map(|p| p.as_ref()).collect();
    let (transcripts, findings) = check_scenario(&refs, &scenario, seed);
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "scenario": scenario.to_string(),
                "seed": seed,
                "transcripts": transcripts,
                "findings": findings,
            }))
        );
    } else {
        println!("scenario: {scenario}\nseed: {seed}");
        print!("{}", artifact::render_transcripts(&transcripts, &findings));
    }
    let failing = findings.iter().any(|f| f.kind.fails_run());
    ExitCode::from(u8::from(failing))
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
    expectations: Option<PathBuf>,
    json: bool,
) -> ExitCode {
    let mut wanted = Vec::new();
    for name in &families {
        match Family::BUILT_IN.into_iter().find(|f| f.name() == name) {
            Some(f) => wanted.push(f),
            None => {
                let all: Vec<&str> = Family::BUILT_IN.iter().map(|f| f.name()).collect();
                return fail(format!(
                    "unknown family {name:?}; expected one of {}",
                    all.join(", ")
                ));
            }
        }
    }
    let selected = if peer_names.is_empty() {
        Ok(peers::known())
    } else {
        peers::select_with(&peer_names, &shims.options())
    };
    let selected = match selected {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let expectations = match expectations.as_deref().map(Expectations::load).transpose() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let matrices = interop::run(&selected, &wanted, seed);
    let mut sightings = interop::sightings(&matrices, seed);
    for s in &mut sightings {
        if let Some(e) = &expectations {
            s.expected = e
                .expectations
                .iter()
                .find(|x| x.matches(&s.signature))
                .map(|x| x.reason.clone());
        }
    }
    let new = sightings.iter().filter(|s| s.expected.is_none()).count();
    if json {
        println!(
            "{}",
            to_json(&serde_json::json!({
                "seed": seed,
                "interop": matrices,
                "findings": sightings,
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
                println!("    known: {reason}");
            }
        }
        let cells: usize = matrices.iter().map(|m| m.cells.len()).sum();
        println!(
            "result: {} cells, {} failing ({} new)",
            cells,
            sightings.len(),
            new
        );
    }
    ExitCode::from(u8::from(new > 0))
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
            json,
        } => replay(scenario, target, peers, &shims, seed, json),
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
            expectations,
            no_expectations,
            json,
        } => interop_command(
            families,
            peer_names(peers, peers_all),
            &shims,
            seed,
            (!no_expectations).then_some(expectations),
            json,
        ),
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
            } => {
                let all = match peers::select_with(&peer_names(peers, peers_all), &shims.options())
                {
                    Ok(p) => p,
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
                        if json {
                            println!("{}", to_json(&reports));
                        } else {
                            for r in &reports {
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
                        }
                        let failed = reports.iter().any(|r| r.failed > 0);
                        ExitCode::from(u8::from(failed))
                    }
                    Err(e) => fail(e),
                }
            }
        },
    }
}
