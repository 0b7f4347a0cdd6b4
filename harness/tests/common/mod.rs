//! Helpers shared by the integration tests.

// Each test crate includes this module and uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The MLS working group's vectors folder for tests: RATCHET_BENCH_MLS_VECTORS if set, else
/// `<workspace root>/../shared/vectors/mls`; `None` if that folder does not exist.
pub fn mls_vectors_dir() -> Option<PathBuf> {
    let dir = ratchet_bench::vectors::mls::mls_vectors_dir(None)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/mls"));
    dir.is_dir().then_some(dir)
}

/// The repository's vectors folder.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// An empty folder of this test process, named after `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the manifest and our signal-dr vector files, to break things in.
pub fn vectors_copy(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("signal-dr")).unwrap();
    std::fs::copy(
        vectors_dir().join("MANIFEST.json"),
        dir.join("MANIFEST.json"),
    )
    .unwrap();
    for f in ["honest", "out-of-order", "invalid"] {
        let rel = format!("signal-dr/{f}.json");
        std::fs::copy(vectors_dir().join(&rel), dir.join(&rel)).unwrap();
    }
    dir
}

/// `text` with the number in each `InvalidTagEncoding(N)` replaced by `N`: double-ratchet-2
/// draws its keys from the operating system, so a panic of its bincode decoder on a cut key
/// names a random byte, the one part of a report that is not a function of the seed.
pub fn random_tag_bytes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    const TAG: &str = "InvalidTagEncoding(";
    while let Some(at) = rest.find(TAG) {
        let (before, after) = rest.split_at(at + TAG.len());
        out.push_str(before);
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push('N');
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `text` with the error a peer's `unwrap` panicked on replaced by `<error>`, up to the end of
/// its JSON string. double-ratchet-2 draws its keys from the operating system, so when a
/// changed message reaches its bincode decoder, which error the decoder meets depends on the
/// key's bytes (a tag it does not know, or the end of the input), not only on the seed. For
/// comparisons of whole reports whose runs each drew their own keys.
pub fn unwrap_errors(text: &str) -> String {
    const UNWRAP: &str = "called `Result::unwrap()` on an `Err` value: ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(UNWRAP) {
        let (before, after) = rest.split_at(at + UNWRAP.len());
        out.push_str(before);
        out.push_str("<error>");
        // The end of the JSON string: the first quote not escaped by a backslash.
        let mut end = after.len();
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}
