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

/// `text` with what a peer drew from the operating system masked: the one part of a report
/// that is not a function of the seed. double-ratchet-2 draws its keys from the OS, so when a
/// changed message reaches its bincode decoder, which error the decoder meets depends on the
/// key's bytes (a tag it does not know, and which, or the end of the input): each such error
/// becomes `<bincode error>`. vodozemac's Olm session ids hash keys it draws from the OS: each
/// `session ` and 43 base64 characters becomes `session <id>`. Other peers' messages stay as
/// they are.
pub fn unseeded(text: &str) -> String {
    session_ids(&bincode_errors(text))
}

/// `text` with every `session ` followed by an unpadded base64 SHA-256 (43 characters)
/// written `session <id>`.
fn session_ids(text: &str) -> String {
    const WORD: &str = "session ";
    const ID_LEN: usize = 43;
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(WORD) {
        let after = &rest[at + WORD.len()..];
        let id = after.chars().take_while(|c| is_b64(*c)).count();
        out.push_str(&rest[..at + WORD.len()]);
        if id == ID_LEN {
            out.push_str("<id>");
            rest = &after[ID_LEN..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `text` with each error of double-ratchet-2's bincode decoder replaced by
/// `<bincode error>` (see [`unseeded`]).
fn bincode_errors(text: &str) -> String {
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
