//! `ratchet-bench vectors fetch`, offline: from a local copy of the MLS working group's
//! files (a folder, then a file:// URL), into a fresh folder that `vectors replay` then
//! reads; a corrupted source is refused with both hashes and nothing written; a second
//! fetch finds everything already there. Without the reference copy of the MLS files only
//! the checks that need none run, and the tests say so.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use ratchet_bench::vectors::mls::MLS_VECTORS_ENV;
use ratchet_bench::vectors::{Manifest, SuiteFile};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        // The destination must come from --to, never from the caller's environment.
        .env_remove(MLS_VECTORS_ENV)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file of the manifest's suites that have an upstream.
fn upstream_files() -> Vec<SuiteFile> {
    let manifest = Manifest::load(&common::vectors_dir().join("MANIFEST.json")).unwrap();
    let files: Vec<SuiteFile> = manifest
        .suites
        .into_iter()
        .filter(|s| s.upstream.is_some())
        .flat_map(|s| s.files)
        .collect();
    assert!(
        files.len() >= 2,
        "the manifest should pin the MLS files: {files:?}"
    );
    files
}

/// A scratch copy of the MLS files the manifest pins, or `None` (said loudly) when the
/// reference copy is absent.
fn source_copy(name: &str) -> Option<PathBuf> {
    let Some(reference) = common::mls_vectors_dir() else {
        eprintln!(
            "\n*** the MLS vectors folder is absent: fetch tests that need its files DID NOT \
             RUN; set {MLS_VECTORS_ENV} (or put ../shared/vectors/mls beside the workspace) \
             ***\n"
        );
        return None;
    };
    let dir = common::temp_dir(name);
    for f in upstream_files() {
        std::fs::copy(reference.join(&f.path), dir.join(&f.path)).unwrap();
    }
    Some(dir)
}

fn file_url(dir: &Path) -> String {
    let abs = dir.canonicalize().unwrap();
    format!("file://{}", abs.display()).replace(' ', "%20")
}

fn fetch(from: &str, to: &Path) -> Output {
    bench(&[
        "vectors",
        "fetch",
        "--from",
        from,
        "--to",
        to.to_str().unwrap(),
    ])
}

fn assert_all_pinned(dir: &Path) {
    for f in upstream_files() {
        let bytes = std::fs::read(dir.join(&f.path))
            .unwrap_or_else(|e| panic!("{} should have been fetched: {e}", f.path));
        assert_eq!(
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            f.sha256,
            "{} should hold the pinned bytes",
            f.path
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file should stay: {leftovers:?}"
    );
}

#[test]
fn fetch_from_a_folder_writes_every_pinned_file_and_replay_runs_them() {
    let Some(src) = source_copy("fetch-src-folder") else {
        return;
    };
    let to = common::temp_dir("fetch-to-folder").join("mls");
    let o = fetch(src.to_str().unwrap(), &to);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for f in upstream_files() {
        assert!(
            out.contains(&format!("{}: ok, written (sha256 {})", f.path, f.sha256)),
            "{out}"
        );
    }
    assert_all_pinned(&to);

    let o = bench(&[
        "vectors",
        "replay",
        "--mls-vectors-dir",
        to.to_str().unwrap(),
        "--suite",
        "mls-tree-math",
        "--suite",
        "mls-secret-tree",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("mls-tree-math tree-math.json reference: 10 passed, 0 failed"),
        "{out}"
    );
    assert!(
        out.contains("mls-secret-tree secret-tree.json reference: 21 passed, 0 failed"),
        "{out}"
    );
    // No suite left unrun ("not run: ..."); an expectation of a shim that did not take part
    // says "did not run", which is not about the files.
    assert!(!out.contains("not run:"), "{out}");
}

#[test]
fn fetch_from_a_file_url_then_again_finds_everything_already_there() {
    let Some(src) = source_copy("fetch-src-url") else {
        return;
    };
    let to = common::temp_dir("fetch-to-url");
    let url = file_url(&src);
    let o = fetch(&url, &to);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_all_pinned(&to);
    let before: Vec<_> = upstream_files()
        .iter()
        .map(|f| {
            std::fs::metadata(to.join(&f.path))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();

    // Idempotent: nothing is read again, nothing rewritten, even from a source that is gone.
    std::fs::remove_dir_all(&src).unwrap();
    let o = fetch(&url, &to);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for f in upstream_files() {
        assert!(
            out.contains(&format!("{}: ok, already there", f.path)),
            "{out}"
        );
    }
    let after: Vec<_> = upstream_files()
        .iter()
        .map(|f| {
            std::fs::metadata(to.join(&f.path))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    assert_eq!(
        before, after,
        "an already-fetched file must not be rewritten"
    );
    assert_all_pinned(&to);
}

#[test]
fn a_corrupted_source_file_is_refused_with_both_hashes_and_nothing_written() {
    let Some(src) = source_copy("fetch-src-corrupt") else {
        return;
    };
    let victim = upstream_files()
        .into_iter()
        .find(|f| f.path == "tree-math.json")
        .expect("the manifest pins tree-math.json");
    let mut bytes = std::fs::read(src.join(&victim.path)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    std::fs::write(src.join(&victim.path), &bytes).unwrap();

    let to = common::temp_dir("fetch-to-corrupt");
    let o = fetch(src.to_str().unwrap(), &to);
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a hash mismatch fails the fetch: {out}"
    );
    assert!(
        out.contains(&format!(
            "tree-math.json: sha256 of the download from {} is not the pinned one: expected {}, got {actual}; nothing written",
            src.join("tree-math.json").display(),
            victim.sha256
        )),
        "{out}"
    );
    assert!(
        !to.join(&victim.path).exists(),
        "a file with the wrong hash must not be written"
    );
    let names: Vec<_> = std::fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("tree-math")),
        "nothing of the bad file may stay, not even a temporary: {names:?}"
    );
    // The other files were good, so they are there.
    for f in upstream_files().iter().filter(|f| f.path != victim.path) {
        assert!(to.join(&f.path).is_file(), "{} should be fetched", f.path);
    }
}

#[test]
fn a_bad_source_or_suite_is_a_usage_error() {
    let to = common::temp_dir("fetch-usage");
    let o = fetch("ftp://mirror.invalid/mls/", &to);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--from ftp://mirror.invalid/mls/"),
        "{}",
        text(&o)
    );

    let o = bench(&[
        "vectors",
        "fetch",
        "--to",
        to.to_str().unwrap(),
        "--suite",
        "signal-dr-honest",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no suite named \"signal-dr-honest\" has an upstream"),
        "{}",
        text(&o)
    );

    // A source folder without the files is an I/O error, and nothing is written.
    let empty = common::temp_dir("fetch-usage-empty");
    let o = fetch(empty.to_str().unwrap(), &to);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot download"), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&to).unwrap().count(), 0);
}

#[test]
fn the_not_run_reason_gives_the_fetch_command() {
    let o = bench(&[
        "vectors",
        "replay",
        "--suite",
        "mls-tree-math",
        "--suite",
        "mls-secret-tree",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(
        out.matches("run `ratchet-bench vectors fetch --to target/mls-vectors`")
            .count(),
        2,
        "{out}"
    );
}
