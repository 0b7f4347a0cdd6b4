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

/// `text` with each error of double-ratchet-2's bincode decoder replaced by
/// `<bincode error>`. double-ratchet-2 draws its keys from the operating system, so when a
/// changed message reaches that decoder, which error it meets depends on the key's bytes (a tag
/// it does not know, and which, or the end of the input), not only on the seed: the one part
/// of a report that is not a function of the seed. Other peers' panic messages stay as they
/// are.
pub fn bincode_errors(text: &str) -> String {
    const MASK: &str = "<bincode error>";
    const TAG: &str = "InvalidTagEncoding(";
    let text = text.replace("Io(Kind(UnexpectedEof))", MASK);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(TAG) {
        out.push_str(&rest[..at]);
        let after = &rest[at + TAG.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        match after[digits..].strip_prefix(')') {
            Some(tail) => {
                out.push_str(MASK);
                rest = tail;
            }
            None => {
                out.push_str(TAG);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
