//! `ratchet-bench fuzz-report`: a campaign's artifacts folder turned into a table of
//! finding signatures, each with its count, its smallest reproducer and the command that
//! replays it.
//!
//! The folder is `fuzz/artifacts` (one folder per target, as cargo fuzz writes them) or one
//! target's folder. Every file in it (libFuzzer's `crash-*`, `leak-*`, `timeout-*`, `oom-*`,
//! `slow-unit-*`, or any input put there) is replayed as its target decodes it
//! ([`crate::artifact`]); logs (`*.log`) and hidden files are skipped.

use crate::artifact::{self, Target};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One signature over the campaign.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The finding's signature, or `TARGET/no-crash-on-replay` (the crash needs the fuzz
    /// build: a sanitizer report, vodozemac's MACs switched off) or `TARGET/not-run` (the
    /// target refuses the input).
    pub signature: String,
    /// The fuzz target.
    pub target: String,
    /// How many artifacts show it.
    pub count: usize,
    /// The smallest of them (the first by name among equals).
    pub reproducer: PathBuf,
    /// The command that replays it.
    pub replay: String,
    /// The kind of libFuzzer artifact of the reproducer (`crash`, `timeout`, ...).
    pub artifact_kind: String,
    /// The reproducer's crash detail, first line.
    pub detail: String,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct FuzzReport {
    /// The folder read.
    pub dir: PathBuf,
    /// How many artifacts were replayed.
    pub artifacts: usize,
    /// One row per signature, most frequent first.
    pub rows: Vec<Row>,
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FuzzReportError {
    /// The folder cannot be read.
    #[error("{path}: {reason}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The folder holds no target's artifacts.
    #[error(
        "{0}: no fuzz target's folder here (expected fuzz/artifacts or fuzz/artifacts/<target>)"
    )]
    NoTarget(PathBuf),
}

fn io(path: &Path, e: std::io::Error) -> FuzzReportError {
    FuzzReportError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The artifact files under `dir`, each with its target, in name order.
pub fn artifacts(dir: &Path) -> Result<Vec<(Target, PathBuf)>, FuzzReportError> {
    let mut folders: Vec<(Target, PathBuf)> = Vec::new();
    let own = dir
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| Target::parse(n).ok());
    match own {
        Some(t) => folders.push((t, dir.to_path_buf())),
        None => {
            for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
                let path = entry.map_err(|e| io(dir, e))?.path();
                let target = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| Target::parse(n).ok());
                if let (Some(t), true) = (target, path.is_dir()) {
                    folders.push((t, path));
                }
            }
        }
    }
    if folders.is_empty() {
        return Err(FuzzReportError::NoTarget(dir.to_path_buf()));
    }
    let mut out = Vec::new();
    for (target, folder) in folders {
        for entry in std::fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let path = entry.map_err(|e| io(&folder, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_file() && !name.starts_with('.') && !name.ends_with(".log") {
                out.push((target, path));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// libFuzzer's prefix of an artifact's name (`crash`, `timeout`, ...), `input` otherwise.
fn artifact_kind(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    ["crash", "leak", "timeout", "oom", "slow-unit"]
        .into_iter()
        .find(|k| name.starts_with(&format!("{k}-")))
        .unwrap_or("input")
        .to_string()
}

/// Replays every artifact under `dir` and groups them by signature.
pub fn report(dir: &Path) -> Result<FuzzReport, FuzzReportError> {
    let files = artifacts(dir)?;
    let mut rows: BTreeMap<(String, String), (Row, u64)> = BTreeMap::new();
    for (target, path) in &files {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        let replay = artifact::replay(*target, &bytes);
        let (signature, detail) = match (&replay.crash, &replay.input) {
            (Some(c), _) => (
                c.signature.clone(),
                c.detail.lines().next().unwrap_or("").to_string(),
            ),
            (None, artifact::Input::NotRun(why)) => (format!("{target}/not-run"), why.clone()),
            (None, _) => (
                format!("{target}/no-crash-on-replay"),
                replay.note.clone().unwrap_or_default(),
            ),
        };
        let size = bytes.len() as u64;
        let row = || Row {
            signature: signature.clone(),
            target: target.name().into(),
            count: 0,
            reproducer: path.clone(),
            replay: format!(
                "ratchet-bench replay {} --target {target}",
                shell_word(&path.display().to_string())
            ),
            artifact_kind: artifact_kind(path),
            detail: detail.clone(),
        };
        let entry = rows
            .entry((target.name().to_string(), signature.clone()))
            .or_insert_with(|| (row(), size));
        entry.0.count += 1;
        if size < entry.1 {
            let count = entry.0.count;
            entry.0 = row();
            entry.0.count = count;
            entry.1 = size;
        }
    }
    let mut rows: Vec<Row> = rows.into_values().map(|(r, _)| r).collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    Ok(FuzzReport {
        dir: dir.to_path_buf(),
        artifacts: files.len(),
        rows,
    })
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The report as a table.
pub fn render(report: &FuzzReport) -> String {
    let mut out = format!(
        "{} artifacts in {}, {} signatures\n",
        report.artifacts,
        report.dir.display(),
        report.rows.len()
    );
    if report.rows.is_empty() {
        return out;
    }
    let width = report
        .rows
        .iter()
        .map(|r| r.signature.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let _ = writeln!(
        out,
        "\n{:<width$}  {:>5}  {:<8}  reproducer (smallest)",
        "signature", "count", "kind"
    );
    for r in &report.rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:<8}  {}\n{:<width$}  {:>5}  {:<8}  replay: {}",
            r.signature,
            r.count,
            r.artifact_kind,
            r.reproducer.display(),
            "",
            "",
            "",
            r.replay
        );
        if !r.detail.is_empty() {
            let _ = writeln!(out, "{:<width$}  {:>5}  {:<8}  {}", "", "", "", r.detail);
        }
    }
    out
}
