//! `aigate.lock`: the observed truth about every artifact. TOML, sorted by artifact name and
//! file path, so that a change reads as a small diff in review.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use aigate_report::Severity;

use crate::manifest::Kind;

/// The lock file's name, beside `aigate.toml`.
pub const FILE_NAME: &str = "aigate.lock";
/// The format version this crate writes and reads.
pub const VERSION: u32 = 1;

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
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// A lock file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Not valid TOML, or not this schema.
    #[error("aigate.lock is not valid: {0}\nhint: regenerate it with `aigate lock`")]
    Parse(String),
    /// Written by a newer aigate.
    #[error(
        "aigate.lock has format version {0}; this aigate reads version {VERSION}\nhint: upgrade aigate"
    )]
    Version(u32),
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
    pub fn render(&self) -> String {
        let mut sorted = self.clone();
        sorted.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
        for artifact in &mut sorted.artifacts {
            artifact.files.sort();
        }
        let body = toml::to_string(&sorted).unwrap_or_default();
        format!("{HEADER}{body}")
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
                        sha256: "bb".into(),
                    },
                    LockedFile {
                        path: "models/sentiment/a".into(),
                        size: 1,
                        sha256: "aa".into(),
                    },
                ],
            }],
        }
    }

    #[test]
    fn renders_sorted_and_round_trips() {
        let text = sample().render();
        assert!(text.starts_with("# aigate.lock"));
        let a = text.find("models/sentiment/a").unwrap_or(usize::MAX);
        let b = text.find("models/sentiment/b").unwrap_or(0);
        assert!(a < b, "{text}");
        let back = Lockfile::parse(&text).unwrap_or_default();
        assert_eq!(back.artifacts[0].files[0].path, "models/sentiment/a");
        assert_eq!(back.render(), text);
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
