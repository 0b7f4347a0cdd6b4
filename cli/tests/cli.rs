//! The command line as a user meets it: exit codes 0 / 1 / 2, clear errors, determinism.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
#[path = "../../harness/tests/common/mod.rs"]
mod common;

use binary::{bench, root, stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

#[test]
fn list_shows_every_peer_of_every_family_with_limits() {
    let o = bench(&["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "reference            signal-dr",
        "ksi-double-ratchet   signal-dr",
        "double-ratchet-2     dr2",
        "max-skip 1000, 2000 stored, refuse when full",
        "openmls              mls",
        "max-skip 1000, keys of the last 5 kept",
        "mls-rs               mls",
        "max-skip 1024, unbounded store",
        "max-skip 100, unbounded store",
        "reference-olm        olm",
        "vodozemac-olm        olm",
        "max-skip 2000, 40 per chain, 5 receiving chains, evict oldest when full",
        "reference-megolm     megolm",
        "vodozemac-megolm     megolm",
        "signal-dr-invalid",
        "megolm-invalid",
    ] {
        assert!(out.contains(line), "list must show {line:?}:\n{out}");
    }
    // libolm is built when this crate's `libolm` feature is on, and also in a workspace build,
    // where the ratchet-bench crate's default feature turns it on for every member; a build of
    // this package alone leaves it out and says how to add it.
    let built = [
        "libolm-olm           olm",
        "max-skip 2000, 40 stored, 5 receiving chains, evict oldest when full",
        "libolm-megolm        megolm",
    ];
    let absent = [
        "libolm-olm           not built: built without the `libolm` cargo feature (add `--features libolm`",
        "libolm-megolm        not built: built without the `libolm` cargo feature (add `--features libolm`",
    ];
    let has_all = |lines: &[&str]| lines.iter().all(|l| out.contains(l));
    if cfg!(feature = "libolm") {
        assert!(
            has_all(&built),
            "the libolm feature is on, so list must show libolm's peers:\n{out}"
        );
    } else {
        assert!(
            has_all(&built) || has_all(&absent),
            "list must show libolm's peers or say how to build them:\n{out}"
        );
    }
}

const SMALL: &[&str] = &[
    "run",
    "--scenarios",
    "40",
    "--seed",
    "3",
    "--no-vectors",
    "--no-regressions",
];

#[test]
fn expectations_decide_the_exit_code() {
    let dir = common::temp_dir("cli-expectations");
    let mut args = SMALL.to_vec();
    args.extend(["--no-expectations", "--json"]);
    let o = bench(&args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "without expectations every finding is new"
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sigs: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["signature"].as_str().unwrap().to_string())
        .collect();
    assert!(
        sigs.len() >= 3,
        "expected several findings from double-ratchet-2, got {sigs:?}"
    );

    let write = |sigs: &[String], name: &str| {
        let entries: Vec<_> = sigs
            .iter()
            .map(|s| serde_json::json!({"signature": s, "reason": "known in this test"}))
            .collect();
        let path = dir.join(name);
        std::fs::write(
            &path,
            serde_json::json!({ "expectations": entries }).to_string(),
        )
        .unwrap();
        path.to_string_lossy().into_owned()
    };
    let run_with = |file: &str| {
        let mut args = SMALL.to_vec();
        args.extend(["--expectations", file]);
        bench(&args)
    };

    let all = write(&sigs, "all.json");
    let o = run_with(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "every finding expected: {}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("result: PASS"));

    let missing = write(&sigs[1..], "missing.json");
    let o = run_with(&missing);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a finding not in the file must fail the run"
    );
    assert!(
        stdout(&o).contains(&format!("[NEW] {}", sigs[0])),
        "{}",
        stdout(&o)
    );

    let mut extra = sigs.clone();
    extra.push("reference/accepted-forgery/tamper-mac".into());
    let stale = write(&extra, "stale.json");
    let o = run_with(&stale);
    assert_eq!(
        o.status.code(),
        Some(1),
        "an entry that no longer shows must fail as stale"
    );
    assert!(
        stdout(&o).contains("[STALE] reference/accepted-forgery/tamper-mac"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_bad_hex_field_exits_2_naming_file_case_and_field() {
    let dir = common::vectors_copy("cli-bad-hex");
    let text = std::fs::read_to_string(root().join("vectors/signal-dr/invalid.json")).unwrap();
    let text = text.replacen("\"sharedSecret\": \"", "\"sharedSecret\": \"zz", 2);
    std::fs::write(dir.join("signal-dr/invalid.json"), text).unwrap();
    let dir_arg = dir.to_string_lossy().into_owned();
    let o = bench(&[
        "run",
        "--scenarios",
        "1",
        "--vectors-dir",
        &dir_arg,
        "--accept-changed-vectors",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("invalid.json"), "{err}");
    assert!(err.contains("tcId 1,"), "{err}");
    assert!(
        err.contains("field testGroups[0].tests[0].sharedSecret"),
        "{err}"
    );

    let o = bench(&["run", "--scenarios", "1", "--vectors-dir", &dir_arg]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the manifest pins"), "{}", stderr(&o));
}

#[test]
fn one_seed_gives_byte_identical_json() {
    let args = [
        "run",
        "--scenarios",
        "30",
        "--seed",
        "11",
        "--json",
        "--no-expectations",
    ];
    let a = bench(&args);
    let b = bench(&[
        "run",
        "--scenarios",
        "30",
        "--seed",
        "11",
        "--json",
        "--no-expectations",
        "--workers",
        "1",
    ]);
    assert!(!a.stdout.is_empty());
    // double-ratchet-2 draws its keys from the operating system, so which error its bincode
    // decoder panics on for a changed message is not a function of the seed (the default
    // run's snapshot masks it too).
    assert!(
        common::unseeded(&stdout(&a)) == common::unseeded(&stdout(&b)),
        "the same seed must give the same report, whatever the workers"
    );
}

#[test]
fn replay_prints_each_peers_transcript() {
    let o = bench(&[
        "replay",
        "send A 5; deliver m0; tamper m0 mac 1",
        "--peer",
        "reference",
        "--seed",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("reference (signal-dr):"), "{out}");
    assert!(out.contains("tamper-mac"), "{out}");
    assert!(out.contains("rejected:"), "{out}");

    let o = bench(&[
        "replay",
        "send A 5; deliver m0; replay m0",
        "--peer",
        "double-ratchet-2",
        "--no-expectations",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a new finding makes replay exit 1"
    );
    assert!(
        stdout(&o).contains("double-ratchet-2/panic/replay"),
        "{}",
        stdout(&o)
    );
    // Read the way `run` reads it, ci/expectations.json lists the finding: exit 0.
    let o = bench(&[
        "replay",
        "send A 5; deliver m0; replay m0",
        "--peer",
        "double-ratchet-2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "an expected finding: {}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("[expected] double-ratchet-2/panic/replay"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("double-ratchet-2/panic/replay"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let o = bench(&["replay", "send A 5; deliver m4"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("step 1: step refers to m4"),
        "{}",
        stderr(&o)
    );

    let o = bench(&["run", "--peer", "nobody", "--scenarios", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown peer \"nobody\""),
        "{}",
        stderr(&o)
    );

    let o = bench(&[
        "run",
        "--expectations",
        "/nonexistent/expectations.json",
        "--scenarios",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/expectations.json"),
        "{}",
        stderr(&o)
    );

    let o = bench(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn mls_suites_read_the_flag_then_the_environment_and_are_not_run_without_either() {
    let replay = |env: Option<&Path>, flag: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"));
        cmd.current_dir(root())
            .args(["vectors", "replay", "--suite", "mls-tree-math"])
            .env_remove("RATCHET_BENCH_MLS_VECTORS");
        if let Some(dir) = env {
            cmd.env("RATCHET_BENCH_MLS_VECTORS", dir);
        }
        if let Some(dir) = flag {
            cmd.arg("--mls-vectors-dir").arg(dir);
        }
        cmd.output().expect("the binary runs")
    };
    let o = replay(None, None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "not run still exits 0: {}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("not run: no MLS vectors folder")
            && stdout(&o).contains("test-vectors/tree-math.json"),
        "{}",
        stdout(&o)
    );
    // The flag wins over the environment.
    let empty = common::temp_dir("cli-mls-empty");
    let o = replay(Some(Path::new("/nonexistent-mls")), Some(&empty));
    assert!(
        stdout(&o).contains(&empty.join("tree-math.json").display().to_string()),
        "{}",
        stdout(&o)
    );
    let o = replay(Some(&empty), None);
    assert!(
        stdout(&o).contains(&empty.join("tree-math.json").display().to_string()),
        "{}",
        stdout(&o)
    );
    // A present file with another hash is an error naming it.
    std::fs::write(empty.join("tree-math.json"), "[]").unwrap();
    let o = replay(None, Some(&empty));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("tree-math.json: sha256 is"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&empty).unwrap();
}

/// A peer that aborts the process (as a C library's `abort()` would) loses nothing: the
/// supervisor runs again with that scenario skipped and reported as `<peer>/abort/scenario`,
/// and every other result is the same as in a run without the abort (runs are
/// deterministic). The abort is injected with the supervisor's fault hook.
#[test]
fn a_peer_that_aborts_is_reported_and_the_rest_of_the_run_kept() {
    let args = [
        "run",
        "--peer",
        "reference",
        "--peer",
        "ksi-double-ratchet",
        "--scenarios",
        "30",
        "--no-vectors",
        "--no-regressions",
        "--no-expectations",
        "--json",
    ];
    let clean = bench(&args);
    let aborted = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .current_dir(root())
        .args(args)
        .env(
            ratchet_bench::journal::FAULT_ENV,
            "abort:ksi-double-ratchet:signal-dr:12",
        )
        .output()
        .unwrap();
    let err = stderr(&aborted);
    assert!(
        err.contains("ended by signal 6") && err.contains("signal-dr scenario 12"),
        "{err}"
    );
    assert_eq!(aborted.status.code(), Some(1), "{err}");
    let report = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (clean, aborted) = (report(&clean), report(&aborted));
    let signatures = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["signature"].as_str().unwrap().to_string())
            .collect()
    };
    let abort: Vec<&serde_json::Value> = aborted["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["signature"] == "ksi-double-ratchet/abort/scenario")
        .collect();
    assert_eq!(abort.len(), 1, "{:?}", signatures(&aborted));
    let reproducer = abort[0]["reproducer"].as_str().unwrap();
    assert!(
        reproducer.contains("--peer ksi-double-ratchet") && reproducer.contains("--seed"),
        "{reproducer}"
    );
    // Every other finding of the clean run is there: only scenario 12 was not run.
    for s in signatures(&clean) {
        assert!(
            signatures(&aborted).contains(&s),
            "{s} lost: {:?}",
            signatures(&aborted)
        );
    }
    assert_eq!(clean["scenarios"], aborted["scenarios"]);
}

/// The interop matrix's cells and the vector files' peers are journaled like scenarios: an
/// abort in one is reported (`a+b/interop/abort/signal-6`, `<peer>/abort/vectors`) and the
/// rest of the run kept.
#[test]
fn aborts_in_the_interop_matrix_and_the_vectors_are_reported_too() {
    let run = |fault: &str| -> (Output, serde_json::Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
            .current_dir(root())
            .args([
                "run",
                "--peer",
                "reference",
                "--peer",
                "ksi-double-ratchet",
                "--scenarios",
                "5",
                "--suite",
                "signal-dr-honest",
                "--no-regressions",
                "--no-expectations",
                "--json",
            ])
            .env(ratchet_bench::journal::FAULT_ENV, fault)
            .output()
            .unwrap();
        let report = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out, report)
    };
    let signatures = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| f["signature"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };

    // Cell 1 of the signal-dr matrix: reference initiates, ksi-double-ratchet responds.
    let (out, report) = run("abort:reference+ksi-double-ratchet:interop/signal-dr:1");
    let err = stderr(&out);
    assert!(
        err.contains("cell 1 of the signal-dr interop matrix"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    let found = signatures(&report);
    assert!(
        found.contains(&"reference+ksi-double-ratchet/interop/abort/signal-6".to_string()),
        "{found:?}"
    );
    let cells = report["interop"][0]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "every cell is in the matrix");
    assert_eq!(
        cells.iter().filter(|c| c["result"] == "pass").count(),
        3,
        "the three other cells ran: {cells:?}"
    );

    // The reference's turn on signal-dr/honest.json.
    let (out, report) = run("abort:reference:vectors/signal-dr/honest.json:0");
    let err = stderr(&out);
    assert!(
        err.contains("the vector file signal-dr/honest.json"),
        "{err}"
    );
    let found = signatures(&report);
    assert!(
        found.contains(&"reference/abort/vectors".to_string()),
        "{found:?}"
    );
    let vectors = report["vectors"].as_array().unwrap();
    let on = |peer: &str| {
        vectors
            .iter()
            .find(|v| v["peer"] == peer && v["file"] == "signal-dr/honest.json")
            .unwrap()
            .clone()
    };
    assert!(on("reference")["not_run"]
        .as_str()
        .unwrap()
        .contains("abort"));
    // The campaign ran whole.
    assert!(report["outcomes"]["reference"].is_object(), "{report}");
}
