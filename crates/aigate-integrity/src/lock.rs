//! `aigate.lock`: the observed truth about every artifact. TOML, sorted by artifact name and
//! file path, so that a change reads as a small diff in review.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use aigate_report::{Finding, Severity};

use crate::files;
use crate::hash::Digest;
use crate::manifest::Kind;

/// The lock file's name, beside `aigate.toml`.
pub const FILE_NAME: &str = "aigate.lock";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Largest lock file read: far above any real project's, small enough that a lock replaced by a
/// link to a device or a huge file is an error rather than a hang.
pub const MAX_LOCK_BYTES: u64 = 64 << 20;

const HEADER: &str =
    "# aigate.lock: what `aigate lock` observed. Review changes; do not edit by hand.\n\n";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lockfile {
    /// Format version.
    pub version: u32,
    /// Artifacts, sorted by name.
    #[serde(default, rename = "artifact")]
    pub artifacts: Vec<LockedArtifact>,
}

/// One pinned artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LockedArtifact {
    /// Its name in `aigate.toml`.
    pub name: String,
    /// Model or dataset.
    pub kind: Kind,
    /// Its path, relative to the project root.
    pub path: String,
    /// Where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Who approved these bytes, and when.
    pub approval: Approval,
    /// What `aigate scan` concluded about these bytes.
    pub scan: ScanRecord,
    /// Its files, sorted by path.
    #[serde(default, rename = "file")]
    pub files: Vec<LockedFile>,
}

impl LockedArtifact {
    /// Whether two records pin the same bytes from the same place.
    pub fn same_content(&self, other: &LockedArtifact) -> bool {
        self.path == other.path && self.source == other.source && self.files == other.files
    }
}

/// Approval state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not approved (new or changed since approval).
    Pending,
    /// Approved by someone, for these exact bytes.
    Approved,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
        })
    }
}

/// Who approved what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Approval {
    /// Pending or approved.
    pub status: Status,
    /// Who approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Why it was approved despite unsafe scan findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
}

impl Approval {
    /// Not approved.
    pub fn pending() -> Self {
        Approval {
            status: Status::Pending,
            by: None,
            at: None,
            forced: None,
        }
    }
}

/// The scan verdict recorded with the bytes it was about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanRecord {
    /// `clean`, or `unsafe` when a finding reached the threshold.
    pub verdict: Verdict,
    /// The scanner and its version.
    pub scanner: String,
    /// The threshold the verdict used.
    pub threshold: Severity,
    /// Findings at or above the threshold.
    pub findings: u64,
    /// The most severe finding, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
    /// The rule ids found, with counts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, u64>,
}

impl ScanRecord {
    /// The record for an artifact whose files produced `findings`, judged at `threshold` by
    /// `scanner`.
    pub fn summarize(findings: &[Finding], threshold: Severity, scanner: &str) -> ScanRecord {
        let failing: Vec<&Finding> = findings.iter().filter(|f| f.fails(threshold)).collect();
        let mut rules = BTreeMap::new();
        for f in &failing {
            *rules.entry(f.rule.clone()).or_insert(0) += 1;
        }
        ScanRecord {
            verdict: if failing.is_empty() {
                Verdict::Clean
            } else {
                Verdict::Unsafe
            },
            scanner: scanner.to_owned(),
            threshold,
            findings: failing.len() as u64,
            max_severity: findings.iter().map(|f| f.severity).max(),
            rules,
        }
    }
}

/// A scan verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing at or above the threshold.
    Clean,
    /// Something at or above the threshold.
    Unsafe,
}

/// One file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: Digest,
}

/// A lock file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not valid TOML, or not this schema.
    #[error("aigate.lock is not valid: {0}")]
    Parse(String),
    /// Written by a newer aigate.
    #[error("aigate.lock has format version {0}; this aigate reads version {VERSION}")]
    Version(u32),
    /// Reading or writing failed, or the path is not a regular file of a sane size.
    #[error("{path}: {source}")]
    Io {
        /// The lock's path.
        path: String,
        /// What failed.
        source: io::Error,
    },
}

