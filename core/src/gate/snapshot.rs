//! The gate's own snapshot of its summary: a text file compared line by line, the new
//! summary written beside it as `.new` when it differs (as insta does with `.snap.new`).

use super::GateError;
use std::path::{Path, PathBuf};

/// The most differing lines shown; the `.new` file holds the rest.
const MAX_SHOWN: usize = 60;

/// Compares `summary` with the file at `path`; on a difference (or no file) writes
/// `path.new` and returns the difference as an error.
pub(super) fn compare(path: &Path, summary: &str) -> Result<(), GateError> {
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(GateError::SnapshotFile {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let new_path = new_path(path);
    if old == summary {
        // A stale .new from an earlier failure would mislead a reviewer.
        let _ = std::fs::remove_file(&new_path);
        return Ok(());
    }
    std::fs::write(&new_path, summary).map_err(|source| GateError::SnapshotFile {
        path: new_path.clone(),
        source,
    })?;
    let diff = if old.is_empty() {
        format!(
            "(no snapshot yet; the summary has {} lines)",
            summary.lines().count()
        )
    } else {
        diff(&old, summary)
    };
    Err(GateError::Snapshot {
        path: path.to_path_buf(),
        new_path,
        diff,
    })
}

fn new_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// The lines of `old` not in `new` (`-`) and of `new` not in `old` (`+`), in order, along a
/// longest common subsequence.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // On a tie the old line goes first, as diffs show a replaced line.
            lines.push(format!("- {}", a[i]));
            i += 1;
        } else {
            lines.push(format!("+ {}", b[j]));
            j += 1;
        }
    }
    let more = lines.len().saturating_sub(MAX_SHOWN);
    lines.truncate(MAX_SHOWN);
    if more > 0 {
        lines.push(format!("... and {more} more lines"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_shows_removed_and_added_lines_in_order() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\nd\n"), "- b\n+ x\n+ d");
        assert_eq!(diff("same\n", "same\n"), "");
    }

    #[test]
    fn a_changed_summary_fails_and_is_written_beside_the_snapshot() {
        let dir = std::env::temp_dir().join(format!("ratchet-gate-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gate.txt");
        let e = compare(&path, "one\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("(no snapshot yet; the summary has 1 lines)"),
            "{e}"
        );
        std::fs::rename(new_path(&path), &path).unwrap();
        compare(&path, "one\n").unwrap();
        let e = compare(&path, "two\n").unwrap_err();
        assert!(e.to_string().ends_with("- one\n+ two"), "{e}");
        assert_eq!(std::fs::read_to_string(new_path(&path)).unwrap(), "two\n");
        compare(&path, "one\n").unwrap();
        assert!(
            !new_path(&path).exists(),
            "a passing compare removes the old .new"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
