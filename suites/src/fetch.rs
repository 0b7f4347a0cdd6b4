//! `ratchet-bench vectors fetch`: gets the files of every suite that has an `upstream` in
//! vectors/MANIFEST.json (the MLS working group's, which are never committed here).
//!
//! Each file is read from the suite's `upstream` (a pinned commit) plus the file's name, or
//! from a mirror given with `--from`: an `http(s)://` base address, a `file://` URL or a
//! local folder, holding the files under the same names. Its sha256 must be the one the
//! manifest pins; only then is it written, into a temporary file beside the target that is
//! renamed over it, so the folder never holds a partial or unchecked file. A file already
//! in the folder with the pinned hash is left as it is.

use super::{Manifest, ManifestSuite, SuiteFile};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Where `vectors fetch` writes when neither `--to` nor [`super::mls::MLS_VECTORS_ENV`] is
/// given: inside the build folder, which git ignores, so the files are never committed.
pub const DEFAULT_FETCH_DIR: &str = "target/mls-vectors";

/// The largest file a download may be; the pinned files are a few hundred KiB.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// How long one download may take in all.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the files come from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// Each suite's own `upstream` address.
    Upstream,
    /// An `http://` or `https://` base address; the file name is appended.
    Url(String),
    /// A local folder (given as a path or a `file://` URL) holding the files.
    Dir(PathBuf),
}

impl Source {
    /// Reads a `--from` value: an `http(s)://` address, a `file://` URL or a folder.
    pub fn parse(from: &str) -> Result<Source, FetchError> {
        let lower = from.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Source::Url(from.to_string()));
        }
        if lower.starts_with("file://") {
            let rest = &from["file://".len()..];
            // file:///abs/path or file://localhost/abs/path; another host is not local.
            let path = rest.strip_prefix("localhost").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(FetchError::Source {
                    from: from.to_string(),
                    reason: "expected file:///absolute/path".into(),
                });
            }
            return Ok(Source::Dir(PathBuf::from(percent_decode(path, from)?)));
        }
        if from.contains("://") {
            return Err(FetchError::Source {
                from: from.to_string(),
                reason: "expected an http://, https:// or file:// URL, or a folder".into(),
            });
        }
        Ok(Source::Dir(PathBuf::from(from)))
    }

    /// Where `file` of `suite` is read from.
    fn locate(&self, suite: &ManifestSuite, file: &SuiteFile) -> Option<Location> {
        let join = |base: &str| {
            if base.ends_with('/') {
                format!("{base}{}", file.path)
            } else {
                format!("{base}/{}", file.path)
            }
        };
        match self {
            Source::Upstream => {
                let base = suite.upstream.as_deref()?;
                match Source::parse(base) {
                    Ok(Source::Dir(dir)) => Some(Location::File(dir.join(&file.path))),
                    _ => Some(Location::Http(join(base))),
                }
            }
            Source::Url(base) => Some(Location::Http(join(base))),
            Source::Dir(dir) => Some(Location::File(dir.join(&file.path))),
        }
    }
}

/// `%XX` escapes of a `file://` URL's path, decoded.
fn percent_decode(path: &str, from: &str) -> Result<String, FetchError> {
    let bad = || FetchError::Source {
        from: from.to_string(),
        reason: "expected %XX escapes of UTF-8 bytes in the path".into(),
    };
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let text = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// One place a file is read from.
enum Location {
    Http(String),
    File(PathBuf),
}

impl Location {
    fn show(&self) -> String {
        match self {
            Location::Http(url) => url.clone(),
            Location::File(path) => path.display().to_string(),
        }
    }

    fn read(&self) -> Result<Vec<u8>, FetchError> {
        match self {
            Location::File(path) => std::fs::read(path).map_err(|e| FetchError::Download {
                from: self.show(),
                reason: e.to_string(),
            }),
            Location::Http(url) => {
                let fail = |reason: String| FetchError::Download {
                    from: url.clone(),
                    reason,
                };
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(DOWNLOAD_TIMEOUT))
                    .build()
                    .into();
                let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
                response
                    .body_mut()
                    .with_config()
                    .limit(MAX_FILE_BYTES)
                    .read_to_vec()
                    .map_err(|e| fail(e.to_string()))
            }
        }
    }
}

/// What became of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetched {
    /// Downloaded, checked and written.
    Written,
    /// Already in the folder with the pinned hash; nothing read.
    AlreadyThere,
    /// A file with another hash was in the folder; the checked download replaced it.
    Replaced {
        /// The hash the old file had.
        had: String,
    },
}

/// One file of one suite, and what became of it.
#[derive(Debug)]
pub struct FileFetch {
    /// The suite.
    pub suite: String,
    /// The file's name, as the manifest gives it.
    pub file: String,
    /// Where it is (or would have been) written.
    pub path: PathBuf,
    /// The pinned sha256.
    pub sha256: String,
    /// What happened.
    pub result: Result<Fetched, FetchError>,
}

