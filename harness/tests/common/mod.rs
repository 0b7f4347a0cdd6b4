//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The MLS working group's vectors folder for tests: RATCHET_BENCH_MLS_VECTORS if set, else
/// `<workspace root>/../shared/vectors/mls`; `None` if that folder does not exist.
pub fn mls_vectors_dir() -> Option<PathBuf> {
    let dir = ratchet_bench::vectors::mls::mls_vectors_dir(None)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/mls"));
    dir.is_dir().then_some(dir)
}
