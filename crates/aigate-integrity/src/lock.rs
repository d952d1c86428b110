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
/// The format version this crate writes. Version 1 (before artifact versions, their history
/// and the custody anchor) is read too.
pub const VERSION: u32 = 2;
/// The oldest format version read.
pub const OLDEST_READ: u32 = 1;
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
    /// The custody log's head when the lock was last written: the anchor `aigate log verify`
    /// checks the log against, so that events cannot be cut off its end unnoticed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<crate::custody::Head>,
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
    /// Its version: 1 when first locked, then one more each time its content changes (a
    /// content seen before keeps the number it had).
    #[serde(default = "first_version")]
    pub version: u64,
    /// Who approved these bytes, and when.
    pub approval: Approval,
    /// What `aigate scan` concluded about these bytes.
    pub scan: ScanRecord,
    /// Every version approved or revoked so far, oldest first: what rollback can restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<VersionRecord>,
    /// The highest version number the artifact has had, when it is above both `version` and
    /// every number in `history` (a pending version replaced before it was approved, or rolled
    /// back from), so that a number is never given to two contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub highest_version: Option<u64>,
    /// Its files, sorted by path.
    #[serde(default, rename = "file")]
    pub files: Vec<LockedFile>,
}

fn first_version() -> u64 {
    1
}

/// Whether a past version may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// Approved, and not revoked since.
    Approved,
    /// Marked bad: verify fails wherever it is present, rollback skips it.
    Revoked,
}

impl VersionStatus {
    /// `approved` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Approved => "approved",
            VersionStatus::Revoked => "revoked",
        }
    }
}