impl LockError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            LockError::Parse(_) => Some(
                "fix the entry by hand, or rebuild it with `aigate lock --rebuild`, which keeps every approval whose bytes still match",
            ),
            LockError::Version(_) => Some("upgrade aigate"),
            LockError::Io { .. } => None,
        }
    }
}

/// Reads the lock at `path`: `None` when there is none. Only a regular file of at most
/// [`MAX_LOCK_BYTES`] is read.
pub fn load(path: &Path) -> Result<Option<Lockfile>, LockError> {
    let io_err = |source| LockError::Io {
        path: path.display().to_string(),
        source,
    };
    match files::read_regular(path, MAX_LOCK_BYTES) {
        Ok(text) => Lockfile::parse(&text).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_err(err)),
    }
}

/// Writes the lock at `path` atomically: a reader sees the old file or the new one, never half
/// of either, and the new one is on disk when this returns.
pub fn store(path: &Path, lock: &Lockfile) -> Result<(), LockError> {
    files::write_atomic(path, lock.render()?.as_bytes()).map_err(|source| LockError::Io {
        path: path.display().to_string(),
        source,
    })
}

impl Lockfile {
    /// An empty lock.
    pub fn new() -> Self {
        Lockfile {
            version: VERSION,
            artifacts: Vec::new(),
        }
    }

    /// Parses lock text.
    pub fn parse(text: &str) -> Result<Self, LockError> {
        let lock: Lockfile = toml::from_str(text).map_err(|e| LockError::Parse(e.to_string()))?;
        if lock.version != VERSION {
            return Err(LockError::Version(lock.version));
        }
        Ok(lock)
    }

    /// The lock as text: sorted, with a header.
    pub fn render(&self) -> Result<String, LockError> {
        let mut sorted = self.clone();
        sorted.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
        for artifact in &mut sorted.artifacts {
            artifact.files.sort();
        }
        let body = toml::to_string(&sorted).map_err(|e| LockError::Parse(e.to_string()))?;
        Ok(format!("{HEADER}{body}"))
    }

    /// The artifact with this name.
    pub fn get(&self, name: &str) -> Option<&LockedArtifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    /// The artifact with this name, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut LockedArtifact> {
        self.artifacts.iter_mut().find(|a| a.name == name)
    }
}

impl Default for Lockfile {
    fn default() -> Self {
        Lockfile::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lockfile {
        Lockfile {
            version: VERSION,
            artifacts: vec![LockedArtifact {
                name: "sentiment".into(),
                kind: Kind::Model,
                path: "models/sentiment".into(),
                source: Some("https://huggingface.co/acme/sentiment".into()),
                owner: Some("ml-platform".into()),
                approval: Approval::pending(),
                scan: ScanRecord {
                    verdict: Verdict::Clean,
                    scanner: "aigate-scan 0.1.0".into(),
                    threshold: Severity::Medium,
                    findings: 0,
                    max_severity: None,
                    rules: BTreeMap::new(),
                },
                files: vec![
                    LockedFile {
                        path: "models/sentiment/b".into(),
                        size: 2,
                        sha256: Digest([0xbb; 32]),
                    },
                    LockedFile {
                        path: "models/sentiment/a".into(),
                        size: 1,
                        sha256: Digest([0xaa; 32]),
                    },
                ],
            }],
        }
    }

    #[test]
    fn renders_sorted_and_round_trips() {
        let text = sample().render().unwrap();
        assert!(text.starts_with("# aigate.lock"));
        let a = text.find("models/sentiment/a").unwrap_or(usize::MAX);
        let b = text.find("models/sentiment/b").unwrap_or(0);
        assert!(a < b, "{text}");
        let back = Lockfile::parse(&text).unwrap();
        assert_eq!(back.artifacts[0].files[0].path, "models/sentiment/a");
        assert_eq!(back.render().unwrap(), text);
    }

    #[test]
    fn rejects_other_versions_and_unknown_keys() {
        assert!(matches!(
            Lockfile::parse("version = 2\n"),
            Err(LockError::Version(2))
        ));
        assert!(Lockfile::parse("version = 1\nextra = true\n").is_err());
    }
}
