//! What the project commands share: the lock, read and written safely, and the scan of an
//! artifact's files. Commands use this module, never each other.

use anyhow::{Context, Result};

use aigate_integrity::files::{self, ProjectLock};
use aigate_integrity::lock::{self, LockedArtifact, LockedFile, Lockfile, ScanRecord, Status};
use aigate_report::{ArtifactOutcome, ArtifactState, Finding, Severity, Tool};
use aigate_scan::{NoProgress, Scanner, Walked};

use crate::failure::Failure;
use crate::output::note;
use crate::settings::Settings;

/// What a command that rewrites `aigate.lock` or `aigate.toml` holds while it works: the
/// project's lock, and the registration of its temporary files for removal on interruption.
pub struct Writing {
    _lock: ProjectLock,
    _temporaries: Vec<crate::cleanup::Registered>,
}

/// Takes the project's lock (saying so if it has to wait for another aigate), and removes
/// what aigate processes that died mid-write left behind, saying what it removed.
pub fn begin_writing(settings: &Settings) -> Result<Writing> {
    let lock = files::lock_project(&settings.root, || {
        note("waiting for another aigate to finish with aigate.lock…");
    })
    .with_context(|| format!("cannot lock {}", settings.root.display()))?;
    let mut dirs = vec![settings.root.clone()];
    for (_, decl) in settings.config.artifacts() {
        let path = settings.root.join(decl.path.get_ref());
        if let Some(parent) = path.parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    dirs.push(settings.root.join("models"));
    dirs.push(settings.root.join("datasets"));
    dirs.sort();
    dirs.dedup();
    for removed in files::remove_stale_leftovers(&dirs) {
        note(&format!(
            "removed {}, left by an aigate that is no longer running",
            removed.display()
        ));
    }
    let mut temporaries = vec![crate::cleanup::register(&files::temp_path(
        &settings.lock_path(),
    ))];
    if let Some(config) = &settings.config_path {
        temporaries.push(crate::cleanup::register(&files::temp_path(config)));
    }
    Ok(Writing {
        _lock: lock,
        _temporaries: temporaries,
    })
}

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
        .map(|f| Walked::file(settings.root.join(&f.path), f.path.clone(), f.size))
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