/// One approved (or revoked) version of an artifact, as the lock's history keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VersionRecord {
    /// Its number.
    pub version: u64,
    /// Its content digest ([`LockedArtifact::content_digest`]).
    pub digest: Digest,
    /// The digest of its file list in the store ([`crate::store::VersionManifest`]), from
    /// which rollback restores it; absent when it was never pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Digest>,
    /// Approved or revoked.
    pub status: VersionStatus,
    /// Who approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Why it was approved despite unsafe findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<String>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl LockedArtifact {
    /// The history record of version `version`.
    pub fn record(&self, version: u64) -> Option<&VersionRecord> {
        self.history.iter().find(|r| r.version == version)
    }

    /// The revoked record whose content is `digest`, if that content was revoked.
    pub fn revoked(&self, digest: &Digest) -> Option<&VersionRecord> {
        self.history
            .iter()
            .find(|r| r.status == VersionStatus::Revoked && r.digest == *digest)
    }

    /// Every version number the lock knows for this artifact, for messages: `1, 2, 3`.
    pub fn known_versions(&self) -> String {
        let mut versions: Vec<u64> = self.history.iter().map(|r| r.version).collect();
        versions.push(self.version);
        versions.sort_unstable();
        versions.dedup();
        versions
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The highest version number this artifact has had.
    pub fn latest_version(&self) -> u64 {
        self.history
            .iter()
            .map(|r| r.version)
            .chain([self.version])
            .chain(self.highest_version)
            .max()
            .unwrap_or(1)
    }

    /// Keeps [`LockedArtifact::highest_version`] only when it says more than `version` and the
    /// history do.
    pub fn settle_highest_version(&mut self, highest: u64) {
        let known = self
            .history
            .iter()
            .map(|r| r.version)
            .chain([self.version])
            .max()
            .unwrap_or(1);
        self.highest_version = (highest > known).then_some(highest);
    }

    /// Records the current version as approved in the history (replacing an earlier record
    /// of the same version), with its manifest in the store when it was pushed.
    pub fn record_approval(&mut self, manifest: Option<Digest>) {
        let record = VersionRecord {
            version: self.version,
            digest: self.content_digest(),
            manifest,
            status: VersionStatus::Approved,
            approved_by: self.approval.by.clone(),
            approved_at: self.approval.at.clone(),
            forced: self.approval.forced.clone(),
            revoked_by: None,
            revoked_at: None,
            reason: None,
        };
        self.history.retain(|r| r.version != record.version);
        self.history.push(record);
        self.history.sort_by_key(|r| r.version);
    }

    /// Whether two records pin the same bytes from the same place.
    pub fn same_content(&self, other: &LockedArtifact) -> bool {
        self.path == other.path && self.source == other.source && self.files == other.files
    }

    /// One SHA-256 over what the artifact is: its name, kind, path, source and every file's
    /// path, size and digest, in order. An approval records it, so that an approval moved to
    /// other bytes, or to another artifact, no longer matches.
    pub fn content_digest(&self) -> Digest {
        let mut text = format!(
            "aigate-artifact-v1\nname={}\nkind={}\npath={}\nsource={}\n",
            self.name,
            self.kind.as_str(),
            self.path,
            self.source.as_deref().unwrap_or("")
        );
        let mut files: Vec<&LockedFile> = self.files.iter().collect();
        files.sort();
        for f in files {
            text.push_str(&format!("file={}\0{}\0{}\n", f.path, f.size, f.sha256));
        }
        crate::hash::hash_reader(text.as_bytes(), crate::hash::Algorithm::Sha256)
            .map(|h| h.digest)
            .unwrap_or(Digest([0; 32]))
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
    /// The artifact's content digest ([`LockedArtifact::content_digest`]) when it was approved:
    /// what the approval is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// The scan verdict it was approved on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The most severe scan finding when it was approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
}

impl Approval {
    /// Not approved.
    pub fn pending() -> Self {
        Approval {
            status: Status::Pending,
            by: None,
            at: None,
            forced: None,
            digest: None,
            verdict: None,
            max_severity: None,
        }
    }

    /// An approval of `artifact` as it is now, by `by` at `at`.
    pub fn of(artifact: &LockedArtifact, by: &str, at: &str, forced: Option<String>) -> Self {
        Approval {
            status: Status::Approved,
            by: Some(by.to_owned()),
            at: Some(at.to_owned()),
            forced,
            digest: Some(artifact.content_digest()),
            verdict: Some(artifact.scan.verdict),
            max_severity: artifact.scan.max_severity,
        }
    }

    /// Why this approval does not stand for `artifact`: who, when or what is missing, the bytes
    /// are not the ones approved, or an unsafe verdict was approved without a reason. `None`
    /// for pending artifacts and valid approvals.
    pub fn problem(&self, artifact: &LockedArtifact) -> Option<String> {
        if self.status == Status::Pending {
            return None;
        }
        if self.by.as_deref().is_none_or(|b| b.trim().is_empty()) {
            return Some("it names no approver".into());
        }
        if !self.at.as_deref().is_some_and(crate::clock::is_rfc3339) {
            return Some("it has no valid approval time".into());
        }
        match self.digest {
            None => return Some("it records no digest of the approved bytes".into()),
            Some(d) if d != artifact.content_digest() => {
                return Some("the pinned files are not the ones that were approved".into());
            }
            Some(_) => {}
        }
        match self.verdict {
            None => Some("it records no scan verdict".into()),
            Some(v) if v != artifact.scan.verdict => Some(format!(
                "it was given on a {} verdict, but the scan record says {}",
                v.as_str(),
                artifact.scan.verdict.as_str()
            )),
            Some(Verdict::Unsafe) if self.forced.as_deref().is_none_or(|r| r.trim().is_empty()) => {
                Some("an unsafe verdict was approved without a recorded reason".into())
            }
            Some(_) => None,
        }
    }

    /// Whether `now` is a worse scan than the one this approval was given on: unsafe where it
    /// was clean, or a more severe finding than was approved.
    pub fn is_worse(&self, now: &ScanRecord) -> Option<String> {
        let approved = self.verdict?;
        if now.verdict == Verdict::Unsafe && approved == Verdict::Clean {
            return Some(format!(
                "the scan now finds unsafe content ({} finding(s)); it was clean when approved",
                now.findings
            ));
        }
        if now.verdict == Verdict::Unsafe && now.max_severity > self.max_severity {
            return Some(format!(
                "the scan now finds a {} finding; the worst when approved was {}",
                now.max_severity.map_or("?", Severity::as_str),
                self.max_severity.map_or("none", Severity::as_str)
            ));
        }
        None
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

impl Verdict {
    /// `clean` or `unsafe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Unsafe => "unsafe",
        }
    }
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
    #[error(
        "aigate.lock has format version {0}; this aigate reads versions {OLDEST_READ} to {VERSION}"
    )]
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

