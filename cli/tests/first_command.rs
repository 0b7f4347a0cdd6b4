//! The README's first command, `cargo run --release -p ratchet-bench-cli -- run`, builds on a
//! machine with Rust and a C compiler alone: no cmake, no clang (ci/setup installs those, for
//! libolm and for the fuzz build, and only ci/test runs it).
//!
//! A build reaches for tools in build scripts, so this pins the packages with a build script
//! in the CLI's default dependency tree (for this host, as cargo resolves `-p
//! ratchet-bench-cli`), each with what its script needs. A new one fails the test until
//! someone reads its build script and lists it here; one that left the tree fails too, so the
//! list stays exact. It costs two `cargo` queries (no build), about a second.

// Test helpers may fail loudly, like the tests that call them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages with a build script in the default tree, and what each script runs.
const BUILD_SCRIPTS: &[(&str, &str)] = &[
    ("ahash", "nothing: reads cargo's cfg variables"),
    ("anyhow", "rustc, to probe the compiler's features"),
    ("crossbeam-deque", "nothing: reads cargo's cfg variables"),
    ("crossbeam-epoch", "nothing: reads cargo's cfg variables"),
    ("crossbeam-utils", "nothing: reads cargo's cfg variables"),
    (
        "curve25519-dalek",
        "nothing: picks its backend from cfg variables",
    ),
    (
        "generic-array",
        "nothing: reads the compiler version cargo passes",
    ),
    ("getrandom", "nothing: reads cargo's cfg variables"),
    ("hax-lib", "nothing: reads cargo's cfg variables"),
    ("httparse", "rustc, to probe the compiler's features"),
    (
        "libc",
        "rustc, to probe its version (freebsd-version and emcc only on those targets)",
    ),
    ("libcrux-intrinsics", "nothing: reads the target's features"),
    ("libcrux-sha3", "nothing: reads the target's features"),
    ("num-traits", "nothing: probes with autocfg through rustc"),
    (
        "portable-atomic",
        "nothing: reads the target and the compiler version",
    ),
    ("proc-macro2", "rustc, to probe the compiler's features"),
    ("quote", "rustc, to probe the compiler version"),
    ("rayon-core", "nothing: declares its links key"),
    (
        "ring",
        "a C compiler through the cc crate (gcc is on the image); assembly comes pregenerated",
    ),
    ("rustls", "nothing: reads cargo's cfg variables"),
    ("serde", "rustc, to probe the compiler version"),
    ("serde_core", "rustc, to probe the compiler version"),
    ("serde_json", "nothing: reads the target's pointer width"),
    ("thiserror", "rustc, to probe the compiler's features"),
    ("zerocopy", "rustc, to probe the compiler version"),
    ("zmij", "rustc, to probe the compiler version"),
];

/// Packages that must never be in the first command's tree: they run cmake or need clang.
const NEEDS_CI_TOOLS: &[&str] = &["olm-sys", "cmake", "bindgen", "clang-sys"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = Command::new(cargo)
        .current_dir(root())
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        o.status.success(),
        "cargo {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The packages of a dependency tree (normal and build dependencies, this host), as
/// `name vVERSION`.
fn tree(args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["tree", "--locked", "-e", "normal,build", "--prefix", "none"];
    all.extend(["-f", "{p}"]);
    all.extend(args);
    cargo(&all)
        .lines()
        .map(|l| {
            let mut words = l.split_whitespace();
            format!(
                "{} {}",
                words.next().unwrap_or(""),
                words.next().unwrap_or("")
            )
        })
        .filter(|l| l.trim() != "")
        .collect()
}

/// Every package of the lock file that has a build script, as `name vVERSION`.
fn with_build_script() -> BTreeSet<String> {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--locked", "--format-version", "1"])).unwrap();
    meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["targets"].as_array().unwrap().iter().any(|t| {
                t["kind"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == "custom-build")
            })
        })
        .map(|p| {
            format!(
                "{} v{}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect()
}

fn names(set: &BTreeSet<String>) -> BTreeSet<String> {
    set.iter()
        .map(|p| p.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn the_first_commands_build_scripts_need_no_tool_that_only_ci_installs() {
    let first = tree(&["-p", "ratchet-bench-cli"]);
    assert!(
        first.len() > 50,
        "the tree must list the CLI's dependencies: {first:?}"
    );
    let present = names(&first);
    let forbidden: Vec<_> = NEEDS_CI_TOOLS
        .iter()
        .filter(|n| present.contains(**n))
        .collect();
    assert!(
        forbidden.is_empty(),
        "the first command would need cmake or clang through {forbidden:?}; keep them behind \
         a feature the default build leaves off"
    );

    let scripts: BTreeSet<String> =
        names(&first.intersection(&with_build_script()).cloned().collect());
    let listed: BTreeMap<&str, &str> = BUILD_SCRIPTS.iter().copied().collect();
    let new: Vec<_> = scripts
        .iter()
        .filter(|n| !listed.contains_key(n.as_str()))
        .collect();
    let gone: Vec<_> = listed.keys().filter(|n| !scripts.contains(**n)).collect();
    assert!(
        new.is_empty(),
        "new build scripts in the first command's tree: {new:?}. Read each one; if it needs \
         nothing beyond rustc and a C compiler, add it to BUILD_SCRIPTS with what it runs"
    );
    assert!(
        gone.is_empty(),
        "listed build scripts no longer in the tree: {gone:?}; remove them from BUILD_SCRIPTS"
    );
}

#[test]
fn the_workspace_and_the_libolm_feature_still_build_libolm() {
    // `cargo test --workspace` (ci/test) builds and tests libolm: the ratchet-bench crate's
    // default feature turns it on for every member of a workspace build.
    let workspace = names(&tree(&["--workspace"]));
    assert!(
        workspace.contains("olm-sys"),
        "the workspace build must include libolm"
    );
    // The way the README gives to add libolm's peers to the first command.
    let with_libolm = names(&tree(&["-p", "ratchet-bench-cli", "--features", "libolm"]));
    assert!(
        with_libolm.contains("olm-sys"),
        "--features libolm must add libolm"
    );
}