/// Why a file, or the whole fetch, could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The downloaded bytes are not the pinned ones; nothing was written.
    #[error("{file}: sha256 of the download from {from} is not the pinned one: expected {expected}, got {actual}; nothing written")]
    Hash {
        /// The file's name.
        file: String,
        /// Where it was read from.
        from: String,
        /// The pinned hash.
        expected: String,
        /// The download's hash.
        actual: String,
    },
    /// The file could not be read from its source.
    #[error("{from}: cannot download: {reason}")]
    Download {
        /// Where it was read from.
        from: String,
        /// Why.
        reason: String,
    },
    /// The file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--from` is not a source.
    #[error("--from {from}: {reason}")]
    Source {
        /// The value given.
        from: String,
        /// What is wrong.
        reason: String,
    },
    /// A `--suite` that is not a fetchable suite of the manifest.
    #[error("no suite named {name:?} has an upstream to fetch from; expected one of {known}")]
    Suite {
        /// The name given.
        name: String,
        /// The suites that have one.
        known: String,
    },
    /// A manifest file name that would land outside the folder.
    #[error("{file}: expected a relative path inside the fetch folder")]
    Path {
        /// The name.
        file: String,
    },
}

impl FetchError {
    /// Whether this is a hash mismatch (a check that failed) rather than an I/O or usage
    /// error.
    pub fn is_mismatch(&self) -> bool {
        matches!(self, FetchError::Hash { .. })
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fetches every file of the manifest's suites that have an `upstream` (or only those named
/// in `only`) from `from` into `to`. An error here is one of usage (an unknown suite); each
/// file's own outcome, error or not, is in its [`FileFetch`], and one failing file does not
/// stop the others.
pub fn fetch(
    manifest: &Manifest,
    to: &Path,
    from: &Source,
    only: &[String],
) -> Result<Vec<FileFetch>, FetchError> {
    let fetchable: Vec<&ManifestSuite> = manifest
        .suites
        .iter()
        .filter(|s| s.upstream.is_some())
        .collect();
    if let Some(name) = only
        .iter()
        .find(|o| !fetchable.iter().any(|s| &s.name == *o))
    {
        let known: Vec<&str> = fetchable.iter().map(|s| s.name.as_str()).collect();
        return Err(FetchError::Suite {
            name: name.clone(),
            known: known.join(", "),
        });
    }
    let mut out = Vec::new();
    for suite in fetchable
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
    {
        for file in &suite.files {
            let path = to.join(&file.path);
            let result = fetch_file(suite, file, &path, from);
            out.push(FileFetch {
                suite: suite.name.clone(),
                file: file.path.clone(),
                path,
                sha256: file.sha256.clone(),
                result,
            });
        }
    }
    Ok(out)
}

fn fetch_file(
    suite: &ManifestSuite,
    file: &SuiteFile,
    path: &Path,
    from: &Source,
) -> Result<Fetched, FetchError> {
    let rel = Path::new(&file.path);
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(FetchError::Path {
            file: file.path.clone(),
        });
    }
    let had = match std::fs::read(path) {
        Ok(bytes) => {
            let had = sha256_hex(&bytes);
            if had == file.sha256 {
                return Ok(Fetched::AlreadyThere);
            }
            Some(had)
        }
        Err(_) => None,
    };
    let location = from.locate(suite, file).ok_or_else(|| FetchError::Suite {
        name: suite.name.clone(),
        known: "suites with an upstream".into(),
    })?;
    let bytes = location.read()?;
    let actual = sha256_hex(&bytes);
    if actual != file.sha256 {
        return Err(FetchError::Hash {
            file: file.path.clone(),
            from: location.show(),
            expected: file.sha256.clone(),
            actual,
        });
    }
    write_atomically(path, &bytes)?;
    Ok(match had {
        Some(had) => Fetched::Replaced { had },
        None => Fetched::Written,
    })
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so that a
/// reader never sees a partial file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let write_err = |source| FetchError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(write_err(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_values_are_told_apart() {
        assert_eq!(
            Source::parse("https://mirror.invalid/mls/").ok(),
            Some(Source::Url("https://mirror.invalid/mls/".into()))
        );
        assert_eq!(
            Source::parse("file:///tmp/a%20b").ok(),
            Some(Source::Dir("/tmp/a b".into()))
        );
        assert_eq!(
            Source::parse("file://localhost/tmp/x").ok(),
            Some(Source::Dir("/tmp/x".into()))
        );
        assert_eq!(
            Source::parse("some/folder").ok(),
            Some(Source::Dir("some/folder".into()))
        );
        assert!(Source::parse("file://host/tmp").is_err());
        assert!(Source::parse("ftp://host/tmp").is_err());
        assert!(Source::parse("file:///tmp/%zz").is_err());
    }
}