/// Reads a lock that does not parse as a whole, artifact by artifact: what is still a valid
/// artifact record is kept, the rest is named in the second list. For `aigate lock --rebuild`,
/// which then keeps every approval whose bytes still match. `None` when there is no lock.
pub fn load_lenient(path: &Path) -> Result<Option<(Lockfile, Vec<String>)>, LockError> {
    let text = match files::read_regular(path, MAX_LOCK_BYTES) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LockError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(table) => table,
        // Not even TOML: nothing in it can be trusted to be what it was.
        Err(_) => {
            return Ok(Some((
                Lockfile::new(),
                vec!["the whole file (not TOML)".into()],
            )));
        }
    };
    if let Some(version) = table.get("version").and_then(toml::Value::as_integer)
        && !(i64::from(OLDEST_READ)..=i64::from(VERSION)).contains(&version)
    {
        return Err(LockError::Version(
            u32::try_from(version).unwrap_or(u32::MAX),
        ));
    }
    let mut lock = Lockfile::new();
    let mut dropped = Vec::new();
    let entries = table
        .get("artifact")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, entry) in entries.into_iter().enumerate() {
        let name = entry
            .get("name")
            .and_then(toml::Value::as_str)
            .map_or_else(|| format!("artifact #{}", i + 1), str::to_owned);
        match entry.try_into::<LockedArtifact>() {
            Ok(artifact) => lock.artifacts.push(artifact),
            Err(_) => dropped.push(name),
        }
    }
    Ok(Some((lock, dropped)))
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
            custody: None,
            artifacts: Vec::new(),
        }
    }

    /// Parses lock text; a version 1 lock reads as version 2 with every artifact at version 1
    /// and no history.
    pub fn parse(text: &str) -> Result<Self, LockError> {
        let mut lock: Lockfile =
            toml::from_str(text).map_err(|e| LockError::Parse(e.to_string()))?;
        if !(OLDEST_READ..=VERSION).contains(&lock.version) {
            return Err(LockError::Version(lock.version));
        }
        lock.version = VERSION;
        Ok(lock)
    }

    /// The lock as text: sorted, with a header.
    pub fn render(&self) -> Result<String, LockError> {
        let mut sorted = self.clone();
        sorted.version = VERSION;
        sorted.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
        for artifact in &mut sorted.artifacts {
            artifact.files.sort();
            artifact.history.sort_by_key(|r| r.version);
        }
        let body = toml::to_string(&sorted).map_err(|e| LockError::Parse(e.to_string()))?;
        Ok(format!("{HEADER}{body}"))
    }

    /// The artifact with this name (a linear search; see [`Lockfile::by_name`] for many).
    pub fn get(&self, name: &str) -> Option<&LockedArtifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    /// Every artifact by name, for lookups in loops.
    pub fn by_name(&self) -> std::collections::HashMap<&str, &LockedArtifact> {
        self.artifacts
            .iter()
            .map(|a| (a.name.as_str(), a))
            .collect()
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
            custody: None,
            artifacts: vec![LockedArtifact {
                name: "sentiment".into(),
                kind: Kind::Model,
                path: "models/sentiment".into(),
                source: Some("https://huggingface.co/acme/sentiment".into()),
                owner: Some("ml-platform".into()),
                version: 1,
                history: Vec::new(),
                highest_version: None,
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
            Lockfile::parse("version = 3\n"),
            Err(LockError::Version(3))
        ));
        assert!(Lockfile::parse("version = 2\nextra = true\n").is_err());
    }

    /// Locks written before versions existed still read: each artifact is version 1.
    #[test]
    fn version_1_locks_read_as_version_1_artifacts() {
        let text = format!(
            "version = 1\n\n[[artifact]]\nname = \"m\"\nkind = \"model\"\npath = \"m.bin\"\n\n[artifact.approval]\nstatus = \"pending\"\n\n[artifact.scan]\nverdict = \"clean\"\nscanner = \"aigate-scan 0.1.0\"\nthreshold = \"medium\"\nfindings = 0\n\n[[artifact.file]]\npath = \"m.bin\"\nsize = 1\nsha256 = \"{}\"\n",
            "aa".repeat(32)
        );
        let lock = Lockfile::parse(&text).unwrap();
        assert_eq!(lock.version, VERSION);
        assert_eq!(lock.artifacts[0].version, 1);
        assert!(lock.render().unwrap().contains("version = 2"));
    }

    #[test]
    fn history_round_trips_and_approvals_replace_their_version() {
        let mut lock = sample();
        let a = &mut lock.artifacts[0];
        a.approval.status = Status::Approved;
        a.approval.by = Some("alice".into());
        a.record_approval(Some(Digest([1; 32])));
        a.record_approval(Some(Digest([2; 32])));
        assert_eq!(a.history.len(), 1);
        assert_eq!(a.history[0].manifest, Some(Digest([2; 32])));
        let back = Lockfile::parse(&lock.render().unwrap()).unwrap();
        assert_eq!(back.artifacts[0].history, lock.artifacts[0].history);
    }
}
