//! What the project commands share: the lock, read and written safely, and the scan of an
//! artifact's files. Commands use this module, never each other.

use anyhow::Result;

use aigate_integrity::lock::{self, LockedArtifact, LockedFile, Lockfile, ScanRecord, Status};
use aigate_report::{ArtifactOutcome, ArtifactState, Finding, Severity, Tool};
use aigate_scan::{NoProgress, Scanner, Walked};

use crate::failure::Failure;
use crate::settings::Settings;

/// aigate, as reports name it.
pub fn tool() -> Tool {
    Tool::aigate(env!("CARGO_PKG_VERSION"))
}

/// The lock, if there is one.
pub fn read_lock(settings: &Settings) -> Result<Option<Lockfile>> {
    Ok(lock::load(&settings.lock_path())?)
}

/// The lock, which must exist.
pub fn require_lock(settings: &Settings) -> Result<Lockfile> {
    read_lock(settings)?.ok_or_else(|| {
        Failure::new(format!("there is no {}", settings.lock_path().display()))
            .hint("run `aigate lock` first")
            .into()
    })
}

/// Writes the lock atomically.
pub fn write_lock(settings: &Settings, lock: &Lockfile) -> Result<()> {
    Ok(lock::store(&settings.lock_path(), lock)?)
}

/// Walk entries for pinned files.
pub fn walked(settings: &Settings, files: &[LockedFile]) -> Vec<Walked> {
    files
        .iter()
        .map(|f| Walked {
            path: settings.root.join(&f.path),
            display: f.path.clone(),
            size: f.size,
        })
        .collect()
}

/// Scans `files` and returns the verdict at `threshold` with the findings behind it. A file
/// that cannot be read is an error: a verdict must cover every byte it speaks for.
pub fn scan_files(
    scanner: &Scanner,
    threshold: Severity,
    files: &[Walked],
) -> Result<(ScanRecord, Vec<Finding>)> {
    let mut findings = Vec::new();
    for (file, scan) in files.iter().zip(scanner.scan_files(files, &NoProgress)) {
        if let Some(err) = scan.errors.first() {
            return Err(
                Failure::new(format!("cannot scan {}: {}", file.display, err.message)).into(),
            );
        }
        findings.extend(scan.findings);
    }
    let record = ScanRecord::summarize(&findings, threshold, aigate_scan::SCANNER_VERSION);
    Ok((record, findings))
}

/// What a report says about a locked artifact.
pub fn outcome(artifact: &LockedArtifact, state: ArtifactState) -> ArtifactOutcome {
    ArtifactOutcome {
        name: artifact.name.clone(),
        kind: artifact.kind.as_str().to_owned(),
        path: artifact.path.clone(),
        files: artifact.files.len() as u64,
        bytes: artifact.files.iter().map(|f| f.size).sum(),
        state,
        verdict: Some(artifact.scan.verdict.as_str().to_owned()),
        findings: artifact.scan.findings,
        approval: Some(artifact.approval.status.to_string()),
        approved_by: match artifact.approval.status {
            Status::Approved => artifact.approval.by.clone(),
            Status::Pending => None,
        },
        note: None,
    }
}

/// The artifact named `name` in the lock, or an error listing the names there are.
pub fn locked<'l>(lock: &'l mut Lockfile, name: &str) -> Result<&'l mut LockedArtifact> {
    let names: Vec<String> = lock.artifacts.iter().map(|a| a.name.clone()).collect();
    lock.get_mut(name).ok_or_else(|| {
        Failure::new(format!(
            "no artifact named {name:?} in aigate.lock (known: {})",
            names.join(", ")
        ))
        .hint("declare it in aigate.toml and run `aigate lock`")
        .into()
    })
}
