//! Expectations with reproducers as a user meets them: `expectations migrate`, `check` and
//! `add`; a run of any size, seed, mode or shard judges an entry stale only by replaying its
//! reproducer; layered files; `vectors replay` and `run` agree on a known vector case.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod binary;
#[path = "../../harness/tests/common/mod.rs"]
mod common;

use binary::{bench, stdout};
use std::path::Path;
use std::process::Output;

fn both(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A campaign of peers that run fast and have known findings (the Signal family's two and
/// double-ratchet-2), without vectors or regressions, so that the findings are the
/// campaign's and the replays'.
fn run(scenarios: &str, seed: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "run",
        "--scenarios",
        scenarios,
        "--seed",
        seed,
        "--peer",
        "reference",
        "--peer",
        "ksi-double-ratchet",
        "--peer",
        "double-ratchet-2",
        "--no-vectors",
        "--no-regressions",
    ];
    args.extend(extra);
    bench(&args)
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn write_entries(file: &Path, entries: &[serde_json::Value]) {
    std::fs::write(
        file,
        serde_json::to_string_pretty(&serde_json::json!({ "expectations": entries })).unwrap(),
    )
    .unwrap();
}

fn entries(file: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    v["expectations"].as_array().unwrap().clone()
}

#[test]
fn entries_are_judged_by_their_reproducers_in_every_mode() {
    let dir = common::temp_dir("cli-expectations-modes");
    // The findings of a campaign, as a report.
    let o = run("200", "3", &["--no-expectations", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    let report = dir.join("report.json");
    std::fs::write(&report, &o.stdout).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sigs: Vec<String> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["signature"].as_str().unwrap().to_string())
        .collect();
    assert!(
        sigs.len() >= 3,
        "the known findings of ksi-double-ratchet and double-ratchet-2 show: {sigs:?}"
    );

    // A file written before reproducers (signature and reason only) loads, and migrate
    // gives every entry the reproducer of its finding in the report.
    let file = dir.join("expectations.json");
    let legacy: Vec<_> = sigs
        .iter()
        .map(|s| serde_json::json!({"signature": s, "reason": "known in this test"}))
        .collect();
    write_entries(&file, &legacy);
    let o = bench(&[
        "expectations",
        "migrate",
        "--from",
        &path(&report),
        "--write",
        &path(&file),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(entries(&file).iter().all(|e| e["reproducer"].is_object()));
    let o = bench(&["expectations", "check", "--expectations", &path(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!(
            "result: PASS: {} entries: {} shows",
            sigs.len(),
            sigs.len()
        )),
        "{}",
        stdout(&o)
    );

    // Runs of other sizes and seeds (which draw fewer of the findings, or none), and every
    // shard of a run: no entry is stale, each is shown by its replay.
    let modes: Vec<(&str, &str, Vec<&str>)> = vec![
        ("200", "3", vec![]),
        ("3", "2", vec![]),
        ("0", "9", vec![]),
        ("200", "3", vec!["--shard", "2/3"]),
    ];
    let file_arg = path(&file);
    for (n, seed, extra) in &modes {
        let mut args = extra.clone();
        args.extend(["--expectations", &file_arg, "--json"]);
        let o = run(n, seed, &args);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            v["triage"]["stale"].as_array().unwrap().is_empty(),
            "--scenarios {n} --seed {seed} {extra:?}: {}",
            v["triage"]
        );
        let shows = v["triage"]["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["check"]["status"] == "shows")
            .count();
        let owned = if extra.is_empty() {
            sigs.len()
        } else {
            (0..sigs.len()).filter(|i| i % 3 == 1).count()
        };
        assert_eq!(shows, owned, "--scenarios {n} --seed {seed} {extra:?}");
    }
    let o = run("0", "9", &["--expectations", &path(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));

    // Removing an entry makes the run that draws its finding fail, naming it.
    let mut fewer = entries(&file);
    let removed = fewer.remove(0);
    let fewer_file = dir.join("fewer.json");
    write_entries(&fewer_file, &fewer);
    let o = run("200", "3", &["--expectations", &path(&fewer_file)]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!("[NEW] {}", removed["signature"].as_str().unwrap())),
        "{}",
        stdout(&o)
    );

    // Breaking the cause of an entry's finding (its reproducer now shows nothing: a fixed
    // peer looks the same) makes the entry stale in every mode, also in the campaign that
    // still draws the finding, and in `expectations check`.
    let mut broken = entries(&file);
    let target = broken[0]["signature"].as_str().unwrap().to_string();
    broken[0]["reproducer"]["scenario"] = serde_json::json!("send A 1; deliver m0");
    let broken_file = dir.join("broken.json");
    write_entries(&broken_file, &broken);
    let broken_arg = path(&broken_file);
    for (n, seed, extra) in &modes {
        if extra.contains(&"2/3") {
            // The entry belongs to shard 1 of 3.
            continue;
        }
        let mut args = extra.clone();
        args.extend(["--expectations", &broken_arg]);
        let o = run(n, seed, &args);
        assert_eq!(o.status.code(), Some(1), "{}", both(&o));
        assert!(
            stdout(&o).contains(&format!("[STALE] {target}")),
            "--scenarios {n} --seed {seed}: {}",
            stdout(&o)
        );
    }
    let o = run(
        "200",
        "3",
        &["--shard", "1/3", "--expectations", &path(&broken_file)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(stdout(&o).contains(&format!("[STALE] {target}")));
    let o = bench(&[
        "expectations",
        "check",
        "--expectations",
        &path(&broken_file),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(
        stdout(&o).contains(&format!("STALE        {target}")),
        "{}",
        stdout(&o)
    );

    // Layered files: each entry reported with its file; one signature in two is an error.
    let all = entries(&file);
    let (first, second) = all.split_at(1);
    let (a, b) = (dir.join("project.json"), dir.join("team.json"));
    write_entries(&a, first);
    write_entries(&b, second);
    let o = run(
        "200",
        "3",
        &[
            "--expectations",
            &path(&a),
            "--expectations",
            &path(&b),
            "--json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files: Vec<&str> = v["triage"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["file"].as_str().unwrap())
        .collect();
    assert_eq!(files[0], path(&a));
    assert!(files[1..].iter().all(|f| *f == path(&b)));
    let o = run(
        "3",
        "2",
        &["--expectations", &path(&a), "--expectations", &path(&file)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", both(&o));
    assert!(both(&o).contains("keep one"), "{}", both(&o));
}

#[test]
fn add_writes_an_entry_with_a_replayed_reproducer_and_a_reason() {
    let dir = common::temp_dir("cli-expectations-add");
    let o = run("200", "3", &["--no-expectations", "--json"]);
    let report = dir.join("report.json");
    std::fs::write(&report, &o.stdout).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sig = value["findings"][0]["signature"]
        .as_str()
        .unwrap()
        .to_string();
    let file = dir.join("new.json");
    let add = |reason: &str| {
        bench(&[
            "expectations",
            "add",
            &sig,
            "--reason",
            reason,
            "--from",
            &path(&report),
            "--write",
            &path(&file),
        ])
    };
    let o = add(" ");
    assert_eq!(o.status.code(), Some(2), "an empty reason is refused");
    assert!(both(&o).contains("--reason"), "{}", both(&o));
    assert!(!file.exists());
    let o = add("known in this test");
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let written = entries(&file);
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["signature"], sig.as_str());
    assert_eq!(written[0]["reason"], "known in this test");
    assert!(
        written[0]["reproducer"]["scenario"].is_string(),
        "{}",
        written[0]
    );
    let o = add("again");
    assert_eq!(o.status.code(), Some(2), "a listed signature is refused");
    assert!(both(&o).contains("already listed"), "{}", both(&o));
    // The entry passes a campaign that does not draw its finding.
    let o = run("0", "9", &["--expectations", &path(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
}

#[test]
fn vectors_replay_and_run_agree_on_a_known_vector_case() {
    // libolm accepts tcId 10 of olm/invalid.json; ci/expectations.json lists it.
    let o = bench(&[
        "vectors",
        "replay",
        "--suite",
        "olm-invalid",
        "--peer",
        "libolm-olm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    assert!(
        stdout(&o).contains("[expected] libolm-olm/vector-failed/olm-invalid/tc10"),
        "{}",
        stdout(&o)
    );
    let o = bench(&[
        "vectors",
        "replay",
        "--suite",
        "olm-invalid",
        "--peer",
        "libolm-olm",
        "--no-expectations",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", both(&o));
    assert!(stdout(&o).contains("[NEW] libolm-olm/vector-failed/olm-invalid/tc10"));
}

#[test]
fn every_entry_of_the_project_s_file_carries_a_reproducer_that_shows_its_finding() {
    let file = binary::root().join("ci/expectations.json");
    let all = entries(&file);
    let without: Vec<String> = all
        .iter()
        .filter(|e| !e["reproducer"].is_object())
        .map(|e| e["signature"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        without.is_empty(),
        "entries without a reproducer (`expectations migrate` gives them one): {without:?}"
    );

    let o = bench(&["expectations", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", both(&o));
    let out = stdout(&o);
    assert!(!out.contains("STALE"), "{out}");
    // Where ci/setup-shims has installed the shims (as CI does), their entries are replayed
    // too and must show their findings; elsewhere they are not checked, and say why. So are
    // libolm's in a binary built without the feature (`cargo test -p ratchet-bench-cli`).
    let installed = [
        "shims/libsignal/node_modules",
        "shims/python-olm/.venv",
        "shims/doubleratchet/.venv",
    ]
    .iter()
    .all(|p| binary::root().join(p).exists());
    for line in out.lines().filter(|l| l.contains("not checked  ")) {
        let why_allowed = line.contains("is not built: built without the `libolm` cargo feature")
            || (!installed && line.contains("cannot be started"));
        assert!(why_allowed, "{line}");
    }
    let n = all.len();
    let not_checked = out.lines().filter(|l| l.contains("not checked  ")).count();
    let shows = out.lines().filter(|l| l.starts_with("  shows  ")).count();
    assert_eq!(shows + not_checked, n, "{out}");
}
