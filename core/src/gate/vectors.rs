//! Which ratchet-session vectors a gate replays: the suites of a manifest, or the files of a
//! plain folder, for the gate's families.

use super::GateError;
use crate::peer::{Family, Peer};
use crate::vectors::{
    run_session_suite_refs, Manifest, ManifestSuite, SuiteFile, SuiteReport, VectorError,
    SESSION_LOADER,
};
use std::path::Path;

/// Replays the vectors of the gate's families found in `dir` on `peers`.
pub(super) fn replay(dir: &Path, peers: &[&dyn Peer]) -> Result<Vec<SuiteReport>, GateError> {
    let families = Family::present(peers.iter().map(|p| p.info().family));
    let suites = if dir.join("MANIFEST.json").exists() {
        Manifest::load(&dir.join("MANIFEST.json"))?
            .suites
            .into_iter()
            .filter(|s| s.loader == SESSION_LOADER)
            .collect()
    } else {
        folder_suites(dir)?
    };
    let mut reports = Vec::new();
    let mut found = Vec::new();
    for suite in &suites {
        let Some(&family) = families.iter().find(|f| f.name() == suite.family) else {
            continue;
        };
        found.push(family);
        // A plain folder pins nothing: its files are the team's own copies.
        let pinned = suite.files.iter().all(|f| !f.sha256.is_empty());
        reports.extend(run_session_suite_refs(dir, suite, peers, !pinned)?);
    }
    if found.is_empty() {
        return Err(GateError::NoVectors {
            dir: dir.to_path_buf(),
            families: families
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    for family in families.iter().filter(|f| !found.contains(f)) {
        for p in peers.iter().filter(|p| p.info().family == *family) {
            reports.push(SuiteReport::not_run(
                family.name(),
                &dir.display().to_string(),
                &p.info().name,
                format!(
                    "{} holds no ratchet-session vectors of {family}",
                    dir.display()
                ),
            ));
        }
    }
    Ok(reports)
}

/// The ratchet-session files of a folder without a manifest, one suite each (named after
/// the file), in name order; a JSON file that is not one is an error naming it.
fn folder_suites(dir: &Path) -> Result<Vec<ManifestSuite>, GateError> {
    let read_error = |source| VectorError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    files.sort();
    let mut suites = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| VectorError::Read {
            path: path.clone(),
            source,
        })?;
        let value: serde_json::Value = crate::vectors::parse_json(&path, &text)?;
        let family = value
            .get("algorithm")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| VectorError::Field {
                path: path.clone(),
                case: String::new(),
                field: "algorithm".into(),
                reason: "expected the family's name (a ratchet-session vector file)".into(),
            })?;
        let name = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let file = path
            .file_name()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        suites.push(ManifestSuite {
            name,
            family: family.to_string(),
            loader: SESSION_LOADER.into(),
            origin: "a folder of ratchet-session files".into(),
            independent_check: String::new(),
            licence: String::new(),
            files: vec![SuiteFile {
                path: file,
                sha256: String::new(),
            }],
            source_crate: None,
            upstream: None,
            pin: None,
        });
    }
    Ok(suites)
}
